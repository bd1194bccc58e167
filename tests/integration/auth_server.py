#!/usr/bin/python3
"""An aiosmtpd server with SMTP AUTH for smtpc's end-to-end tests.

PLAIN and LOGIN come from aiosmtpd itself; CRAM-MD5, XOAUTH2, OAUTHBEARER and
SCRAM-SHA-256 are written here from the RFCs with hmac/hashlib, so that each
of smtpc's mechanisms meets a second, independent implementation. The server
records every line the client sent (and whether it arrived inside TLS) and
every authentication attempt, so a test can check both the outcome and that
no secret crossed the wire in plaintext.

Run with /usr/bin/python3 (the Debian Python that has aiosmtpd).

    from auth_server import AuthServer, secret_forms

    with AuthServer(users={"alice": "pw"}, tokens={"alice": "tok"}) as srv:
        # srv.port: STARTTLS on 127.0.0.1; srv.cafile verifies the server as
        # "localhost" or 127.0.0.1.
        ... run the client against srv.port with srv.cafile ...
    srv.succeeded()          # e.g. ["SCRAM-SHA-256"]
    srv.auth_log             # [{"mechanism", "login", "success", "tls", "detail"}]
    srv.client_lines()       # [(tls, raw line bytes incl. CRLF)], every connection
    srv.plaintext_lines()    # the client lines that arrived before TLS
    srv.leaked(b"pw")        # plaintext lines holding the secret or a base64 form
    srv.handler.envelopes    # accepted messages (see harness.RecordingHandler)

AuthServer keyword arguments:
    users           login -> password (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256)
    tokens          login -> bearer token (XOAUTH2, OAUTHBEARER)
    mechanisms      names to advertise (default: all six)
    starttls        offer STARTTLS (default True)
    implicit_tls    TLS from the first byte, as on port 465 (default False)
    auth_require_tls  advertise/accept AUTH only after TLS (default True);
                    False lets the policy tests see whether the client would
                    authenticate in plaintext
    auth_command_limit  longest AUTH command line accepted, CRLF excluded
                    (default 512 as RFC 5321; longer initial responses must
                    then wait for the 334, RFC 4954 section 4)
    scram_iterations, scram_salt  the SCRAM parameters (4096, random 16 bytes)
    scram_bad_signature  send a wrong server signature (v=) after a good proof
    scram_error_final  on a bad proof send "e=invalid-proof" in a 334 instead
                    of a direct 535
    certdir         where certs.py writes the CA and server certificate (a
                    temporary directory by default; reused when it already
                    holds them, so several servers can share one)

Standalone: `/usr/bin/python3 auth_server.py --selftest` checks the Python
mechanisms against the RFC examples; with `--serve USER PASSWORD` it runs on a
free port until interrupted (with --plain-auth to allow AUTH without TLS).
"""

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import shutil
import ssl
import sys
import tempfile
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import certs  # noqa: E402
from harness import RecordingHandler, free_port  # noqa: E402


class _DropLoginDataWarning(logging.Filter):
    """aiosmtpd 1.4 logs a warning about its own attribute on every
    successful AUTH; it would drown the test output."""

    def filter(self, record):
        return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_DropLoginDataWarning())

ALL_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER", "SCRAM-SHA-256")
RESPONSE_LINE_LIMIT = 12288  # RFC 4954 section 4: servers take SASL lines this long


# --------------------------------------------------------------------------
# Certificates


def make_certs(directory):
    """The TLS tests' CA and localhost / 127.0.0.1 server certificate (see
    certs.py), made once per directory. Returns (cafile, certfile, keyfile)."""
    ca = os.path.join(directory, "ca.pem")
    server = os.path.join(directory, "server")
    if not os.path.exists(ca) or not os.path.exists(server + ".key"):
        names = certs.make_certs(directory)
        ca, server = names["ca"] + ".pem", names["server"]
    return ca, server + ".pem", server + ".key"


