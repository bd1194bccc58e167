#!/usr/bin/python3
"""SMTP AUTH end to end (issue 4): smtpc's six mechanisms against the
independent Python implementations in auth_server.py, the policy that keeps
credentials off unencrypted connections, the distinct error for each way
AUTH can fail, and traces that never hold a secret.

Usage: /usr/bin/python3 test_auth.py PATH-TO-auth_client

SMTPC_TEST_TLS=0 (set by meson for -Dtls=disabled) runs every mechanism over
plaintext, explicitly allowed, instead of STARTTLS, and checks that a build
without TLS refuses the levels that need it before sending anything.
SMTPC_TEST_SASL_CRYPTO=0 (-Dsasl_crypto=disabled) runs the mechanisms the
build has, and checks that asking for CRAM-MD5 or SCRAM-SHA-256 is refused
with SMTPC_ENOTSUP before connecting and that they are never chosen.
"""

import base64
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aiosmtpd.smtp import AuthResult  # noqa: E402

from auth_server import ALL_MECHANISMS, AuthServer, secret_forms  # noqa: E402
import harness  # noqa: E402
from harness import run_program  # noqa: E402

DRIVER = None
CERTDIR = None
# Whether the library under test has TLS (see the usage above).
HAVE_TLS = os.environ.get("SMTPC_TEST_TLS", "1") != "0"
NO_TLS_REASON = "TLS is compiled out (-Dtls=disabled)"
HAVE_SASL_CRYPTO = os.environ.get("SMTPC_TEST_SASL_CRYPTO", "1") != "0"
NO_CRYPTO_REASON = "CRAM-MD5 and SCRAM are compiled out (-Dsasl_crypto=disabled)"
HASH_MECHS = ("CRAM-MD5", "SCRAM-SHA-256")

USER = "alice@example.org"
# Long and unusual, so that every base64 alignment of them is long enough
# never to turn up in a trace by coincidence.
PASSWORD = "Corr3ct-Horse_Battery~Staple"
TOKEN = "ya29.a0AfH6SMBx-Tok3n_for_smtpc.tests-0123456789"
PASSWORD_MECHS = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256")
TOKEN_MECHS = ("XOAUTH2", "OAUTHBEARER")
# The mechanisms of the library under test.
BUILT_MECHS = tuple(m for m in ALL_MECHANISMS if HAVE_SASL_CRYPTO or m not in HASH_MECHS)
# What a password picks when the server offers everything.
STRONGEST_PASSWORD_MECH = "SCRAM-SHA-256" if HAVE_SASL_CRYPTO else "PLAIN"


def wire_blobs(user, password, token):
    """The SASL messages that carry a secret whole, as the RFCs lay them out."""
    return [
        b"\0" + user.encode() + b"\0" + password.encode(),                       # PLAIN
        b"user=" + user.encode() + b"\x01auth=Bearer " + token.encode() + b"\x01\x01",  # XOAUTH2
        b"n,a=" + user.encode() + b",\x01auth=Bearer " + token.encode() + b"\x01\x01",  # OAUTHBEARER
    ]


def leaks_in(text, password, token=TOKEN):
    """The forms of either secret (raw, base64 at each alignment, base64 of
    the blobs carrying it) found in text."""
    forms = secret_forms(password) | secret_forms(token)
    for blob in wire_blobs(USER, password, token):
        forms.add(base64.b64encode(blob))
    if isinstance(text, str):
        text = text.encode()
    return sorted(f for f in forms if f and f in text)


class Run:
    def __init__(self, proc, trace):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.trace = trace
        self.events = {}
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                event = json.loads(line)
                self.events[event["event"]] = event

    @property
    def connect(self):
        return self.events.get("connect", {})

    def describe(self):
        return (f"exit {self.returncode}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
                f"--- trace\n{self.trace}")


