"""TLS and AUTH through the binding: STARTTLS and implicit TLS against
aiosmtpd with throwaway certificates (certs.py), verification failures,
pins, client certificates; credentials and OAuth tokens against
auth_server.py's independent mechanisms."""

import ssl

import pytest

import smtpc
from auth_server import AuthServer
from conftest import HAVE_SASL_CRYPTO, HAVE_TLS, needs_sockets, needs_tls
from harness import AiosmtpdServer, expected_wire

pytestmark = needs_sockets

FROM = "sender@example.org"
BODY = b"Subject: tls\r\n\r\nover TLS\r\n"
USER, PASSWORD, TOKEN = "alice@example.org", "Corr3ct-Horse_Battery~Staple", "ya29.tok3n-xyz"


def server_context(certs, name, client_ca=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs[name] + ".pem", certs[name] + ".key")
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    return ctx


def tls_server(certs, security, cert="server", client_ca=None):
    ctx = server_context(certs, cert, client_ca)
    if security == "tls":
        return AiosmtpdServer(ssl_context=ctx)
    return AiosmtpdServer(tls_context=ctx, require_starttls=True)


def pin_of(certs, name):
    with open(certs[name] + ".pin") as f:
        return f.read().strip()


@needs_tls
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_verified_tls_delivers(certs, security):
    info = []
    with tls_server(certs, security) as srv:
        with smtpc.Client("localhost", srv.port, security=security, cafile=certs["ca"] + ".pem",
                          timeout=30, trace=lambda d, t: info.append(t)) as c:
            assert c.encrypted
            c.send(FROM, "r@example.org", BODY)
    assert srv.handler.envelopes[0]["content"] == expected_wire(BODY)
    assert any("certificate verified" in t for t in info)


@needs_tls
@pytest.mark.parametrize("cert, reason", [("wronghost", "host-name mismatch"),
                                          ("selfsigned", "rejected"), ("expired", "expired")])
def test_verification_failure_raises_and_sends_nothing(certs, cert, reason):
    with tls_server(certs, "starttls", cert) as srv:
        c = smtpc.Client("127.0.0.1", srv.port, security="starttls",
                         cafile=certs["ca"] + ".pem", timeout=30)
        with pytest.raises(smtpc.CertificateVerifyError) as info:
            c.connect()
        c.close()
    err = info.value
    assert isinstance(err, smtpc.TLSError) and err.code == -81
    assert reason in err.message
    assert srv.handler.envelopes == []


@needs_tls
def test_pin(certs):
    with tls_server(certs, "tls", "selfsigned") as srv:
        # The pin alone vouches for a self-signed server, verification off.
        tls = smtpc.TLSConfig(verify=False, pin=pin_of(certs, "selfsigned"))
        assert not tls.verify
        with smtpc.Client("127.0.0.1", srv.port, security="tls", tls=tls, timeout=30) as c:
            c.send(FROM, "r@example.org", BODY)
        # The TLSConfig outlives its close() while a client still uses it,
        # and cannot change under it.
        c2 = smtpc.Client("127.0.0.1", srv.port, security="tls", tls=tls, timeout=30)
        with pytest.raises(smtpc.StateError):
            tls.set_verify(True)
        tls.close()
        assert tls._finalizer.alive
        c2.connect()
        c2.quit()
        c2.close()
        assert not tls._finalizer.alive
        # A wrong pin fails whatever the verification mode.
        wrong = bytes.fromhex(pin_of(certs, "other"))
        c = smtpc.Client("127.0.0.1", srv.port, security="tls", verify=False, pin=wrong,
                         timeout=30)
        with pytest.raises(smtpc.PinMismatchError):
            c.connect()
        c.close()
    assert len(srv.handler.envelopes) == 1


@needs_tls
def test_client_certificate(certs):
    with tls_server(certs, "tls", client_ca=certs["ca"] + ".pem") as srv:
        with open(certs["client"] + ".pem", "rb") as f:
            cert = f.read()
        with open(certs["client"] + ".key", "rb") as f:
            key = f.read()
        with open(certs["ca"] + ".pem") as f:
            ca = f.read()
        for kw in (dict(client_cert=certs["client"] + ".pem", client_key=certs["client"] + ".key"),
                   dict(client_cert=cert, client_key=key)):
            with smtpc.Client("localhost", srv.port, security="tls", timeout=30,
                              cadata=ca, **kw) as c:
                c.send(FROM, "r@example.org", BODY)
        c = smtpc.Client("localhost", srv.port, security="tls", timeout=30,
                         cafile=certs["ca"] + ".pem")
        # Python's server closes without an alert: with TLS 1.2 during the
        # handshake, with TLS 1.3 (mbedTLS 3.6) right after it. Either way
        # the session ends before anything is delivered.
        with pytest.raises((smtpc.TLSError, smtpc.ConnectionClosedError)) as info:
            c.connect()
            c.send(FROM, "r@example.org", BODY)
        assert "TLS" in info.value.message
        c.close()
    assert len(srv.handler.envelopes) == 2