# --------------------------------------------------------------------------
# Mechanism arithmetic, kept apart from the I/O so --selftest can check it


def cram_md5_expected(password, challenge):
    """RFC 2195: lowercase hex HMAC-MD5 keyed with the password."""
    return hmac.new(password, challenge, hashlib.md5).hexdigest().encode()


def saslname_decode(name):
    """RFC 5802: "=2C" and "=3D" stand for ',' and '='; any other '=' is an
    error (None)."""
    out, i = b"", 0
    while i < len(name):
        if name[i:i + 1] == b"=":
            code = name[i:i + 3]
            if code == b"=2C":
                out += b","
            elif code == b"=3D":
                out += b"="
            else:
                return None
            i += 3
        else:
            out += name[i:i + 1]
            i += 1
    return out


def scram_keys(password, salt, iterations):
    salted = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return stored_key, server_key


def scram_check_proof(stored_key, auth_message, proof):
    """RFC 5802 section 3: recover ClientKey from the proof and compare its
    hash with StoredKey."""
    signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    if len(proof) != len(signature):
        return False
    client_key = bytes(a ^ b for a, b in zip(proof, signature))
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), stored_key)


def scram_server_signature(server_key, auth_message):
    return hmac.new(server_key, auth_message, hashlib.sha256).digest()


def parse_gs2(message):
    """Split "n,[a=authzid]," from the rest. Returns (header, authzid,
    rest) or None. Channel binding ("p=") is not offered, so refused."""
    parts = message.split(b",", 2)
    if len(parts) != 3 or parts[0] not in (b"n", b"y"):
        return None
    authzid = None
    if parts[1]:
        if not parts[1].startswith(b"a="):
            return None
        authzid = saslname_decode(parts[1][2:])
        if authzid is None:
            return None
    return parts[0] + b"," + parts[1] + b",", authzid, parts[2]


def parse_oauth_kv(rest):
    """RFC 7628: kvsep *kvpair kvsep, each kvpair key=value kvsep. Returns a
    dict or None."""
    if not rest.startswith(b"\x01") or not rest.endswith(b"\x01\x01"):
        return None
    fields = rest[1:-1].split(b"\x01")
    if fields[-1] != b"":
        return None
    out = {}
    for f in fields[:-1]:
        key, eq, value = f.partition(b"=")
        if not eq or not key.isalpha():
            return None
        out[key.decode()] = value
    return out


def base64_forms(secret):
    """Every base64 substring that must appear wherever secret is base64
    encoded inside a longer message, for each of the three alignments."""
    if isinstance(secret, str):
        secret = secret.encode()
    forms = {secret, base64.b64encode(secret)}
    for skip in range(3):
        body = secret[skip:]
        body = body[:len(body) - len(body) % 3]
        if len(body) >= 3:
            forms.add(base64.b64encode(body))
    return forms


secret_forms = base64_forms


# --------------------------------------------------------------------------
# Recording


class Recorder:
    """Shared by every connection of one server; list appends are atomic."""

    def __init__(self):
        self.lines = []      # (direction "C"/"S", tls, bytes, connection number)
        self.auth_log = []
        self._connections = 0
        self._lock = threading.Lock()

    def new_connection(self):
        with self._lock:
            self._connections += 1
            return self._connections


class _Limits(dict):
    """command_size_limits replacement: 512 for anything not listed."""

    def __missing__(self, key):
        return 512


