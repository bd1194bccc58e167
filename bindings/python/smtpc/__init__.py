"""smtpc: Python binding of the smtpc SMTP client library (ctypes).

    import smtpc

    msg = smtpc.Message(sender="me@example.org", to=["you@example.org"],
                        subject="Report", text="See attached.")
    msg.attach("report.pdf")
    with smtpc.Client("mail.example.org", 587, security="starttls",
                      user="me@example.org", password="secret") as c:
        result = c.send_message(msg)

The library (libsmtpc.so) is found through SMTPC_LIBRARY, next to this
package, or on the system library path; its version is checked at import.
Blocking calls release the GIL (the library is loaded with ctypes.CDLL).
"""

from . import _ffi
from ._ffi import decode as _decode
from .client import (AUTH_MECHANISMS, CAPABILITIES, SECURITY, TIMEOUT_STAGES, Client,
                     RecipientResult, SendResult)
from . import errors as _errors
from .errors import *  # noqa: F401,F403 - every exception class (errors.__all__)
from .dkim import DKIMSigner
from .message import Message
from .tls import TLSConfig

__version__ = "0.1.0"

__all__ = ["Client", "Message", "TLSConfig", "DKIMSigner", "has_dkim", "has_sasl_crypto", "SendResult", "RecipientResult", "SECURITY",
           "AUTH_MECHANISMS", "CAPABILITIES", "TIMEOUT_STAGES", "library_path", "version",
           "version_info", "strerror", "has_tls", "has_sockets"] + _errors.__all__

#: The path of the library loaded.
library_path: str = _ffi.lib.path


def version() -> str:
    """The version string of the library loaded, e.g. "0.1.0"."""
    return _decode(_ffi.lib.smtpc_version())


def version_info() -> tuple:
    """(major, minor, patch) of the library loaded."""
    n = _ffi.lib.smtpc_version_number()
    return (n // 10000, n // 100 % 100, n % 100)


def strerror(code: int) -> str:
    """The library's description of an SMTPC_E* code."""
    return _decode(_ffi.lib.smtpc_strerror(code))


def has_tls() -> bool:
    """Whether the library was built with TLS (-Dtls=disabled: False)."""
    import ctypes
    out = ctypes.c_void_p()
    rc = _ffi.lib.smtpc_tls_config_new(None, ctypes.byref(out))
    _ffi.lib.smtpc_tls_config_free(out.value)
    return rc != -4  # SMTPC_ENOTSUP


def has_sockets() -> bool:
    """Whether the library can open connections by host name itself
    (-Dsockets=false builds cannot). Probed without touching the network:
    creating a socket transport does no I/O."""
    import ctypes
    out = ctypes.c_void_p()
    rc = _ffi.lib.smtpc_transport_new_socket(None, ctypes.byref(out))
    _ffi.lib.smtpc_transport_free(out.value)
    return rc != -4  # SMTPC_ENOTSUP


def has_sasl_crypto() -> bool:
    """Whether CRAM-MD5 and SCRAM-SHA-256 are built in (-Dsasl_crypto)."""
    c = Client()
    try:
        c.set_auth_mechanisms(["CRAM-MD5", "SCRAM-SHA-256"])
        return True
    except NotSupportedError:  # noqa: F405 - from errors.__all__
        return False
    finally:
        c.close()


def has_dkim() -> bool:
    """Whether the library was built with DKIM signing (-Ddkim, mbedTLS)."""
    import ctypes
    out = ctypes.c_void_p()
    rc = _ffi.lib.smtpc_dkim_new(None, ctypes.byref(out))
    _ffi.lib.smtpc_dkim_free(out.value)
    return rc != -4  # SMTPC_ENOTSUP
