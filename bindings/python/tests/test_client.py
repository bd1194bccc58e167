"""The Client end to end against aiosmtpd and Postfix's smtp-sink on
127.0.0.1 (plaintext here; TLS and AUTH have their own files)."""

import email
import email.policy
import gc
import hashlib
import io
import os
import threading

import pytest

import smtpc
from conftest import HAVE_SOCKETS, needs_sockets, new_fds_not_server_side, open_fds
from harness import expected_wire, free_port, make_message

FROM = "sender@example.org"


def plain_client(port, **kw):
    return smtpc.Client("127.0.0.1", port, security="plain", timeout=30, **kw)


@needs_sockets
def test_send_raw_bytes_delivers_them_intact(aiosmtpd_server):
    body = make_message("raw", b".leading dot\r\nbare lf\n.\nend")
    lines = []
    with plain_client(aiosmtpd_server.port, trace=lambda d, t: lines.append((d, t))) as c:
        assert c.connected and not c.encrypted
        assert "8BITMIME" in c.capabilities
        result = c.send(FROM, "rcpt@example.org", body)
    assert not c.connected and c.closed
    assert result.status == "accepted"
    assert [(r.address, r.accepted, r.reply_code) for r in result.recipients] == \
        [("rcpt@example.org", True, 250)]
    (env,) = aiosmtpd_server.handler.envelopes
    assert env["mail_from"] == FROM and env["rcpt_tos"] == ["rcpt@example.org"]
    assert env["content"] == expected_wire(body)
    # The with block ended with QUIT, and the trace saw both directions.
    assert ("send", "QUIT") in lines
    assert any(d == "recv" and t.startswith("221") for d, t in lines)


@needs_sockets
def test_refused_recipient_is_reported_per_recipient(aiosmtpd_server):
    with plain_client(aiosmtpd_server.port) as c:
        result = c.send(FROM, ["ok@example.org", "reject@example.org"], make_message("p", b"x\r\n"))
        assert [r.address for r in result.accepted] == ["ok@example.org"]
        (bad,) = result.refused
        assert (bad.address, bad.reply_code, bad.enhanced) == ("reject@example.org", 550, "5.1.1")
        assert "recipient rejected" in bad.text
        # Every recipient refused: an exception, carrying the same results.
        with pytest.raises(smtpc.RecipientsRefusedError) as info:
            c.send(FROM, ["reject1@example.org", "reject2@example.org"], b"Subject: x\r\n\r\nx\r\n")
        err = info.value
        assert isinstance(err, smtpc.RefusedError) and err.code == -64
        assert [r.reply_code for r in err.result.recipients] == [550, 550]
        assert err.result.status == "not-sent"
        # A refusal ends the transaction, not the session.
        assert c.connected
        c.noop()
        c.rset()
    assert len(aiosmtpd_server.handler.envelopes) == 1


@needs_sockets
def test_message_refused_after_data(aiosmtpd_server):
    with plain_client(aiosmtpd_server.port) as c:
        with pytest.raises(smtpc.MessageRefusedError) as info:
            c.send(FROM, "r@example.org", make_message("no", b"x\r\n", extra_headers="X-Refuse: 552\r\n"))
    e = info.value
    assert (e.reply_code, e.enhanced, e.temporary) == (552, "5.3.4", False)
    assert "refused by policy" in e.reply_text and "552" in str(e)
    assert e.result.status == "rejected"


