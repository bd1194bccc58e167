#!/usr/bin/python3
"""DSN, REQUIRETLS and server-aware encoding end to end (issue 10), with
dsn_send (a message built with the builder, sent by
smtpc_client_send_message):

- Postfix's smtp-sink, which offers DSN (and, with -N, does not): its dump
  records the MAIL and RCPT arguments as received.
- The scripted server advertising DSN, REQUIRETLS and STARTTLS as each test
  asks, for the refusals before MAIL (no MAIL line may reach it) and for
  REQUIRETLS over verified TLS.
- A real Postfix smtpd (postfix_server.py, a throwaway instance holding
  every message): the queue file shows RET, ENVID, NOTIFY and ORCPT as
  Postfix decoded them.
- aiosmtpd with and without 8BITMIME (decode_data) and SMTPUTF8
  (enable_SMTPUTF8): what arrives is parsed with the email package and the
  text must come back exactly.

Usage: /usr/bin/python3 test_dsn_e2e.py PATH-TO-dsn_send
"""

import email
import email.policy
import os
import shutil
import sys
import tempfile
import unittest

import harness
from certs import make_certs
from harness import AiosmtpdServer, DriverResult, SmtpSink, run_program
from postfix_server import AVAILABLE as POSTFIX, WHY_UNAVAILABLE, PostfixServer
from scripted_server import ScriptedServer

TLS = os.environ.get("SMTPC_TEST_TLS", "1") == "1"
CERTS = None
TMP = None

TEXT = ("Grüße aus Köln – naïve café, ½ € and 日本語のテキスト.\n"
        "A second line, then one that starts with a dot:\n.dot\nFrom the start\n")


def setUpModule():
    global CERTS, TMP
    TMP = tempfile.mkdtemp(prefix="smtpc-dsn-e2e-")
    if TLS:
        CERTS = make_certs(TMP)


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


def text_file(text=TEXT):
    path = os.path.join(TMP, "text.txt")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return path


def send(port, *args, security="plain", to=("rcpt@example.org",), sender="sender@example.org"):
    argv = [harness.DRIVER, "--trace", "--host", "127.0.0.1", "--port", port,
            "--security", security, "--from", sender, "--timeout-ms", "10000"]
    for addr in to:
        argv += ["--to", addr]
    argv += list(args)
    proc = run_program(argv, 60, capture_output=True, text=True, errors="replace")
    return DriverResult(proc)


def message_event(result):
    found = result.messages
    assert len(found) == 1, result.describe()
    return found[0]


class SinkDsn(unittest.TestCase):
    """smtp-sink records the envelope arguments exactly as received."""

    def test_dsn_parameters_arrive(self):
        with SmtpSink() as sink:
            r = send(sink.port, "--text-file", text_file(), "--subject", "dsn",
                     "--ret", "hdrs", "--envid", "Q+1 =é",
                     "--notify", "one@example.org=sfd", "--notify", "*=never",
                     "--orcpt", "one@example.org=Orig+One=x@example.org",
                     to=("one@example.org", "two@example.org"))
            self.assertEqual(r.returncode, 0, r.describe())
            recs = sink.records()
        self.assertEqual(len(recs), 1, r.describe())
        rec = recs[0]
        # xtext: '+', '=', space and both bytes of the UTF-8 'é' as +XX
        # smtp-sink offers 8BITMIME: the UTF-8 text goes 8bit
        self.assertEqual(rec["mail_args"],
                         "<sender@example.org> BODY=8BITMIME RET=HDRS ENVID=Q+2B1+20+3D+C3+A9")
        self.assertEqual(rec["rcpt_args"], [
            "<one@example.org> NOTIFY=SUCCESS,FAILURE,DELAY "
            "ORCPT=rfc822;Orig+2BOne+3Dx@example.org",
            "<two@example.org> NOTIFY=NEVER",
        ])
        msg = email.message_from_bytes(rec["content"], policy=email.policy.default)
        self.assertEqual(msg.get_content(), TEXT)  # the sink stores LF line ends

    def test_no_dsn_offered_fails_before_mail(self):
        with SmtpSink("-N") as sink:
            r = send(sink.port, "--text-file", text_file(), "--ret", "full")
            self.assertEqual(r.returncode, 1, r.describe())
            m = message_event(r)
            self.assertEqual(m["rc_name"], "SMTPC_ENODSN", r.describe())
            self.assertIn("does not offer DSN", m["error"]["message"])
            self.assertNotIn("C: MAIL", r.stderr)
            # the session stayed usable: QUIT went through
            self.assertEqual(r.of("quit")[0]["rc"], 0, r.describe())
            self.assertEqual(sink.records(), [])

    def test_no_dsn_allowed_drops_parameters(self):
        with SmtpSink("-N") as sink:
            r = send(sink.port, "--text-file", text_file(), "--ret", "full", "--envid", "x",
                     "--notify", "*=f", "--allow-no-dsn")
            self.assertEqual(r.returncode, 0, r.describe())
            recs = sink.records()
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0]["mail_args"], "<sender@example.org> BODY=8BITMIME")
        self.assertEqual(recs[0]["rcpt_args"], ["<rcpt@example.org>"])
        self.assertIn("does not offer DSN", r.stderr)


