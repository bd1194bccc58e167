#!/usr/bin/python3
"""The smtpc command-line tool end to end (issue 12): sendmail mode (-t,
arguments, -f, -i), compose mode with attachments, the exit statuses, the
config file, the environment and their precedence, passwordeval, --dry-run,
--trace without secrets, and the progress bar. Servers: aiosmtpd (with and
without AUTH), smtp-sink and the scripted fault server.

Usage: /usr/bin/python3 test_cli.py PATH-TO-smtpc

SMTPC_TEST_TLS=0 (set by meson for -Dtls=disabled): the AUTH cases run over
plaintext explicitly allowed, and TLS must fail with the clean error.
SMTPC_TEST_DKIM=0 (a build without DKIM): signing must fail with the clean
error (EX_UNAVAILABLE) and send nothing.
"""

import hashlib
import logging
import os
import pty
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from email import policy
from email.parser import BytesParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from auth_server import AuthServer, secret_forms  # noqa: E402
from harness import AiosmtpdServer, SmtpSink, run_program  # noqa: E402
from scripted_server import ScriptedServer  # noqa: E402

HAVE_TLS = os.environ.get("SMTPC_TEST_TLS", "1") != "0"
HAVE_DKIM = os.environ.get("SMTPC_TEST_DKIM", "1") != "0"
USER = "alice@example.org"
PASSWORD = "Cli-Pa55word_that~never.leaks"

EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_UNAVAILABLE = 64, 65, 66, 69
EX_TEMPFAIL, EX_PROTOCOL, EX_NOPERM, EX_CONFIG = 75, 76, 77, 78


class Result:
    def __init__(self, proc):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr.decode(errors="replace")

    def describe(self):
        return f"exit {self.returncode}\n--- stderr\n{self.stderr[-6000:]}"


class CliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="smtpc-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        # A home of our own: the user's real config must never be read.
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("SMTPC_") or k.startswith("SMTPC_TEST")}
        self.env.pop("XDG_CONFIG_HOME", None)
        self.env["HOME"] = self.tmp

    def run_cli(self, *args, stdin=b"", env=None, timeout=60, stderr=subprocess.PIPE):
        e = dict(self.env)
        e.update(env or {})
        proc = run_program([harness.DRIVER] + [str(a) for a in args], timeout, input=stdin,
                           stdout=subprocess.PIPE, stderr=stderr, env=e)
        if proc.stderr is None:
            proc.stderr = b""
        return Result(proc)

    def write(self, name, data, mode=0o600):
        path = os.path.join(self.tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        os.chmod(path, mode)
        return path

    def plain(self, port):
        return ["--host", "127.0.0.1", "--port", port, "--security", "plain"]


RAW = (b"From: Sender <sender@example.org>\n"
       b"To: One <one@example.org>, \"Two, Esq.\" <two@example.org>\n"
       b"Cc: three@example.org (a comment)\n"
       b"Bcc: hidden@example.org,\n"
       b"  hidden2@example.org\n"
       b"Subject: raw via -t\n"
       b"\n"
       b"line one\n"
       b".leading dot\n"
       b"last line without end")


class SendmailMode(CliTest):
    def test_t_reads_recipients_and_strips_bcc(self):
        with AiosmtpdServer() as srv:
            r = self.run_cli("-t", "-i", *self.plain(srv.port), stdin=RAW)
        self.assertEqual(r.returncode, 0, r.describe())
        (env,) = srv.handler.envelopes
        self.assertEqual(env["mail_from"], "sender@example.org")
        self.assertEqual(env["rcpt_tos"], ["one@example.org", "two@example.org",
                                           "three@example.org", "hidden@example.org",
                                           "hidden2@example.org"])
        expected = harness.expected_wire(RAW.replace(
            b"Bcc: hidden@example.org,\n  hidden2@example.org\n", b""))
        self.assertEqual(env["content"], expected)
        self.assertNotIn(b"hidden", env["content"])

    def test_recipients_as_arguments_and_f(self):
        body = b"Subject: args\r\n\r\nhello\r\n"
        with SmtpSink() as sink:
            r = self.run_cli("-f", "boss@example.org", "-oi", *self.plain(sink.port),
                             "a@example.org", "b@example.org, c@example.org", stdin=body)
            records = sink.records()
        self.assertEqual(r.returncode, 0, r.describe())
        (rec,) = records
        self.assertTrue(rec["mail_args"].startswith("<boss@example.org>"), rec)
        self.assertEqual([a.split()[0] for a in rec["rcpt_args"]],
                         ["<a@example.org>", "<b@example.org>", "<c@example.org>"])
        self.assertEqual(rec["content"], body.replace(b"\r\n", b"\n"))

    def test_8bit_body_declared(self):
        body = "Subject: 8bit\n\nÜnïcödé ✓\n".encode()
        with SmtpSink() as sink:
            r = self.run_cli("-f", "s@example.org", *self.plain(sink.port), "a@example.org",
                             stdin=body)
            (rec,) = sink.records()
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertIn("BODY=8BITMIME", rec["mail_args"].upper())
        self.assertEqual(rec["content"], body)

    def test_lone_dot_ends_input_without_i(self):
        body = b"Subject: dot\n\nkept\n.\nnot sent\n"
        for flags, expected in (([], b"Subject: dot\r\n\r\nkept\r\n"),
                                (["-i"], harness.expected_wire(body))):
            with self.subTest(flags=flags), AiosmtpdServer() as srv:
                r = self.run_cli(*flags, "-f", "s@example.org", *self.plain(srv.port),
                                 "a@example.org", stdin=body)
                self.assertEqual(r.returncode, 0, r.describe())
                self.assertEqual(srv.handler.envelopes[0]["content"], expected)

    def test_large_message_through_spool(self):
        # 3 MiB of lines with every kind of line end: sent as the server counts it.
        body = b"Subject: big\n\n" + b"".join(
            b"line %d %s%s" % (i, b"x" * 60, (b"\n", b"\r\n", b"\r")[i % 3])
            for i in range(45000))
        with AiosmtpdServer() as srv:
            r = self.run_cli("-i", "-f", "s@example.org", *self.plain(srv.port),
                             "a@example.org", stdin=body, timeout=120)
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertEqual(srv.handler.envelopes[0]["content"], harness.expected_wire(body))
        self.assertEqual(r.stderr, "", "no progress bar when stderr is not a terminal")


class ComposeMode(CliTest):
    def test_attachments_arrive_intact(self):
        blob = os.urandom(300000)
        pdf = self.write("report.pdf", blob)
        notes = self.write("notes.txt", "plain text\nattachment\n")
        text = self.write("body.txt", "Hello,\nthe report is attached.\n")
        html = self.write("body.html", "<p>Hello, <b>the report</b>.</p>\n")
        with AiosmtpdServer() as srv:
            r = self.run_cli("--from", "Ünïcode Sender <me@example.org>",
                             "--to", "Ann <ann@example.org>", "--cc", "bob@example.org",
                             "--bcc", "secret@example.org", "--subject", "Report ✓",
                             "--text", text, "--html", html, "--attach", pdf,
                             "--attach", notes, "--header", "X-Ticket: 1234",
                             *self.plain(srv.port))
        self.assertEqual(r.returncode, 0, r.describe())
        (env,) = srv.handler.envelopes
        self.assertEqual(env["mail_from"], "me@example.org")
        self.assertEqual(sorted(env["rcpt_tos"]),
                         ["ann@example.org", "bob@example.org", "secret@example.org"])
        self.assertNotIn(b"secret@example.org", env["content"])
        msg = BytesParser(policy=policy.default).parsebytes(env["content"])
        self.assertIsNone(msg["Bcc"])
        self.assertEqual(msg["Subject"], "Report ✓")
        self.assertEqual(msg["X-Ticket"], "1234")
        self.assertEqual(msg["From"].addresses[0].display_name, "Ünïcode Sender")
        self.assertEqual(msg.get_body(("plain",)).get_content().replace("\r\n", "\n"),
                         "Hello,\nthe report is attached.\n")
        self.assertIn("<b>the report</b>", msg.get_body(("html",)).get_content())
        got = {a.get_filename(): hashlib.sha256(a.get_payload(decode=True)).hexdigest()
               for a in msg.iter_attachments()}
        self.assertEqual(got, {
            "report.pdf": hashlib.sha256(blob).hexdigest(),
            "notes.txt": hashlib.sha256(b"plain text\nattachment\n").hexdigest(),
        })

    def test_text_from_stdin(self):
        with SmtpSink() as sink:
            r = self.run_cli("--from", "me@example.org", "--to", "you@example.org",
                             "--subject", "stdin", "--text", "-", *self.plain(sink.port),
                             stdin=b"from standard input\n")
            (rec,) = sink.records()
        self.assertEqual(r.returncode, 0, r.describe())
        msg = BytesParser(policy=policy.default).parsebytes(rec["content"])
        self.assertEqual(msg.get_content(), "from standard input\n")

    def test_missing_attachment(self):
        r = self.run_cli("--from", "me@example.org", "--to", "you@example.org",
                         "--attach", os.path.join(self.tmp, "nope.bin"), "--dry-run")
        self.assertEqual(r.returncode, EX_NOINPUT, r.describe())
        self.assertIn("nope.bin", r.stderr)

    def test_bad_header_and_address(self):
        r = self.run_cli("--from", "me@example.org", "--to", "you@example.org",
                         "--header", "Subject: use --subject", "--dry-run")
        self.assertEqual(r.returncode, EX_DATAERR, r.describe())
        self.assertIn("--header", r.stderr)
        r = self.run_cli("--from", "me@example.org", "--to", "not an address", "--dry-run")
        self.assertEqual(r.returncode, EX_DATAERR, r.describe())

    def test_dry_run_prints_message_without_connecting(self):
        r = self.run_cli("--from", "me@example.org", "--to", "you@example.org",
                         "--bcc", "b@example.org", "--subject", "dry", "--dry-run")
        self.assertEqual(r.returncode, 0, r.describe())
        msg = BytesParser(policy=policy.default).parsebytes(r.stdout)
        self.assertEqual(msg["Subject"], "dry")
        self.assertIsNone(msg["Bcc"])
        self.assertIn("envelope from <me@example.org> to <you@example.org> <b@example.org>",
                      r.stderr)
        r = self.run_cli("-t", "--dry-run", stdin=RAW)
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertTrue(r.stdout.startswith(b"From: Sender <sender@example.org>\r\n"), r.stdout)
        self.assertNotIn(b"Bcc", r.stdout)


class Parsing(CliTest):
    """What sendmail mode makes of its input and arguments, seen through
    --dry-run (no server needed)."""

    def dry(self, *args, stdin=b"", env=None):
        r = self.run_cli("--dry-run", *args, stdin=stdin, env=env)
        self.assertEqual(r.returncode, 0, r.describe())
        line = [ln for ln in r.stderr.splitlines() if "dry run" in ln]
        self.assertEqual(len(line), 1, r.stderr)
        return line[0].split("envelope ", 1)[1], r.stdout

    def test_address_lists(self):
        cases = {
            "a@example.org": "<a@example.org>",
            " Ann <ann@example.org> , bob@example.org (Bob)":
                "<ann@example.org> <bob@example.org>",
            '"Doe, John" <jd@example.org>, "q x"@example.org':
                '<jd@example.org> <"q x"@example.org>',
            "team: a@example.org, b@example.org;, c@example.org":
                "<a@example.org> <b@example.org> <c@example.org>",
            "A@example.org, a@example.org": "<A@example.org>",
            "<@relay.example:route@example.org>": "<route@example.org>",
        }
        for arg, want in cases.items():
            with self.subTest(arg=arg):
                env, _ = self.dry("-f", "s@example.org", arg, stdin=b"Subject: x\n\nb\n")
                self.assertEqual(env, "from <s@example.org> to " + want)

    def test_envelope_sender(self):
        for given, want in (("<>", "<>"), ("", "<>"), ("Bob <b@example.org>", "<b@example.org>"),
                            ("b@example.org", "<b@example.org>")):
            with self.subTest(given=given):
                env, _ = self.dry("-f", given, "r@example.org", stdin=b"\n")
                self.assertEqual(env, f"from {want} to <r@example.org>")
        r = self.run_cli("--dry-run", "-f", "b@example.org>", "r@example.org", stdin=b"\n")
        self.assertEqual(r.returncode, EX_USAGE, r.describe())

    def test_headers_and_line_ends(self):
        msg = (b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n"
               b"From: =?utf-8?q?S=C3=A9nder?= <s@example.org>\r"
               b"To: undisclosed-recipients:;\r\n"
               b"BCC: x@example.org,\n\ty@example.org\n"
               b"Cc: c@example.org\n"
               b"\n"
               b"Bcc: in the body stays\n"
               b"end")
        env, out = self.dry("-t", stdin=msg)
        self.assertEqual(env, "from <s@example.org> to <x@example.org> <y@example.org> "
                              "<c@example.org>")
        self.assertEqual(out, b"From: =?utf-8?q?S=C3=A9nder?= <s@example.org>\r\n"
                              b"To: undisclosed-recipients:;\r\n"
                              b"Cc: c@example.org\r\n"
                              b"\r\n"
                              b"Bcc: in the body stays\r\n"
                              b"end\r\n")

    def test_no_header_section(self):
        env, out = self.dry("-f", "s@example.org", "a@example.org",
                            stdin=b"just a line\nand another")
        self.assertEqual(out, b"just a line\r\nand another\r\n")

    def test_empty_input(self):
        env, out = self.dry("-f", "s@example.org", "a@example.org", stdin=b"")
        self.assertEqual(out, b"")

    def test_config_accounts_and_quotes(self):
        cfg = self.write("cfg", "# comment\n"
                         "from \"early@example.org\"\n"
                         "account a\n"
                         "account b : a\n"
                         "defaults\n"
                         "from late@example.org\n"
                         "account c : b\n"
                         "account d : c\n"
                         "from d@example.org\n", 0o644)
        for account, want in (("a", "early"), ("b", "early"), ("c", "early"), ("d", "d")):
            with self.subTest(account=account):
                env, _ = self.dry("--config", cfg, "--account", account, "r@example.org",
                                  stdin=b"\n")
                self.assertEqual(env, f"from <{want}@example.org> to <r@example.org>")
        # no --account and no "default" account: the settings outside accounts
        env, _ = self.dry("--config", cfg, "r@example.org", stdin=b"\n")
        self.assertEqual(env, "from <late@example.org> to <r@example.org>")


def scripted(*steps):
    return [{"send": "220 scripted ESMTP\r\n"}, {"expect": "EHLO"},
            {"send": "250-scripted\r\n250 8BITMIME\r\n"}] + list(steps)


class Failures(CliTest):
    def test_refused_recipient(self):
        with AiosmtpdServer() as srv:
            r = self.run_cli("-f", "s@example.org", *self.plain(srv.port),
                             "good@example.org", "reject@example.org",
                             stdin=b"Subject: partly\n\nbody\n")
        self.assertEqual(r.returncode, EX_UNAVAILABLE, r.describe())
        self.assertIn("recipient <reject@example.org> refused: 550 5.1.1", r.stderr)
        self.assertIn("went to 1 of 2 recipients", r.stderr)
        self.assertEqual(srv.handler.envelopes[0]["rcpt_tos"], ["good@example.org"])
        with AiosmtpdServer() as srv:
            r = self.run_cli("-f", "s@example.org", *self.plain(srv.port),
                             "reject@example.org", stdin=b"Subject: none\n\nbody\n")
        self.assertEqual(r.returncode, EX_UNAVAILABLE, r.describe())
        self.assertIn("refused: 550 5.1.1", r.stderr)
        self.assertEqual(srv.handler.envelopes, [])

    def test_4xx_is_tempfail(self):
        cases = {
            "mail": scripted({"expect": "MAIL"}, {"send": "451 4.3.0 try again later\r\n"},
                             {"smtp": None}),
            "rcpt": scripted({"expect": "MAIL"}, {"send": "250 ok\r\n"}, {"expect": "RCPT"},
                             {"send": "450 4.2.1 mailbox busy\r\n"}, {"smtp": None}),
            "greeting": [{"send": "421 4.3.2 not now\r\n"}],
        }
        for name, steps in cases.items():
            with self.subTest(name), ScriptedServer(steps) as srv:
                r = self.run_cli("-f", "s@example.org", *self.plain(srv.port),
                                 "a@example.org", stdin=b"Subject: t\n\nbody\n")
                self.assertEqual(r.returncode, EX_TEMPFAIL, r.describe())
                self.assertRegex(r.stderr, r"4\d\d 4\.\d\.\d")

    def test_5xx_message_refused(self):
        with AiosmtpdServer() as srv:
            r = self.run_cli("-f", "s@example.org", *self.plain(srv.port), "a@example.org",
                             stdin=b"X-Refuse: 552\nSubject: no\n\nbody\n")
        self.assertEqual(r.returncode, EX_UNAVAILABLE, r.describe())
        self.assertIn("552 5.3.4 message refused by policy", r.stderr)

    def test_bad_address_is_dataerr(self):
        with AiosmtpdServer() as srv:
            r = self.run_cli("-f", "s@example.org", *self.plain(srv.port),
                             "john doe@example.org", stdin=b"Subject: x\n\nbody\n")
        self.assertEqual(r.returncode, EX_DATAERR, r.describe())
        self.assertIn("john doe@example.org", r.stderr)
        self.assertEqual(srv.handler.envelopes, [])

    def test_over_the_size_limit(self):
        blob = self.write("blob.bin", os.urandom(5000))
        with AiosmtpdServer(data_size_limit=2000) as srv:
            r = self.run_cli("--from", "me@example.org", "--to", "you@example.org",
                             "--attach", blob, *self.plain(srv.port))
        self.assertEqual(r.returncode, EX_DATAERR, r.describe())
        self.assertIn("limit of 2000", r.stderr)
        self.assertEqual(srv.handler.envelopes, [])

    def test_silent_server_times_out(self):
        steps = scripted({"sleep": 60})
        with ScriptedServer(steps) as srv:
            start = time.monotonic()
            r = self.run_cli("--timeout", "2", "-f", "s@example.org", *self.plain(srv.port),
                             "a@example.org", stdin=b"Subject: t\n\nbody\n")
            took = time.monotonic() - start
        self.assertEqual(r.returncode, EX_TEMPFAIL, r.describe())
        self.assertIn("timed out", r.stderr)
        self.assertGreaterEqual(took, 2)
        self.assertLess(took, harness.time_bound(30), r.describe())

    def test_garbage_is_protocol_error(self):
        with ScriptedServer([{"send": "hello there\r\n"}, {"sleep": 1}]) as srv:
            r = self.run_cli("-f", "s@example.org", *self.plain(srv.port), "a@example.org",
                             stdin=b"Subject: t\n\nbody\n")
        self.assertEqual(r.returncode, EX_PROTOCOL, r.describe())

    def test_lost_after_the_dot(self):
        steps = scripted({"expect": "MAIL"}, {"send": "250 ok\r\n"}, {"expect": "RCPT"},
                         {"send": "250 ok\r\n"}, {"expect": "DATA"},
                         {"send": "354 go\r\n"}, {"expect": "Subject: t"}, {"read_line": None},
                         {"expect": "body"}, {"expect": "."}, {"close": None})
        with ScriptedServer(steps) as srv:
            r = self.run_cli("-f", "s@example.org", *self.plain(srv.port), "a@example.org",
                             stdin=b"Subject: t\n\nbody\n")
        self.assertEqual(r.returncode, EX_TEMPFAIL, r.describe())
        self.assertIn("may have accepted", r.stderr)

    def test_connection_refused(self):
        with harness.refusing_port() as port:
            r = self.run_cli("-f", "s@example.org", *self.plain(port), "a@example.org",
                             stdin=b"Subject: x\n\nbody\n")
        self.assertEqual(r.returncode, EX_TEMPFAIL, r.describe())
        self.assertIn("connect", r.stderr)

    def test_usage_errors(self):
        cases = [
            ["--bogus"],
            ["-f"],
            ["--security", "maybe", "a@example.org"],
            ["--timeout", "soon", "a@example.org"],
            ["--to", "a@example.org", "-t"],
            ["--subject", "no recipients"],
            ["-f", "s@example.org"],               # no recipients
            ["-t", "-f", "s@example.org"],         # none in the headers either
            ["-bp"],
            ["-f", "s@example.org", "a@example.org"],  # no server
        ]
        for args in cases:
            with self.subTest(args=args):
                r = self.run_cli(*args, stdin=b"Subject: x\n\nbody\n")
                self.assertEqual(r.returncode, EX_USAGE, r.describe())
                self.assertTrue(r.stderr.startswith("smtpc: "), r.stderr)


def auth_server(**kw):
    kw.setdefault("users", {USER: PASSWORD})
    kw.setdefault("auth_require_tls", HAVE_TLS)
    return AuthServer(**kw)


class Auth(CliTest):
    def secure(self, srv):
        if HAVE_TLS:
            return ["--host", "127.0.0.1", "--port", srv.port, "--security", "starttls",
                    "--cafile", srv.cafile]
        return self.plain(srv.port) + ["--allow-plaintext-auth"]

    def test_good_password_from_env_trace_redacted(self):
        with auth_server() as srv:
            r = self.run_cli("--trace", "--user", USER, *self.secure(srv), "-f", USER,
                             "a@example.org", stdin=b"Subject: auth\n\nbody\n",
                             env={"SMTPC_PASSWORD": PASSWORD})
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertEqual(len(srv.handler.envelopes), 1)
        self.assertIn("C: AUTH", r.stderr)
        self.assertIn("<redacted>", r.stderr)
        leaks = [f for f in secret_forms(PASSWORD) if f.decode(errors="replace") in r.stderr]
        self.assertEqual(leaks, [], r.stderr)

    def test_bad_password(self):
        with auth_server() as srv:
            r = self.run_cli("--user", USER, *self.secure(srv), "-f", USER, "a@example.org",
                             stdin=b"Subject: auth\n\nbody\n", env={"SMTPC_PASSWORD": "wrong"})
        self.assertEqual(r.returncode, EX_NOPERM, r.describe())
        self.assertRegex(r.stderr, r"535")
        self.assertEqual(srv.handler.envelopes, [])

    def test_plaintext_auth_refused_unless_allowed(self):
        with auth_server(auth_require_tls=False) as srv:
            r = self.run_cli("--user", USER, *self.plain(srv.port), "-f", USER,
                             "a@example.org", stdin=b"Subject: p\n\nbody\n",
                             env={"SMTPC_PASSWORD": PASSWORD})
            self.assertEqual(r.returncode, EX_NOPERM, r.describe())
            self.assertIn("--allow-plaintext-auth", r.stderr)
            self.assertEqual(srv.auth_lines(), [])
            self.assertEqual(srv.handler.envelopes, [])
            r = self.run_cli("--user", USER, *self.plain(srv.port), "-f", USER,
                             "--allow-plaintext-auth", "a@example.org",
                             stdin=b"Subject: p\n\nbody\n", env={"SMTPC_PASSWORD": PASSWORD})
            self.assertEqual(r.returncode, 0, r.describe())
            self.assertEqual(len(srv.handler.envelopes), 1)

    def config(self, srv, password_line, mode=0o600, extra=""):
        lines = ["defaults", "security " + ("starttls" if HAVE_TLS else "plain")]
        if HAVE_TLS:
            lines.append("cafile " + srv.cafile)
        else:
            lines.append("allow_plaintext_auth on")
        lines += ["account work", "host 127.0.0.1", f"port {srv.port}", f"user {USER}",
                  password_line, extra, "account default : work"]
        return self.write("cfg/smtpc/config", "\n".join(lines) + "\n", mode)

    def test_passwordeval(self):
        secret = self.write("secret", PASSWORD + "\nsecond line ignored\n")
        with auth_server() as srv:
            self.config(srv, f"passwordeval cat '{secret}'", mode=0o644)
            r = self.run_cli("-f", USER, "a@example.org", stdin=b"Subject: pe\n\nbody\n",
                             env={"XDG_CONFIG_HOME": os.path.join(self.tmp, "cfg")})
            self.assertEqual(r.returncode, 0, r.describe())
            self.assertEqual(len(srv.handler.envelopes), 1)
            self.assertTrue(srv.succeeded(), srv.auth_log)
            self.config(srv, "passwordeval false")
            r = self.run_cli("-f", USER, "a@example.org", stdin=b"Subject: pe\n\nbody\n",
                             env={"XDG_CONFIG_HOME": os.path.join(self.tmp, "cfg")})
            self.assertEqual(r.returncode, EX_CONFIG, r.describe())
            self.assertIn("passwordeval", r.stderr)

    def test_config_with_password_must_be_private(self):
        with auth_server() as srv:
            path = self.config(srv, f"password {PASSWORD}", mode=0o640)
            r = self.run_cli("--config", path, "-f", USER, "a@example.org",
                             stdin=b"Subject: c\n\nbody\n")
            self.assertEqual(r.returncode, EX_CONFIG, r.describe())
            self.assertIn("chmod 600", r.stderr)
            self.assertNotIn(PASSWORD, r.stderr)
            self.assertEqual(srv.handler.envelopes, [])
            os.chmod(path, 0o600)
            r = self.run_cli("--config", path, "-f", USER, "a@example.org",
                             stdin=b"Subject: c\n\nbody\n")
            self.assertEqual(r.returncode, 0, r.describe())
            self.assertEqual(len(srv.handler.envelopes), 1)

    def test_tls_build_or_clean_error(self):
        with auth_server() as srv:
            r = self.run_cli("--host", "127.0.0.1", "--port", srv.port, "--security",
                             "starttls", "--cafile", srv.cafile, "-f", "s@example.org",
                             "a@example.org", stdin=b"Subject: tls\n\nbody\n")
        if HAVE_TLS:
            self.assertEqual(r.returncode, 0, r.describe())
            self.assertEqual(len(srv.handler.envelopes), 1)
        else:
            self.assertEqual(r.returncode, EX_UNAVAILABLE, r.describe())
            self.assertIn("without TLS", r.stderr)
            self.assertEqual(srv.handler.envelopes, [])

    def test_untrusted_certificate_or_no_tls(self):
        # The test CA is not in the system bundle: verification must fail.
        with auth_server() as srv:
            r = self.run_cli("--host", "127.0.0.1", "--port", srv.port, "-f", "s@example.org",
                             "a@example.org", stdin=b"Subject: tls\n\nbody\n")
            self.assertEqual(r.returncode, EX_UNAVAILABLE, r.describe())
            self.assertIn("without TLS" if not HAVE_TLS else "certificate", r.stderr)
            self.assertEqual(srv.handler.envelopes, [])
            self.assertFalse([ln for _, ln in srv.client_lines() if ln.startswith(b"MAIL")])


class Precedence(CliTest):
    """flags > environment > config file, setting by setting."""

    def test_layers(self):
        # The dead port stays bound, never listening: nothing can take it.
        with harness.refusing_port() as dead_port, AiosmtpdServer() as srv:
            dead = str(dead_port)
            cfg = self.write("c/config", "host 127.0.0.1\nport %s\nsecurity plain\n"
                             "from cfg@example.org\n"
                             "account other\nhost 127.0.0.1\nport %s\nsecurity plain\n"
                             % (dead, srv.port), 0o644)
            msg = b"Subject: layers\n\nbody\n"
            # config alone: the dead port
            r = self.run_cli("--config", cfg, "a@example.org", stdin=msg)
            self.assertEqual(r.returncode, EX_TEMPFAIL, r.describe())
            # the environment beats the config ...
            r = self.run_cli("--config", cfg, "a@example.org", stdin=msg,
                             env={"SMTPC_PORT": str(srv.port), "SMTPC_FROM": "env@example.org"})
            self.assertEqual(r.returncode, 0, r.describe())
            # ... and flags beat the environment
            r = self.run_cli("--config", cfg, "--port", srv.port, "-f", "flag@example.org",
                             "a@example.org", stdin=msg,
                             env={"SMTPC_PORT": dead, "SMTPC_FROM": "env@example.org"})
            self.assertEqual(r.returncode, 0, r.describe())
            # a named account, from SMTPC_CONFIG
            r = self.run_cli("--account", "other", "-f", "acct@example.org", "a@example.org",
                             stdin=msg, env={"SMTPC_CONFIG": cfg})
            self.assertEqual(r.returncode, 0, r.describe())
        self.assertEqual([e["mail_from"] for e in srv.handler.envelopes],
                         ["env@example.org", "flag@example.org", "acct@example.org"])

    def test_config_errors(self):
        bad = self.write("bad", "host x\nfrobnicate yes\n")
        r = self.run_cli("--config", bad, "--dry-run", "a@example.org", stdin=b"\n")
        self.assertEqual(r.returncode, EX_CONFIG, r.describe())
        self.assertIn("bad:2: unknown setting: frobnicate", r.stderr)
        r = self.run_cli("--config", os.path.join(self.tmp, "missing"), "a@example.org")
        self.assertEqual(r.returncode, EX_CONFIG, r.describe())
        ok = self.write("ok", "host x\n")
        r = self.run_cli("--config", ok, "--account", "nope", "a@example.org")
        self.assertEqual(r.returncode, EX_CONFIG, r.describe())
        self.assertIn('no account "nope"', r.stderr)


class Progress(CliTest):
    def run_on_tty(self, *args):
        master, slave = pty.openpty()
        try:
            r = self.run_cli(*args, stderr=slave)
            os.close(slave)
            slave = None
            out = b""
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO once the writer is gone
                    break
                if not chunk:
                    break
                out += chunk
            return r, out.decode(errors="replace")
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)

    def test_bar_on_a_terminal_only(self):
        big = self.write("big.bin", os.urandom(3 << 20))
        args = ["--from", "me@example.org", "--to", "you@example.org", "--attach", big]
        with AiosmtpdServer() as srv:
            r, tty = self.run_on_tty(*args, *self.plain(srv.port))
            self.assertEqual(r.returncode, 0, tty)
            self.assertIn("100%", tty)
            self.assertRegex(tty, r"4\.\d MiB / 4\.\d MiB +[\d.]+ [KMG]?i?B/s")
            # small messages stay silent, even on a terminal
            r, tty = self.run_on_tty("--from", "me@example.org", "--to", "you@example.org",
                                     *self.plain(srv.port))
            self.assertEqual(r.returncode, 0, tty)
            self.assertNotIn("%", tty)
            # not a terminal: silent
            r = self.run_cli(*args, *self.plain(srv.port))
            self.assertEqual(r.returncode, 0, r.describe())
            self.assertEqual(r.stderr, "")
        self.assertEqual(len(srv.handler.envelopes), 3)
        # refused before the body (over SIZE): an error line, no empty bar
        with AiosmtpdServer(data_size_limit=1 << 20) as srv:
            r, tty = self.run_on_tty(*args, *self.plain(srv.port))
        self.assertEqual(r.returncode, EX_DATAERR, tty)
        self.assertIn("exceeds the server's limit", tty)
        self.assertNotIn("%", tty)