@needs_sockets
def test_send_message_with_attachments(aiosmtpd_server, tmp_path):
    big = os.urandom(1 << 20)
    path = tmp_path / "photo.jpg"
    path.write_bytes(os.urandom(150_000))
    msg = smtpc.Message(sender=FROM, to="to@example.org", cc="cc@example.org",
                        bcc="bcc@example.org", subject="Attachments", text="Three files.\n",
                        html="<p>Three files.</p>")
    msg.attach(b"\x00\x01binary\xff", "small.bin")
    msg.attach(path)
    with open(tmp_path / "stream.dat", "wb") as f:
        f.write(big)
    with open(tmp_path / "stream.dat", "rb") as stream:
        msg.attach(stream, "stream.dat")
        with plain_client(aiosmtpd_server.port) as c:
            result = c.send_message(msg)
    assert [r.address for r in result.accepted] == ["to@example.org", "cc@example.org",
                                                    "bcc@example.org"]
    (env,) = aiosmtpd_server.handler.envelopes
    assert env["rcpt_tos"] == ["to@example.org", "cc@example.org", "bcc@example.org"]
    assert b"bcc@example.org" not in env["content"]
    m = email.message_from_bytes(env["content"], policy=email.policy.default)
    assert m["Subject"] == "Attachments"
    got = {p.get_filename(): p.get_payload(decode=True) for p in m.walk() if p.get_filename()}
    want = {"small.bin": b"\x00\x01binary\xff", "photo.jpg": path.read_bytes(),
            "stream.dat": big}
    assert {k: hashlib.sha256(v).hexdigest() for k, v in got.items()} == \
        {k: hashlib.sha256(v).hexdigest() for k, v in want.items()}


@needs_sockets
def test_send_streams_a_file_object(aiosmtpd_server):
    body = make_message("stream", b"line\r\n" * 50_000)
    with plain_client(aiosmtpd_server.port) as c:
        c.send(FROM, ["r@example.org"], io.BytesIO(body), size=len(expected_wire(body)))
    assert aiosmtpd_server.handler.envelopes[0]["content"] == expected_wire(body)


@needs_sockets
def test_exception_in_read_callback_propagates_and_nothing_is_delivered(aiosmtpd_server):
    class Broken(io.RawIOBase):
        def __init__(self):
            self.sent = 0

        def readable(self):
            return True

        def readinto(self, b):
            if self.sent > 100_000:
                raise ConnectionAbortedError("upstream went away")
            n = len(b)
            b[:n] = b"a" * n
            self.sent += n
            return n

    with plain_client(aiosmtpd_server.port) as c:
        with pytest.raises(ConnectionAbortedError, match="upstream went away") as info:
            c.send(FROM, "r@example.org", Broken())
        assert isinstance(info.value.__context__, smtpc.SMTPError)
        assert c.last_result.status == "not-sent"
    # Same through a Message part.
    msg = smtpc.Message(sender=FROM, to="r@example.org", text="t")
    msg.attach(Broken(), "b.bin", size=1 << 20)
    with plain_client(aiosmtpd_server.port) as c:
        with pytest.raises(ConnectionAbortedError):
            c.send_message(msg)
    assert aiosmtpd_server.handler.envelopes == []


@needs_sockets
def test_exception_in_trace_propagates_after_the_call(aiosmtpd_server):
    class Stop(Exception):
        pass

    def trace(direction, text):
        if text.startswith("MAIL FROM"):
            raise Stop(text)

    c = plain_client(aiosmtpd_server.port, trace=trace)
    with c:
        with pytest.raises(Stop, match="MAIL FROM:<sender@example.org>"):
            c.send(FROM, "r@example.org", b"Subject: t\r\n\r\nbody\r\n")
        # The trace cannot stop the library: the message went, and says so.
        assert c.last_result.status == "accepted"
        c.set_trace(None)
        c.noop()
    assert len(aiosmtpd_server.handler.envelopes) == 1


@needs_sockets
def test_many_messages_through_smtp_sink(sink):
    sent = [make_message(f"sink {i}", f"line {i}\r\n".encode() * (i + 1)) for i in range(20)]
    with plain_client(sink.port) as c:
        assert "PIPELINING" in c.capabilities
        for body in sent:
            c.send(FROM, ["a@example.org", "b@example.org"], body)
    records = sink.records()
    assert len(records) == len(sent)
    for rec, body in zip(records, sent):
        assert rec["content"] == expected_wire(body).replace(b"\r\n", b"\n")
        assert len(rec["rcpt_args"]) == 2


@needs_sockets
def test_connection_refused():
    port = free_port()
    c = plain_client(port)
    with pytest.raises(smtpc.NetworkError) as info:
        c.connect()
    assert isinstance(info.value, smtpc.ConnectRefusedError)
    assert info.value.code == -21 and "127.0.0.1" in info.value.message
    c.close()


