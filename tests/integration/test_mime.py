#!/usr/bin/python3
"""Parse smtpc's MIME output back with Python's email package.

usage: test_mime.py PATH/TO/mime_dump

Every case is built by mime_dump from a spec, read in chunks of 1, 7, 4096
and 65536 bytes (the bytes must be identical and match smtpc_message_size),
checked line by line (CRLF only, length limits), then parsed with
policy=default and compared with what went in: structure, decoded headers,
display names, body text, and the SHA-256 of every attachment.
"""
import email
import hashlib
import os
import re
import sys
import tempfile
from email import policy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_program  # noqa: E402

DUMP = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MIME_DUMP", "mime_dump")
CHUNKS = [1, 7, 4096, 65536]
failures = []


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def gen_bytes(size, seed):
    """The xorshift64* stream of mime_dump's attach-gen."""
    state = seed | 1
    out = bytearray(size)
    mask = (1 << 64) - 1
    for i in range(size):
        state ^= state >> 12
        state ^= (state << 25) & mask
        state ^= state >> 27
        out[i] = ((state * 2685821657736338717) & mask) >> 56
    return bytes(out)


def sha(b):
    return hashlib.sha256(b).hexdigest()


class Case:
    def __init__(self, tmp, name):
        self.tmp = tmp
        self.name = name
        self.lines = []

    def file(self, fname, data):
        path = os.path.join(self.tmp, self.name + "_" + fname)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def add(self, line):
        self.lines.append(line)

    def run(self, chunks=CHUNKS):
        spec = os.path.join(self.tmp, self.name + ".spec")
        with open(spec, "w", encoding="utf-8") as f:
            f.write("\n".join(self.lines) + "\n")
        outs = []
        size = None
        for chunk in chunks:
            p = run_program([DUMP, spec, str(chunk)], 60, capture_output=True)
            check(p.returncode == 0, "mime_dump failed: %r" % p.stderr)
            m = re.search(rb"size (\d+|unknown)", p.stderr)
            check(m is not None, "no size reported")
            size = m.group(1)
            outs.append(p.stdout)
        for o, c in zip(outs[1:], chunks[1:]):
            check(o == outs[0], "chunk size %d gives different bytes" % c)
        if size != b"unknown":
            check(int(size) == len(outs[0]), "size() %s != %d bytes" % (size, len(outs[0])))
        return outs[0]


def check_lines(raw):
    """CRLF everywhere; headers within 78 where we can, nothing over 998;
    base64 and quoted-printable lines within 76."""
    check(raw.endswith(b"\r\n"), "message does not end in CRLF")
    body = raw.split(b"\r\n")
    check(body[-1] == b"", "trailing bytes after the last CRLF")
    in_header = True
    encoding = None
    boundaries = set(re.findall(rb'boundary="([^"]+)"', raw))
    for line in body[:-1]:
        check(b"\r" not in line and b"\n" not in line, "bare CR or LF: %r" % line[:80])
        check(len(line) <= 998, "line over 998 octets")
        if line.startswith(b"--") and line.rstrip(b"-")[2:] in boundaries:
            in_header = True
            continue
        if in_header:
            if line == b"":
                in_header = False
                continue
            check(len(line) <= 78, "header line over 78: %r" % line)
            m = re.match(rb"(?i)content-transfer-encoding: *(\S+)", line)
            if m:
                encoding = m.group(1).lower()
        elif encoding in (b"base64", b"quoted-printable"):
            check(len(line) <= 76, "%s line over 76: %r" % (encoding, line))


def parse(raw):
    return email.message_from_bytes(raw, policy=policy.default)


def check_defects(m):
    """No parser defects anywhere, except those Python reports for the legacy
    RFC 2047 name= in Content-Type (encoded-words inside a quoted string are
    non-standard by design: they are there for readers that ignore RFC 2231
    filename* in Content-Disposition)."""
    for part in m.walk():
        check(not part.defects, "defects %r" % part.defects)
        for name, value in part.items():
            bad = [d for d in getattr(value, "defects", ())
                   if not (name.lower() == "content-type" and 'name="=?' in part.as_string()
                           and ("inside quoted string" in str(d) or
                                "trailing whitespace after encoded-word" in str(d)))]
            check(not bad, "defects in %s: %r" % (name, bad))


def structure(m):
    if m.is_multipart():
        return (m.get_content_type(), [structure(p) for p in m.iter_parts()])
    return m.get_content_type()


def leaves(m):
    return [p for p in m.walk() if not p.is_multipart()]


def text_of(part):
    return part.get_content().replace("\r\n", "\n")


