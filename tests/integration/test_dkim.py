#!/usr/bin/python3
"""DKIM signing (issue 13), checked by two independent verifiers: Python's
dkim module (dkimpy, its DNS lookup replaced by the test's key) and
OpenDKIM's opendkim-testmsg (its resolver calls answered by the fake_dns
preload from a file). Keys are made at test time with openssl.

Built messages come from mime_dump (its dkim directive), raw ones from
dkim_raw; both are also sent through aiosmtpd and what arrived is verified.
In a build without DKIM (SMTPC_TEST_DKIM=0) the same programs must report
SMTPC_ENOTSUP.

usage: test_dkim.py MIME_DUMP DKIM_RAW FAKE_DNS_SO
"""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import AiosmtpdServer, run_program  # noqa: E402

MIME_DUMP, DKIM_RAW, FAKE_DNS = sys.argv[1:4]
del sys.argv[1:4]
HAVE_DKIM = os.environ.get("SMTPC_TEST_DKIM", "1") == "1"
TESTMSG = "/usr/sbin/opendkim-testmsg"

TMP = tempfile.TemporaryDirectory(prefix="smtpc-dkim-")
T = TMP.name
KEYS = {}  # name -> (private key path, public key base64)


def make_key(name, bits):
    path = os.path.join(T, name + ".pem")
    subprocess.run(["openssl", "genrsa", "-out", path, str(bits)], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    import base64
    KEYS[name] = (path, base64.b64encode(der).decode())
    return path


def dns_records():
    """selector._domainkey.domain -> TXT, for the keys of the tests."""
    return {
        "sel1._domainkey.example.com": "v=DKIM1; k=rsa; p=" + KEYS["main"][1],
        "prov._domainkey.provider.example": "v=DKIM1; k=rsa; p=" + KEYS["second"][1],
    }


def write_dns_file():
    path = os.path.join(T, "dns.txt")
    with open(path, "w") as f:
        for name, txt in dns_records().items():
            f.write("%s %s\n" % (name, txt))
    return path


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


def verify_dkimpy(message):
    """Every signature of message, verified by dkimpy: a list of booleans."""
    import dkim
    records = dns_records()

    def dnsfunc(name, timeout=5):
        key = name.decode() if isinstance(name, bytes) else name
        return records.get(key.rstrip("."), "").encode()

    d = dkim.DKIM(crlf(message))
    count = sum(1 for line in crlf(message).split(b"\r\n\r\n", 1)[0].split(b"\r\n")
                if line.lower().startswith(b"dkim-signature:"))
    verdicts = []
    for i in range(count):
        try:
            verdicts.append(d.verify(idx=i, dnsfunc=dnsfunc))
        except dkim.ValidationError:  # a body hash mismatch raises
            verdicts.append(False)
    return verdicts


def verify_opendkim(message):
    """opendkim-testmsg's verdict (it checks the first signature): (ok, text).
    It takes the message as sent on the wire, CRLF throughout."""
    env = dict(os.environ, LD_PRELOAD=FAKE_DNS, SMTPC_FAKE_DNS=DNS_FILE)
    p = subprocess.run([TESTMSG], input=crlf(message), capture_output=True, env=env,
                       timeout=60)
    return p.returncode == 0, p.stderr.decode(errors="replace")


def spec(lines, name):
    path = os.path.join(T, name + ".spec")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def signer(key="main", canon="relaxed/relaxed", expire=""):
    if key == "main":
        return "dkim %s|example.com|sel1|%s|%s" % (KEYS[key][0], canon, expire)
    return "dkim %s|provider.example|prov|%s|%s" % (KEYS[key][0], canon, expire)


def build(lines, name, chunk=7):
    p = run_program([MIME_DUMP, spec(lines, name), str(chunk)], 120, capture_output=True)
    return p


def write(name, data):
    path = os.path.join(T, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


BASE = ["from alice@example.com|Alice", "to bob@example.com|Bob",
        "date Tue, 1 Jul 2025 10:00:00 +0200", "message-id <m1@example.com>"]


def cases():
    """name -> spec lines (without the signer): every shape the issue lists."""
    long_subject = "A subject long enough that the builder has to fold it " * 4
    return {
        "utf8": BASE + ["subject Grüße, Zoë — ünïcode ✓", "cc carol@example.com|Carol Ünïcode",
                        "text-file " + write("utf8.txt", "Grüße\nZoë\n".encode())],
        "folded": BASE + ["subject " + long_subject,
                          "header X-Long|" + "word " * 40,
                          "text-file " + write("f.txt", b"folded headers\n")],
        "trailing-ws": BASE + ["subject trailing  ", "header X-Spaces|a   b\tc",
                               "text-file " + write("ws.txt", b"line one   \nline\t\ttwo \t\n\n\n\n")],
        "empty-body": BASE + ["subject empty"],
        "no-final-crlf": BASE + ["subject no final", "text-file " + write("nf.txt", b"last line")],
        "dots": BASE + ["subject dots", "text-file " + write("dots.txt", b".\n..\n.hidden\nx\n.\n")],
        "attachments": BASE + [
            "subject attachments",
            "text-file " + write("a.txt", b"see attached\n"),
            "html-file " + write("a.html", b"<p>see <img src=cid:i1></p>\n"),
            "inline-file %s|i1|i.png|image/png" % write("i.png", os.urandom(3000)),
            "attach-file %s|data.bin|" % write("data.bin", os.urandom(200000)),
            "attach-gen 100000|7|gen.bin||",
        ],
    }


@unittest.skipUnless(HAVE_DKIM, "DKIM not built: DisabledBuild runs instead")
class Signing(unittest.TestCase):
    def check_both(self, message, n=1):
        self.assertEqual(verify_dkimpy(message), [True] * n, message[:3000])
        ok, why = verify_opendkim(message)
        self.assertTrue(ok, why + message[:3000].decode(errors="replace"))

    def check_fails(self, message, opendkim_syntax=False):
        self.assertFalse(all(verify_dkimpy(message)))
        ok, why = verify_opendkim(message)
        self.assertFalse(ok)
        # Refused for the signature, not for a malformed message (OpenDKIM
        # calls a message with two From fields a syntax error).
        if opendkim_syntax:
            self.assertIn("Syntax error", why)
        else:
            self.assertIn("Bad signature", why)

    def test_builder_cases_both_canonicalizations(self):
        for canon in ("relaxed/relaxed", "simple/simple"):
            for name, lines in cases().items():
                with self.subTest(case=name, canon=canon):
                    p = build(lines + [signer(canon=canon)], name)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertTrue(p.stdout.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c="
                                                        + canon.encode()), p.stdout[:200])
                    self.check_both(p.stdout)

    def test_size_counts_the_signature(self):
        p = build(cases()["attachments"] + [signer()], "size")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(("size %d" % len(p.stdout)).encode(), p.stderr)

    def test_altered_message_fails(self):
        p = build(cases()["utf8"] + [signer()], "alter")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_both(p.stdout)
        body_changed = p.stdout.replace(b"Gr=C3=BC=C3=9Fe", b"Gr=C3=BC=C3=9FE", 1)
        if body_changed == p.stdout:  # 8bit or base64 body: change the last body byte
            body_changed = p.stdout[:-3] + bytes([p.stdout[-3] ^ 1]) + p.stdout[-2:]
        self.check_fails(body_changed)
        self.check_fails(p.stdout.replace(b"To: Bob <bob@", b"To: Bob <eve@", 1))
        # A second From added on the way: the over-signed From catches it.
        self.check_fails(p.stdout.replace(b"From: Alice", b"From: Mallory <m@evil.example>\r\nFrom: Alice", 1),
                         opendkim_syntax=True)

    def test_expiry_and_timestamp(self):
        p = build(cases()["folded"] + [signer(expire="3600")], "expire")
        self.assertEqual(p.returncode, 0, p.stderr)
        head = p.stdout.split(b"\r\n\r\n", 1)[0].replace(b"\r\n\t", b" ")
        self.assertRegex(head, rb"t=\d+; x=\d+;")
        self.assertNotIn(b" l=", head)
        self.check_both(p.stdout)

    def test_two_signatures(self):
        p = build(cases()["attachments"] + [signer(), signer("second", "simple/simple")], "two")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.count(b"DKIM-Signature:"), 2)
        self.assertIn(b"d=provider.example", p.stdout.split(b"DKIM-Signature:")[2][:200])
        self.check_both(p.stdout, n=2)

    def test_source_without_rewind_is_refused(self):
        p = build(BASE + ["attach-once 1000|3|once.bin", signer()], "once")
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"rewind", p.stderr)
        self.assertIn(b"DKIM", p.stderr)

    def test_small_key_refused(self):
        raw = write("small.eml", b"From: a@example.com\r\n\r\nx\r\n")
        p = run_program([DKIM_RAW, raw, KEYS["small"][0] + "|example.com|sel1|"], 60,
                        capture_output=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"error -1 ", p.stderr)  # SMTPC_EINVAL
        self.assertIn(b"1024 bits", p.stderr)
        self.assertIn(b"2048", p.stderr)

    def test_ed25519_not_supported(self):
        key = os.path.join(T, "ed.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], check=True,
                       capture_output=True)
        raw = write("ed.eml", b"From: a@example.com\r\n\r\nx\r\n")
        p = run_program([DKIM_RAW, raw, key + "|example.com|sel1|"], 60, capture_output=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"error -4 ", p.stderr)  # SMTPC_ENOTSUP
        self.assertIn(b"Ed25519", p.stderr)

    RAW = (b"From: Alice <alice@example.com>\nTo: bob@example.com\n"
           b"Date: Tue, 1 Jul 2025 10:00:00 +0200\nMessage-ID: <r1@example.com>\n"
           b"Subject: a raw  message \n\t folded\r\nX-Mixed: bare CR\r\tline\n\n"
           b"Hello  \n.\n..dots\r\n\ttabbed\t\n\n\nno final newline")

    def test_raw_signed_as_sent(self):
        raw = write("raw.eml", self.RAW)
        for canon in ("relaxed/relaxed", "simple/simple", "relaxed/simple"):
            with self.subTest(canon=canon):
                p = run_program([DKIM_RAW, raw, "%s|example.com|sel1|%s" % (KEYS["main"][0], canon)],
                                60, capture_output=True)
                self.assertEqual(p.returncode, 0, p.stderr)
                # What the engine puts on the wire: line ends as CRLF.
                self.check_both(p.stdout)

    def test_raw_two_signers_and_end_to_end(self):
        raw = write("raw2.eml", self.RAW)
        with AiosmtpdServer() as server:
            p = run_program([DKIM_RAW, raw, "%s|example.com|sel1|" % KEYS["main"][0],
                             "%s|provider.example|prov|simple/simple" % KEYS["second"][0],
                             "--send", "127.0.0.1", str(server.port), "alice@example.com",
                             "bob@example.com"], 120, capture_output=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            envs = server.handler.envelopes
        self.assertEqual(len(envs), 1)
        content = envs[0]["content"]
        self.assertIn(b"\r\n..dots\r\n", content.replace(b"\r\n.\r\n", b"\r\n"))
        self.check_both(content, n=2)

    def test_builder_end_to_end(self):
        with AiosmtpdServer() as server:
            for name, lines in cases().items():
                with self.subTest(case=name):
                    p = run_program([MIME_DUMP, spec(lines + [signer(), signer("second")], name),
                                     "65536", "127.0.0.1", str(server.port)], 120,
                                    capture_output=True)
                    self.assertEqual(p.returncode, 0, p.stderr)
            envs = server.handler.envelopes
        self.assertEqual(len(envs), len(cases()))
        for env in envs:
            self.check_both(env["content"], n=2)


@unittest.skipIf(HAVE_DKIM, "DKIM is built: Signing runs instead")
class DisabledBuild(unittest.TestCase):
    def test_calls_say_enotsup(self):
        p = run_program([MIME_DUMP, spec(BASE + [signer()], "off"), "4096"], 60,
                        capture_output=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"smtpc_dkim_new: -4", p.stderr)
        raw = write("off.eml", b"From: a@example.com\r\n\r\nx\r\n")
        p = run_program([DKIM_RAW, raw, KEYS["main"][0] + "|example.com|sel1|"], 60,
                        capture_output=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"error -4 ", p.stderr)


if __name__ == "__main__":
    make_key("main", 2048)
    make_key("second", 3072)
    make_key("small", 1024)
    DNS_FILE = write_dns_file()
    try:
        unittest.main(verbosity=2)
    finally:
        TMP.cleanup()
