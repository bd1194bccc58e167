#!/usr/bin/python3
"""CHUNKING and BINARYMIME (RFC 3030) end to end against the scripted
server's "mta" step (smtp-sink and aiosmtpd offer neither) and a real
Postfix smtpd (postfix_smtpd.py; CHUNKING, no BINARYMIME): bodies go with
BDAT, byte for byte after CRLF normalisation (no dot-stuffing), a built
message's binary attachment arrives unencoded with BODY=BINARYMIME and its
SHA-256 intact, a refused chunk stops that message only, and a batch needs
one round trip per message.

Usage: /usr/bin/python3 test_bdat.py PATH-TO-smtpc_send
       (PATH-TO-mime_dump in SMTPC_MIME_DUMP)
"""

import hashlib
import os
import sys
import tempfile
import unittest
from email import policy
from email.parser import BytesParser

import harness
from harness import expected_wire, make_message, run_driver, run_program
from scripted_server import ScriptedServer
import postfix_smtpd

GREETING = {"send": "220 mta.test ESMTP\r\n"}
CHUNKING = ["PIPELINING", "8BITMIME", "CHUNKING", "BINARYMIME", "SIZE 100000000"]
MIME_DUMP = os.environ.get("SMTPC_MIME_DUMP", "")


def args(port, *more):
    return ["--host", "127.0.0.1", "--port", str(port), "--security", "plain",
            "--from", "sender@example.org", "--to", "a@example.org"] + list(more)


def serve(opts):
    return ScriptedServer([GREETING, {"mta": opts}])