def case_full(tmp):
    c = Case(tmp, "full")
    long_line = "x" * 2000
    text = ("Hello Zoë,\nFrom the start of a line.\n.a dot line\n" + long_line +
            "\n--=_ looks like a boundary\ntrailing space \nend")
    html = '<html><body><p>Grüße <img src="cid:logo@example.com"></p></body></html>\n'
    logo = os.urandom(4000)
    allbytes = bytes(range(256)) * 40
    empty = b""
    c.add("from alice@example.com|Alice Ünïcode")
    c.add("to bob@example.com|Bob Smith")
    c.add('to carol@example.com|Carol "CJ" O\'Neil, Jr.')
    c.add("to zoe@example.com|Zoë Ångström-Łukasiewicz 山田太郎")
    c.add("cc dave@example.com")
    c.add("bcc secret@example.com|Hidden Person")
    c.add("reply-to replies@example.com|Replies")
    subject = "Grüße aus Köln — 東京 and a long subject line that needs folding, twice over"
    c.add("subject " + subject)
    c.add("header X-Mailer|smtpc test suite")
    c.add("header X-Long|" + " ".join(["word%d" % i for i in range(60)]))
    c.add("text-file " + c.file("text.txt", text.encode()))
    c.add("html-file " + c.file("body.html", html.encode()))
    c.add("inline-file %s|logo@example.com|logo.png|" % c.file("logo.png", logo))
    c.add("attach-mem %s|all bytes.bin|" % c.file("all.bin", allbytes))
    c.add("attach-mem %s|empty.txt|" % c.file("empty.txt", empty))
    c.add("attach-file %s|Résumé – ünïcödé файл with a rather long name 2024.pdf|" %
          c.file("resume.pdf", os.urandom(10000)))
    c.add("attach-gen 100000|42|generated.dat|application/x-test")
    raw = c.run()
    check_lines(raw)
    check(b"secret@example.com" not in raw and b"Hidden" not in raw, "Bcc leaked")
    m = parse(raw)
    check(structure(m) == ("multipart/mixed", [
        ("multipart/related", [("multipart/alternative", ["text/plain", "text/html"]),
                               "image/png"]),
        "application/octet-stream", "text/plain", "application/pdf", "application/x-test"]),
        "structure %r" % (structure(m),))
    check(str(m["subject"]) == subject, "subject %r" % str(m["subject"]))
    frm = m["from"].addresses[0]
    check((frm.display_name, frm.addr_spec) == ("Alice Ünïcode", "alice@example.com"), "from")
    tos = [(a.display_name, a.addr_spec) for a in m["to"].addresses]
    check(tos == [("Bob Smith", "bob@example.com"),
                  ('Carol "CJ" O\'Neil, Jr.', "carol@example.com"),
                  ("Zoë Ångström-Łukasiewicz 山田太郎", "zoe@example.com")], "to %r" % tos)
    check(m["cc"].addresses[0].addr_spec == "dave@example.com", "cc")
    check(m["bcc"] is None, "bcc header present")
    check(m["reply-to"].addresses[0].display_name == "Replies", "reply-to")
    check(str(m["x-long"]) == " ".join(["word%d" % i for i in range(60)]), "x-long")
    check(m["message-id"].startswith("<") and m["message-id"].endswith("@example.com>"), "mid")
    check(str(m["date"]) == "Wed, 15 Nov 2023 00:13:20 +0200", "date %s" % m["date"])
    check(m["mime-version"] == "1.0", "mime-version")
    parts = leaves(m)
    check(text_of(parts[0]) == text, "text body")
    check(parts[0]["content-transfer-encoding"] == "quoted-printable", "text is QP")
    check(text_of(parts[1]) == html, "html body")
    check(parts[2]["content-id"] == "<logo@example.com>", "content-id")
    check(parts[2].get_content_disposition() == "inline", "inline disposition")
    expect = [(logo, "logo.png"), (allbytes, "all bytes.bin"), (empty, "empty.txt"),
              (None, "Résumé – ünïcödé файл with a rather long name 2024.pdf"),
              (gen_bytes(100000, 42), "generated.dat")]
    with open(os.path.join(tmp, "full_resume.pdf"), "rb") as f:
        expect[3] = (f.read(), expect[3][1])
    for part, (data, fname) in zip(parts[2:], expect):
        check(part.get_filename() == fname, "filename %r != %r" % (part.get_filename(), fname))
        check(sha(part.get_payload(decode=True)) == sha(data), "sha of " + fname)
    check_defects(m)


