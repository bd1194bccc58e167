#!/usr/bin/python3
"""smtpc against Postfix's smtp-sink, which advertises PIPELINING, 8BITMIME
and ENHANCEDSTATUSCODES and dumps every transaction to a file.

smtp-sink stores text lines with LF endings, so contents are compared after
turning the expected CRLF into LF.

Usage: /usr/bin/python3 test_smtp_sink.py PATH-TO-smtpc_send
"""

import os
import sys
import unittest
from email import policy
from email.parser import BytesParser

import harness
from harness import SmtpSink, expected_wire, make_message, run_driver, tricky_messages


def as_sink_stores(body):
    return expected_wire(body).replace(b"\r\n", b"\n")


@unittest.skipUnless(os.access(harness.SINK, os.X_OK), "smtp-sink not installed (postfix)")
class SmtpSinkTests(unittest.TestCase):
    def args(self, sink, *more):
        return ["--host", "127.0.0.1", "--port", str(sink.port), "--security", "plain",
                "--from", "sender@example.org", "--to", "a@example.org",
                "--to", "b@example.org"] + list(more)

    def check(self, sink, sent, result):
        self.assertEqual(result.returncode, 0, result.describe())
        self.assertEqual(len(result.messages), len(sent), result.describe())
        for m in result.messages:
            self.assertEqual(m["ok"], 1, m)
            self.assertEqual([r["accepted"] for r in m["rcpts"]], [1, 1], m)
        records = sink.records()
        self.assertEqual(len(records), len(sent), result.describe())
        for i, (body, rec) in enumerate(zip(sent, records)):
            self.assertEqual(rec["content"], as_sink_stores(body),
                             f"message {i} differs\n{result.describe()}")
            self.assertTrue(rec["mail_args"].startswith("<sender@example.org>"), rec)
            self.assertEqual([a.split()[0] for a in rec["rcpt_args"]],
                             ["<a@example.org>", "<b@example.org>"], rec)
        return records

    def test_many_messages_pipelined(self):
        sent = [make_message(f"sink {i}", (f"line {i}\r\n" * (i % 7 + 1)).encode())
                for i in range(60)]
        with SmtpSink() as sink:
            result = run_driver(self.args(sink), sent)
            records = self.check(sink, sent, result)
        self.assertTrue(result.connect["capabilities"] & 0x001, "PIPELINING expected")
        for i, rec in enumerate(records):
            msg = BytesParser(policy=policy.default).parsebytes(rec["content"])
            self.assertEqual(msg["Subject"], f"sink {i}")

    def test_tricky_bodies(self):
        sent = tricky_messages()
        for extra in ([], ["--stream", "--chunk", "2"]):
            with self.subTest(mode=extra or "memory"):
                with SmtpSink() as sink:
                    result = run_driver(self.args(sink, *extra), sent)
                    self.check(sink, sent, result)

    def test_8bit_body(self):
        sent = [make_message("8bit", "Ünïcödé body ✓\r\n".encode("utf-8"))]
        with SmtpSink() as sink:
            result = run_driver(self.args(sink), sent)
            (rec,) = self.check(sink, sent, result)
        self.assertIn("BODY=8BITMIME", rec["mail_args"].upper())

    def test_without_pipelining(self):
        sent = [make_message(f"no pipelining {i}", b"body\r\n") for i in range(10)]
        with SmtpSink("-p") as sink:
            result = run_driver(self.args(sink), sent)
            self.check(sink, sent, result)
        self.assertFalse(result.connect["capabilities"] & 0x001)


if __name__ == "__main__":
    sys.exit(harness.main())
