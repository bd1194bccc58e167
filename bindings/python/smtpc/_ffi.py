"""Loading libsmtpc and declaring its C prototypes (the one place to add a
new call: append it to _PROTOTYPES).

The library is found, in this order, through:
  1. the SMTPC_LIBRARY environment variable (a path to the .so),
  2. a libsmtpc.so* file next to this package (a bundled copy),
  3. the system's library path (the soname for this binding's ABI, then
     ctypes.util.find_library("smtpc")).

It is loaded with ctypes.CDLL, never PyDLL: a CDLL foreign call releases the
GIL for its whole duration, so a blocking connect or send lets other Python
threads run, and each callback (trace, read, rewind) takes the GIL back
while it runs Python code (ctypes does this for CFUNCTYPE callbacks).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from ctypes import (CFUNCTYPE, POINTER, c_char_p, c_int, c_int64, c_size_t, c_uint8,
                    c_uint32, c_uint64, c_void_p)
from typing import Any, Dict, List, Optional, Tuple

# The ABI this binding was written against: SMTPC_VERSION_MAJOR/MINOR of
# include/smtpc/base.h. While the major is 0 every minor may change the ABI
# (the soname carries major.minor), so the minor must match exactly; from
# 1.0 on a newer minor of the same major is accepted.
ABI_MAJOR = 0
ABI_MINOR = 1

# Callback types (include/smtpc/base.h, message.h). The void *user argument
# is unused: each callback is a closure over its own Python state.
TRACE_FN = CFUNCTYPE(None, c_void_p, c_int, POINTER(ctypes.c_char), c_size_t)
READ_FN = CFUNCTYPE(c_int, c_void_p, POINTER(c_uint8), c_size_t, POINTER(c_size_t))
REWIND_FN = CFUNCTYPE(c_int, c_void_p)
CLOCK_FN = CFUNCTYPE(c_int, c_void_p, POINTER(c_int64), POINTER(c_int))
RANDOM_FN = CFUNCTYPE(c_int, c_void_p, POINTER(c_uint8), c_size_t)


class BatchItem(ctypes.Structure):
    """smtpc_batch_item (include/smtpc/client.h)."""
    _fields_ = [("from_", c_char_p), ("rcpts", POINTER(c_char_p)), ("n_rcpts", c_size_t),
                ("body", c_char_p), ("body_len", c_size_t), ("msg", c_void_p),
                ("result", c_int), ("status", c_int)]


# smtpc_batch_done_fn / smtpc_batch_next_fn (client.h): the engine and the
# error record are borrowed for the call only.
BATCH_DONE_FN = CFUNCTYPE(None, c_void_p, c_size_t, c_int, c_int, c_void_p, c_void_p)
BATCH_NEXT_FN = CFUNCTYPE(c_int, c_void_p, c_size_t, POINTER(BatchItem))

_P = c_void_p  # every opaque handle (client, message, tls_config, engine, error)
_S = c_char_p  # NUL-terminated UTF-8 in, or a borrowed string out
_B = c_char_p  # bytes with a separate length (bytes objects pass without a copy)

# name: (restype, argtypes). Handles are c_void_p; the Python classes keep
# them as ints.
_PROTOTYPES: Dict[str, Tuple[Any, List[Any]]] = {
    # base.h
    "smtpc_version": (_S, []),
    "smtpc_version_number": (c_int, []),
    "smtpc_strerror": (_S, [c_int]),
    "smtpc_error_code": (c_int, [_P]),
    "smtpc_error_reply_code": (c_int, [_P]),
    "smtpc_error_enhanced": (_S, [_P]),
    "smtpc_error_reply_text": (_S, [_P]),
    "smtpc_error_message": (_S, [_P]),
    "smtpc_error_is_temporary": (c_int, [_P]),
    # transport.h (only to probe for socket support)
    "smtpc_transport_new_socket": (c_int, [_P, POINTER(_P)]),
    "smtpc_transport_free": (None, [_P]),
    # tls.h
    "smtpc_tls_config_new": (c_int, [_P, POINTER(_P)]),
    "smtpc_tls_config_free": (None, [_P]),
    "smtpc_tls_config_error": (_P, [_P]),
    "smtpc_tls_config_add_ca_file": (c_int, [_P, _S]),
    "smtpc_tls_config_add_ca_dir": (c_int, [_P, _S]),
    "smtpc_tls_config_add_ca_mem": (c_int, [_P, _B, c_size_t]),
    "smtpc_tls_config_set_client_cert_file": (c_int, [_P, _S, _S, _S]),
    "smtpc_tls_config_set_client_cert_mem": (c_int, [_P, _B, c_size_t, _B, c_size_t, _S]),
    "smtpc_tls_config_set_pin_sha256": (c_int, [_P, _B, c_size_t]),
    "smtpc_tls_config_set_pin_sha256_hex": (c_int, [_P, _S]),
    "smtpc_tls_config_set_verify": (c_int, [_P, c_int]),
    "smtpc_tls_config_verify_mode": (c_int, [_P]),
    "smtpc_tls_config_set_server_name": (c_int, [_P, _S]),
    "smtpc_tls_config_set_min_version": (c_int, [_P, c_int]),
    # engine.h / auth.h queries (on the client's engine)
    "smtpc_engine_capabilities": (c_int, [_P]),
    "smtpc_engine_size_limit": (c_uint64, [_P]),
    "smtpc_engine_is_encrypted": (c_int, [_P]),
    "smtpc_engine_auth_mechanism": (_S, [_P]),
    "smtpc_engine_rcpt_count": (c_size_t, [_P]),
    "smtpc_engine_rcpt_accepted": (c_int, [_P, c_size_t]),
    "smtpc_engine_rcpt_reply_code": (c_int, [_P, c_size_t]),
    "smtpc_engine_rcpt_enhanced": (_S, [_P, c_size_t]),
    "smtpc_engine_rcpt_reply_text": (_S, [_P, c_size_t]),
    "smtpc_engine_message_status": (c_int, [_P]),
    "smtpc_engine_reply_count": (c_uint32, [_P]),
    # client.h
    "smtpc_client_new": (c_int, [_P, POINTER(_P)]),
    "smtpc_client_free": (None, [_P]),
    "smtpc_client_set_server": (c_int, [_P, _S, _S]),
    "smtpc_client_set_timeout": (c_int, [_P, c_int, c_int]),
    "smtpc_client_set_ehlo_name": (c_int, [_P, _S]),
    "smtpc_client_set_security": (c_int, [_P, c_int]),
    "smtpc_client_set_trace": (c_int, [_P, TRACE_FN, _P]),
    "smtpc_client_set_tls_config": (c_int, [_P, _P]),
    "smtpc_client_set_credentials": (c_int, [_P, _S, _S]),
    "smtpc_client_set_oauth_token": (c_int, [_P, _S, _S]),
    "smtpc_client_set_auth_mechanisms": (c_int, [_P, c_int]),
    "smtpc_client_allow_plaintext_auth": (c_int, [_P, c_int]),
    "smtpc_client_allow_no_dsn": (c_int, [_P, c_int]),
    "smtpc_client_set_buffers": (c_int, [_P, c_size_t, c_size_t]),
    "smtpc_client_set_chunking": (c_int, [_P, c_int]),
    "smtpc_client_set_binarymime": (c_int, [_P, c_int]),
    "smtpc_client_connect": (c_int, [_P]),
    "smtpc_client_connected": (c_int, [_P]),
    "smtpc_client_send": (c_int, [_P, _S, POINTER(_S), c_size_t, _B, c_size_t]),
    "smtpc_client_send_stream": (c_int, [_P, _S, POINTER(_S), c_size_t, READ_FN, _P, c_int64,
                                         c_int]),
    "smtpc_client_send_message": (c_int, [_P, _P, _S, POINTER(_S), c_size_t]),
    "smtpc_client_send_batch": (c_int, [_P, POINTER(BatchItem), c_size_t, BATCH_DONE_FN, _P]),
    "smtpc_client_send_each": (c_int, [_P, BATCH_NEXT_FN, BATCH_DONE_FN, _P]),
    "smtpc_client_rset": (c_int, [_P]),
    "smtpc_client_noop": (c_int, [_P]),
    "smtpc_client_quit": (c_int, [_P]),
    "smtpc_client_error": (_P, [_P]),
    "smtpc_client_engine": (_P, [_P]),
    # message.h
    "smtpc_message_new": (c_int, [_P, POINTER(_P)]),
    "smtpc_message_free": (None, [_P]),
    "smtpc_message_set_flags": (c_int, [_P, c_int]),
    "smtpc_message_set_from": (c_int, [_P, _S, _S]),
    "smtpc_message_add_to": (c_int, [_P, _S, _S]),
    "smtpc_message_add_cc": (c_int, [_P, _S, _S]),
    "smtpc_message_add_bcc": (c_int, [_P, _S, _S]),
    "smtpc_message_add_reply_to": (c_int, [_P, _S, _S]),
    "smtpc_message_set_subject": (c_int, [_P, _S]),
    "smtpc_message_set_date": (c_int, [_P, _S]),
    "smtpc_message_set_message_id": (c_int, [_P, _S]),
    "smtpc_message_add_header": (c_int, [_P, _S, _S]),
    "smtpc_message_set_clock": (c_int, [_P, CLOCK_FN, _P]),
    "smtpc_message_set_random": (c_int, [_P, RANDOM_FN, _P]),
    "smtpc_message_set_text": (c_int, [_P, _B, c_size_t, c_int]),
    "smtpc_message_set_html": (c_int, [_P, _B, c_size_t, c_int]),
    "smtpc_message_attach_mem": (c_int, [_P, _B, c_size_t, c_int, _S, _S]),
    "smtpc_message_attach_file": (c_int, [_P, _S, _S, _S]),
    "smtpc_message_attach_reader": (c_int, [_P, READ_FN, REWIND_FN, _P, c_int64, _S, _S]),
    "smtpc_message_inline_mem": (c_int, [_P, _B, c_size_t, c_int, _S, _S, _S]),
    "smtpc_message_inline_file": (c_int, [_P, _S, _S, _S, _S]),
    "smtpc_message_inline_reader": (c_int, [_P, READ_FN, REWIND_FN, _P, c_int64, _S, _S, _S]),
    "smtpc_message_read": (c_int, [_P, c_void_p, c_size_t, POINTER(c_size_t)]),
    "smtpc_message_rewind": (c_int, [_P]),
    "smtpc_message_size": (c_int, [_P, POINTER(c_int64)]),
    "smtpc_message_mail_flags": (c_int, [_P]),
    "smtpc_message_from_address": (_S, [_P]),
    "smtpc_message_envelope_rcpts": (c_size_t, [_P, POINTER(_S), c_size_t]),
    "smtpc_message_set_dsn": (c_int, [_P, c_int, _S]),
    "smtpc_message_set_rcpt_dsn": (c_int, [_P, _S, c_int, _S]),
    "smtpc_message_dsn": (c_int, [_P, POINTER(c_int), POINTER(_S)]),
    "smtpc_message_rcpt_dsn": (c_int, [_P, _S, POINTER(c_int), POINTER(_S)]),
    "smtpc_message_error": (_P, [_P]),
    # dkim.h (every call present; SMTPC_ENOTSUP in builds without DKIM)
    "smtpc_dkim_new": (c_int, [_P, POINTER(_P)]),
    "smtpc_dkim_free": (None, [_P]),
    "smtpc_dkim_set_key_file": (c_int, [_P, _S, _S]),
    "smtpc_dkim_set_key_mem": (c_int, [_P, _B, c_size_t, _S]),
    "smtpc_dkim_set_algorithm": (c_int, [_P, c_int]),
    "smtpc_dkim_set_domain": (c_int, [_P, _S]),
    "smtpc_dkim_set_selector": (c_int, [_P, _S]),
    "smtpc_dkim_set_headers": (c_int, [_P, POINTER(_S), c_size_t]),
    "smtpc_dkim_set_canonicalization": (c_int, [_P, c_int, c_int]),
    "smtpc_dkim_set_oversign_from": (c_int, [_P, c_int]),
    "smtpc_dkim_set_timestamps": (c_int, [_P, c_int, c_int64]),
    "smtpc_dkim_set_clock": (c_int, [_P, CLOCK_FN, _P]),
    "smtpc_dkim_sign_raw": (c_int, [_P, _B, c_size_t, c_void_p, c_size_t, POINTER(c_size_t)]),
    "smtpc_dkim_error": (_P, [_P]),
    "smtpc_message_add_dkim": (c_int, [_P, _P]),
}

# Calls a newer library may have and an older one lacks: declared when
# present, and the binding checks has() before using them.
_OPTIONAL: frozenset = frozenset()


class Library:
    """The loaded library: each C function as an attribute (lib.smtpc_...)."""

    def __init__(self, cdll: ctypes.CDLL, path: str) -> None:
        self.cdll = cdll
        self.path = path
        self._missing = set()
        for name, (restype, argtypes) in _PROTOTYPES.items():
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                if name in _OPTIONAL:
                    self._missing.add(name)
                    continue
                raise ImportError(f"smtpc: {path} lacks {name}: not a compatible libsmtpc")
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)

    def has(self, name: str) -> bool:
        """Whether the library provides the call (for _OPTIONAL ones)."""
        return name in _PROTOTYPES and name not in self._missing


def _candidates() -> List[str]:
    env = os.environ.get("SMTPC_LIBRARY")
    if env:
        # An explicit choice is the only one tried: silently falling back to
        # another copy would hide a wrong path.
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    out = sorted(glob.glob(os.path.join(here, "libsmtpc.so*")))
    out.append(f"libsmtpc.so.{ABI_MAJOR}.{ABI_MINOR}" if ABI_MAJOR == 0
               else f"libsmtpc.so.{ABI_MAJOR}")
    found = ctypes.util.find_library("smtpc")
    if found:
        out.append(found)
    out.append("libsmtpc.so")
    return out


def _check_version(cdll: ctypes.CDLL, path: str) -> None:
    try:
        number_fn = cdll.smtpc_version_number
        string_fn = cdll.smtpc_version
    except AttributeError:
        raise ImportError(f"smtpc: {path} has no smtpc_version_number: not libsmtpc") from None
    number_fn.restype = c_int
    number_fn.argtypes = []
    string_fn.restype = c_char_p
    string_fn.argtypes = []
    number = number_fn()
    major, minor = number // 10000, number // 100 % 100
    text = (string_fn() or b"?").decode("ascii", "replace")
    if major != ABI_MAJOR or (minor != ABI_MINOR if major == 0 else minor < ABI_MINOR):
        want = f"{ABI_MAJOR}.{ABI_MINOR}" + ("" if ABI_MAJOR == 0 else " or a later minor")
        raise ImportError(f"smtpc: {path} is libsmtpc {text}, but this binding needs "
                          f"{want} (set SMTPC_LIBRARY to a matching library)")


def load() -> Library:
    """Find, load and check the library (see the module docstring)."""
    errors = []
    for cand in _candidates():
        try:
            cdll = ctypes.CDLL(cand)
        except OSError as exc:
            errors.append(f"{cand}: {exc}")
            continue
        _check_version(cdll, cand)
        return Library(cdll, cand)
    raise ImportError("smtpc: libsmtpc not found (tried " + "; ".join(errors)
                      + "); install the library or set SMTPC_LIBRARY to its path")


lib: Library = load()


def decode(value: Optional[bytes]) -> str:
    """A borrowed C string as str ("" for NULL)."""
    return value.decode("utf-8", "replace") if value else ""