def simple(tmp, name, lines, files=()):
    c = Case(tmp, name)
    c.add("from a@example.com")
    c.add("to b@example.com")
    for ln in lines:
        c.add(ln)
    return c


def case_plain_text(tmp):
    c = simple(tmp, "plain", [])
    c.add("subject plain")
    c.add("text-file " + c.file("t.txt", b"just ascii\r\nlines\r\n"))
    raw = c.run()
    check_lines(raw)
    m = parse(raw)
    check(structure(m) == "text/plain", "plain is single part")
    check(m["content-transfer-encoding"] == "7bit", "plain is 7bit")
    check(text_of(m) == "just ascii\nlines\n", "plain body")


def case_empty_body(tmp):
    c = simple(tmp, "emptybody", [])
    c.add("text-file " + c.file("t.txt", b""))
    raw = c.run()
    check_lines(raw)
    m = parse(raw)
    check(structure(m) == "text/plain" and text_of(m) == "", "empty body")
    c = simple(tmp, "nobody", [])
    raw = c.run()
    check_lines(raw)
    m = parse(raw)
    check(structure(m) == "text/plain" and text_of(m) == "", "no body")


def case_html_only(tmp):
    c = simple(tmp, "htmlonly", [])
    c.add("html-file " + c.file("h.html", b"<b>bold</b>"))
    raw = c.run()
    check_lines(raw)
    m = parse(raw)
    check(structure(m) == "text/html", "html only")
    check(text_of(m) == "<b>bold</b>\n", "html body %r" % text_of(m))


def case_single_attachment(tmp):
    c = simple(tmp, "single", [])
    data = bytes(range(256))
    c.add("attach-mem %s|data.bin|" % c.file("d.bin", data))
    raw = c.run()
    check_lines(raw)
    m = parse(raw)
    check(structure(m) == "application/octet-stream", "lone attachment is the root")
    check(m.get_payload(decode=True) == data and m.get_filename() == "data.bin", "lone data")


def case_text_attachments(tmp):
    c = simple(tmp, "textatt", [])
    c.add("text-file " + c.file("t.txt", b"see attached"))
    canon = b"a,b\r\n1,2\r\n"
    lf = b"a,b\n1,2\n"
    c.add("attach-mem %s|canon.csv|" % c.file("canon.csv", canon))
    c.add("attach-mem %s|lf.csv|" % c.file("lf.csv", lf))
    raw = c.run()
    check_lines(raw)
    m = parse(raw)
    p = leaves(m)
    check(structure(m) == ("multipart/mixed", ["text/plain", "text/csv", "text/csv"]), "mixed")
    check(p[1]["content-transfer-encoding"] == "7bit", "canonical csv goes 7bit")
    check(p[2]["content-transfer-encoding"] == "base64", "LF csv goes base64")
    check(p[1].get_payload(decode=True) == canon, "canon bytes")
    check(p[2].get_payload(decode=True) == lf, "lf bytes")


def case_escape_from(tmp):
    text = "From me\nFrom you\n.dot\nplain\n"
    c = simple(tmp, "escfrom", ["flags escape_from"])
    c.add("text-file " + c.file("t.txt", text.encode()))
    raw = c.run()
    check_lines(raw)
    check(b"\r\nFrom " not in raw.split(b"\r\n\r\n", 1)[1], "From escaped")
    check(b"=46rom me" in raw, "=46 used")
    m = parse(raw)
    check(text_of(m) == text, "escaped body round trip")


def case_8bit(tmp):
    text = "Grüße, café\nline two\n"
    c = simple(tmp, "eightbit", ["flags 8bit"])
    c.add("text-file " + c.file("t.txt", text.encode()))
    raw = c.run()
    check_lines(raw)
    m = parse(raw)
    check(m["content-transfer-encoding"] == "8bit", "8bit chosen")
    check(text_of(m) == text, "8bit body")
    # Without the flag the same text is quoted-printable.
    c = simple(tmp, "eightbit_off", [])
    c.add("text-file " + c.file("t.txt", text.encode()))
    m = parse(c.run())
    check(m["content-transfer-encoding"] == "quoted-printable", "QP without 8BITMIME")


def case_cyrillic(tmp):
    text = "Привет, мир! Это длинный русский текст. " * 20
    c = simple(tmp, "cyr", [])
    c.add("subject Привет мир")
    c.add("text-file " + c.file("t.txt", text.encode()))
    raw = c.run()
    check_lines(raw)
    m = parse(raw)
    check(m["content-transfer-encoding"] == "base64", "mostly non-Latin text goes base64")
    check(text_of(m) == text, "cyrillic body")
    check(str(m["subject"]) == "Привет мир", "cyrillic subject")


