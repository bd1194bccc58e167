#!/usr/bin/python3
"""Several non-blocking clients in one thread's poll loop (issue 11), end to
end: nb_multi drives at once sessions with aiosmtpd in plaintext, with
STARTTLS and with implicit TLS, with Postfix's smtp-sink (PIPELINING), and
with a scripted server that stays silent for seconds before its greeting.
Every message must arrive exactly once with its bytes, every TLS session
must be encrypted, and no session may wait for the slow one.

Usage: /usr/bin/python3 test_nb_multi.py PATH-TO-nb_multi
"""

import hashlib
import json
import logging
import os
import shutil
import ssl
import sys
import tempfile
import unittest
from email import policy
from email.parser import BytesParser

import harness
from certs import make_certs
from harness import AiosmtpdServer, SmtpSink, expected_wire, make_message, run_program
from scripted_server import ScriptedServer

PROGRAM = None
HAVE_TLS = os.environ.get("SMTPC_TEST_TLS", "1") != "0"
COUNT = 3
# The slow server's silence: long enough that the others' whole sessions
# (TLS handshakes included, slowed down under valgrind) fit well inside it.
SLOW_S = 15.0 if harness.WRAPPER else 3.0


def sha(data):
    return hashlib.sha256(data).hexdigest()


@unittest.skipUnless(os.access(harness.SINK, os.X_OK), "smtp-sink not installed (postfix)")
class NonBlockingMany(unittest.TestCase):
    def setUp(self):
        logging.getLogger("mail.log").setLevel(logging.CRITICAL)
        self.tmp = tempfile.mkdtemp(prefix="smtpc-nb-multi-")
        self.certs = make_certs(self.tmp) if HAVE_TLS else None

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.certs["server"] + ".pem", self.certs["server"] + ".key")
        return ctx

    def run_multi(self, targets, body, timeout_ms):
        path = os.path.join(self.tmp, "message.eml")
        with open(path, "wb") as f:
            f.write(body)
        argv = [PROGRAM, "--message", path, "--count", str(COUNT),
                "--timeout-ms", str(timeout_ms)]
        if self.certs:
            argv += ["--cafile", self.certs["ca"] + ".pem"]
        proc = run_program(argv + targets, 120, capture_output=True, text=True,
                           errors="replace")
        events = [json.loads(line) for line in proc.stdout.splitlines()
                  if line.startswith("{")]
        describe = f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}"
        return proc, events, describe

    def test_sessions_interleaved_in_one_loop(self):
        body = make_message("non-blocking, many at once",
                            b"first line\r\n.a dot line\r\n" + b"0123456789" * 7 + b"\r\n" * 300)
        slow_steps = [{"sleep": SLOW_S}, {"send": "220 slow ESMTP\r\n"}, {"smtp": None}]
        with AiosmtpdServer() as plain, SmtpSink() as sink, \
                ScriptedServer(slow_steps) as slow:
            targets = {f"plain:{plain.port}": "plain", f"plain:{sink.port}": "sink",
                       f"plain:{slow.port}": "slow"}
            servers = [plain]
            if HAVE_TLS:
                starttls = AiosmtpdServer(tls_context=self.context(), require_starttls=True)
                implicit = AiosmtpdServer(ssl_context=self.context())
                servers += [starttls.__enter__(), implicit.__enter__()]
                targets[f"starttls:{starttls.port}"] = "starttls"
                targets[f"tls:{implicit.port}"] = "tls"
            try:
                proc, events, describe = self.run_multi(
                    list(targets), body, int(SLOW_S * 1000) + 10000)
            finally:
                for srv in servers[1:]:
                    srv.__exit__(None, None, None)
            sink_records = sink.records()
            slow_messages = [line for line in slow.lines if line.upper().startswith("MAIL")]

        self.assertEqual(proc.returncode, 0, describe)
        clients = {targets[e["target"]]: e for e in events if e["event"] == "client"}
        self.assertEqual(sorted(clients), sorted(targets.values()), describe)
        for name, c in clients.items():
            with self.subTest(client=name):
                self.assertEqual(c["connect"], "SMTPC_OK", describe)
                self.assertEqual(c["messages"], ["SMTPC_OK"] * COUNT, describe)
                self.assertEqual(c["quit"], "SMTPC_OK", describe)
                self.assertEqual(c["encrypted"], 1 if name in ("starttls", "tls") else 0,
                                 describe)

        # What arrived: each message once, byte for byte.
        want = expected_wire(body)
        for srv in servers:
            self.assertEqual(len(srv.handler.envelopes), COUNT, describe)
            for env in srv.handler.envelopes:
                self.assertEqual(sha(env["content"]), sha(want))
                msg = BytesParser(policy=policy.default).parsebytes(env["content"])
                self.assertEqual(msg["Subject"], "non-blocking, many at once")
        self.assertEqual(len(sink_records), COUNT, describe)
        for rec in sink_records:
            self.assertEqual(rec["content"], want.replace(b"\r\n", b"\n"))
        self.assertEqual(len(slow_messages), COUNT, describe)

        # One loop ran them all at once, and nobody waited for the slow one.
        loop = [e for e in events if e["event"] == "loop"][0]
        # The slow one and at least one other were in the loop together; a
        # fast one may finish inside the call that starts it (under
        # valgrind the replies are often there already), so not all five
        # need to be. The done times below show nobody waited for the slow one.
        self.assertGreaterEqual(loop["max_running"], 2, describe)
        self.assertGreaterEqual(clients["slow"]["done_ms"], SLOW_S * 1000, describe)
        for name, c in clients.items():
            if name != "slow":
                self.assertLess(c["done_ms"], SLOW_S * 1000, f"{name} waited\n{describe}")
        # No step waited for the network (the slow server's silence would
        # show here); wide, since a TLS handshake step computes.
        self.assertLess(loop["max_step_ms"], harness.time_bound(1.0) * 1000, describe)
        print(f"loop: {loop}; done after "
              + ", ".join(f"{n} {c['done_ms']} ms" for n, c in sorted(clients.items())))


def main():
    global PROGRAM
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    PROGRAM = os.path.abspath(sys.argv.pop(1))
    prog = unittest.main(argv=sys.argv, exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() and prog.result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