class RecordingSMTP(SMTP):
    line_length_limit = RESPONSE_LINE_LIMIT + 2

    def __init__(self, handler, *, recorder, auth_command_limit, implicit_tls, **kwargs):
        super().__init__(handler, **kwargs)
        self._implicit_tls = implicit_tls
        self._recorder = recorder
        self._conn_no = recorder.new_connection()
        self._partial = b""
        # Per instance: aiosmtpd's default dict lives on the class and would
        # be shared by every connection.
        self.command_size_limits = _Limits(AUTH=auth_command_limit)

    @property
    def tls_active(self):
        return self._implicit_tls or self._tls_protocol is not None

    def data_received(self, data):
        # Called with the decrypted bytes once TLS is up, so the flag tells
        # where each line travelled in the clear.
        self._partial += data
        while b"\n" in self._partial:
            line, _, self._partial = self._partial.partition(b"\n")
            self._recorder.lines.append(("C", self.tls_active, line + b"\n", self._conn_no))
        super().data_received(data)

    async def push(self, status):
        raw = status.encode() if isinstance(status, str) else status
        self._recorder.lines.append(("S", self.tls_active, raw, self._conn_no))
        await super().push(status)


class AuthHandler(RecordingHandler):
    """Accepts mail (RecordingHandler) and implements the extra mechanisms.
    aiosmtpd calls auth_<NAME>(server, args) with "__" for "-"."""

    def __init__(self, server):
        super().__init__()
        self.srv = server

    # ---- helpers ----

    def _log(self, server, mechanism, login, success, detail=""):
        if isinstance(login, bytes):
            login = login.decode("utf-8", "replace")
        self.srv.recorder.auth_log.append({
            "mechanism": mechanism, "login": login, "success": bool(success),
            "tls": server.tls_active, "detail": detail})

    async def _initial(self, server, args):
        """The initial response from the AUTH line, or asked for with an
        empty 334. None when the client cancelled or sent bad base64 (the
        501 is already sent)."""
        if len(args) > 1:
            try:
                return base64.b64decode(args[1], validate=True)
            except binascii.Error:
                await server.push("501 5.5.2 Can't decode base64")
                return None
        got = await server.challenge_auth(b"")
        return None if got is MISSING else got

    async def _fail(self, server, status, mechanism, login, detail):
        self._log(server, mechanism, login, False, detail)
        await server.push(status)
        return AuthResult(success=False, handled=True)

    # ---- CRAM-MD5 (RFC 2195) ----

    async def auth_CRAM__MD5(self, server, args):
        if len(args) != 1:
            return await self._fail(server, "501 5.5.4 CRAM-MD5 takes no initial response",
                                    "CRAM-MD5", None, "initial response")
        challenge = b"<%d.%d@localhost>" % (secrets.randbits(48), int(time.time()))
        reply = await server.challenge_auth(challenge)
        if reply is MISSING:
            self._log(server, "CRAM-MD5", None, False, "cancelled or bad base64")
            return AuthResult(success=False, handled=True)
        login, sep, digest = reply.rpartition(b" ")
        if not sep:
            return await self._fail(server, "501 5.5.2 Malformed CRAM-MD5 response",
                                    "CRAM-MD5", None, "no space")
        password = self.srv.users.get(login.decode("utf-8", "replace"))
        ok = password is not None and hmac.compare_digest(
            digest, cram_md5_expected(password.encode(), challenge))
        self._log(server, "CRAM-MD5", login, ok)
        return AuthResult(success=ok, handled=False, auth_data=login)

    # ---- XOAUTH2 (Google / Microsoft) ----

    async def auth_XOAUTH2(self, server, args):
        msg = await self._initial(server, args)
        if msg is None:
            self._log(server, "XOAUTH2", None, False, "cancelled or bad base64")
            return AuthResult(success=False, handled=True)
        fields = msg.split(b"\x01")
        if (len(fields) != 4 or fields[2:] != [b"", b""] or not fields[0].startswith(b"user=")
                or not fields[1].startswith(b"auth=Bearer ")):
            return await self._fail(server, "501 5.5.2 Malformed XOAUTH2 response",
                                    "XOAUTH2", None, "format")
        login = fields[0][5:]
        token = fields[1][len(b"auth=Bearer "):]
        if self._token_ok(login, token):
            self._log(server, "XOAUTH2", login, True)
            return AuthResult(success=True, auth_data=login)
        # The provider's way: a JSON error in a 334, answered by an empty line.
        error = json.dumps({"status": "401", "schemes": "Bearer",
                            "scope": "https://mail.example/"}).encode()
        reply = await server.challenge_auth(error)
        if reply is MISSING:
            self._log(server, "XOAUTH2", login, False, "error challenge cancelled")
            return AuthResult(success=False, handled=True)
        detail = "bad token" if reply == b"" else "non-empty answer to error"
        return await self._fail(server, "535 5.7.8 Username and Password not accepted",
                                "XOAUTH2", login, detail)

    # ---- OAUTHBEARER (RFC 7628) ----

    async def auth_OAUTHBEARER(self, server, args):
        msg = await self._initial(server, args)
        if msg is None:
            self._log(server, "OAUTHBEARER", None, False, "cancelled or bad base64")
            return AuthResult(success=False, handled=True)
        gs2 = parse_gs2(msg)
        kv = parse_oauth_kv(gs2[2]) if gs2 else None
        auth = kv.get("auth", b"") if kv else b""
        if not gs2 or gs2[1] is None or not auth.startswith(b"Bearer "):
            return await self._fail(server, "501 5.5.2 Malformed OAUTHBEARER response",
                                    "OAUTHBEARER", None, "format")
        login, token = gs2[1], auth[len(b"Bearer "):]
        if self._token_ok(login, token):
            self._log(server, "OAUTHBEARER", login, True)
            return AuthResult(success=True, auth_data=login)
        # RFC 7628 3.2.2: error status, then the client's lone %x01.
        error = json.dumps({"status": "invalid_token", "scope": "mail"}).encode()
        reply = await server.challenge_auth(error)
        if reply is MISSING:
            self._log(server, "OAUTHBEARER", login, False, "error challenge cancelled")
            return AuthResult(success=False, handled=True)
        detail = "bad token" if reply == b"\x01" else "answer to error was not %x01"
        return await self._fail(server, "535 5.7.8 Authentication credentials invalid",
                                "OAUTHBEARER", login, detail)

    def _token_ok(self, login, token):
        want = self.srv.tokens.get(login.decode("utf-8", "replace"))
        return want is not None and hmac.compare_digest(token, want.encode())

    # ---- SCRAM-SHA-256 (RFC 7677, RFC 5802) ----

    async def auth_SCRAM__SHA__256(self, server, args):
        name = "SCRAM-SHA-256"
        first = await self._initial(server, args)
        if first is None:
            self._log(server, name, None, False, "cancelled or bad base64")
            return AuthResult(success=False, handled=True)
        gs2 = parse_gs2(first)
        if not gs2:
            return await self._fail(server, "501 5.5.2 Bad gs2 header", name, None, "gs2")
        header, _, bare = gs2
        attrs = bare.split(b",")
        if len(attrs) < 2 or not attrs[0].startswith(b"n=") or not attrs[1].startswith(b"r="):
            return await self._fail(server, "501 5.5.2 Bad client-first", name, None,
                                    "client-first")
        login = saslname_decode(attrs[0][2:])
        client_nonce = attrs[1][2:]
        if login is None or not client_nonce or b"," in client_nonce:
            return await self._fail(server, "501 5.5.2 Bad client-first", name, None,
                                    "client-first")
        password = self.srv.users.get(login.decode("utf-8", "replace"))
        if password is None:
            return await self._fail(server, "535 5.7.8 Authentication credentials invalid",
                                    name, login, "unknown user")
        salt = self.srv.scram_salt or secrets.token_bytes(16)
        iterations = self.srv.scram_iterations
        nonce = client_nonce + base64.b64encode(secrets.token_bytes(18))
        server_first = b"r=%s,s=%s,i=%d" % (nonce, base64.b64encode(salt), iterations)

        final = await server.challenge_auth(server_first)
        if final is MISSING:
            self._log(server, name, login, False, "cancelled at client-final")
            return AuthResult(success=False, handled=True)
        without_proof, sep, proof_b64 = final.rpartition(b",p=")
        fattrs = without_proof.split(b",")
        try:
            proof = base64.b64decode(proof_b64, validate=True)
        except binascii.Error:
            proof = b""
        if (not sep or len(fattrs) < 2 or fattrs[0] != b"c=" + base64.b64encode(header)
                or fattrs[1] != b"r=" + nonce or not proof):
            return await self._fail(server, "501 5.5.2 Bad client-final", name, login,
                                    "client-final")
        auth_message = bare + b"," + server_first + b"," + without_proof
        stored_key, server_key = scram_keys(password.encode(), salt, iterations)
        if not scram_check_proof(stored_key, auth_message, proof):
            if self.srv.scram_error_final:
                reply = await server.challenge_auth(b"e=invalid-proof")
                if reply is MISSING:
                    self._log(server, name, login, False, "bad proof (e= sent, cancelled)")
                    return AuthResult(success=False, handled=True)
            return await self._fail(server, "535 5.7.8 Authentication credentials invalid",
                                    name, login, "bad proof")
        signature = scram_server_signature(server_key, auth_message)
        if self.srv.scram_bad_signature:
            signature = bytes([signature[0] ^ 0x01]) + signature[1:]
        reply = await server.challenge_auth(b"v=" + base64.b64encode(signature))
        if reply is MISSING:
            # A client that rejects our signature cancels with "*".
            self._log(server, name, login, False, "client refused server signature")
            return AuthResult(success=False, handled=True)
        if reply != b"":
            return await self._fail(server, "501 5.5.2 Expected an empty response", name,
                                    login, "non-empty final response")
        self._log(server, name, login, True)
        return AuthResult(success=True, auth_data=login)


