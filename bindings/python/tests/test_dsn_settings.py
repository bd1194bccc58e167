"""DSN and REQUIRETLS on Message (smtp-sink records MAIL and RCPT
arguments; with -N it does not offer DSN), and the Client's chunking,
BINARYMIME and buffer settings against the scripted pipelining server,
which offers CHUNKING and BINARYMIME."""

import email
import email.policy
import pytest

import smtpc
from conftest import needs_sockets
from scripted_server import ScriptedServer

FROM = "sender@example.org"
GREETING = {"send": "220 mta.test ESMTP\r\n"}


def plain_client(port, **kw):
    return smtpc.Client("127.0.0.1", port, security="plain", timeout=30, **kw)


def dsn_message(**kw):
    msg = smtpc.Message(sender=FROM, to=["one@example.org", "two@example.org"],
                        subject="dsn", text="plain ascii text\n", **kw)
    msg.set_dsn("hdrs", "Q+1 =é")
    msg.set_rcpt_dsn("one@example.org", "success,failure,delay",
                     orcpt="Orig+One=x@example.org")
    msg.set_rcpt_dsn(None, ["never"])
    return msg


@needs_sockets
def test_dsn_parameters_arrive_as_given(sink):
    with plain_client(sink.port) as c:
        assert "DSN" in c.capabilities
        result = c.send_message(dsn_message())
    assert result.status == "accepted"
    (rec,) = sink.records()
    # xtext: '+', '=', space and both bytes of the UTF-8 'é' as +XX
    assert rec["mail_args"].startswith("<sender@example.org>")
    assert rec["mail_args"].endswith(" RET=HDRS ENVID=Q+2B1+20+3D+C3+A9")
    assert rec["rcpt_args"] == [
        "<one@example.org> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;Orig+2BOne+3Dx@example.org",
        "<two@example.org> NOTIFY=NEVER",
    ]
    msg = email.message_from_bytes(rec["content"], policy=email.policy.default)
    assert msg.get_content() == "plain ascii text\n"


def test_dsn_arguments_are_checked():
    msg = smtpc.Message(sender=FROM, to="one@example.org")
    with pytest.raises(ValueError):
        msg.set_dsn("everything")
    with pytest.raises(ValueError):
        msg.set_rcpt_dsn(None, "sometimes")
    with pytest.raises(smtpc.BadCharacterError):
        msg.set_dsn("full", "two\r\nlines")
    with pytest.raises(smtpc.InvalidArgumentError):
        msg.set_rcpt_dsn(None, "never", orcpt="x@example.org")  # orcpt needs an address
    # None of this changes the message's bytes.
    msg.set_date("Mon, 7 Dec 2026 10:00:00 +0000")
    msg.set_message_id("<dsn@example.org>")
    before = bytes(msg)
    msg.set_dsn("full", "id")
    msg.set_rcpt_dsn("one@example.org", "failure")
    assert bytes(msg) == before


@needs_sockets
def test_no_dsn_offered_raises_before_mail_then_allowed(sink_no_dsn):
    lines = []
    with plain_client(sink_no_dsn.port, trace=lambda d, t: lines.append((d, t))) as c:
        assert "DSN" not in c.capabilities
        with pytest.raises(smtpc.NoDSNError) as info:
            c.send_message(dsn_message())
        err = info.value
        assert isinstance(err, smtpc.InputError) and err.code == -18
        assert err.name == "SMTPC_ENODSN" and "does not offer DSN" in err.message
        assert not any(d == "send" and t.startswith("MAIL") for d, t in lines)
        # The session is still usable; allowed, the request is dropped.
        assert c.connected
        c.allow_no_dsn(True)
        assert c.send_message(dsn_message()).status == "accepted"
    (rec,) = sink_no_dsn.records()
    assert "RET=" not in rec["mail_args"] and "ENVID" not in rec["mail_args"]
    assert rec["rcpt_args"] == ["<one@example.org>", "<two@example.org>"]


@needs_sockets
def test_no_dsn_in_a_batch_fails_that_message_only(sink_no_dsn):
    with plain_client(sink_no_dsn.port) as c:
        results = c.send_batch([dsn_message(),
                                smtpc.Message(sender=FROM, to="three@example.org",
                                              subject="plain", text="x\n")])
    assert isinstance(results[0].error, smtpc.NoDSNError)
    assert results[0].status == "not-sent"
    assert results[1].status == "accepted" and results[1].error is None
    assert [r["rcpt_args"] for r in sink_no_dsn.records()] == [["<three@example.org>"]]