class BdatTests(unittest.TestCase):
    def test_text_bodies_unstuffed(self):
        sent = harness.tricky_messages()
        with serve({"ehlo": CHUNKING}) as srv:
            result = run_driver(args(srv.port, "--batch"), sent)
            srv.stop()
        self.assertEqual(result.returncode, 0, result.describe())
        self.assertEqual([m["mode"] for m in srv.messages], ["BDAT"] * len(sent))
        self.assertFalse(any(line.startswith("DATA") for line in srv.lines))
        for body, got in zip(sent, srv.messages):
            self.assertEqual(got["data"].encode("latin-1"), expected_wire(body))
        # Nothing of any body was read as a command line.
        self.assertFalse(any("evil" in line for line in srv.lines), srv.lines)

    def test_one_round_trip_per_message(self):
        sent = [make_message(f"bdat {i}", b"hello\r\n") for i in range(10)]
        with serve({"ehlo": CHUNKING}) as srv:
            result = run_driver(args(srv.port, "--batch"), sent)
            srv.stop()
        self.assertEqual(result.returncode, 0, result.describe())
        self.assertEqual(len(srv.messages), 10)
        # EHLO, then [MAIL RCPT "BDAT n LAST" bytes] per message.
        self.assertEqual(srv.turns, 1 + 10, result.describe())

    def test_big_body_in_chunks(self):
        body = b"".join(b".line %d with a leading dot\n" % i for i in range(4000))
        sent = [make_message("big", body)]
        with serve({"ehlo": CHUNKING}) as srv:
            result = run_driver(args(srv.port), sent)
            srv.stop()
        self.assertEqual(result.returncode, 0, result.describe())
        self.assertEqual(srv.messages[0]["data"].encode("latin-1"), expected_wire(sent[0]))
        bdats = [line for line in srv.lines if line.startswith("BDAT")]
        self.assertGreater(len(bdats), 3, bdats)
        self.assertTrue(bdats[-1].endswith("LAST"), bdats)

    def test_streamed_body_with_small_buffers(self):
        # A streamed body read into the client's I/O buffer while BDAT chunk
        # replies were read into the same buffer: with buffers smaller than
        # the body piece, a "250 ... octets" reply landed inside the message
        # (found by the Python binding's tests). Both body paths, smallest
        # buffers, several chunks: the bytes must arrive exactly.
        body = b"".join(b"%06d %s\r\n" % (i, b"y" * 60) for i in range(4000))
        sent = [make_message("small buffers", body)]
        for stream in ([], ["--stream"]):
            with self.subTest(stream=bool(stream)):
                with serve({"ehlo": CHUNKING}) as srv:
                    result = run_driver(args(srv.port, "--buffers", "256,1024", *stream), sent)
                    srv.stop()
                self.assertEqual(result.returncode, 0, result.describe())
                self.assertEqual(srv.messages[0]["mode"], "BDAT")
                self.assertEqual(srv.messages[0]["data"].encode("latin-1"),
                                 expected_wire(sent[0]))

    def test_refused_chunk_stops_that_message(self):
        big = make_message("refused", b"x" * 100 + b"\r\n" * 40000)
        small = make_message("after", b"fine\r\n")
        with serve({"ehlo": CHUNKING, "bdat": {"1.2": "552 5.3.4 too big"}}) as srv:
            result = run_driver(args(srv.port, "--batch"), [big, small])
            srv.stop()
        ms = result.messages
        self.assertEqual([m["index"] for m in ms], [0, 1], result.describe())
        self.assertEqual(ms[0]["ok"], 0)
        self.assertEqual(ms[0]["error"]["name"], "SMTPC_EMESSAGE")
        self.assertEqual(ms[0]["error"]["reply_code"], 552)
        self.assertEqual(ms[1]["ok"], 1, result.describe())
        self.assertIn("RSET", srv.lines)
        # Only the second message was completed, once.
        self.assertEqual([m["number"] for m in srv.messages], [2])
        self.assertEqual(srv.messages[0]["data"].encode("latin-1"), expected_wire(small))

    def test_data_when_chunking_not_offered(self):
        sent = [make_message("data", b".dot\r\n")]
        with serve({"ehlo": ["PIPELINING", "8BITMIME"]}) as srv:
            result = run_driver(args(srv.port), sent)
            srv.stop()
        self.assertEqual(result.returncode, 0, result.describe())
        self.assertEqual(srv.messages[0]["mode"], "DATA")

    def send_built(self, ehlo, tmp, payload):
        path = os.path.join(tmp, "blob.bin")
        with open(path, "wb") as f:
            f.write(payload)
        spec = os.path.join(tmp, "m.spec")
        text = os.path.join(tmp, "t.txt")
        with open(text, "w", encoding="utf-8") as f:
            f.write("hello\n")
        with open(spec, "w", encoding="utf-8") as f:
            f.write("from alice@example.com\nto bob@example.com\nsubject binary\n"
                    "text-file %s\nattach-file %s|blob.bin|application/octet-stream\n"
                    % (text, path))
        with serve({"ehlo": ehlo}) as srv:
            p = run_program([MIME_DUMP, spec, "65536", "127.0.0.1", str(srv.port)], 120,
                            capture_output=True)
            srv.stop()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(srv.messages), 1, srv.events)
        return srv

    @unittest.skipUnless(os.access(MIME_DUMP, os.X_OK), "mime_dump not given")
    def test_binary_attachment(self):
        payload = os.urandom(300000) + b"\r\n.\r\n\n.\rBDAT 5 LAST\r\n" + bytes(range(256))
        with tempfile.TemporaryDirectory() as tmp:
            srv = self.send_built(CHUNKING, tmp, payload)
        mail = [line for line in srv.lines if line.startswith("MAIL")]
        self.assertIn("BODY=BINARYMIME", mail[0])
        got = srv.messages[0]
        self.assertEqual(got["mode"], "BDAT")
        data = got["data"].encode("latin-1")
        # A third smaller than base64 would be.
        self.assertLess(len(data), len(payload) * 1.1)
        msg = BytesParser(policy=policy.default).parsebytes(data)
        att = [q for q in msg.walk() if q.get_filename() == "blob.bin"][0]
        self.assertEqual(att["Content-Transfer-Encoding"], "binary")
        self.assertEqual(hashlib.sha256(att.get_payload(decode=True)).hexdigest(),
                         hashlib.sha256(payload).hexdigest())
        size = [w for w in mail[0].split() if w.startswith("SIZE=")][0]
        self.assertEqual(int(size[5:]), len(data))

    @unittest.skipUnless(os.access(MIME_DUMP, os.X_OK), "mime_dump not given")
    def test_binary_attachment_base64_without_binarymime(self):
        payload = os.urandom(50000)
        with tempfile.TemporaryDirectory() as tmp:
            srv = self.send_built(["PIPELINING", "CHUNKING", "8BITMIME"], tmp, payload)
        mail = [line for line in srv.lines if line.startswith("MAIL")]
        self.assertNotIn("BINARYMIME", mail[0])
        msg = BytesParser(policy=policy.default).parsebytes(
            srv.messages[0]["data"].encode("latin-1"))
        att = [q for q in msg.walk() if q.get_filename() == "blob.bin"][0]
        self.assertEqual(att["Content-Transfer-Encoding"], "base64")
        self.assertEqual(att.get_payload(decode=True), payload)


