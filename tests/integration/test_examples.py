#!/usr/bin/python3
"""The examples are programs people copy: run them against aiosmtpd and
check that what they send arrives.

Usage: /usr/bin/python3 test_examples.py PATH-TO-engine_loop PATH-TO-send_raw
"""

import os
import sys
import unittest
from email import policy
from email.parser import BytesParser

import harness
from harness import AiosmtpdServer, run_program

PROGRAMS = {}


class ExampleTests(unittest.TestCase):
    def test_engine_loop(self):
        with AiosmtpdServer() as srv:
            proc = run_program([PROGRAMS["engine_loop"], "127.0.0.1", str(srv.port),
                                "dev@example.org", "ops@example.org"], timeout=30,
                               capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("ops@example.org: 250", proc.stdout)
        self.assertRegex(proc.stdout, r"engine memory: \d+ bytes at peak from a 8192-byte pool")
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

    def test_send_raw(self):
        with AiosmtpdServer() as srv:
            proc = run_program([PROGRAMS["send_raw"], "127.0.0.1", str(srv.port), "plain",
                                "me@example.org", "you@example.org", "reject@example.org"],
                               timeout=30,
                               capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(len(srv.handler.envelopes), 1)
        self.assertEqual(srv.handler.envelopes[0]["rcpt_tos"], ["you@example.org"])


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    PROGRAMS["engine_loop"] = os.path.abspath(sys.argv.pop(1))
    PROGRAMS["send_raw"] = os.path.abspath(sys.argv.pop(1))
    prog = unittest.main(argv=sys.argv, exit=False, verbosity=2)
    r = prog.result
    failed = len(r.failures) + len(r.errors)
    print(f"test_examples.py: {r.testsRun - failed} passed, {failed} failed")
    return 0 if failed == 0 and r.testsRun else 1


if __name__ == "__main__":
    sys.exit(main())