def run_client(srv, *args, security=None, password=PASSWORD, token=None, user=USER):
    """security None: STARTTLS, or without TLS plaintext explicitly allowed."""
    tmp = tempfile.mkdtemp(prefix="smtpc-auth-trace-")
    try:
        trace_path = os.path.join(tmp, "trace.txt")
        if security is None:
            security = "starttls" if HAVE_TLS else "plain"
            if not HAVE_TLS:
                args = ("--allow-plaintext",) + args
        argv = [DRIVER] + harness.DRIVER_ARGS + [
            "--port", str(srv.port), "--security", security, "--trace-file", trace_path,
            "--user", user]
        if HAVE_TLS:
            argv += ["--cafile", srv.cafile]
        argv += ["--token", token] if token is not None else ["--password", password]
        proc = run_program(argv + list(args), 60, capture_output=True, text=True,
                           errors="replace")
        trace = ""
        if os.path.exists(trace_path):
            with open(trace_path, encoding="utf-8", errors="replace") as f:
                trace = f.read()
        run = Run(proc, trace)
        harness.check_nonblocking(list(run.events.values()), run.describe)
        return run
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def server(**kwargs):
    # Without TLS the server offers AUTH in plaintext, as it must to be reached.
    kwargs.setdefault("auth_require_tls", HAVE_TLS)
    kwargs.setdefault("users", {USER: PASSWORD})
    kwargs.setdefault("tokens", {USER: TOKEN})
    return AuthServer(certdir=CERTDIR, **kwargs)


class RefusingServer(AuthServer):
    """PLAIN and LOGIN answered with a fixed status instead of a verdict:
    the replies auth_server.py has no switch for (454, 534, 538)."""

    def __init__(self, status, **kwargs):
        kwargs.setdefault("auth_require_tls", HAVE_TLS)
        super().__init__(users={USER: PASSWORD}, certdir=CERTDIR, **kwargs)
        self.status = status

    def _authenticator(self, server, session, envelope, mechanism, auth_data):
        self.handler._log(server, mechanism, auth_data.login, False, self.status)
        return AuthResult(success=False, handled=False, message=self.status)


class AuthTestCase(unittest.TestCase):
    def assertConnected(self, run, mechanism):
        self.assertEqual(run.connect.get("rc_name"), "SMTPC_OK", run.describe())
        self.assertEqual(run.connect["mechanism"], mechanism, run.describe())

    def assertRefused(self, run, name, reply_code=None, enhanced=None):
        self.assertEqual(run.returncode, 2, run.describe())
        self.assertEqual(run.connect.get("rc_name"), name, run.describe())
        self.assertEqual(run.connect["mechanism"], "", run.describe())
        if reply_code is not None:
            self.assertEqual(run.connect["reply_code"], reply_code, run.describe())
        if enhanced is not None:
            self.assertEqual(run.connect["enhanced"], enhanced, run.describe())

    def assertDelivered(self, srv, run):
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual(run.events["send"]["rc_name"], "SMTPC_OK", run.describe())
        self.assertEqual(len(srv.handler.envelopes), 1, run.describe())
        env = srv.handler.envelopes[0]
        self.assertEqual(env["rcpt_tos"], ["rcpt@example.org"])
        self.assertIn(b"Sent after AUTH.", env["content"])

    def assertTraceClean(self, run, secret=PASSWORD):
        """No secret in any form, and every SASL line is shown redacted."""
        self.assertEqual(leaks_in(run.trace, secret, TOKEN), [], run.describe())
        # Nor in what the library reports (error text, reply text).
        self.assertEqual(leaks_in(run.stdout, secret, TOKEN), [], run.describe())
        lines = run.trace.splitlines()
        auth = [i for i, l in enumerate(lines) if l.startswith("C: AUTH ")]
        if not auth:
            return
        self.assertIn("<redacted>", run.trace, run.describe())
        # From the AUTH command to its final reply, the client's lines and
        # the server's 334 challenges are shown only as redacted.
        for line in lines[auth[0]:]:
            if line.startswith("S: ") and not line.startswith("S: 334"):
                break
            if line.startswith("C: AUTH "):
                self.assertRegex(line, r"^C: AUTH [A-Z0-9-]+( <redacted>)?$")
            elif line.startswith("C: ") or line.startswith("S: 334"):
                # "*" is the cancel (RFC 4954 section 4): it carries nothing.
                self.assertIn(line, ("C: <redacted>", "S: 334 <redacted>", "C: *"))

    def assertNothingInPlaintext(self, srv):
        if not HAVE_TLS:
            # Plaintext was allowed explicitly: nothing to check but that
            # TLS never started.
            self.assertFalse(any(tls for tls, _ in srv.client_lines()), srv.client_lines())
            return
        self.assertEqual(srv.leaked(PASSWORD, TOKEN), [])
        self.assertFalse(any(not tls for tls, _ in srv.auth_lines()), srv.auth_lines())


