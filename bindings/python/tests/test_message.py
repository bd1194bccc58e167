"""The Message builder, serialized locally and parsed back with Python's
email package (no server needed)."""

import datetime
import email
import email.policy
import gc
import hashlib
import io
import os

import pytest

import smtpc

PNG = bytes(range(256)) * 40 + b"\x89PNG\r\n\x1a\n"


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def parts_by_name(msg):
    return {p.get_filename(): p for p in msg.walk() if p.get_filename()}


class Flaky(io.RawIOBase):
    """A readable stream that fails after `good` bytes."""

    def __init__(self, good, exc):
        self.left = good
        self.exc = exc

    def readable(self):
        return True

    def readinto(self, b):
        if self.left <= 0:
            raise self.exc
        n = min(len(b), self.left, 1000)
        b[:n] = b"y" * n
        self.left -= n
        return n


def test_full_message_round_trip(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(os.urandom(200_000))
    streamed = os.urandom(300_001)
    msg = smtpc.Message(
        sender=("Zoë Sender", "zoe@example.org"),
        to=["a@example.org", ("Bob B", "b@example.org")], cc="c@example.org",
        bcc=["hidden@example.org"], reply_to=("Replies", "reply@example.org"),
        subject="Grüße, report =?not-encoded?=", text="Hello\nsecond line\n",
        html='<p>Hi <img src="cid:logo@x"></p>', headers={"X-Tag": "alpha"},
        date=datetime.datetime(2025, 7, 1, 10, 0, tzinfo=datetime.timezone.utc),
        message_id="<fixed-id@example.org>")
    msg.add_header("X-Other", "tést")
    msg.add_inline(PNG, "logo@x", "logo.png")
    msg.attach(b"a,b\r\n1,2\r\n", "data.csv", "text/csv")
    msg.attach(str(path))
    msg.attach(io.BytesIO(streamed), "stream.bin")
    raw = msg.as_bytes()
    assert msg.size() == len(raw)
    assert b"hidden@example.org" not in raw
    m = parse(raw)
    assert m["From"].addresses[0].display_name == "Zoë Sender"
    assert [a.addr_spec for a in m["To"].addresses] == ["a@example.org", "b@example.org"]
    assert m["Cc"].addresses[0].addr_spec == "c@example.org"
    assert m["Reply-To"].addresses[0].addr_spec == "reply@example.org"
    assert str(m["Subject"]) == "Grüße, report =?not-encoded?="
    assert m["Message-ID"] == "<fixed-id@example.org>"
    assert m["Date"].datetime == datetime.datetime(2025, 7, 1, 10, 0,
                                                   tzinfo=datetime.timezone.utc)
    assert m["X-Tag"] == "alpha" and str(m["X-Other"]) == "tést"
    assert m.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Hello\nsecond line\n"
    assert "cid:logo@x" in m.get_body(("html",)).get_content()
    parts = parts_by_name(m)
    assert parts["logo.png"]["Content-ID"] == "<logo@x>"
    assert parts["logo.png"].get_content_type() == "image/png"
    assert parts["data.csv"].get_content_type() == "text/csv"
    assert parts["report.pdf"].get_content_type() == "application/pdf"
    for name, want in (("logo.png", PNG), ("data.csv", b"a,b\r\n1,2\r\n"),
                       ("report.pdf", path.read_bytes()), ("stream.bin", streamed)):
        got = parts[name].get_payload(decode=True)
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(want).hexdigest(), name
    assert msg.envelope_recipients() == ["a@example.org", "b@example.org", "c@example.org",
                                         "hidden@example.org"]
    assert msg.from_address == "zoe@example.org"
    # Rewound by as_bytes: the same bytes again, file object included.
    assert msg.as_bytes() == raw


def test_chunked_reads_equal_whole(tmp_path):
    msg = smtpc.Message(sender="a@example.org", to="b@example.org", text="x" * 5000)
    msg.attach(io.BytesIO(os.urandom(10_000)), "r.bin")
    whole = msg.as_bytes()
    msg.rewind()
    chunks = []
    while True:
        c = msg.read(7)
        if not c:
            break
        chunks.append(c)
    assert b"".join(chunks) == whole
    out = io.BytesIO()
    assert msg.write_to(out) == len(whole) and out.getvalue() == whole


def test_clock_and_random_hooks_make_output_reproducible():
    def build():
        m = smtpc.Message(sender="a@example.org", to="b@example.org", text="t", html="<b>h</b>")
        m.set_clock(lambda: datetime.datetime(2024, 2, 29, 12, 30,
                                              tzinfo=datetime.timezone(datetime.timedelta(hours=2))))
        m.set_random(lambda n: b"\x01" * n)
        return m.as_bytes()
    a, b = build(), build()
    assert a == b
    assert parse(a)["Date"].datetime.utcoffset() == datetime.timedelta(hours=2)
    assert b"0101010101" in a  # boundaries and Message-ID from the hook


def test_unknown_stream_size_and_flags():
    class NoSeek(io.RawIOBase):
        def __init__(self):
            self.data = io.BytesIO(b"z" * 1234)

        def readable(self):
            return True

        def readinto(self, b):
            return self.data.readinto(b)

    msg = smtpc.Message(sender="a@example.org", to="b@example.org", text="é", eightbit=True)
    msg.attach(NoSeek(), "ns.bin")
    assert msg.size() is None
    assert msg.mail_flags() & 0x1  # SMTPC_MAIL_8BITMIME: the text went 8bit
    raw = msg.as_bytes()
    assert parts_by_name(parse(raw))["ns.bin"].get_payload(decode=True) == b"z" * 1234
    # Read through once with no rewind: a second read is refused cleanly.
    with pytest.raises(smtpc.StateError):
        msg.as_bytes()


def test_read_callback_exception_propagates():
    boom = OSError(5, "disk on fire")
    msg = smtpc.Message(sender="a@example.org", to="b@example.org")
    msg.attach(Flaky(5000, boom), "f.bin", size=10_000)
    with pytest.raises(OSError) as info:
        msg.as_bytes()
    assert info.value is boom
    assert isinstance(info.value.__context__, smtpc.SourceError)


def test_text_mode_file_is_a_clear_error():
    msg = smtpc.Message(sender="a@example.org", to="b@example.org")
    msg.attach(io.StringIO("text, not bytes"), "t.txt", size=15)
    with pytest.raises(TypeError, match="binary mode"):
        msg.as_bytes()


def test_message_cannot_change_inside_its_own_callback():
    msg = smtpc.Message(sender="a@example.org", to="b@example.org")

    class Meddler(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, b):
            msg.set_subject("changed mid-read")
            return 0

    msg.attach(Meddler(), "m.bin", size=0)
    with pytest.raises(smtpc.StateError, match="being read"):
        msg.as_bytes()


@pytest.mark.parametrize("call, exc", [
    (lambda m: m.add_header("X-Evil", "a\r\nBcc: victim@example.org"), smtpc.BadCharacterError),
    (lambda m: m.set_subject("line\nbreak"), smtpc.BadCharacterError),
    (lambda m: m.add_to("a@example.org\0evil"), smtpc.BadCharacterError),
    (lambda m: m.add_to("not an address"), smtpc.AddressError),
    (lambda m: m.add_header("Subject", "dup"), smtpc.HeaderError),
    (lambda m: m.attach("/nonexistent/file.bin"), smtpc.FileError),
    (lambda m: m.attach(12345), TypeError),
    (lambda m: m.set_date(datetime.datetime(2025, 1, 1)), ValueError),
])
def test_bad_input_raises(call, exc):
    msg = smtpc.Message(sender="a@example.org", to="b@example.org", subject="ok")
    with pytest.raises(exc):
        call(msg)
    # The message is still usable and unchanged by the refusal.
    assert parse(msg.as_bytes())["Subject"] == "ok"


def test_missing_from_is_a_header_error():
    msg = smtpc.Message(to="b@example.org")
    with pytest.raises(smtpc.HeaderError) as info:
        msg.as_bytes()
    assert info.value.code == -120 and "From" in info.value.message


def test_close_and_garbage_collection_free_the_handle():
    msg = smtpc.Message(sender="a@example.org")
    msg.close()
    msg.close()
    assert msg.closed and not msg._finalizer.alive
    with pytest.raises(ValueError, match="closed"):
        msg.set_subject("x")
    finalizers = []
    for _ in range(200):
        m = smtpc.Message(sender="a@example.org", text="x" * 1000)
        m.attach(io.BytesIO(b"data"), "d.bin")
        finalizers.append(m._finalizer)
    del m
    gc.collect()
    assert not any(f.alive for f in finalizers)