@needs_sockets
def test_bad_arguments_are_refused_before_anything_is_sent(aiosmtpd_server):
    with pytest.raises(ValueError):
        smtpc.Client("127.0.0.1", 25, security="ssl")
    with pytest.raises(smtpc.InvalidArgumentError):
        smtpc.Client("127.0.0.1", 99999, security="plain")
    with plain_client(aiosmtpd_server.port) as c:
        with pytest.raises(smtpc.BadCharacterError):
            c.send("a@example.org\r\nRCPT TO:<x@example.org>", "r@example.org", b"x")
        with pytest.raises(smtpc.BadCharacterError):
            c.send(FROM, "r@example.org\0x", b"x")
        with pytest.raises(smtpc.NoRecipientsError):
            c.send(FROM, [], b"x")
        c.noop()
    assert aiosmtpd_server.handler.envelopes == []


@needs_sockets
def test_blocking_calls_release_the_gil(aiosmtpd_server):
    """The server holds its reply until this thread has run Python code
    while the client thread is blocked inside smtpc_client_send: possible
    only if the foreign call released the GIL."""
    released = threading.Event()
    in_data = threading.Event()
    handler = aiosmtpd_server.handler
    orig = handler.handle_DATA

    async def slow_data(server, session, envelope):
        in_data.set()
        import asyncio
        await asyncio.get_running_loop().run_in_executor(None, released.wait, 30)
        return await orig(server, session, envelope)

    handler.handle_DATA = slow_data
    outcome = {}

    def worker():
        with plain_client(aiosmtpd_server.port) as c:
            outcome["result"] = c.send(FROM, "r@example.org", b"Subject: g\r\n\r\nx\r\n")

    t = threading.Thread(target=worker)
    t.start()
    assert in_data.wait(30)
    # Pure-Python work here, while the worker waits in C for the reply.
    assert sum(range(100_000)) == 4999950000
    released.set()
    t.join(60)
    assert outcome["result"].status == "accepted"


@needs_sockets
def test_client_refuses_a_second_thread(aiosmtpd_server):
    entered = threading.Event()
    go_on = threading.Event()

    def trace(direction, text):
        if text == "NOOP":
            entered.set()
            go_on.wait(30)

    c = plain_client(aiosmtpd_server.port, trace=trace)
    c.connect()
    t = threading.Thread(target=c.noop)
    t.start()
    assert entered.wait(30)
    try:
        with pytest.raises(RuntimeError, match="another thread"):
            c.noop()
        with pytest.raises(RuntimeError, match="another thread"):
            c.close()
    finally:
        go_on.set()
        t.join(30)
    c.quit()
    c.close()


@needs_sockets
def test_close_inside_a_callback_is_deferred(aiosmtpd_server):
    c = plain_client(aiosmtpd_server.port)

    def trace(direction, text):
        if text == "NOOP":
            c.close()

    c.set_trace(trace)
    c.connect()
    c.noop()
    assert c.closed and not c._finalizer.alive


@needs_sockets
def test_garbage_collector_frees_clients_and_their_sockets(aiosmtpd_server):
    gc.collect()
    before = open_fds()
    finalizers = []
    for i in range(100):
        c = plain_client(aiosmtpd_server.port, trace=lambda d, t: None)
        c.connect()
        if i % 2:
            c.send(FROM, "r@example.org", b"Subject: gc\r\n\r\nx\r\n")
        finalizers.append(c._finalizer)
    del c
    gc.collect()
    assert not any(f.alive for f in finalizers)
    assert new_fds_not_server_side(before, aiosmtpd_server.port) == []
    assert len(aiosmtpd_server.handler.envelopes) == 50


@pytest.mark.skipif(HAVE_SOCKETS, reason="checks the -Dsockets=false library only")
def test_without_sockets_connect_says_not_supported():
    c = smtpc.Client("127.0.0.1", 25, security="plain")
    with pytest.raises(smtpc.NotSupportedError) as info:
        c.connect()
    assert "socket" in info.value.message
    c.close()
