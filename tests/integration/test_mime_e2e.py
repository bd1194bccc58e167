#!/usr/bin/python3
"""End to end: messages built by smtpc's MIME builder, sent with
smtpc_client_send_message through aiosmtpd, parsed back on arrival.

usage: test_mime_e2e.py PATH/TO/mime_dump
"""
import base64
import email
import hashlib
import os
import sys
import tempfile
from email import policy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AiosmtpdServer, run_program  # noqa: E402

DUMP = sys.argv[1]


def send(server, spec_lines, tmp, name):
    spec = os.path.join(tmp, name + ".spec")
    with open(spec, "w", encoding="utf-8") as f:
        f.write("\n".join(spec_lines) + "\n")
    # SMTPC_DRIVER_ARGS=--nonblocking (harness.py): the send in the client's
    # non-blocking mode; its loop's steps are counted for the summary.
    nb = ["--nonblocking"] if "--nonblocking" in harness.DRIVER_ARGS else []
    p = run_program([DUMP, spec, "65536", "127.0.0.1", str(server.port)] + nb, 240,
                    capture_output=True)
    for line in p.stderr.splitlines():
        if line.startswith(b"nonblocking steps "):
            harness.NB_STEPS[0] += int(line.split()[-1])
    return p


def test_big_attachment(tmp):
    big = os.path.join(tmp, "big.bin")
    with open(big, "wb") as f:
        for i in range(20):
            f.write(os.urandom(1 << 20))
    with open(big, "rb") as f:
        raw = f.read()
    digest = hashlib.sha256(raw).hexdigest()
    # 20 MiB is 2 mod 3 and this one 1 mod 3: both padded endings.
    small_raw = os.urandom(1000)
    small = os.path.join(tmp, "small.bin")
    with open(small, "wb") as f:
        f.write(small_raw)
    text = "Hello Zoë,\nthe log is attached.\n.\nFrom the team\n"
    tpath = os.path.join(tmp, "t.txt")
    with open(tpath, "w", encoding="utf-8") as f:
        f.write(text)
    with AiosmtpdServer() as server:
        p = send(server, [
            "from alice@example.com|Alice Ünïcode",
            "to bob@example.com|Bob",
            "cc carol@example.com",
            "bcc hidden@example.com|Hidden",
            "subject Grüße: 20 MiB",
            "text-file " + tpath,
            "attach-file %s|Größe 20 MiB.bin|" % big,
            "attach-file %s|small.bin|" % small,
        ], tmp, "big")
        assert p.returncode == 0, p.stderr
        envs = server.handler.envelopes
    assert len(envs) == 1, envs
    env = envs[0]
    assert env["mail_from"] == "alice@example.com"
    assert sorted(env["rcpt_tos"]) == ["bob@example.com", "carol@example.com",
                                       "hidden@example.com"], env["rcpt_tos"]
    assert any(o.upper().startswith("SIZE=") for o in env["mail_options"]), env["mail_options"]
    content = env["content"]
    assert b"hidden@example.com" not in content and b"\r\nBcc:" not in content
    m = email.message_from_bytes(content, policy=policy.default)
    assert str(m["subject"]) == "Grüße: 20 MiB"
    assert m["from"].addresses[0].display_name == "Alice Ünïcode"
    parts = [q for q in m.walk() if not q.is_multipart()]
    assert parts[0].get_content().replace("\r\n", "\n") == text
    assert parts[1].get_filename() == "Größe 20 MiB.bin"
    assert hashlib.sha256(parts[1].get_payload(decode=True)).hexdigest() == digest
    assert parts[2].get_payload(decode=True) == small_raw
    # Byte for byte what Python's base64 makes (76-character lines), with
    # CRLF line ends, right before the next delimiter: not just decodable.
    for data in (raw, small_raw):
        expected = base64.encodebytes(data).replace(b"\n", b"\r\n")
        at = content.find(b"\r\n\r\n" + expected)
        assert at >= 0, "base64 body differs from Python's encoding"
        # then the delimiter, whose own CRLF comes first (RFC 2046 5.1.1)
        after = content[at + 4 + len(expected):at + 4 + len(expected) + 20]
        assert after.startswith(b"\r\n--"), after


def test_source_failure(tmp):
    with AiosmtpdServer() as server:
        p = send(server, [
            "from alice@example.com",
            "to bob@example.com",
            "text-file /dev/null",
            "attach-fail 3000000|1000000|broken.bin",
        ], tmp, "fail")
        assert p.returncode == 3, p.stderr
        assert b"send -11" in p.stderr, p.stderr
        assert server.handler.envelopes == [], "a partial message was delivered"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        failed = 0
        for t in (test_big_attachment, test_source_failure):
            try:
                t(tmp)
                print("ok   ", t.__name__)
            except AssertionError as e:
                failed += 1
                print("FAIL ", t.__name__, e)
        nb_problem = harness.check_nonblocking_total()
        if nb_problem:
            failed += 1
            print("FAIL ", nb_problem)
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
