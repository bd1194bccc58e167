"""Client.send_batch end to end: aiosmtpd (no PIPELINING: one message after
the other), Postfix's smtp-sink and the scripted pipelining server (MAIL of
the next message in the same write as the previous end of data)."""

import email
import email.policy
import gc
import hashlib

import pytest

import smtpc
from conftest import needs_sockets
from harness import expected_wire, make_message
from scripted_server import ScriptedServer

FROM = "sender@example.org"
GREETING = {"send": "220 mta.test ESMTP\r\n"}


def plain_client(port, **kw):
    return smtpc.Client("127.0.0.1", port, security="plain", timeout=30, **kw)


def bodies(n):
    # Each one different, with the lines a careless client would mangle.
    return [make_message(f"batch {i}", (f"message {i}\r\n.leading dot\r\n.\r\n"
                                        f"bare lf\n" + f"{i:04d} {'x' * 70}\r\n" * (i * 150)).encode())
            for i in range(n)]


@needs_sockets
def test_ten_raw_messages_arrive_once_each_with_exact_bytes(aiosmtpd_server):
    msgs = bodies(10)
    with plain_client(aiosmtpd_server.port) as c:
        results = c.send_batch([(FROM, f"r{i}@example.org", m) for i, m in enumerate(msgs)])
        assert c.connected
    assert len(results) == 10
    for i, res in enumerate(results):
        assert res.status == "accepted" and res.error is None
        assert [(r.address, r.accepted, r.reply_code) for r in res.recipients] == \
            [(f"r{i}@example.org", True, 250)]
    envs = aiosmtpd_server.handler.envelopes
    assert len(envs) == 10
    # In order, each once, byte for byte.
    for i, env in enumerate(envs):
        assert env["rcpt_tos"] == [f"r{i}@example.org"]
        assert hashlib.sha256(env["content"]).hexdigest() == \
            hashlib.sha256(expected_wire(msgs[i])).hexdigest()


@needs_sockets
def test_refused_recipients_are_reported_per_message(aiosmtpd_server):
    entries = [
        (FROM, ["ok1@example.org", "reject@example.org"], make_message("partly", b"a\r\n")),
        (FROM, ["reject1@example.org", "reject2@example.org"], make_message("none", b"b\r\n")),
        (FROM, "ok3@example.org", make_message("last", b"c\r\n")),
    ]
    with plain_client(aiosmtpd_server.port) as c:
        results = c.send_batch(entries)
    first, second, third = results
    assert first.status == "accepted" and first.error is None
    assert [r.address for r in first.accepted] == ["ok1@example.org"]
    (bad,) = first.refused
    assert (bad.address, bad.reply_code, bad.enhanced) == ("reject@example.org", 550, "5.1.1")
    # Every recipient refused: that message failed, the batch went on.
    assert second.status == "not-sent"
    assert isinstance(second.error, smtpc.RecipientsRefusedError)
    assert second.error.result is second
    assert [(r.address, r.reply_code) for r in second.recipients] == \
        [("reject1@example.org", 550), ("reject2@example.org", 550)]
    assert third.status == "accepted"
    envs = aiosmtpd_server.handler.envelopes
    assert [e["rcpt_tos"] for e in envs] == [["ok1@example.org"], ["ok3@example.org"]]


@needs_sockets
def test_built_messages_and_a_generator_through_smtp_sink(sink):
    def entries():
        for i in range(4):
            if i % 2:
                yield (FROM, f"raw{i}@example.org", make_message(f"raw {i}", b"raw body\r\n"))
            else:
                yield smtpc.Message(sender=FROM, to=f"built{i}@example.org",
                                    subject=f"built {i}", text=f"Grüße {i}\n")

    lines = []
    with plain_client(sink.port, trace=lambda d, t: lines.append((d, t))) as c:
        assert "PIPELINING" in c.capabilities
        results = c.send_batch(entries())
    gc.collect()
    assert [r.status for r in results] == ["accepted"] * 4
    assert [r.recipients[0].address for r in results] == \
        ["built0@example.org", "raw1@example.org", "built2@example.org", "raw3@example.org"]
    recs = sink.records()
    assert len(recs) == 4
    for i, rec in enumerate(recs):
        msg = email.message_from_bytes(rec["content"], policy=email.policy.default)
        if i % 2:
            assert msg["Subject"] == f"raw {i}" and msg.get_content() == "raw body\n"
        else:
            assert msg["Subject"] == f"built {i}" and msg.get_content() == f"Grüße {i}\n"
    sent = [t for d, t in lines if d == "send"]
    assert sum(t.startswith("MAIL FROM") for t in sent) == 4


@needs_sockets
def test_one_round_trip_per_message_with_pipelining():
    msgs = bodies(10)
    with ScriptedServer([GREETING, {"mta": {"ehlo": ["PIPELINING", "8BITMIME"]}}]) as srv:
        c = plain_client(srv.port)
        c.connect()
        results = c.send_batch([(FROM, f"r{i}@example.org", m) for i, m in enumerate(msgs)])
        c.close()
        srv.stop()
        assert [r.status for r in results] == ["accepted"] * 10
        assert [m["data"].encode("latin-1") for m in srv.messages] == \
            [expected_wire(m) for m in msgs]
        # EHLO; [MAIL RCPT DATA]; then [body "." MAIL RCPT DATA] per message
        # (the last one [body "."]): the client waited 12 times, not 41.
        assert srv.turns == 1 + 10 + 1


@needs_sockets
def test_pipelined_batch_with_a_session_ending_mid_way():
    opts = {"close_after": 2}
    with ScriptedServer([GREETING, {"mta": opts}]) as srv:
        with plain_client(srv.port) as c:
            results = c.send_batch([(FROM, f"r{i}@example.org",
                                     make_message(f"m{i}", b"body\r\n")) for i in range(4)])
            assert not c.connected
        messages = srv.messages
    assert [r.status for r in results[:2]] == ["accepted", "accepted"]
    # The close may reach the client before or after the third message's
    # end of data went out: its outcome is then unknown, never "accepted".
    for res in results[2:]:
        assert res.status in ("not-sent", "unknown")
        assert isinstance(res.error, smtpc.OutcomeUnknownError if res.status == "unknown"
                          else smtpc.NetworkError)
    # No message twice, and the server saw exactly the two it answered.
    assert [m["rcpts"] for m in messages] == [["r0@example.org"], ["r1@example.org"]]


@needs_sockets
def test_batch_errors_raise_before_anything_is_sent(aiosmtpd_server):
    c = plain_client(aiosmtpd_server.port)
    # Not connected: refused as a whole.
    with pytest.raises(smtpc.StateError):
        c.send_batch([(FROM, "r@example.org", b"Subject: x\r\n\r\nx\r\n")])
    c.connect()
    with pytest.raises(TypeError):
        c.send_batch([(FROM, "r@example.org")])
    with pytest.raises(smtpc.BadCharacterError):
        c.send_batch([(FROM, "r@exa\0mple.org", b"x")])

    # An exception from the iterator stops the batch and is re-raised once
    # the library returns; what was sent before it was sent once.
    def broken():
        yield (FROM, "r@example.org", make_message("before", b"x\r\n"))
        raise KeyError("from the iterator")

    with pytest.raises(KeyError):
        c.send_batch(broken())
    assert c.connected
    assert c.send_batch([]) == []
    c.quit()
    c.close()
    assert [e["rcpt_tos"] for e in aiosmtpd_server.handler.envelopes] == [["r@example.org"]]
