#!/usr/bin/python3
"""The non-blocking examples (issue 11), poll_many and libuv_send: N
messages over K connections from one thread, run against aiosmtpd and
Postfix's smtp-sink; every message that arrived is parsed and its bytes
compared with what the example must have sent.

Usage: /usr/bin/python3 test_nb_examples.py PATH-TO-EXAMPLE PATH-TO-two_addrs.so

The example is poll_many or libuv_send (same command line, same messages
but for the name in the subject). SMTPC_TEST_SOCKETS=0 (-Dsockets=false):
the examples must fail with a clear line per connection instead.
SMTPC_TEST_TLS=0 (-Dtls=disabled): the STARTTLS and implicit-TLS runs
check the SMTPC_ENOTSUP refusal instead.
"""

import asyncio
import logging
import os
import re
import shutil
import ssl
import sys
import tempfile
import unittest
from email import policy
from email.parser import BytesParser

import harness
from certs import make_certs
from harness import AiosmtpdServer, RecordingHandler, SmtpSink, run_program

PROGRAM = None
NAME = None
TWO_ADDRS = None
HAVE_SOCKETS = os.environ.get("SMTPC_TEST_SOCKETS", "1") != "0"
HAVE_TLS = os.environ.get("SMTPC_TEST_TLS", "1") != "0"
NO_SOCKETS = ("the library's socket transport is compiled out (-Dsockets=false); "
              "WithoutSockets checks the error instead")
FROM = "sender@example.org"
TO = "rcpt@example.org"


def expected_text(i, n, k):
    """Message i of n as the example builds it (k connections; message i
    goes over connection (i - 1) % k + 1)."""
    return (f"From: <{FROM}>\r\n"
            f"To: <{TO}>\r\n"
            f"Subject: {NAME} message {i} of {n}\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "\r\n"
            f"This is message {i} of {n}, sent by the smtpc {NAME} example\r\n"
            f"over connection {(i - 1) % k + 1} of {k}.\r\n"
            ".A line that starts with a dot.\r\n").encode()


def run_example(port, n, k, *options, timeout=60, host="127.0.0.1", env=None):
    argv = [PROGRAM, *options, host, str(port), str(n), str(k)]
    return run_program(argv, timeout=timeout, capture_output=True, text=True, env=env)


def summary(proc):
    lines = [line for line in proc.stdout.splitlines() if line.startswith(NAME + ":")]
    return lines[-1] if lines else ""


class SessionCounting(RecordingHandler):
    """Also counts the sessions open at once (from EHLO to QUIT), to show
    that the connections really ran side by side. The reply to EHLO waits
    until `together` sessions are open (or HOLD_S passed): a client that
    ran its connections one after another would be stuck there, so the count
    does not depend on how fast a busy machine lets the connections go."""

    HOLD_S = 30

    def __init__(self, together):
        super().__init__()
        self.open = set()
        self.max_open = 0
        self.together = together
        self.all_open = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # what aiosmtpd does without the hook
        if self.all_open is None:
            self.all_open = asyncio.Event()
        self.open.add(id(session))
        self.max_open = max(self.max_open, len(self.open))
        if self.max_open >= self.together:
            self.all_open.set()
        try:
            await asyncio.wait_for(self.all_open.wait(), self.HOLD_S)
        except asyncio.TimeoutError:
            pass
        return responses

    async def handle_QUIT(self, server, session, envelope):
        self.open.discard(id(session))
        return "221 Bye"