@unittest.skipUnless(postfix_smtpd.available(), "Postfix master/smtpd need root and a postfix user")
class PostfixTests(unittest.TestCase):
    """A real Postfix smtpd, which offers CHUNKING and PIPELINING."""

    def test_batch_with_bdat(self):
        sent = harness.tricky_messages() + [
            make_message("big", b"".join(b".%d leading dot\n" % i for i in range(20000)))]
        with postfix_smtpd.PostfixSmtpd() as pf:
            result = run_driver(args(pf.port, "--batch", "--timeout-ms", "60000"), sent)
            got = list(pf.proxy.handler.envelopes)
        self.assertEqual(result.returncode, 0, result.describe())
        caps = result.connect["capabilities"]
        self.assertTrue(caps & 0x040 and caps & 0x001, "CHUNKING and PIPELINING expected")
        self.assertIn("C: BDAT", result.stderr)
        self.assertNotIn("C: DATA", result.stderr)
        self.assertEqual([m["ok"] for m in result.messages], [1] * len(sent), result.describe())
        self.assertEqual(len(got), len(sent))
        for body, env in zip(sent, got):
            # smtpd puts its Received: header in front; the rest is ours.
            self.assertTrue(env["content"].startswith(b"Received: "), env["content"][:80])
            self.assertTrue(env["content"].endswith(expected_wire(body)), body[:60])
            want = BytesParser(policy=policy.default).parsebytes(body)
            msg = BytesParser(policy=policy.default).parsebytes(env["content"])
            self.assertEqual(msg["Subject"], want["Subject"])

    @unittest.skipUnless(os.access(MIME_DUMP, os.X_OK), "mime_dump not given")
    def test_built_message_with_attachment(self):
        # Postfix offers no BINARYMIME: the attachment goes base64 in BDAT.
        payload = os.urandom(200000)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "blob.bin")
            with open(path, "wb") as f:
                f.write(payload)
            spec = os.path.join(tmp, "m.spec")
            with open(spec, "w", encoding="utf-8") as f:
                f.write("from alice@example.com\nto bob@example.com\nsubject postfix\n"
                        "attach-file %s|blob.bin|application/octet-stream\n" % path)
            with postfix_smtpd.PostfixSmtpd() as pf:
                p = run_program([MIME_DUMP, spec, "65536", "127.0.0.1", str(pf.port)], 120,
                                capture_output=True)
                got = list(pf.proxy.handler.envelopes)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(got), 1)
        msg = BytesParser(policy=policy.default).parsebytes(got[0]["content"])
        att = [q for q in msg.walk() if q.get_filename() == "blob.bin"][0]
        self.assertEqual(hashlib.sha256(att.get_payload(decode=True)).hexdigest(),
                         hashlib.sha256(payload).hexdigest())


if __name__ == "__main__":
    sys.exit(harness.main())