def case_smtputf8(tmp):
    c = Case(tmp, "utf8")
    c.add("flags smtputf8")
    c.add("from jörg@exämple.com|Jörg Müller")
    c.add("to bob@example.com")
    c.add("subject Grüße")
    c.add("attach-mem %s|Zürich.bin|" % c.file("z.bin", b"zz"))
    c.add("text-file " + c.file("t.txt", b"hi"))
    raw = c.run()
    check_lines(raw)
    check("Subject: Grüße".encode() in raw, "raw UTF-8 subject")
    m = parse(raw)
    check(str(m["subject"]) == "Grüße", "utf8 subject")
    frm = m["from"].addresses[0]
    fix = lambda s: s.encode("utf-8", "surrogateescape").decode("utf-8")
    check(fix(frm.addr_spec) == "jörg@exämple.com", "utf8 address")
    check(fix(frm.display_name) == "Jörg Müller", "utf8 name")
    check(leaves(m)[1].get_filename() == "Zürich.bin", "utf8 filename")
    # Without the flag a UTF-8 address is refused.
    c.lines[0] = "flags "
    spec = os.path.join(tmp, "utf8_noflag.spec")
    with open(spec, "w", encoding="utf-8") as f:
        f.write("\n".join(c.lines) + "\n")
    p = run_program([DUMP, spec, "4096"], 60, capture_output=True)
    check(p.returncode != 0 and b"SMTPUTF8" in p.stderr, "UTF-8 address without SMTPUTF8")


def case_many_recipients(tmp):
    c = Case(tmp, "many")
    c.add("from a@example.com")
    names = []
    for i in range(300):
        n = "Récipient Number %d" % i if i % 3 == 0 else "Person %d" % i
        names.append((n, "p%d@example.com" % i))
        c.add("to %s|%s" % (names[-1][1], n))
    longword = "y" * 1500
    c.add("header X-Unbreakable|" + longword)
    c.add("text-file " + c.file("t.txt", b"x"))
    raw = c.run()
    check_lines(raw)
    m = parse(raw)
    got = [(a.display_name, a.addr_spec) for a in m["to"].addresses]
    check(got == names, "300 recipients round trip")
    check(str(m["x-unbreakable"]) == longword, "1500-char word encoded and decoded")


def case_structures(tmp):
    """Each multipart appears only when it holds two or more parts."""
    png = os.urandom(500)
    c = simple(tmp, "alt", [])
    c.add("text-file " + c.file("t.txt", b"text"))
    c.add("html-file " + c.file("h.html", b"<i>html</i>"))
    m = parse(c.run())
    check(structure(m) == ("multipart/alternative", ["text/plain", "text/html"]), "alt")
    check_defects(m)
    c = simple(tmp, "rel", [])
    c.add("html-file " + c.file("h.html", b'<img src="cid:a@b">'))
    c.add("inline-file %s|a@b|a.png|" % c.file("a.png", png))
    c.add("inline-file %s|<c@d>|c.png|" % c.file("c.png", png))
    raw = c.run()
    check_lines(raw)
    m = parse(raw)
    check(structure(m) == ("multipart/related", ["text/html", "image/png", "image/png"]), "rel")
    check([p["content-id"] for p in leaves(m)[1:]] == ["<a@b>", "<c@d>"], "content ids")
    check_defects(m)
    c = simple(tmp, "relalt", [])
    c.add("text-file " + c.file("t.txt", b"text"))
    c.add("html-file " + c.file("h.html", b'<img src="cid:a@b">'))
    c.add("inline-file %s|a@b|a.png|" % c.file("a.png", png))
    raw = c.run()
    check_lines(raw)
    m = parse(raw)
    check(structure(m) == ("multipart/related", [("multipart/alternative",
                                                  ["text/plain", "text/html"]), "image/png"]),
          "related(alternative)")
    check(leaves(m)[2].get_payload(decode=True) == png, "inline bytes")
    check_defects(m)
    c = simple(tmp, "onlyatt", [])
    c.add("attach-mem %s|a.bin|" % c.file("a.bin", b"1"))
    c.add("attach-mem %s|b.bin|" % c.file("b.bin", b"2"))
    m = parse(c.run())
    check(structure(m) == ("multipart/mixed", ["application/octet-stream"] * 2), "only attachments")
    check_defects(m)


def case_unknown_size(tmp):
    c = simple(tmp, "unknown", [])
    c.add("text-file " + c.file("t.txt", b"body"))
    c.add("attach-gen 70000|9|stream.bin||unknown")
    raw = c.run()
    check_lines(raw)
    m = parse(raw)
    check(leaves(m)[1].get_payload(decode=True) == gen_bytes(70000, 9), "unknown-size stream")