@unittest.skipUnless(POSTFIX, WHY_UNAVAILABLE)
class PostfixDsn(unittest.TestCase):
    """What a real MTA makes of the parameters after xtext decoding."""

    def test_dsn_decoded_by_postfix(self):
        rcpts = ("s@example.net", "f@example.net", "d@example.net", "n@example.net")
        with PostfixServer() as pf:
            r = send(pf.port, "--text-file", text_file(), "--subject", "Grüße",
                     "--ret", "hdrs", "--envid", "Q+1 =x",
                     "--notify", "s@example.net=s", "--notify", "f@example.net=f",
                     "--notify", "d@example.net=d", "--notify", "*=never",
                     "--orcpt", "f@example.net=Orig+F=1@example.org", to=rcpts)
            self.assertEqual(r.returncode, 0, r.describe())
            self.assertTrue(r.connect["capabilities"] & 0x080)  # DSN
            held = pf.held()
        self.assertEqual(len(held), 1, pf.log())
        env = held[0]["envelope"]
        self.assertEqual(env["envelope_id"], "Q+1 =x")
        self.assertEqual(env["ret_flags"], "2")  # Postfix's DSN_RET_HDRS
        got = {x["recipient"]: x for x in held[0]["recipients"]}
        self.assertEqual(sorted(got), sorted(rcpts))
        # Postfix's NOTIFY bits: NEVER 1, SUCCESS 2, FAILURE 4, DELAY 8
        self.assertEqual([got[a]["notify_flags"] for a in rcpts], ["2", "4", "8", "1"])
        self.assertEqual(got["f@example.net"]["dsn_orig_rcpt"], "rfc822;Orig+F=1@example.org")
        msg = email.message_from_bytes(held[0]["content"], policy=email.policy.default)
        self.assertEqual(str(msg["Subject"]), "Grüße")
        self.assertEqual(msg.get_content(), TEXT)

    def test_no_dsn_when_postfix_disables_it(self):
        with PostfixServer(smtpd_discard_ehlo_keywords="dsn") as pf:
            r = send(pf.port, "--text-file", text_file(), "--notify", "*=sf")
            self.assertEqual(message_event(r)["rc_name"], "SMTPC_ENODSN", r.describe())
            self.assertNotIn("C: MAIL", r.stderr)
            r = send(pf.port, "--text-file", text_file(), "--notify", "*=sf", "--allow-no-dsn")
            self.assertEqual(r.returncode, 0, r.describe())
            held = pf.held()
        self.assertEqual(len(held), 1, pf.log())
        self.assertNotIn("envelope_id", held[0]["envelope"])
        self.assertEqual(held[0]["recipients"][0].get("notify_flags", "0"), "0")


def scripted(keywords, certs=None):
    return ScriptedServer([{"send": "220 scripted ESMTP\r\n"},
                           {"smtp": {"ehlo": keywords}}], certs)


class ScriptedDsn(unittest.TestCase):
    def test_dsn_not_advertised(self):
        with scripted(["PIPELINING", "8BITMIME"]) as srv:
            r = send(str(srv.port), "--notify", "*=sf")
        self.assertEqual(message_event(r)["rc_name"], "SMTPC_ENODSN", r.describe())
        self.assertFalse([line for line in srv.lines if line.upper().startswith("MAIL")],
                         srv.lines)
        self.assertIn("QUIT", srv.lines)

    def test_dsn_advertised_pipelined(self):
        with scripted(["PIPELINING", "DSN"]) as srv:
            r = send(str(srv.port), "--ret", "full", "--notify", "*=sf",
                     to=("a@example.org", "b@example.org"))
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertIn("MAIL FROM:<sender@example.org> RET=FULL", srv.lines)
        self.assertIn("RCPT TO:<a@example.org> NOTIFY=SUCCESS,FAILURE", srv.lines)
        self.assertIn("RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE", srv.lines)


