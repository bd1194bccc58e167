"""Shared fixtures for the binding's tests: the package under test, local
servers (aiosmtpd, Postfix smtp-sink, the AUTH server) on 127.0.0.1 from
tests/integration, throwaway certificates.

Run: SMTPC_LIBRARY=build/libsmtpc.so /usr/bin/python3 -m pytest bindings/python/tests

SMTPC_TEST_TLS / SMTPC_TEST_SOCKETS (set by meson to what the build was
configured with) make the tests check that the library's own answer agrees,
so that a probe gone wrong cannot quietly skip the TLS or network tests.
"""

import logging
import os
import shutil
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(PACKAGE_ROOT))
INTEGRATION = os.path.join(REPO, "tests", "integration")
INCLUDE = os.path.join(REPO, "include")

# The package from this tree unless SMTPC_TEST_INSTALLED says to test the
# installed one.
if not os.environ.get("SMTPC_TEST_INSTALLED"):
    sys.path.insert(0, PACKAGE_ROOT)
sys.path.insert(0, INTEGRATION)

import smtpc  # noqa: E402

logging.getLogger("mail.log").setLevel(logging.CRITICAL)

HAVE_TLS = smtpc.has_tls()
HAVE_SOCKETS = smtpc.has_sockets()
HAVE_DKIM = smtpc.has_dkim()
HAVE_SASL_CRYPTO = smtpc.has_sasl_crypto()
NO_TLS = "libsmtpc built without TLS (-Dtls=disabled): TLS calls return SMTPC_ENOTSUP"
NO_SOCKETS = ("libsmtpc built without sockets (-Dsockets=false): Client cannot "
              "connect by host name")

needs_tls = pytest.mark.skipif(not HAVE_TLS, reason=NO_TLS)
needs_sockets = pytest.mark.skipif(not HAVE_SOCKETS, reason=NO_SOCKETS)


def pytest_sessionstart(session):
    for var, have in (("SMTPC_TEST_TLS", HAVE_TLS), ("SMTPC_TEST_SOCKETS", HAVE_SOCKETS),
                      ("SMTPC_TEST_DKIM", HAVE_DKIM),
                      ("SMTPC_TEST_SASL_CRYPTO", HAVE_SASL_CRYPTO)):
        want = os.environ.get(var)
        if want is not None and (want == "1") != have:
            raise pytest.UsageError(f"{var}={want} but the library at "
                                    f"{smtpc.library_path} says {int(have)}")


@pytest.fixture(scope="session")
def certs():
    """certs.py's files: name -> path prefix (.pem/.key/.pin)."""
    from certs import make_certs
    d = tempfile.mkdtemp(prefix="smtpc-py-certs-")
    try:
        yield make_certs(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def aiosmtpd_server():
    """aiosmtpd, plaintext, recording envelopes (harness.RecordingHandler:
    recipients with "reject" get 550 5.1.1, an X-Refuse: 552 header 552)."""
    from harness import AiosmtpdServer
    with AiosmtpdServer() as srv:
        yield srv


@pytest.fixture
def sink():
    from harness import SINK, SmtpSink
    if not os.access(SINK, os.X_OK):
        pytest.skip("smtp-sink not installed (Debian: postfix)")
    with SmtpSink() as s:
        yield s


@pytest.fixture
def sink_no_dsn():
    """smtp-sink not offering DSN (-N)."""
    from harness import SINK, SmtpSink
    if not os.access(SINK, os.X_OK):
        pytest.skip("smtp-sink not installed (Debian: postfix)")
    with SmtpSink("-N") as s:
        yield s


def open_fds():
    """{(fd, what it refers to)}: the target tells a new file apart from a
    new one under a reused number (listdir's own directory fd, gone once it
    returns, is skipped)."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.add((fd, os.readlink(f"/proc/self/fd/{fd}")))
        except OSError:
            continue
    return out


def _tcp_ends():
    """socket inode -> (local port, remote port) of every TCP socket."""
    out = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            local, remote, inode = cols[1], cols[2], cols[9]
            out[inode] = (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16))
    return out


def new_fds_not_server_side(before, server_port):
    """The fds opened since before, except the in-process test server's own
    accepted sockets (local port server_port): those close when the server
    thread gets to it, which a busy machine may delay; the client's must be
    gone already."""
    ends = _tcp_ends()
    left = []
    for fd, target in open_fds() - before:
        if target.startswith("socket:["):
            ports = ends.get(target[8:-1])
            if ports is not None and ports[0] == server_port:
                continue
        left.append((fd, target))
    return left