def case_whitespace_runs(tmp):
    """Review finding #1: long runs of spaces and tabs in the Subject, extra
    headers and display names are folded (once per run) or encoded, never
    written as a line over 998 (or over 78 where a fold point exists), and
    Python's email gets the unfolded value back exactly."""
    subject = "a" + " " * 5000 + "b"
    tabs = "x" + "\t" * 3000 + "y"
    mixed = "Zoë" + " \t" * 700 + "end"
    short = "one" + " " * 60 + "two" + "\t" * 20 + "three"
    alice = "Alice" + " " * 60 + "Smith"
    bob = "Bob\t\t\tJones  Jr"
    c = Case(tmp, "wsruns")
    c.add("from a@example.com|" + alice)
    c.add("to b@example.com|" + bob)
    c.add("to c@example.com|Carol" + " " * 900 + "Long")
    c.add("subject " + subject)
    c.add("header X-Tabs|" + tabs)
    c.add("header X-Mixed|" + mixed)
    c.add("header X-Short|" + short)
    c.add("text-file " + c.file("t.txt", b"body"))
    raw = c.run()
    check_lines(raw)
    m = parse(raw)
    check(str(m["subject"]) == subject, "subject %r" % str(m["subject"])[:80])
    check(str(m["x-tabs"]) == tabs, "x-tabs")
    check(str(m["x-mixed"]) == mixed, "x-mixed")
    check(str(m["x-short"]) == short, "x-short %r" % str(m["x-short"]))
    check(m["from"].addresses[0].display_name == alice,
          "from %r" % m["from"].addresses[0].display_name)
    tos = m["to"].addresses
    check(tos[0].display_name == bob, "to %r" % tos[0].display_name)
    # A 900-space run cannot be folded: the name is encoded. Python folds
    # whitespace in encoded display names, so only the words are compared.
    check(tos[1].display_name.split() == ["Carol", "Long"], "to[1] %r" % tos[1].display_name)
    check(tos[1].addr_spec == "c@example.com", "to[1] address")


def case_encoded_word_lookalikes(tmp):
    """Review finding #11: a display name, Subject and filename that are
    literally an encoded-word come back literally, not decoded."""
    evil = "=?UTF-8?B?ZXZpbC5leGU=?="
    c = Case(tmp, "lookalike")
    c.add("from a@example.com|" + evil)
    c.add("to b@example.com|Bob " + evil)
    c.add("subject " + evil)
    c.add("header X-Note|see " + evil)
    c.add("text-file " + c.file("t.txt", b"body"))
    c.add("attach-mem %s|%s|" % (c.file("d.bin", b"data"), evil))
    c.add("attach-mem %s|%s|" % (c.file("e.bin", b"more"), "report " + evil + ".pdf"))
    raw = c.run()
    check_lines(raw)
    check(evil.encode() not in raw, "the look-alike went out verbatim")
    m = parse(raw)
    check(m["from"].addresses[0].display_name == evil,
          "from %r" % m["from"].addresses[0].display_name)
    check(m["to"].addresses[0].display_name == "Bob " + evil, "to")
    check(str(m["subject"]) == evil, "subject %r" % str(m["subject"]))
    check(str(m["x-note"]) == "see " + evil, "x-note")
    parts = leaves(m)
    check(parts[1].get_filename() == evil, "filename %r" % parts[1].get_filename())
    check(parts[2].get_filename() == "report " + evil + ".pdf",
          "filename %r" % parts[2].get_filename())
    check(parts[1].get_payload(decode=True) == b"data", "attachment bytes")
    # Readers that only know Content-Type's name= get it back too.
    del parts[1]["content-disposition"]
    check(parts[1].get_filename() == evil, "name= %r" % parts[1].get_filename())


def main():
    cases = [case_full, case_plain_text, case_empty_body, case_html_only,
             case_single_attachment, case_text_attachments, case_escape_from, case_8bit,
             case_cyrillic, case_smtputf8, case_many_recipients, case_structures,
             case_unknown_size, case_whitespace_runs, case_encoded_word_lookalikes]
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            try:
                case(tmp)
                print("ok   ", case.__name__)
            except AssertionError as e:
                print("FAIL ", case.__name__, e)
                failures.append(case.__name__)
    if failures:
        print("%d failed" % len(failures))
        sys.exit(1)
    print("all %d passed" % len(cases))


if __name__ == "__main__":
    main()