class _AuthController(Controller):
    def __init__(self, srv, handler, **kwargs):
        self._srv = srv
        super().__init__(handler, **kwargs)

    def factory(self):
        return RecordingSMTP(self.handler, recorder=self._srv.recorder,
                             auth_command_limit=self._srv.auth_command_limit,
                             implicit_tls=self._srv.implicit_tls, **self.SMTP_kwargs)


class AuthServer:
    """Context manager running the server in a background thread."""

    def __init__(self, users=None, tokens=None, mechanisms=ALL_MECHANISMS, starttls=True,
                 implicit_tls=False, auth_require_tls=True, auth_command_limit=512,
                 scram_iterations=4096, scram_salt=None, scram_bad_signature=False,
                 scram_error_final=False, certdir=None):
        self.users = dict(users or {})
        self.tokens = dict(tokens or {})
        self.mechanisms = tuple(mechanisms)
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.auth_require_tls = auth_require_tls
        self.auth_command_limit = auth_command_limit
        self.scram_iterations = scram_iterations
        self.scram_salt = scram_salt
        self.scram_bad_signature = scram_bad_signature
        self.scram_error_final = scram_error_final
        self._own_certdir = certdir is None
        self.certdir = certdir
        self.recorder = Recorder()
        self.handler = AuthHandler(self)
        self.controller = None
        self.port = None
        self.cafile = None

    @property
    def auth_log(self):
        return self.recorder.auth_log

    def _authenticator(self, server, session, envelope, mechanism, auth_data):
        # PLAIN and LOGIN, parsed by aiosmtpd.
        assert isinstance(auth_data, LoginPassword)
        password = self.users.get(auth_data.login.decode("utf-8", "replace"))
        ok = password is not None and hmac.compare_digest(auth_data.password,
                                                          password.encode())
        self.handler._log(server, mechanism, auth_data.login, ok)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def __enter__(self):
        if self.certdir is None:
            self.certdir = tempfile.mkdtemp(prefix="smtpc-auth-")
        self.cafile, cert, key = make_certs(self.certdir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        kwargs = dict(
            hostname="127.0.0.1",
            server_hostname="localhost",
            authenticator=self._authenticator,
            # aiosmtpd only knows STARTTLS; with implicit TLS every byte is
            # already encrypted.
            auth_require_tls=self.auth_require_tls and not self.implicit_tls,
            auth_exclude_mechanism=[m for m in ALL_MECHANISMS if m not in self.mechanisms],
        )
        if self.implicit_tls:
            kwargs["ssl_context"] = context
        elif self.starttls:
            kwargs["tls_context"] = context
        last = None
        for _ in range(5):
            self.port = free_port()
            self.controller = _AuthController(self, self.handler, port=self.port, **kwargs)
            try:
                self.controller.start()
                return self
            except Exception as exc:  # the port was taken between probe and bind
                last = exc
        raise RuntimeError(f"auth server did not start: {last}")

    def __exit__(self, *exc):
        self.controller.stop()
        if self._own_certdir:
            shutil.rmtree(self.certdir, ignore_errors=True)
        return False

    # ---- what happened ----

    def succeeded(self):
        return [e["mechanism"] for e in self.auth_log if e["success"]]

    def client_lines(self):
        return [(tls, line) for d, tls, line, _ in self.recorder.lines if d == "C"]

    def server_lines(self):
        return [(tls, line) for d, tls, line, _ in self.recorder.lines if d == "S"]

    def plaintext_lines(self):
        return [line for tls, line in self.client_lines() if not tls]

    def auth_lines(self):
        """(tls, line) for every AUTH command the client sent."""
        return [(tls, line) for tls, line in self.client_lines()
                if line[:5].upper() in (b"AUTH ", b"AUTH\r")]

    def leaked(self, *secrets_):
        """Plaintext client lines that contain any of the secrets, raw or in
        any base64 alignment."""
        forms = set()
        for s in secrets_:
            forms |= base64_forms(s)
        return [line for line in self.plaintext_lines() if any(f in line for f in forms)]


# --------------------------------------------------------------------------
# Self test against the RFC examples (no network)


def selftest():
    # RFC 2195 section 2.
    assert cram_md5_expected(b"tanstaaftanstaaf",
                             b"<1896.697170952@postoffice.reston.mci.net>") == \
        b"b913a602c7eda7a495b4e6e7334d3890"
    # RFC 7677 section 3: the server side accepts the RFC's proof and
    # produces the RFC's signature.
    bare = b"n=user,r=rOprNGfwEbeRWgbNEkqO"
    server_first = (b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                    b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    without_proof = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    stored, server_key = scram_keys(b"pencil", base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ=="),
                                    4096)
    auth_message = bare + b"," + server_first + b"," + without_proof
    assert scram_check_proof(stored, auth_message, proof)
    assert not scram_check_proof(stored, auth_message, bytes([proof[0] ^ 1]) + proof[1:])
    assert base64.b64encode(scram_server_signature(server_key, auth_message)) == \
        b"6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    assert parse_gs2(b"n,,n=user,r=x") == (b"n,,", None, b"n=user,r=x")
    assert parse_gs2(b"n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01")[1] == b"a,b=c"
    assert parse_gs2(b"p=tls-unique,,n=u,r=x") is None
    assert parse_oauth_kv(b"\x01auth=Bearer t\x01host=h\x01\x01") == \
        {"auth": b"Bearer t", "host": b"h"}
    assert parse_oauth_kv(b"\x01auth=Bearer t\x01") is None
    pw = b"correct horse"
    for prefix in (b"", b"\x00", b"\x00u\x00"):
        encoded = base64.b64encode(prefix + pw)
        assert any(f in encoded for f in base64_forms(pw) - {pw}), prefix
    print("auth_server selftest: ok")


def main(argv):
    if argv[1:2] == ["--selftest"]:
        selftest()
        return 0
    if len(argv) >= 4 and argv[1] == "--serve":
        with AuthServer(users={argv[2]: argv[3]}, tokens={argv[2]: argv[3]},
                        auth_require_tls="--plain-auth" not in argv) as srv:
            print(f"port {srv.port} cafile {srv.cafile}", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
            for entry in srv.auth_log:
                print(entry)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
