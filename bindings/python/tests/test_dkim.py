"""DKIMSigner: built and raw messages signed by the library, verified by
dkimpy (Debian python3-dkim) with the test key's TXT record, before and
after travelling through aiosmtpd. Builds without DKIM must say
NotSupportedError."""

import base64
import shutil
import subprocess

import pytest

import smtpc
from conftest import HAVE_DKIM, needs_sockets
from harness import make_message

needs_dkim = pytest.mark.skipif(not HAVE_DKIM, reason="libsmtpc built without DKIM")
DOMAIN, SELECTOR = "example.org", "py2026"


@pytest.fixture(scope="session")
def rsa_key(tmp_path_factory):
    """(path of a fresh 2048-bit RSA key, its PEM, the DKIM TXT record)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    path = tmp_path_factory.mktemp("dkim") / "key.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(path), "2048"], check=True,
                   capture_output=True, timeout=120)
    der = subprocess.run(["openssl", "rsa", "-in", str(path), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True, timeout=60).stdout
    txt = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    return path, path.read_bytes(), txt


def verify(data, txt):
    import dkim

    def dnsfunc(name, timeout=5):
        assert name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode()
        return txt

    return dkim.verify(data, dnsfunc=dnsfunc, minkey=2048)


def built_message():
    msg = smtpc.Message(sender=("Ann Example", "ann@example.org"), to="bob@example.net",
                        subject="Signed – with ünïcode", text="Hello,\n.dot line\nBye\n",
                        html="<p>Hello</p>")
    msg.attach(bytes(range(256)) * 40, "data.bin")
    return msg


@needs_dkim
def test_built_message_verifies(rsa_key):
    path, _pem, txt = rsa_key
    signer = smtpc.DKIMSigner(key_file=path, domain=DOMAIN, selector=SELECTOR)
    msg = built_message()
    msg.add_dkim(signer)
    data = msg.as_bytes()
    assert data.startswith(b"DKIM-Signature: ")
    assert verify(data, txt)
    # The signature covers the body: one changed byte breaks it.
    assert not verify(data.replace(b"Bye", b"Bya"), txt)


@needs_dkim
def test_settings_show_in_the_signature(rsa_key):
    _path, pem, txt = rsa_key
    signer = smtpc.DKIMSigner(key=pem, domain=DOMAIN, selector=SELECTOR,
                              headers=["From", "Subject", "To"],
                              canonicalization="simple/simple", oversign_from=False,
                              expire=3600)
    msg = built_message()
    msg.add_dkim(signer)
    data = msg.as_bytes()
    header = data.split(b"\r\n\r\n", 1)[0].split(b"\r\nFrom:")[0]
    tags = {k.strip(): v.strip() for k, v in
            (t.split(b"=", 1) for t in header[len(b"DKIM-Signature:"):].replace(
                b"\r\n", b"").replace(b" ", b"").replace(b"\t", b"").split(b";") if t)}
    assert tags[b"c"] == b"simple/simple"
    assert tags[b"h"].lower() == b"from:subject:to"
    assert int(tags[b"x"]) - int(tags[b"t"]) == 3600
    assert verify(data, txt)


@needs_dkim
@needs_sockets
def test_signed_messages_verify_after_delivery(rsa_key, aiosmtpd_server):
    path, _pem, txt = rsa_key
    with smtpc.DKIMSigner(key_file=path, domain=DOMAIN, selector=SELECTOR) as signer:
        msg = built_message()
        msg.add_dkim(signer)
        raw = make_message("raw signed", b"raw body\r\n.leading dot\r\nbare lf\n",
                           sender="ann@example.org")
        header = signer.sign_raw(raw)
    # The signer closed while the message holds it: freed with the message.
    assert header.startswith(b"DKIM-Signature: ") and header.endswith(b"\r\n")
    with smtpc.Client("127.0.0.1", aiosmtpd_server.port, security="plain", timeout=30) as c:
        c.send_message(msg)
        c.send("ann@example.org", "bob@example.net", header + raw)
    for env in aiosmtpd_server.handler.envelopes:
        assert verify(env["content"], txt), env["content"][:300]
    assert len(aiosmtpd_server.handler.envelopes) == 2
    msg.close()


@needs_dkim
def test_bad_keys_and_settings_raise(rsa_key, tmp_path):
    with pytest.raises(smtpc.FileError):
        smtpc.DKIMSigner(key_file=tmp_path / "missing.pem")
    with pytest.raises(smtpc.InvalidArgumentError):
        smtpc.DKIMSigner(key=b"not a key")
    small = tmp_path / "small.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(small), "1024"], check=True,
                   capture_output=True, timeout=60)
    with pytest.raises(smtpc.InvalidArgumentError) as info:
        smtpc.DKIMSigner(key_file=small)
    assert "2048" in info.value.message
    with pytest.raises(smtpc.NotSupportedError):
        smtpc.DKIMSigner(algorithm="ed25519-sha256")
    with pytest.raises(smtpc.HeaderError):
        smtpc.DKIMSigner(headers=["Subject"])  # From is required
    with pytest.raises(ValueError):
        smtpc.DKIMSigner(canonicalization="loose/relaxed")
    # Signing without a domain and selector: the library says what is missing.
    signer = smtpc.DKIMSigner(key_file=rsa_key[0])
    with pytest.raises(smtpc.StateError):
        signer.sign_raw(make_message("x", b"x\r\n"))
    signer.set_domain(DOMAIN)
    signer.set_selector(SELECTOR)
    with pytest.raises(smtpc.HeaderError):
        signer.sign_raw(b"Subject: no from\r\n\r\nbody\r\n")
    msg = smtpc.Message(sender="a@example.org", to="b@example.org", text="x")
    msg.add_dkim(signer)
    with pytest.raises(smtpc.InvalidArgumentError):
        msg.add_dkim(signer)  # the same signer twice
    with pytest.raises(TypeError):
        msg.add_dkim("signer")
    assert signer._users == 1
    msg.close()
    assert signer._users == 0


@pytest.mark.skipif(HAVE_DKIM, reason="checks a library built without DKIM")
def test_without_dkim_the_signer_is_not_supported(tmp_path):
    with pytest.raises(smtpc.NotSupportedError):
        smtpc.DKIMSigner(domain=DOMAIN, selector=SELECTOR)