class MechanismTests(AuthTestCase):
    """Each mechanism, forced with --mechs, over STARTTLS (without TLS: over
    plaintext, explicitly allowed)."""

    def check_good(self, mech, **server_kwargs):
        token = TOKEN if mech in TOKEN_MECHS else None
        with server(**server_kwargs) as srv:
            run = run_client(srv, "--mechs", mech, "--send", token=token)
        self.assertConnected(run, mech)
        self.assertEqual(run.connect["encrypted"], int(HAVE_TLS))
        self.assertEqual(srv.succeeded(), [mech], srv.auth_log)
        self.assertEqual(srv.auth_log[-1]["tls"], HAVE_TLS)
        self.assertEqual(srv.auth_log[-1]["login"], USER)
        self.assertDelivered(srv, run)
        self.assertIn("authenticated with " + mech, run.trace)
        self.assertTraceClean(run)
        self.assertNothingInPlaintext(srv)
        return srv, run

    def check_bad(self, mech):
        token = "wrong-" + TOKEN if mech in TOKEN_MECHS else None
        bad_password = "Wrong-" + PASSWORD
        with server() as srv:
            run = run_client(srv, "--mechs", mech, "--send", token=token, password=bad_password)
        self.assertRefused(run, "SMTPC_EAUTH_FAILED", 535, "5.7.8")
        self.assertNotEqual(run.connect["reply_text"], "", run.describe())
        self.assertEqual(srv.succeeded(), [])
        self.assertTrue(srv.auth_log, "the server saw no attempt")
        self.assertEqual(srv.auth_log[-1]["mechanism"], mech)
        self.assertEqual(srv.handler.envelopes, [])
        self.assertTraceClean(run, bad_password)
        self.assertEqual(leaks_in(run.trace, bad_password, "wrong-" + TOKEN), [])
        return srv, run

    def test_good_credentials(self):
        for mech in BUILT_MECHS:
            with self.subTest(mech=mech):
                self.check_good(mech)

    def test_bad_credentials(self):
        for mech in BUILT_MECHS:
            with self.subTest(mech=mech):
                srv, _ = self.check_bad(mech)
                if mech in TOKEN_MECHS:
                    # The client answered the JSON error challenge as the
                    # provider spec / RFC 7628 ask, and the 535 followed.
                    self.assertEqual(srv.auth_log[-1]["detail"], "bad token")

    def test_long_token_waits_for_334(self):
        # A real bearer token runs to kilobytes; the AUTH line must stay
        # within 512 octets, so the initial response goes after an empty 334.
        long_token = TOKEN + "." + "A" * 1500
        for mech in TOKEN_MECHS:
            with self.subTest(mech=mech), server(tokens={USER: long_token}) as srv:
                run = run_client(srv, "--mechs", mech, "--send", token=long_token)
                self.assertConnected(run, mech)
                self.assertEqual(srv.succeeded(), [mech])
                self.assertDelivered(srv, run)
                self.assertEqual(leaks_in(run.trace, long_token), [], run.describe())
                for _, line in srv.auth_lines():
                    self.assertLessEqual(len(line), 512, line[:80])

    def test_unusual_user_and_password(self):
        # ',' and '=' must be escaped in SCRAM and OAUTHBEARER names (RFC
        # 5802 saslname); a UTF-8 password goes through every mechanism as
        # its UTF-8 bytes.
        user = "we,ird=user@example.org"
        password = "p\u00e4ss w\u00f6rd \u20ac 42"
        for mech in BUILT_MECHS:
            token = TOKEN if mech in TOKEN_MECHS else None
            with self.subTest(mech=mech), server(users={user: password},
                                                 tokens={user: TOKEN}) as srv:
                run = run_client(srv, "--mechs", mech, "--send", user=user, password=password,
                                 token=token)
                self.assertConnected(run, mech)
                self.assertEqual(srv.auth_log[-1]["login"], user)
                self.assertDelivered(srv, run)
                self.assertEqual(leaks_in(run.trace, password), [], run.describe())

    @unittest.skipUnless(HAVE_SASL_CRYPTO, NO_CRYPTO_REASON + ": LeftOutTests checks the refusal")
    def test_scram_wrong_server_signature(self):
        with server(scram_bad_signature=True) as srv:
            run = run_client(srv, "--mechs", "SCRAM-SHA-256", "--send")
        self.assertRefused(run, "SMTPC_EAUTH_SERVER")
        self.assertEqual(srv.succeeded(), [])
        self.assertEqual(srv.auth_log[-1]["detail"], "client refused server signature")
        self.assertEqual(srv.handler.envelopes, [], "mail sent to an unproven server")
        self.assertTraceClean(run)

    @unittest.skipUnless(HAVE_SASL_CRYPTO, NO_CRYPTO_REASON + ": LeftOutTests checks the refusal")
    def test_scram_server_error_final(self):
        with server(scram_error_final=True) as srv:
            run = run_client(srv, "--mechs", "SCRAM-SHA-256", password="Wrong-" + PASSWORD)
        self.assertRefused(run, "SMTPC_EAUTH_FAILED")
        self.assertEqual(srv.succeeded(), [])
        self.assertEqual(srv.auth_log[-1]["detail"], "bad proof (e= sent, cancelled)")

    @unittest.skipUnless(HAVE_TLS, NO_TLS_REASON + ": NoTlsTests checks the refusal")
    def test_implicit_tls(self):
        with server(implicit_tls=True) as srv:
            run = run_client(srv, "--send", security="tls")
        self.assertConnected(run, STRONGEST_PASSWORD_MECH)
        self.assertEqual(run.connect["encrypted"], 1)
        self.assertEqual(srv.succeeded(), [STRONGEST_PASSWORD_MECH])
        self.assertTrue(srv.auth_log[-1]["tls"])
        self.assertDelivered(srv, run)
        self.assertNotIn("STARTTLS", run.trace)
        self.assertTraceClean(run)


