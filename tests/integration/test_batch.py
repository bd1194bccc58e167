#!/usr/bin/python3
"""Many messages on one connection (smtpc_client_send_batch through
smtpc_send --batch): every message arrives exactly once with its bytes,
each gets one verdict, and with PIPELINING one round trip per message once
under way, counted by the scripted server (each flush of held replies is a
turn the client had to wait for: no timing involved).

Usage: /usr/bin/python3 test_batch.py PATH-TO-smtpc_send
"""

import os
import sys
import unittest
from email import policy
from email.parser import BytesParser

import harness
from harness import AiosmtpdServer, SmtpSink, expected_wire, make_message, run_driver
from scripted_server import ScriptedServer

GREETING = {"send": "220 mta.test ESMTP\r\n"}


def messages(n, tag):
    return [make_message(f"{tag} {i}", (f"body {i}\r\n.dot line\r\n" * (i % 5 + 1)).encode())
            for i in range(n)]


def args(port, *more):
    return ["--host", "127.0.0.1", "--port", str(port), "--security", "plain",
            "--from", "sender@example.org", "--to", "a@example.org", "--batch"] + list(more)


class BatchTests(unittest.TestCase):
    def verdicts(self, result, n):
        """One verdict per message, in order, each exactly once."""
        got = [m["index"] for m in result.messages]
        self.assertEqual(got, list(range(n)), result.describe())
        self.assertEqual(len(result.of("batch")), 1, result.describe())
        return result.messages

    def test_aiosmtpd(self):
        sent = messages(25, "aiosmtpd")
        with AiosmtpdServer() as srv:
            result = run_driver(args(srv.port), sent)
        self.assertEqual(result.returncode, 0, result.describe())
        for m in self.verdicts(result, len(sent)):
            self.assertEqual((m["ok"], m["message_status"]), (1, 1), m)
        got = srv.handler.envelopes
        self.assertEqual(len(got), len(sent))
        for i, (body, env) in enumerate(zip(sent, got)):
            self.assertEqual(env["content"], expected_wire(body), f"message {i}")
            msg = BytesParser(policy=policy.default).parsebytes(env["content"])
            self.assertEqual(msg["Subject"], f"aiosmtpd {i}")

    @unittest.skipUnless(os.access(harness.SINK, os.X_OK), "smtp-sink not installed (postfix)")
    def test_smtp_sink(self):
        sent = messages(40, "sink")
        with SmtpSink() as sink:
            result = run_driver(args(sink.port), sent)
            records = sink.records()
        self.assertEqual(result.returncode, 0, result.describe())
        self.assertTrue(result.connect["capabilities"] & 0x001, "PIPELINING expected")
        for m in self.verdicts(result, len(sent)):
            self.assertEqual(m["ok"], 1, m)
        self.assertEqual(len(records), len(sent))
        for i, (body, rec) in enumerate(zip(sent, records)):
            self.assertEqual(rec["content"], expected_wire(body).replace(b"\r\n", b"\n"))
            msg = BytesParser(policy=policy.default).parsebytes(rec["content"])
            self.assertEqual(msg["Subject"], f"sink {i}")

    def run_mta(self, opts, sent, *more):
        steps = [GREETING, {"mta": opts}]
        with ScriptedServer(steps) as srv:
            result = run_driver(args(srv.port, *more), sent)
            srv.stop()
        return srv, result

    def test_one_round_trip_per_message(self):
        sent = messages(10, "rtt")
        opts = {"ehlo": ["PIPELINING", "8BITMIME"]}
        srv, result = self.run_mta(opts, sent)
        self.assertEqual(result.returncode, 0, result.describe())
        for m in self.verdicts(result, 10):
            self.assertEqual(m["ok"], 1, m)
        self.assertEqual([m["data"].encode("latin-1") for m in srv.messages],
                         [expected_wire(b) for b in sent])
        # EHLO is one turn; then [MAIL RCPT DATA], then for each message
        # [body "." MAIL RCPT DATA] (the last: [body "."]): 10 + 1.
        self.assertEqual(srv.turns, 1 + 10 + 1, result.describe())

    def test_two_round_trips_without_pipelining(self):
        # The reference point: the same batch to a server without PIPELINING
        # waits for every reply (MAIL, RCPT, DATA, end of data).
        sent = messages(10, "nopipe")
        srv, result = self.run_mta({"ehlo": ["8BITMIME"]}, sent)
        self.assertEqual(result.returncode, 0, result.describe())
        self.verdicts(result, 10)
        self.assertEqual(srv.turns, 1 + 4 * 10, result.describe())

    def test_refused_end_of_data_and_452_mail(self):
        # Message 2 refused at its end of data while message 3's envelope is
        # queued; message 4's pipelined MAIL gets 452; the rest go through.
        sent = messages(6, "faults")
        opts = {"end": {"2": "554 5.7.1 refused"}, "mail": {"4": "452 4.5.3 too many"},
                "ehlo": ["PIPELINING", "8BITMIME"]}
        srv, result = self.run_mta(opts, sent)
        ms = self.verdicts(result, 6)
        self.assertEqual([m["ok"] for m in ms], [1, 0, 1, 0, 1, 1], result.describe())
        self.assertEqual(ms[1]["error"]["name"], "SMTPC_EMESSAGE")
        self.assertEqual(ms[1]["error"]["reply_code"], 554)
        self.assertEqual(ms[1]["message_status"], 2)
        self.assertEqual(ms[3]["error"]["name"], "SMTPC_EMAILFROM")
        self.assertEqual(ms[3]["error"]["reply_code"], 452)
        self.assertEqual(ms[3]["message_status"], 0)
        # Server side: 5 bodies (the 452'd one never sent), none twice, no
        # body line ever taken as a command.
        self.assertEqual([m["number"] for m in srv.messages], [1, 2, 3, 5, 6])
        bodies = [m["data"].encode("latin-1") for m in srv.messages]
        self.assertEqual(bodies, [expected_wire(sent[i]) for i in (0, 1, 2, 4, 5)])
        self.assertIn("RSET", srv.lines)

    def test_close_after_first_message(self):
        sent = messages(4, "close")
        # With DATA the next body waits for a 354, so message 2 is surely
        # not sent; with BDAT it may have gone out whole (then UNKNOWN).
        srv, result = self.run_mta({"close_after": 1, "ehlo": ["PIPELINING"]}, sent)
        ms = self.verdicts(result, 4)
        self.assertEqual(ms[0]["ok"], 1, result.describe())
        for m in ms[1:]:
            self.assertEqual((m["ok"], m["message_status"]), (0, 0), m)
        self.assertEqual(len(srv.messages), 1)
        self.assertNotEqual(result.of("batch")[0]["rc"], 0)


if __name__ == "__main__":
    sys.exit(harness.main())
