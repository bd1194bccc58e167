#!/usr/bin/python3
"""The examples are programs people copy: run them against aiosmtpd and
check that what they send arrives.

Usage: /usr/bin/python3 test_examples.py PATH-TO-engine_loop PATH-TO-send_raw
           PATH-TO-send_tls PATH-TO-send_attachment

SMTPC_TEST_SOCKETS=0 (set by meson for -Dsockets=false): the examples that
use the blocking client over the library's sockets must fail with one clear
line; engine_loop does its own I/O and runs as everywhere.
"""

import os
import sys
import unittest
from email import policy
from email.parser import BytesParser

import harness
from harness import AiosmtpdServer, run_program

PROGRAMS = {}
NAMES = ("engine_loop", "send_raw", "send_tls", "send_attachment")
HAVE_SOCKETS = os.environ.get("SMTPC_TEST_SOCKETS", "1") != "0"
NO_SOCKETS = ("the library's socket transport is compiled out (-Dsockets=false); "
              "ClientExamplesWithoutSockets checks the error instead")


def error_lines(stderr):
    """What an example printed about its failure: stderr without the trace
    ("C:", "S:", "--" lines) and the size note."""
    return [line for line in stderr.splitlines()
            if line and not line.startswith(("C: ", "S: ", "-- ", "message size:"))]


class ExampleTests(unittest.TestCase):
    def test_engine_loop(self):
        with AiosmtpdServer() as srv:
            proc = run_program([PROGRAMS["engine_loop"], "127.0.0.1", str(srv.port),
                                "dev@example.org", "ops@example.org"], timeout=30,
                               capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("ops@example.org: 250", proc.stdout)
        self.assertRegex(proc.stdout, r"engine memory: \d+ bytes at peak from a 12288-byte pool")
        self.assertEqual(len(srv.handler.envelopes), 1)
        env = srv.handler.envelopes[0]
        self.assertEqual(env["mail_from"], "dev@example.org")
        self.assertEqual(env["rcpt_tos"], ["ops@example.org"])
        msg = BytesParser(policy=policy.default).parsebytes(env["content"])
        self.assertEqual(msg["Subject"], "from the engine loop")
        self.assertIn("fixed memory pool", msg.get_content())

    def test_engine_loop_refused_recipient(self):
        with AiosmtpdServer() as srv:
            proc = run_program([PROGRAMS["engine_loop"], "127.0.0.1", str(srv.port),
                                "dev@example.org", "reject@example.org"], timeout=30,
                               capture_output=True, text=True)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("reject@example.org: 550", proc.stdout)
        self.assertIn("every recipient", proc.stderr)
        self.assertEqual(srv.handler.envelopes, [])

    @unittest.skipUnless(HAVE_SOCKETS, NO_SOCKETS)
    def test_send_raw(self):
        with AiosmtpdServer() as srv:
            proc = run_program([PROGRAMS["send_raw"], "127.0.0.1", str(srv.port), "plain",
                                "me@example.org", "you@example.org", "reject@example.org"],
                               timeout=30,
                               capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(len(srv.handler.envelopes), 1)
        self.assertEqual(srv.handler.envelopes[0]["rcpt_tos"], ["you@example.org"])


class ExampleErrorOutput(unittest.TestCase):
    """Review finding #15: the examples printed an error twice, the record's
    message and then the code's description in brackets ("STARTTLS is
    required ... (STARTTLS required ...)"), and a refusal's reply once in
    the message and again on a line of its own. Now: one line, the message
    once."""

    def assertOneLine(self, proc, what, phrase):
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        lines = error_lines(proc.stderr)
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertTrue(lines[0].startswith(what), proc.stderr)
        self.assertEqual("\n".join(lines).count(phrase), 1, proc.stderr)

    @unittest.skipUnless(HAVE_SOCKETS, NO_SOCKETS)
    def test_starttls_required_but_not_offered(self):
        # aiosmtpd without a TLS context offers no STARTTLS.
        cases = {
            "send_raw": lambda port: [PROGRAMS["send_raw"], "127.0.0.1", port, "starttls",
                                      "me@example.org", "you@example.org"],
            "send_tls": lambda port: [PROGRAMS["send_tls"], "127.0.0.1", port,
                                      "me@example.org", "you@example.org"],
            "send_attachment": lambda port: [PROGRAMS["send_attachment"], "127.0.0.1", port,
                                             "starttls", "me@example.org", "you@example.org",
                                             PROGRAMS["send_attachment"]],
        }
        for name, argv in cases.items():
            with self.subTest(example=name), AiosmtpdServer() as srv:
                proc = run_program(argv(str(srv.port)), timeout=30, capture_output=True,
                                   text=True)
                self.assertOneLine(proc, "connect", "STARTTLS")
                self.assertEqual(srv.handler.envelopes, [])

    def test_refusal_reply_printed_once(self):
        reply = "<reject@example.org>: recipient rejected"
        for name in ("send_raw", "engine_loop"):
            with self.subTest(example=name), AiosmtpdServer() as srv:
                if name == "send_raw" and not HAVE_SOCKETS:
                    self.skipTest(NO_SOCKETS)
                argv = [PROGRAMS[name], "127.0.0.1", str(srv.port)]
                argv += ["plain"] if name == "send_raw" else []
                argv += ["me@example.org", "reject@example.org"]
                proc = run_program(argv, timeout=30, capture_output=True, text=True)
                lines = error_lines(proc.stderr)
                self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
                self.assertEqual(len(lines), 1, proc.stderr)
                self.assertEqual(lines[0].count("every recipient"), 1, proc.stderr)
                self.assertEqual(lines[0].count(reply), 1, proc.stderr)
                self.assertEqual(lines[0].count("550"), 1, proc.stderr)


@unittest.skipIf(HAVE_SOCKETS, "checks a build without sockets (-Dsockets=false)")
class ClientExamplesWithoutSockets(unittest.TestCase):
    """Without the library's sockets the client examples cannot connect: one
    line says why, and nothing reaches the server."""

    def test_one_clear_line(self):
        cases = {
            "send_raw": lambda port: [PROGRAMS["send_raw"], "127.0.0.1", port, "plain",
                                      "me@example.org", "you@example.org"],
            "send_tls": lambda port: [PROGRAMS["send_tls"], "127.0.0.1", port,
                                      "me@example.org", "you@example.org"],
            "send_attachment": lambda port: [PROGRAMS["send_attachment"], "127.0.0.1", port,
                                             "plain", "me@example.org", "you@example.org",
                                             PROGRAMS["send_attachment"]],
        }
        for name, argv in cases.items():
            with self.subTest(example=name), AiosmtpdServer() as srv:
                proc = run_program(argv(str(srv.port)), timeout=30, capture_output=True,
                                   text=True)
                self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
                lines = error_lines(proc.stderr)
                self.assertEqual(len(lines), 1, proc.stderr)
                self.assertIn("without socket support", lines[0], proc.stderr)
                self.assertEqual(srv.handler.envelopes, [])


def main():
    if len(sys.argv) < 1 + len(NAMES):
        print(__doc__, file=sys.stderr)
        return 2
    for name in NAMES:
        PROGRAMS[name] = os.path.abspath(sys.argv.pop(1))
    prog = unittest.main(argv=sys.argv, exit=False, verbosity=2)
    r = prog.result
    failed = len(r.failures) + len(r.errors)
    print(f"test_examples.py: {r.testsRun - failed} passed, {failed} failed")
    return 0 if failed == 0 and r.testsRun else 1


if __name__ == "__main__":
    sys.exit(main())
