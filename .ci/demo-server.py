#!/usr/bin/python3
"""The demo's mail server: aiosmtpd on a free 127.0.0.1 port with STARTTLS
required, using the certificate made by tests/integration/certs.py.

    demo-server.py PORTFILE CERTFILE KEYFILE [USER PASSWORD]

Writes the port to PORTFILE once listening. With USER and PASSWORD, AUTH
(PLAIN and LOGIN, only after STARTTLS) is required before MAIL. Every message
received is parsed with Python's email package and summarised on stdout:
the TLS session, the AUTH mechanism, the envelope, the headers, the text body
and each attachment's name, type, size and SHA-256. Runs until SIGTERM or
SIGINT. Needs Debian's /usr/bin/python3 (python3-aiosmtpd).
"""
import hashlib
import hmac
import logging
import os
import signal
import socket
import ssl
import sys
import threading
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class _QuietAuthWarning(logging.Filter):
    """aiosmtpd 1.4 warns about one of its own attributes on each AUTH."""

    def filter(self, record):
        return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_QuietAuthWarning())


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and hmac.compare_digest(auth_data.login, self.user)
              and hmac.compare_digest(auth_data.password, self.password))
        if ok:
            session.demo_mechanism = mechanism
        # handled=False: aiosmtpd then sends the 235 or 535 itself.
        return AuthResult(success=ok, handled=False)


def describe_tls(session):
    info = session.ssl or {}
    obj = info.get("ssl_object")
    cipher = info.get("cipher")
    if not obj or not cipher:
        return "none (plaintext)"
    return f"{obj.version()} {cipher[0]}"


def summary(session, envelope):
    msg = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
    lines = [
        f"TLS:        {describe_tls(session)}",
        f"AUTH:       {getattr(session, 'demo_mechanism', 'none')}",
        f"MAIL FROM:  <{envelope.mail_from}> {' '.join(envelope.mail_options)}".rstrip(),
    ]
    lines += [f"RCPT TO:    <{r}>" for r in envelope.rcpt_tos]
    lines.append(f"size:       {len(envelope.original_content)} bytes")
    lines.append("-- headers")
    lines += [f"{name}: {value}" for name, value in msg.items()]
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is not None:
        lines.append(f"-- body ({body.get_content_type()}, "
                     f"{body.get('Content-Transfer-Encoding', '7bit')})")
        lines += body.get_content().rstrip("\n").split("\n")
    for part in msg.iter_attachments():
        data = part.get_payload(decode=True)  # the bytes, transfer encoding undone
        lines.append(f"-- attachment {part.get_filename()!r} ({part.get_content_type()}, "
                     f"{len(data)} bytes)")
        lines.append(f"sha256:     {hashlib.sha256(data).hexdigest()}")
    return "\n".join(lines)


class Printer:
    async def handle_DATA(self, server, session, envelope):
        print("=" * 72)
        try:
            print(summary(session, envelope))
        except Exception as exc:  # show what arrived even if it does not parse
            print(f"(could not parse: {exc})")
            sys.stdout.write(envelope.original_content.decode("utf-8", "replace"))
        print("=" * 72, flush=True)
        return "250 2.0.0 OK: summarised by the demo server"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv):
    if len(argv) not in (4, 6):
        sys.exit(__doc__)
    portfile, certfile, keyfile = argv[1:4]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    kwargs = dict(tls_context=context, require_starttls=True)
    if len(argv) == 6:
        kwargs.update(authenticator=Authenticator(argv[4], argv[5]), auth_required=True,
                      auth_require_tls=True)
    last = None
    for _ in range(5):  # the free port may be taken between probe and bind
        port = free_port()
        controller = Controller(Printer(), hostname="127.0.0.1", port=port,
                                server_hostname="localhost", **kwargs)
        try:
            controller.start()
            break
        except Exception as exc:
            last = exc
    else:
        sys.exit(f"demo server did not start: {last}")
    with open(portfile + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.rename(portfile + ".tmp", portfile)  # the reader never sees half a number
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main(sys.argv)
