#!/usr/bin/python3
"""smtpc against aiosmtpd: what arrives must be, byte for byte, what was
meant, and every refusal must be reported per recipient or per message
while the session stays usable.

Usage: /usr/bin/python3 test_aiosmtpd.py PATH-TO-smtpc_send
"""

import sys
import unittest
from email import policy
from email.parser import BytesParser

import harness
from harness import (TRICKY_BODIES, AiosmtpdServer, expected_wire, make_message, run_driver,
                     tricky_messages)


def server_args(srv, *more):
    return ["--host", "127.0.0.1", "--port", str(srv.port), "--security", "plain",
            "--from", "sender@example.org", "--to", "rcpt@example.org"] + list(more)


class AiosmtpdTests(unittest.TestCase):
    def assertDelivered(self, srv, sent, result, rcpts=("rcpt@example.org",)):
        """Every message in sent arrived, in order, byte for byte."""
        self.assertEqual(result.returncode, 0, result.describe())
        got = srv.handler.envelopes
        self.assertEqual(len(got), len(sent), result.describe())
        for i, (body, env) in enumerate(zip(sent, got)):
            want = expected_wire(body)
            self.assertEqual(env["content"], want,
                             f"message {i} differs\n{result.describe()}")
            self.assertEqual(env["rcpt_tos"], list(rcpts))
            # A declared SIZE must be exactly what arrived (line ends made CRLF).
            sizes = [o for o in env["mail_options"] if o.upper().startswith("SIZE=")]
            if sizes:
                self.assertEqual(int(sizes[0][5:]), len(want), f"message {i}: {sizes[0]}")
        for m in result.messages:
            self.assertEqual(m["ok"], 1, m)
            self.assertEqual(m["message_status"], 1, m)
            self.assertTrue(all(r["accepted"] == 1 and r["code"] == 250 for r in m["rcpts"]),
                            m)

    def test_many_messages_one_connection(self):
        sent = [make_message(f"message {i}", (f"Body of message {i}.\r\n" * (i + 1)).encode())
                for i in range(40)]
        with AiosmtpdServer() as srv:
            result = run_driver(server_args(srv), sent)
        self.assertDelivered(srv, sent, result)
        self.assertEqual(len({tuple(e["peer"]) for e in srv.handler.envelopes}), 1,
                         "all messages should share one connection")
        for i, env in enumerate(srv.handler.envelopes):
            msg = BytesParser(policy=policy.default).parsebytes(env["content"])
            self.assertEqual(msg["Subject"], f"message {i}")
            self.assertEqual(msg["From"], "sender@example.org")
            self.assertEqual(msg.get_content().replace("\r\n", "\n"),
                             f"Body of message {i}.\n" * (i + 1))
        self.assertEqual(result.of("quit")[0]["rc"], 0, result.describe())

    def test_count_repeats_on_one_connection(self):
        body = make_message("repeated", b"Same body each time.\r\n")
        with AiosmtpdServer() as srv:
            result = run_driver(server_args(srv, "--count", "25"), [body])
        self.assertDelivered(srv, [body] * 25, result)
        self.assertEqual(len({tuple(e["peer"]) for e in srv.handler.envelopes}), 1)

    def test_tricky_bodies_from_memory(self):
        sent = tricky_messages()
        with AiosmtpdServer() as srv:
            result = run_driver(server_args(srv), sent)
        self.assertDelivered(srv, sent, result)
        self.assertParsed(srv)

    def test_tricky_bodies_streamed_byte_by_byte(self):
        sent = tricky_messages()
        with AiosmtpdServer() as srv:
            result = run_driver(server_args(srv, "--stream", "--chunk", "1"), sent)
        self.assertDelivered(srv, sent, result)

    def test_tricky_bodies_streamed_unknown_size(self):
        sent = tricky_messages()
        with AiosmtpdServer() as srv:
            result = run_driver(server_args(srv, "--stream", "--chunk", "3", "--unknown-size"),
                                sent)
        self.assertDelivered(srv, sent, result)

    def assertParsed(self, srv):
        names = list(TRICKY_BODIES)
        for name, env in zip(names, srv.handler.envelopes):
            msg = BytesParser(policy=policy.default).parsebytes(env["content"])
            self.assertEqual(msg["Subject"], f"tricky {name}")
            self.assertEqual(msg["To"], "rcpt@example.org")

    def test_8bit_body(self):
        text = "Grüße aus Köln — ünïcödé ✓\r\n.dot line ñ\r\n"
        sent = [make_message("8bit", text.encode("utf-8"),
                             extra_headers="Content-Transfer-Encoding: 8bit\r\n")]
        for extra in ([], ["--stream", "--chunk", "5"]):
            with self.subTest(mode=extra or "memory"):
                with AiosmtpdServer() as srv:
                    result = run_driver(server_args(srv, *extra), sent)
                self.assertDelivered(srv, sent, result)
                env = srv.handler.envelopes[0]
                self.assertIn("BODY=8BITMIME", [o.upper() for o in env["mail_options"]])
                msg = BytesParser(policy=policy.default).parsebytes(env["content"])
                self.assertEqual(msg.get_content().replace("\r\n", "\n"),
                                 text.replace("\r\n", "\n"))

    def test_large_message(self):
        line = b"0123456789abcdefghijklmnopqrstuvwxyz" * 2 + b"\r\n"
        sent = [make_message("large", line * 30000)]  # about 2.2 MB
        for extra in ([], ["--stream", "--chunk", "65536"]):
            with self.subTest(mode=extra or "memory"):
                with AiosmtpdServer() as srv:
                    result = run_driver(server_args(srv, *extra), sent)
                self.assertDelivered(srv, sent, result)

    def test_smallest_buffers(self):
        # smtpc_client_set_buffers at its minimums: a 2 MB message still
        # arrives byte for byte, from memory and streamed.
        line = b"0123456789abcdefghijklmnopqrstuvwxyz" * 2 + b"\r\n"
        sent = [make_message("small buffers", b".dot first\r\n" + line * 30000)]
        for extra in ([], ["--stream", "--chunk", "65536"]):
            with self.subTest(mode=extra or "memory"):
                with AiosmtpdServer() as srv:
                    result = run_driver(server_args(srv, "--buffers", "256,1024", *extra), sent)
                self.assertDelivered(srv, sent, result)

    def test_null_sender(self):
        sent = [make_message("bounce", b"A delivery status notification.\r\n")]
        with AiosmtpdServer() as srv:
            result = run_driver(server_args(srv, "--from", ""), sent)
        self.assertDelivered(srv, sent, result)
        self.assertIn(srv.handler.envelopes[0]["mail_from"], ("", "<>"))

    def test_some_recipients_refused(self):
        sent = [(make_message("partial", b"Some get it.\r\n"),
                 ["--msg-to", "ok1@example.org", "--msg-to", "reject1@example.org",
                  "--msg-to", "ok2@example.org"])]
        with AiosmtpdServer() as srv:
            result = run_driver(server_args(srv), sent)
        self.assertEqual(result.returncode, 0, result.describe())
        (m,) = result.messages
        self.assertEqual(m["ok"], 1)
        self.assertEqual([r["accepted"] for r in m["rcpts"]], [1, 0, 1], m)
        self.assertEqual([r["code"] for r in m["rcpts"]], [250, 550, 250], m)
        self.assertEqual(m["rcpts"][1]["enhanced"], "5.1.1", m)
        self.assertIn("recipient rejected", m["rcpts"][1]["text"], m)
        (env,) = srv.handler.envelopes
        self.assertEqual(env["rcpt_tos"], ["ok1@example.org", "ok2@example.org"])
        self.assertEqual(env["content"], expected_wire(sent[0][0]))

    def test_all_recipients_refused_session_survives(self):
        first = make_message("nobody", b"Nobody gets this.\r\n")
        second = make_message("after", b"This one goes through.\r\n")
        sent = [(first, ["--msg-to", "reject-a@example.org", "--msg-to", "reject-b@example.org"]),
                (second, ["--msg-to", "ok@example.org"])]
        with AiosmtpdServer() as srv:
            result = run_driver(server_args(srv), sent)
        self.assertNotEqual(result.returncode, 0)
        m1, m2 = result.messages
        self.assertEqual(m1["ok"], 0)
        self.assertEqual(m1["rc_name"], "SMTPC_ERCPTS", m1)
        self.assertEqual([r["code"] for r in m1["rcpts"]], [550, 550], m1)
        self.assertEqual(m1["message_status"], 0, m1)
        self.assertEqual(m2["ok"], 1, result.describe())
        self.assertEqual(m2["rcpts"][0]["accepted"], 1)
        (env,) = srv.handler.envelopes
        self.assertEqual(env["rcpt_tos"], ["ok@example.org"])
        self.assertEqual(env["content"], expected_wire(second))
        self.assertEqual(result.of("quit")[0]["rc"], 0, result.describe())

    def test_message_refused_after_data_session_survives(self):
        refused = make_message("refused", b"Too much.\r\n", extra_headers="X-Refuse: 552\r\n")
        after = make_message("after refusal", b"Fine.\r\n")
        with AiosmtpdServer() as srv:
            result = run_driver(server_args(srv), [refused, after])
        self.assertNotEqual(result.returncode, 0)
        m1, m2 = result.messages
        self.assertEqual(m1["rc_name"], "SMTPC_EMESSAGE", m1)
        self.assertEqual(m1["error"]["reply_code"], 552, m1)
        self.assertEqual(m1["error"]["enhanced"], "5.3.4", m1)
        self.assertIn("refused by policy", m1["error"]["reply_text"], m1)
        self.assertEqual(m1["error"]["temporary"], 0, m1)
        self.assertEqual(m1["message_status"], 2, m1)
        self.assertEqual(m2["ok"], 1, result.describe())
        (env,) = srv.handler.envelopes
        self.assertEqual(env["content"], expected_wire(after))


if __name__ == "__main__":
    sys.exit(harness.main())