class SelectionTests(AuthTestCase):
    """Without --mechs the strongest mechanism both sides know is used."""

    def check(self, offered, expected, token=None):
        with server(mechanisms=offered) as srv:
            run = run_client(srv, token=token)
        self.assertConnected(run, expected)
        self.assertEqual(srv.succeeded(), [expected])
        self.assertEqual([line.split()[1] for _, line in srv.auth_lines()],
                         [expected.encode()], "only the chosen mechanism was tried")
        self.assertIn("authenticating with " + expected, run.trace)

    def test_password_prefers_scram(self):
        self.check(ALL_MECHANISMS, STRONGEST_PASSWORD_MECH)

    def test_password_without_scram_prefers_cram_md5(self):
        self.check(("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"),
                   "CRAM-MD5" if HAVE_SASL_CRYPTO else "PLAIN")

    def test_password_plain_before_login(self):
        self.check(("LOGIN", "PLAIN"), "PLAIN")

    def test_token_prefers_oauthbearer(self):
        self.check(ALL_MECHANISMS, "OAUTHBEARER", token=TOKEN)

    def test_token_falls_back_to_xoauth2(self):
        self.check(("PLAIN", "XOAUTH2", "SCRAM-SHA-256"), "XOAUTH2", token=TOKEN)

    def test_restriction_is_honoured(self):
        with server() as srv:
            run = run_client(srv, "--mechs", "LOGIN,PLAIN")
        self.assertConnected(run, "PLAIN")