@pytest.mark.skipif(HAVE_TLS, reason="checks the -Dtls=disabled library only")
def test_without_tls_the_library_says_not_supported():
    with pytest.raises(smtpc.NotSupportedError):
        smtpc.TLSConfig()
    c = smtpc.Client("127.0.0.1", 1, security="starttls")
    with pytest.raises(smtpc.NotSupportedError) as info:
        c.connect()
    assert "TLS" in info.value.message
    c.close()


# --- AUTH ---------------------------------------------------------------

def auth_client(srv, **kw):
    if HAVE_TLS:
        kw.setdefault("security", "starttls")
        kw.setdefault("cafile", srv.cafile)
    else:
        kw.setdefault("security", "plain")
        kw.setdefault("allow_plaintext_auth", True)
    return smtpc.Client("localhost", srv.port, timeout=30, **kw)


def auth_server(**kw):
    if not HAVE_TLS:
        kw.update(starttls=False, auth_require_tls=False)
    return AuthServer(users={USER: PASSWORD}, tokens={USER: TOKEN}, **kw)


# Without -Dsasl_crypto the strongest mechanism left is PLAIN, and asking
# for CRAM-MD5 is refused (test_hash_mechanisms_need_sasl_crypto).
@pytest.mark.parametrize("mechs, used", [
    (None, "SCRAM-SHA-256" if HAVE_SASL_CRYPTO else "PLAIN"), (["PLAIN"], "PLAIN"),
    (["login"], "LOGIN")] + ([(["CRAM-MD5"], "CRAM-MD5")] if HAVE_SASL_CRYPTO else []))
def test_password_auth(mechs, used):
    with auth_server() as srv:
        with auth_client(srv, user=USER, password=PASSWORD, auth_mechanisms=mechs) as c:
            assert c.auth_mechanism == used
            c.send(FROM, "r@example.org", BODY)
    assert srv.succeeded() == [used]
    if HAVE_TLS:  # else sent in plaintext, as explicitly allowed
        assert not srv.leaked(PASSWORD.encode())


@pytest.mark.skipif(HAVE_SASL_CRYPTO, reason="checks a -Dsasl_crypto=disabled library")
@pytest.mark.parametrize("mech", ["CRAM-MD5", "SCRAM-SHA-256"])
def test_hash_mechanisms_need_sasl_crypto(mech):
    with pytest.raises(smtpc.NotSupportedError) as info:
        smtpc.Client("localhost", 25, auth_mechanisms=[mech])
    assert "sasl_crypto" in info.value.message


@pytest.mark.parametrize("mech", ["XOAUTH2", "OAUTHBEARER"])
def test_oauth_token(mech):
    with auth_server() as srv:
        with auth_client(srv, user=USER, oauth_token=TOKEN, auth_mechanisms=[mech]) as c:
            assert c.auth_mechanism == mech
    assert srv.succeeded() == [mech]


def test_bad_credentials_raise_auth_failed():
    lines = []
    with auth_server() as srv:
        c = auth_client(srv, user=USER, password="wrong", auth_mechanisms=["PLAIN"],
                        trace=lambda d, t: lines.append(t))
        with pytest.raises(smtpc.AuthFailedError) as info:
            c.connect()
        c.close()
    err = info.value
    assert isinstance(err, smtpc.AuthError) and err.code == -102 and err.reply_code == 535
    assert not any("wrong" in t for t in lines)  # redacted in the trace


def test_credentials_never_go_over_plaintext_by_default():
    with AuthServer(users={USER: PASSWORD}, starttls=False, auth_require_tls=False) as srv:
        c = smtpc.Client("127.0.0.1", srv.port, security="plain", user=USER, password=PASSWORD,
                         timeout=30)
        with pytest.raises(smtpc.InsecureAuthError):
            c.connect()
        c.close()
    assert srv.auth_log == [] and not srv.leaked(PASSWORD.encode())