@unittest.skipUnless(TLS, "built without TLS")
class ScriptedRequireTls(unittest.TestCase):
    def refused(self, keywords, security, why, *extra):
        with scripted(keywords, CERTS["ca"].rsplit("/", 1)[0]) as srv:
            r = send(str(srv.port), "--requiretls", *extra, security=security)
        m = message_event(r)
        self.assertEqual(m["rc_name"], "SMTPC_EREQUIRETLS", r.describe())
        self.assertIn(why, m["error"]["message"])
        self.assertFalse([line for line in srv.lines if line.upper().startswith("MAIL")],
                         srv.lines)
        self.assertFalse([line for line in srv.lines if line.upper() == "DATA"], srv.lines)
        self.assertEqual(r.of("quit")[0]["rc"], 0, r.describe())
        return r

    def test_plaintext(self):
        self.refused(["REQUIRETLS", "8BITMIME"], "plain", "not encrypted")

    def test_unverified_tls(self):
        r = self.refused(["STARTTLS", "REQUIRETLS"], "starttls", "not verified", "--insecure")
        self.assertEqual(r.connect["encrypted"], 1)
        self.assertEqual(r.connect["verified"], 0)

    def test_not_advertised(self):
        r = self.refused(["STARTTLS", "DSN"], "starttls", "does not offer REQUIRETLS",
                         "--cafile", CERTS["ca"] + ".pem")
        self.assertEqual(r.connect["verified"], 1)

    def test_all_conditions_hold(self):
        with scripted(["STARTTLS", "REQUIRETLS", "DSN"], CERTS["ca"].rsplit("/", 1)[0]) as srv:
            r = send(str(srv.port), "--requiretls", "--ret", "hdrs", "--text-file", text_file(),
                     "--cafile", CERTS["ca"] + ".pem", security="starttls")
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertEqual(r.connect["verified"], 1)
        self.assertIn("tls ok", " ".join(srv.events))
        self.assertIn("MAIL FROM:<sender@example.org> RET=HDRS REQUIRETLS", srv.lines)
        self.assertTrue(message_event(r)["mail_flags"] & 0x100)


class ServerAwareEncoding(unittest.TestCase):
    """The same message adapts to what each server offers."""

    def deliver(self, text=TEXT, to=("rcpt@example.org",), subject="plain subject", **server):
        with AiosmtpdServer(**server) as srv:
            r = send(str(srv.port), "--text-file", text_file(text), "--subject", subject, to=to)
        return srv, r

    def parsed(self, srv):
        self.assertEqual(len(srv.handler.envelopes), 1)
        env = srv.handler.envelopes[0]
        return env, email.message_from_bytes(env["content"], policy=email.policy.SMTPUTF8)

    def assertText(self, msg):
        """The text as given: the builder sends its line ends as CRLF."""
        self.assertEqual(msg.get_content().replace("\r\n", "\n"), TEXT)

    def test_8bitmime_offered(self):
        srv, r = self.deliver()
        self.assertEqual(r.returncode, 0, r.describe())
        env, msg = self.parsed(srv)
        self.assertIn("BODY=8BITMIME", env["mail_options"])
        self.assertEqual(msg["Content-Transfer-Encoding"], "8bit")
        self.assertText(msg)

    def test_nothing_offered_is_7bit(self):
        srv, r = self.deliver(decode_data=True)  # aiosmtpd then drops 8BITMIME
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertFalse(r.connect["capabilities"] & 0x002)
        env, msg = self.parsed(srv)
        self.assertNotIn("BODY=8BITMIME", env["mail_options"])
        self.assertTrue(all(b < 0x80 for b in env["content"]), env["content"][:400])
        self.assertIn(msg["Content-Transfer-Encoding"], ("quoted-printable", "base64"))
        self.assertText(msg)

    def test_utf8_address_uses_smtputf8_when_offered(self):
        to = "pérez@exämple.org"
        srv, r = self.deliver(to=(to,), subject="Grüße", enable_SMTPUTF8=True)
        self.assertEqual(r.returncode, 0, r.describe())
        env, msg = self.parsed(srv)
        self.assertIn("SMTPUTF8", env["mail_options"])
        self.assertEqual(env["rcpt_tos"], [to])
        self.assertEqual(str(msg["To"]), to)
        self.assertEqual(str(msg["Subject"]), "Grüße")
        self.assertText(msg)

    def test_nothing_offered_utf8_address(self):
        srv, r = self.deliver(to=("pérez@exämple.org",), decode_data=True, enable_SMTPUTF8=False)
        self.assertEqual(message_event(r)["rc_name"], "SMTPC_EUTF8", r.describe())
        self.assertEqual(srv.handler.envelopes, [])

    def test_non_ascii_text_alone_needs_no_smtputf8(self):
        srv, r = self.deliver(subject="Grüße – ½", enable_SMTPUTF8=True)
        self.assertEqual(r.returncode, 0, r.describe())
        env, msg = self.parsed(srv)
        self.assertNotIn("SMTPUTF8", env["mail_options"])
        head = env["content"].split(b"\r\n\r\n", 1)[0]
        self.assertTrue(all(b < 0x80 for b in head), head)
        self.assertIn(b"=?UTF-8?", head)
        self.assertEqual(str(msg["Subject"]), "Grüße – ½")

    def test_utf8_address_without_smtputf8_is_a_clear_error(self):
        srv, r = self.deliver(to=("pérez@exämple.org",), enable_SMTPUTF8=False)
        m = message_event(r)
        self.assertEqual(m["rc_name"], "SMTPC_EUTF8", r.describe())
        self.assertIn("which the server does not offer", m["error"]["message"])
        self.assertNotIn("C: MAIL", r.stderr)
        self.assertEqual(srv.handler.envelopes, [])


if __name__ == "__main__":
    sys.exit(harness.main())