class PolicyTests(AuthTestCase):
    def test_plaintext_refused_by_default(self):
        cases = [("plain", None), ("plain", TOKEN), ("starttls-optional", None)]
        for security, token in cases:
            with self.subTest(security=security, token=bool(token)):
                # The server offers AUTH without TLS and has no STARTTLS: only
                # the client's policy stands between the secret and the wire.
                with server(starttls=False, auth_require_tls=False) as srv:
                    run = run_client(srv, "--send", security=security, token=token)
                self.assertRefused(run, "SMTPC_EAUTH_INSECURE")
                self.assertEqual(run.connect["encrypted"], 0)
                self.assertEqual(srv.auth_lines(), [], "the server saw an AUTH line")
                self.assertEqual(srv.auth_log, [])
                self.assertEqual(srv.leaked(PASSWORD, TOKEN), [])
                self.assertEqual(srv.handler.envelopes, [])
                self.assertTrue(srv.client_lines(), "the client never talked")
                self.assertTraceClean(run)

    def test_plaintext_allowed_explicitly(self):
        with server(starttls=False, auth_require_tls=False) as srv:
            run = run_client(srv, "--allow-plaintext", "--send", security="plain")
        self.assertConnected(run, STRONGEST_PASSWORD_MECH)
        self.assertEqual(run.connect["encrypted"], 0)
        self.assertEqual(srv.succeeded(), [STRONGEST_PASSWORD_MECH])
        self.assertFalse(srv.auth_log[-1]["tls"])
        self.assertDelivered(srv, run)
        self.assertTraceClean(run)

    def test_plaintext_plain_really_crosses_the_wire(self):
        # Control for the refusal test: when allowed, PLAIN is visible to the
        # server in the clear, so srv.leaked() does catch a secret.
        with server(starttls=False, auth_require_tls=False) as srv:
            run = run_client(srv, "--allow-plaintext", "--mechs", "PLAIN", security="plain")
        self.assertConnected(run, "PLAIN")
        self.assertNotEqual(srv.leaked(PASSWORD), [])
        self.assertTraceClean(run)

    def test_auth_not_offered(self):
        # AUTH only after TLS, but no STARTTLS: the EHLO has no AUTH at all.
        with server(starttls=False, auth_require_tls=True) as srv:
            run = run_client(srv, "--allow-plaintext", "--send", security="plain")
        self.assertRefused(run, "SMTPC_EAUTH_NOTOFFERED")
        self.assertEqual(srv.auth_lines(), [])
        self.assertEqual(srv.handler.envelopes, [])

    def test_auth_keyword_without_mechanisms(self):
        with server(mechanisms=()) as srv:
            run = run_client(srv)
        self.assertRefused(run, "SMTPC_EAUTH_NOTOFFERED")
        self.assertEqual(srv.auth_lines(), [])

    def test_no_common_mechanism(self):
        cases = [(PASSWORD_MECHS, [], TOKEN),
                 (TOKEN_MECHS, [], None)]
        if HAVE_SASL_CRYPTO:
            cases.append((("PLAIN", "LOGIN"), ["--mechs", "SCRAM-SHA-256,CRAM-MD5"], None))
        else:
            # The server's only password mechanisms are left out of the build.
            cases.append((HASH_MECHS + TOKEN_MECHS, [], None))
        for offered, args, token in cases:
            with self.subTest(offered=offered, args=args, token=bool(token)):
                with server(mechanisms=offered) as srv:
                    run = run_client(srv, *args, token=token)
                self.assertRefused(run, "SMTPC_EAUTH_NOMECH")
                self.assertEqual(srv.auth_lines(), [])

    def test_server_refusals_have_their_own_codes(self):
        cases = [("454 4.7.0 Temporary authentication failure", "SMTPC_EAUTH_TEMP", 1),
                 ("534 5.7.9 Authentication mechanism is too weak", "SMTPC_EAUTH_WEAK", 0),
                 ("538 5.7.11 Encryption required for requested authentication mechanism",
                  "SMTPC_EAUTH_ENCRYPT", 0)]
        for status, name, temporary in cases:
            for mech in ("PLAIN", "LOGIN"):
                with self.subTest(status=status[:3], mech=mech):
                    with RefusingServer(status) as srv:
                        run = run_client(srv, "--mechs", mech)
                    code, enhanced, text = status.split(" ", 2)
                    self.assertRefused(run, name, int(code), enhanced)
                    self.assertEqual(run.connect["reply_text"], text)
                    self.assertEqual(run.connect["temporary"], temporary)
                    self.assertTraceClean(run)


@unittest.skipIf(HAVE_TLS, "these check a build without TLS (-Dtls=disabled)")
class NoTlsTests(AuthTestCase):
    """A build without TLS: the levels that need TLS are refused before a
    byte is sent, so credentials and mail never go out unprotected by
    accident; optional STARTTLS is not attempted."""

    def assertRefusedBeforeSending(self, srv, run):
        self.assertRefused(run, "SMTPC_ENOTSUP")
        self.assertIn("without TLS", run.connect["message"], run.describe())
        self.assertEqual(run.connect["encrypted"], 0, run.describe())
        self.assertEqual(srv.client_lines(), [], "the client sent something")
        self.assertEqual(srv.auth_log, [])
        self.assertEqual(srv.handler.envelopes, [])

    def test_starttls_required_refused(self):
        for token in (None, TOKEN):
            with self.subTest(token=bool(token)):
                with server(auth_require_tls=True) as srv:
                    run = run_client(srv, "--send", security="starttls", token=token)
                self.assertRefusedBeforeSending(srv, run)
                self.assertTraceClean(run)

    def test_implicit_tls_refused(self):
        with server(implicit_tls=True) as srv:
            run = run_client(srv, "--send", security="tls")
        self.assertRefusedBeforeSending(srv, run)

    def test_starttls_optional_not_attempted(self):
        # The server offers STARTTLS and AUTH in plaintext: the policy still
        # keeps the secret off the wire unless plaintext is allowed.
        with server(auth_require_tls=False) as srv:
            run = run_client(srv, "--send", security="starttls-optional")
        self.assertRefused(run, "SMTPC_EAUTH_INSECURE")
        self.assertIn("STARTTLS not attempted", run.trace, run.describe())
        self.assertNotIn(b"STARTTLS\r\n", [line for _, line in srv.client_lines()])
        self.assertEqual(srv.auth_lines(), [])
        self.assertEqual(srv.leaked(PASSWORD, TOKEN), [])
        self.assertEqual(srv.handler.envelopes, [])

    def test_starttls_optional_plaintext_allowed(self):
        with server(auth_require_tls=False) as srv:
            run = run_client(srv, "--allow-plaintext", "--send", security="starttls-optional")
        self.assertConnected(run, STRONGEST_PASSWORD_MECH)
        self.assertEqual(run.connect["encrypted"], 0)
        self.assertNotIn(b"STARTTLS\r\n", [line for _, line in srv.client_lines()])
        self.assertDelivered(srv, run)
        self.assertTraceClean(run)