KEYDIR = tempfile.TemporaryDirectory(prefix="smtpc-cli-keys-")
KEYS = {}  # bits -> (private key path, public key base64)


def dkim_key(bits):
    if bits not in KEYS:
        import base64
        path = os.path.join(KEYDIR.name, "key%d.pem" % bits)
        subprocess.run(["openssl", "genrsa", "-out", path, str(bits)], check=True,
                       capture_output=True)
        der = subprocess.run(["openssl", "rsa", "-in", path, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        KEYS[bits] = (path, base64.b64encode(der))
    return KEYS[bits][0]


def dkim_verify(message, selector="sel1", domain="example.com"):
    """dkimpy's verdict on the first signature, the public key given for
    selector._domainkey.domain only."""
    import dkim
    want = ("%s._domainkey.%s" % (selector, domain)).encode()

    def dnsfunc(name, timeout=5):
        name = name if isinstance(name, bytes) else name.encode()
        if name.rstrip(b".") != want:
            return b""
        return b"v=DKIM1; k=rsa; p=" + KEYS[2048][1]

    try:
        return dkim.verify(message, dnsfunc=dnsfunc)
    except dkim.ValidationError:
        return False


def dkim_tags(message):
    """The tags of the first DKIM-Signature header (unfolded)."""
    msg = BytesParser(policy=policy.compat32).parsebytes(message)
    value = "".join(msg["DKIM-Signature"].split())
    return dict(t.split("=", 1) for t in value.split(";") if t)


class Dkim(CliTest):
    def signing(self, *extra):
        return ["--dkim-key", dkim_key(2048), "--dkim-domain", "example.com",
                "--dkim-selector", "sel1", *extra]

    def assert_no_dkim(self, r):
        self.assertEqual(r.returncode, EX_UNAVAILABLE, r.describe())
        self.assertIn("built without DKIM", r.stderr)

    def check_signed(self, content, **tags):
        self.assertTrue(content.startswith(b"DKIM-Signature:"), content[:200])
        self.assertTrue(dkim_verify(content), content[:2000])
        got = dkim_tags(content)
        self.assertEqual(got["a"], "rsa-sha256")
        self.assertNotIn("l", got)
        for k, v in tags.items():
            self.assertEqual(got[k], v, got)
        # altered after signing: a body byte, then a signed header
        self.assertFalse(dkim_verify(content.replace(b"line one", b"line 0ne", 1)
                                     if b"line one" in content
                                     else content[:-8] + b"X" + content[-7:]))
        self.assertFalse(dkim_verify(content.replace(b"Subject: ", b"Subject: Re: ", 1)))

    def test_sendmail_mode_signed(self):
        with AiosmtpdServer() as srv:
            r = self.run_cli("-t", "-i", *self.plain(srv.port), *self.signing(), stdin=RAW)
        if not HAVE_DKIM:
            self.assert_no_dkim(r)
            self.assertEqual(srv.handler.envelopes, [])
            return
        self.assertEqual(r.returncode, 0, r.describe())
        (env,) = srv.handler.envelopes
        content = env["content"]
        # signed as sent: the Bcc is gone, line ends CRLF, the last line ended
        sig_end = content.index(b"From: Sender")
        self.assertEqual(content[sig_end:], harness.expected_wire(RAW.replace(
            b"Bcc: hidden@example.org,\n  hidden2@example.org\n", b"")))
        self.check_signed(content, d="example.com", s="sel1", c="relaxed/relaxed")

    def test_sendmail_mode_simple_and_headers(self):
        body = (b"From: a@example.com\nTo: b@example.org\nSubject: simple\n"
                b"X-Other: unsigned\n\nline one  \n..dots\n\n\n")
        with SmtpSink() as sink:
            r = self.run_cli("-i", "-f", "a@example.com", *self.plain(sink.port),
                             *self.signing("--dkim-canon", "simple",
                                           "--dkim-headers", "From:To:Subject"),
                             "b@example.org", stdin=body)
            records = sink.records()
        if not HAVE_DKIM:
            self.assert_no_dkim(r)
            return
        self.assertEqual(r.returncode, 0, r.describe())
        (rec,) = records
        content = rec["content"].replace(b"\n", b"\r\n")  # smtp-sink keeps LF
        self.check_signed(content, c="simple/simple")
        self.assertEqual(dkim_tags(content)["h"].lower(), "from:from:to:subject")
        # X-Other is not signed: changing it keeps the signature valid
        self.assertTrue(dkim_verify(content.replace(b"unsigned", b"changed")))

    def test_compose_mode_signed(self):
        blob = os.urandom(100000)
        pdf = self.write("data.bin", blob)
        text = self.write("body.txt", "line one\n.dot line\ntrailing space   \n")
        with AiosmtpdServer() as srv:
            r = self.run_cli("--from", "Ünï <me@example.com>", "--to", "you@example.org",
                             "--bcc", "hidden@example.org", "--subject", "Signed ✓",
                             "--text", text, "--attach", pdf, *self.plain(srv.port),
                             *self.signing())
        if not HAVE_DKIM:
            self.assert_no_dkim(r)
            self.assertEqual(srv.handler.envelopes, [])
            return
        self.assertEqual(r.returncode, 0, r.describe())
        (env,) = srv.handler.envelopes
        self.assertEqual(sorted(env["rcpt_tos"]), ["hidden@example.org", "you@example.org"])
        self.check_signed(env["content"], d="example.com", s="sel1")
        msg = BytesParser(policy=policy.default).parsebytes(env["content"])
        (att,) = list(msg.iter_attachments())
        self.assertEqual(att.get_payload(decode=True), blob)

    def test_settings_from_config_and_env(self):
        cfg = self.write("c/config", "dkim_key %s\ndkim_domain example.com\n"
                         "dkim_selector cfgsel\ndkim_canon simple\n" % dkim_key(2048))
        msg = b"From: a@example.com\nSubject: layers\n\nline one\n"
        # config alone; the environment's selector over the config's; the
        # flag's over the environment's
        for env, extra, sel, canon in (
                ({}, [], "cfgsel", "simple/simple"),
                ({"SMTPC_DKIM_SELECTOR": "envsel", "SMTPC_DKIM_CANON": "relaxed"}, [],
                 "envsel", "relaxed/relaxed"),
                ({"SMTPC_DKIM_SELECTOR": "envsel"}, ["--dkim-selector", "sel1"],
                 "sel1", "simple/simple")):
            with self.subTest(sel=sel):
                r = self.run_cli("--config", cfg, "--dry-run", *extra, "b@example.org",
                                 stdin=msg, env=env)
                if not HAVE_DKIM:
                    self.assert_no_dkim(r)
                    continue
                self.assertEqual(r.returncode, 0, r.describe())
                tags = dkim_tags(r.stdout)
                self.assertEqual((tags["s"], tags["c"]), (sel, canon))
                self.assertEqual(dkim_verify(r.stdout, selector=sel), True)

    def test_incomplete_settings_are_usage_errors(self):
        key = dkim_key(2048)
        for args in (["--dkim-key", key], ["--dkim-key", key, "--dkim-domain", "example.com"],
                     ["--dkim-selector", "s", "--dkim-domain", "example.com"],
                     ["--dkim-canon", "relaxed"]):
            with self.subTest(args=args):
                r = self.run_cli("--dry-run", *args, "b@example.org",
                                 stdin=b"From: a@example.com\n\nx\n")
                self.assertEqual(r.returncode, EX_USAGE, r.describe())
                self.assertIn("smtpc: DKIM", r.stderr)
        if HAVE_DKIM:
            r = self.run_cli("--dry-run", *self.signing("--dkim-canon", "loose"),
                             "b@example.org", stdin=b"From: a@example.com\n\nx\n")
            self.assertEqual(r.returncode, EX_USAGE, r.describe())
            r = self.run_cli("--dry-run", *self.signing("--dkim-headers", "To:Subject"),
                             "b@example.org", stdin=b"From: a@example.com\n\nx\n")
            self.assertEqual(r.returncode, EX_USAGE, r.describe())
            self.assertIn("From", r.stderr)

    def test_key_errors(self):
        msg = b"From: a@example.com\nSubject: k\n\nx\n"
        small = ["--dkim-key", dkim_key(1024), "--dkim-domain", "example.com",
                 "--dkim-selector", "sel1"]
        with AiosmtpdServer() as srv:
            r = self.run_cli(*self.plain(srv.port), *small, "b@example.org", stdin=msg)
            r2 = self.run_cli("--from", "a@example.com", "--to", "b@example.org",
                              *self.plain(srv.port), *small)
        self.assertEqual(srv.handler.envelopes, [])
        for res in (r, r2):
            if not HAVE_DKIM:
                self.assert_no_dkim(res)
                continue
            # the documented status for a key under 2048 bits: EX_CONFIG
            self.assertEqual(res.returncode, EX_CONFIG, res.describe())
            self.assertIn("2048", res.stderr)
        missing = self.signing()
        missing[1] = os.path.join(self.tmp, "nokey.pem")
        r = self.run_cli("--dry-run", *missing, "b@example.org", stdin=msg)
        self.assertEqual(r.returncode, EX_NOINPUT if HAVE_DKIM else EX_UNAVAILABLE,
                         r.describe())
        notkey = self.write("notkey.pem", "not a key\n")
        missing[1] = notkey
        r = self.run_cli("--dry-run", *missing, "b@example.org", stdin=msg)
        self.assertEqual(r.returncode, EX_CONFIG if HAVE_DKIM else EX_UNAVAILABLE,
                         r.describe())
        if HAVE_DKIM:  # no From to sign
            r = self.run_cli("--dry-run", *self.signing(), "-f", "a@example.com",
                             "b@example.org", stdin=b"Subject: no from\n\nx\n")
            self.assertEqual(r.returncode, EX_DATAERR, r.describe())
            self.assertIn("From", r.stderr)


class Dsn(CliTest):
    def test_sendmail_N_R_V_to_smtp_sink(self):
        with SmtpSink() as sink:
            r = self.run_cli("-f", "s@example.org", "-N", "success,failure", "-R", "hdrs",
                             "-V", "job 42", *self.plain(sink.port),
                             "a@example.org", "b@example.org",
                             stdin=b"Subject: dsn\n\nbody\n")
            records = sink.records()
        self.assertEqual(r.returncode, 0, r.describe())
        (rec,) = records
        self.assertEqual(rec["mail_args"].split()[1:], ["RET=HDRS", "ENVID=job+2042"], rec)
        self.assertEqual([a.split()[1:] for a in rec["rcpt_args"]],
                         [["NOTIFY=SUCCESS,FAILURE"]] * 2, rec)
        self.assertEqual(rec["content"], b"Subject: dsn\n\nbody\n")

    def test_compose_dsn_to_smtp_sink(self):
        with SmtpSink() as sink:
            r = self.run_cli("--from", "me@example.org", "--to", "you@example.org",
                             "--subject", "dsn", "--dsn-notify", "never", "--dsn-ret", "full",
                             "--dsn-envid", "e-1", *self.plain(sink.port))
            r2 = self.run_cli("--from", "me@example.org", "--to", "you@example.org",
                              "--subject", "no dsn", *self.plain(sink.port))
            records = sink.records()
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertEqual(r2.returncode, 0, r2.describe())
        first, second = records
        self.assertEqual(first["mail_args"].split()[1:], ["RET=FULL", "ENVID=e-1"], first)
        self.assertEqual(first["rcpt_args"], ["<you@example.org> NOTIFY=NEVER"], first)
        self.assertNotIn("RET=", second["mail_args"])
        self.assertNotIn("NOTIFY=", " ".join(second["rcpt_args"]))

    def test_server_without_dsn(self):
        for mode in (["-f", "s@example.org", "-N", "failure", "a@example.org"],
                     ["--from", "s@example.org", "--to", "a@example.org", "--dsn-ret", "hdrs"]):
            with self.subTest(mode=mode):
                with SmtpSink("-N") as sink:
                    r = self.run_cli(*mode, *self.plain(sink.port),
                                     stdin=b"Subject: dsn\n\nbody\n")
                    ok = self.run_cli(*mode, "--allow-no-dsn", *self.plain(sink.port),
                                      stdin=b"Subject: dsn\n\nbody\n")
                    records = sink.records()
                self.assertEqual(r.returncode, EX_UNAVAILABLE, r.describe())
                self.assertIn("--allow-no-dsn", r.stderr)
                self.assertEqual(ok.returncode, 0, ok.describe())
                (rec,) = records  # only the allowed one, without the parameters
                self.assertEqual(rec["mail_args"], "<s@example.org>", rec)
                self.assertEqual(rec["rcpt_args"], ["<a@example.org>"], rec)

    def test_bad_dsn_values(self):
        for args in (["-N", "sometimes"], ["-N", "never,success"], ["-N", "success,"],
                     ["-R", "partial"], ["--dsn-envid", ""]):
            with self.subTest(args=args):
                r = self.run_cli("--dry-run", "-f", "s@example.org", *args, "a@example.org",
                                 stdin=b"Subject: x\n\ny\n")
                self.assertEqual(r.returncode, EX_USAGE, r.describe())
                self.assertIn("DSN", r.stderr)
        # an envelope id with a line break never reaches the wire
        with SmtpSink() as sink:
            r = self.run_cli("-f", "s@example.org", "-V", "a\r\nRSET", *self.plain(sink.port),
                             "a@example.org", stdin=b"Subject: x\n\ny\n")
            records = sink.records()
        self.assertEqual(r.returncode, EX_DATAERR, r.describe())
        self.assertEqual(records, [])

    def test_requiretls_needs_verified_tls(self):
        for mode in (["-f", "s@example.org", "a@example.org"],
                     ["--from", "s@example.org", "--to", "a@example.org"]):
            with self.subTest(mode=mode), AiosmtpdServer() as srv:
                r = self.run_cli(*mode, "--requiretls", *self.plain(srv.port),
                                 stdin=b"Subject: x\n\ny\n")
                self.assertEqual(r.returncode, EX_UNAVAILABLE, r.describe())
                self.assertIn("REQUIRETLS", r.stderr)
                self.assertEqual(srv.handler.envelopes, [])


def setUpModule():
    # aiosmtpd logs tracebacks for connections the tests drop on purpose.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)


if __name__ == "__main__":
    sys.exit(harness.main())
