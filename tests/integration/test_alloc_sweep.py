#!/usr/bin/python3
"""Allocation-failure sweep over a full session (issue 6): alloc_sweep.c
fails each of smtpc's allocations in turn (and, in a second pass, every one
from the Nth on) while connecting to auth_server.py with STARTTLS, AUTH
PLAIN or SCRAM-SHA-256, sending a message with an inline part and two
attachments, and quitting. The program checks the results, leaks and free
sizes itself; here the server's side is checked: exactly the runs that
reported a successful send delivered a message, and each is the complete
MIME structure.

Usage: /usr/bin/python3 test_alloc_sweep.py PATH-TO-alloc_sweep
"""

import email
import email.policy
import logging
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from auth_server import AuthServer  # noqa: E402
from harness import run_program  # noqa: E402

PROGRAM = None

# Every run cut short by an injected failure drops its connection mid-session
# (often mid-handshake), and aiosmtpd logs a traceback for each: hundreds of
# expected ones would bury a real failure in the test log.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)

USER = "sweeper@example.org"
PASSWORD = "Sw33p-every_allocation"
RCPT = "rcpt@example.org"
# Native runs take a few seconds; valgrind's slowdown is applied by
# run_program (SMTPC_TEST_TIMEOUT_SCALE).
TIMEOUT = 120


class AllocSweepTest(unittest.TestCase):
    def test_sweep(self):
        with AuthServer(users={USER: PASSWORD}, mechanisms=("PLAIN", "SCRAM-SHA-256"),
                        starttls=True) as srv:
            proc = run_program([PROGRAM, srv.port, srv.cafile, USER, PASSWORD, RCPT],
                               TIMEOUT, capture_output=True, text=True, errors="replace")
            envelopes = list(srv.handler.envelopes)
            auth_log = list(srv.auth_log)
        describe = f"exit {proc.returncode}\n--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}"
        sys.stdout.write(proc.stdout)
        self.assertEqual(proc.returncode, 0, describe)

        sweeps = re.findall(r"^sweep (.*)$", proc.stdout, re.M)
        self.assertEqual(len(sweeps), 4, describe)  # 2 mechanisms x 2 failure shapes
        delivered = re.search(r"^delivered (\d+)$", proc.stdout, re.M)
        self.assertIsNotNone(delivered, describe)
        delivered = int(delivered.group(1))
        # At least the four successful runs; a run whose send succeeded and
        # that then ran out of memory (in QUIT) counts too. Never more: a
        # send that failed must not have left a message behind.
        self.assertGreaterEqual(delivered, 4, describe)
        self.assertEqual(len(envelopes), delivered, describe)

        # Both mechanisms really ran against the server's implementations.
        succeeded = {e["mechanism"] for e in auth_log if e["success"]}
        self.assertEqual(succeeded, {"PLAIN", "SCRAM-SHA-256"})
        self.assertTrue(all(e["tls"] for e in auth_log), "AUTH outside TLS")

        for env in envelopes:
            self.assertEqual(env["rcpt_tos"], [RCPT])  # the Bcc duplicate sent once
            self.check_message(env["content"])

    def check_message(self, content):
        msg = email.message_from_bytes(content, policy=email.policy.default)
        self.assertEqual(msg.get_content_type(), "multipart/mixed")
        self.assertIsNone(msg["Bcc"])
        body, *attachments = msg.iter_parts()
        self.assertEqual(body.get_content_type(), "multipart/related")
        alternative, inline = body.iter_parts()
        self.assertEqual(alternative.get_content_type(), "multipart/alternative")
        self.assertEqual([p.get_content_type() for p in alternative.iter_parts()],
                         ["text/plain", "text/html"])
        self.assertEqual(inline["Content-ID"], "<chart@example.org>")
        self.assertEqual(inline.get_payload(decode=True),
                         b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR")
        self.assertEqual([a.get_filename() for a in attachments],
                         ["data.csv", "r\u00e9sum\u00e9.txt"])
        # Attachment bytes arrive exactly as given (alloc_sweep.c).
        self.assertEqual(attachments[0].get_payload(decode=True),
                         b"name,value\r\nalpha,1\r\nbeta,2\r\n")
        self.assertEqual(attachments[1].get_payload(decode=True),
                         b"".join(b"line %02d: r\xc3\xa9sum\xc3\xa9\n" % i for i in range(60)))


def main():
    global PROGRAM
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    PROGRAM = os.path.abspath(sys.argv[1])
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