class Checks(unittest.TestCase):
    def assertAllArrived(self, proc, contents, n, k):
        """contents: the message bytes the server stored, CRLF line ends."""
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn(f"{n} of {n} messages accepted (0 never reached the server) "
                      f"over {k} connections", summary(proc), proc.stdout)
        self.assertEqual(len(contents), n, proc.stderr)
        seen = {}
        for content in contents:
            msg = BytesParser(policy=policy.default).parsebytes(content)
            m = re.fullmatch(rf"{NAME} message (\d+) of {n}", msg["Subject"])
            self.assertIsNotNone(m, msg["Subject"])
            i = int(m.group(1))
            self.assertNotIn(i, seen, "message sent twice")
            seen[i] = content
            self.assertIn("\n.A line that starts with a dot.\r\n", msg.get_content())
        self.assertEqual(sorted(seen), list(range(1, n + 1)))
        for i, content in seen.items():
            self.assertEqual(content, expected_text(i, n, k), f"message {i}")


@unittest.skipUnless(HAVE_SOCKETS, NO_SOCKETS)
class Aiosmtpd(Checks):
    def test_20_messages_over_4_connections(self):
        srv = AiosmtpdServer()
        srv.handler = SessionCounting(4)
        with srv:
            proc = run_example(srv.port, 20, 4, "--plain")
        envs = srv.handler.envelopes
        self.assertAllArrived(proc, [e["content"] for e in envs], 20, 4)
        for e in envs:
            self.assertEqual(e["mail_from"], FROM)
            self.assertEqual(e["rcpt_tos"], [TO])
        # Four connections of five messages each, all open at once.
        self.assertEqual(len({e["peer"] for e in envs}), 4)
        self.assertEqual(srv.handler.max_open, 4)
        self.assertEqual(srv.handler.open, set(), "every connection sent QUIT")

    def test_more_connections_than_messages(self):
        with AiosmtpdServer() as srv:
            proc = run_example(srv.port, 3, 8, "--plain")
        self.assertAllArrived(proc, [e["content"] for e in srv.handler.envelopes], 3, 3)

    def test_refused_recipient_fails_every_message(self):
        with AiosmtpdServer() as srv:
            proc = run_example(srv.port, 6, 2, "--plain", "--to", "reject@example.org")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("0 of 6 messages accepted (0 never reached the server)", summary(proc))
        refused = [line for line in proc.stderr.splitlines() if "not accepted" in line]
        self.assertEqual(len(refused), 6, proc.stderr)
        for line in refused:
            self.assertIn("recipient rejected", line)
        self.assertEqual(srv.handler.envelopes, [])

    def test_nothing_listening(self):
        with harness.refusing_port() as port:
            proc = run_example(port, 5, 2, "--plain")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("0 of 5 messages accepted (5 never reached the server)", summary(proc))
        failed = [line for line in proc.stderr.splitlines() if "connect failed" in line]
        self.assertEqual(len(failed), 2, proc.stderr)
        self.assertTrue(all("refused" in line for line in failed), proc.stderr)


@unittest.skipUnless(HAVE_SOCKETS, NO_SOCKETS)
class AddressFallback(Checks):
    """A name with two addresses, the first refusing (two_addrs.so): every
    connection goes on to the second with a new socket and sends."""

    def test_first_address_refused(self):
        with tempfile.TemporaryDirectory() as d, AiosmtpdServer() as srv:
            log = os.path.join(d, "connects")
            env = dict(os.environ, LD_PRELOAD=TWO_ADDRS, SMTPC_TWO_ADDRS_LOG=log)
            # The shim is loaded ahead of a sanitizer's runtime.
            env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                         "verify_asan_link_order=0"]))
            proc = run_example(srv.port, 8, 4, "--plain", host="fallback.test", env=env)
            with open(log) as f:
                tried = f.read().split()
        self.assertAllArrived(proc, [e["content"] for e in srv.handler.envelopes], 8, 4)
        self.assertEqual(sorted(tried), ["127.0.0.1"] * 4 + ["127.0.0.2"] * 4)