@needs_sockets
def test_allow_no_dsn_as_a_keyword(sink_no_dsn):
    with plain_client(sink_no_dsn.port, allow_no_dsn=True) as c:
        assert c.send_message(dsn_message()).status == "accepted"
    assert len(sink_no_dsn.records()) == 1


@needs_sockets
def test_requiretls_refuses_a_plaintext_session(aiosmtpd_server):
    msg = smtpc.Message(sender=FROM, to="r@example.org", subject="secret", text="x\n",
                        require_tls=True)
    assert msg.mail_flags() & 0x100  # SMTPC_MAIL_REQUIRETLS
    with plain_client(aiosmtpd_server.port) as c:
        with pytest.raises(smtpc.RequireTLSError) as info:
            c.send_message(msg)
        assert info.value.code == -19 and c.connected
        msg.set_flags(require_tls=False)
        assert c.send_message(msg).status == "accepted"
    assert len(aiosmtpd_server.handler.envelopes) == 1


# --- chunking, BINARYMIME, buffers ------------------------------------------

BLOB = bytes(range(256)) * 1200 + b"\r\n.\r\n\0\r"  # every byte value, a lone dot line


def attachment_message():
    msg = smtpc.Message(sender=FROM, to="r@example.org", subject="blob", text="see blob\n")
    msg.attach(BLOB, "blob.bin", "application/octet-stream")
    return msg


def send_to_mta(**client_kw):
    lines = []
    with ScriptedServer([GREETING, {"mta": {}}]) as srv:
        with plain_client(srv.port, trace=lambda d, t: lines.append((d, t)),
                          **client_kw) as c:
            assert {"CHUNKING", "BINARYMIME"} <= c.capabilities
            assert c.send_message(attachment_message()).status == "accepted"
        srv.stop()
        (rec,) = srv.messages
    mail = next(t for d, t in lines if d == "send" and t.startswith("MAIL FROM"))
    parsed = email.message_from_bytes(rec["data"].encode("latin-1"),
                                      policy=email.policy.default)
    (part,) = [p for p in parsed.iter_attachments()]
    assert part.get_content() == BLOB
    return rec["mode"], mail, part["Content-Transfer-Encoding"]


@needs_sockets
def test_default_sends_attachments_binary_with_bdat():
    mode, mail, cte = send_to_mta()
    assert (mode, cte) == ("BDAT", "binary") and "BODY=BINARYMIME" in mail


@needs_sockets
def test_binarymime_off_keeps_base64():
    mode, mail, cte = send_to_mta(binarymime=False)
    assert (mode, cte) == ("BDAT", "base64") and "BINARYMIME" not in mail


@needs_sockets
def test_chunking_off_uses_data():
    mode, mail, cte = send_to_mta(chunking=False)
    assert (mode, cte) == ("DATA", "base64") and "BINARYMIME" not in mail


@needs_sockets
def test_smallest_buffers_still_carry_the_whole_message_with_data():
    mode, _mail, cte = send_to_mta(io_buffer=256, output_buffer=1024, chunking=False)
    assert (mode, cte) == ("DATA", "base64")


# Pins the fix for a library bug this test found: a streamed body piece in
# the client's I/O buffer was overwritten by BDAT chunk replies read into the
# same buffer (reply text inside the message) when the output buffer was
# smaller than the piece.
@needs_sockets
def test_smallest_buffers_still_carry_the_whole_message_with_bdat():
    mode, _mail, cte = send_to_mta(io_buffer=256, output_buffer=1024)
    assert (mode, cte) == ("BDAT", "binary")


def test_buffer_sizes_out_of_range_are_refused():
    c = smtpc.Client("127.0.0.1", 25, security="plain")
    with pytest.raises(smtpc.InvalidArgumentError):
        c.set_buffers(io_bytes=100)
    with pytest.raises(smtpc.InvalidArgumentError):
        smtpc.Client("127.0.0.1", 25, output_buffer=2 * 1024 * 1024)
    with pytest.raises(ValueError):
        c.set_buffers(0, None)
    c.set_buffers(None, 4096)
    c.close()