@unittest.skipIf(HAVE_SASL_CRYPTO, "these check a build without SASL crypto "
                 "(-Dsasl_crypto=disabled)")
class LeftOutTests(AuthTestCase):
    """A build without SASL crypto: CRAM-MD5 and SCRAM-SHA-256 asked for
    alone are refused (SMTPC_ENOTSUP) before anything is sent; offered by
    the server beside PLAIN they are passed over."""

    def test_hash_mechanisms_refused(self):
        for mechs in ("CRAM-MD5", "SCRAM-SHA-256", "SCRAM-SHA-256,CRAM-MD5"):
            with self.subTest(mechs=mechs), server() as srv:
                run = run_client(srv, "--mechs", mechs, "--send")
                self.assertEqual(run.returncode, 3, run.describe())
                self.assertIn("settings refused: not supported", run.stderr, run.describe())
                self.assertEqual(srv.client_lines(), [], "the client sent something")
                self.assertEqual(srv.handler.envelopes, [])

    def test_plain_chosen_over_hashes(self):
        with server(mechanisms=("CRAM-MD5", "SCRAM-SHA-256", "LOGIN", "PLAIN")) as srv:
            run = run_client(srv, "--send")
        self.assertConnected(run, "PLAIN")
        self.assertEqual([line.split()[1] for _, line in srv.auth_lines()], [b"PLAIN"])
        self.assertDelivered(srv, run)


class TraceTests(AuthTestCase):
    def test_every_mechanism_traced_without_secrets(self):
        # Good and bad secrets through every mechanism, all in one trace
        # search; the SASL lines must be there, only redacted.
        for mech in BUILT_MECHS:
            for good in (True, False):
                is_token = mech in TOKEN_MECHS
                password = PASSWORD if good else "Wrong-" + PASSWORD
                token = (TOKEN if good else "wrong-" + TOKEN) if is_token else None
                with self.subTest(mech=mech, good=good), server() as srv:
                    run = run_client(srv, "--mechs", mech, token=token, password=password)
                    self.assertIn(run.connect.get("rc_name"),
                                  ("SMTPC_OK" if good else "SMTPC_EAUTH_FAILED",))
                    self.assertRegex(run.trace, r"C: AUTH %s( <redacted>)?\n" % mech)
                    self.assertIn("<redacted>", run.trace)
                    self.assertEqual(leaks_in(run.trace, password, token or TOKEN), [],
                                     run.describe())
                    self.assertTraceClean(run, password)
                    self.assertNothingInPlaintext(srv)

    def test_detector_catches_a_leak(self):
        # The search above must find the forms a careless trace would show.
        plain = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASSWORD.encode()).decode()
        xoauth2 = base64.b64encode(wire_blobs(USER, PASSWORD, TOKEN)[1]).decode()
        login = base64.b64encode(PASSWORD.encode()).decode()
        for text in ("C: AUTH PLAIN " + plain, "C: AUTH XOAUTH2 " + xoauth2, "C: " + login,
                     "C: " + PASSWORD, "C: " + TOKEN):
            with self.subTest(text=text[:30]):
                self.assertNotEqual(leaks_in(text, PASSWORD, TOKEN), [])


def main():
    global DRIVER, CERTDIR
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    DRIVER = os.path.abspath(sys.argv[1])
    CERTDIR = tempfile.mkdtemp(prefix="smtpc-auth-certs-")
    try:
        prog = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], exit=False, verbosity=2)
        nb_problem = harness.check_nonblocking_total()
        if nb_problem:
            print(nb_problem)
            return 1
        return 0 if prog.result.wasSuccessful() else 1
    finally:
        shutil.rmtree(CERTDIR, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