@unittest.skipUnless(HAVE_SOCKETS, NO_SOCKETS)
class PostfixSmtpSink(Checks):
    def test_20_messages_over_4_connections(self):
        with SmtpSink() as sink:
            proc = run_example(sink.port, 20, 4, "--plain")
            records = sink.records()
        # smtp-sink stores LF line ends and undoes the dot-stuffing.
        contents = [r["content"].replace(b"\n", b"\r\n") for r in records]
        self.assertAllArrived(proc, contents, 20, 4)
        for r in records:
            self.assertEqual(r["mail_args"].split()[0], f"<{FROM}>", r)
            self.assertEqual([a.split()[0] for a in r["rcpt_args"]], [f"<{TO}>"], r)

    def test_one_connection_pipelined(self):
        with SmtpSink() as sink:
            proc = run_example(sink.port, 12, 1, "--plain")
            records = sink.records()
        self.assertAllArrived(proc, [r["content"].replace(b"\n", b"\r\n") for r in records],
                              12, 1)


@unittest.skipUnless(HAVE_SOCKETS, NO_SOCKETS)
class Tls(Checks):
    """The TLS handshake, STARTTLS and implicit, in non-blocking mode: the
    certificate verified against the test CA."""

    @classmethod
    def setUpClass(cls):
        # aiosmtpd logs a traceback for a handshake the client aborts.
        logging.getLogger("mail.log").setLevel(logging.CRITICAL)
        cls.dir = tempfile.mkdtemp(prefix="smtpc-nb-tls-")
        cls.certs = make_certs(cls.dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def server(self, security):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.certs["server"] + ".pem", self.certs["server"] + ".key")
        if security == "implicit":
            return AiosmtpdServer(ssl_context=ctx)
        return AiosmtpdServer(tls_context=ctx, require_starttls=True)

    def test_starttls_and_implicit(self):
        # Without TLS there is no configuration to load the CA into.
        ca = ["--cafile", self.certs["ca"] + ".pem"] if HAVE_TLS else []
        for security, options in (("starttls", ca), ("implicit", ["--implicit"] + ca)):
            with self.subTest(security=security), self.server(security) as srv:
                proc = run_example(srv.port, 8, 4, *options)
                if HAVE_TLS:
                    self.assertAllArrived(proc, [e["content"] for e in srv.handler.envelopes],
                                          8, 4)
                else:
                    self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
                    self.assertIn("0 of 8 messages accepted (8 never reached the server)",
                                  summary(proc))
                    self.assertEqual(srv.handler.envelopes, [])

    @unittest.skipUnless(HAVE_TLS, "a build without TLS refuses before any handshake")
    def test_unknown_ca_is_refused(self):
        with self.server("starttls") as srv:
            proc = run_example(srv.port, 4, 2)  # the system trust store
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        failed = [line for line in proc.stderr.splitlines() if "connect failed" in line]
        self.assertEqual(len(failed), 2, proc.stderr)
        self.assertTrue(all("certificate" in line for line in failed), proc.stderr)
        self.assertEqual(srv.handler.envelopes, [])


@unittest.skipIf(HAVE_SOCKETS, "checks a build without sockets (-Dsockets=false)")
class WithoutSockets(unittest.TestCase):
    def test_one_clear_line_per_connection(self):
        with AiosmtpdServer() as srv:
            proc = run_example(srv.port, 4, 2, "--plain")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        failed = [line for line in proc.stderr.splitlines() if line]
        self.assertEqual(len(failed), 2, proc.stderr)
        self.assertTrue(all("without socket support" in line for line in failed), proc.stderr)
        self.assertEqual(srv.handler.envelopes, [])


def main():
    global PROGRAM, NAME, TWO_ADDRS
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    PROGRAM = os.path.abspath(sys.argv.pop(1))
    NAME = os.path.basename(PROGRAM)
    TWO_ADDRS = os.path.abspath(sys.argv.pop(1))
    prog = unittest.main(argv=sys.argv, exit=False, verbosity=2)
    r = prog.result
    failed = len(r.failures) + len(r.errors)
    print(f"test_nb_examples.py ({NAME}): {r.testsRun - failed} passed, {failed} failed")
    return 0 if failed == 0 and r.testsRun else 1


if __name__ == "__main__":
    sys.exit(main())
