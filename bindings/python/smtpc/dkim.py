"""DKIM signing (smtpc_dkim, RFC 6376)."""

from __future__ import annotations

import ctypes
import os
import weakref
from typing import Iterable, Optional, Tuple, Union

from . import _ffi
from ._handle import as_bytes, cstr, error_from_record

PathLike = Union[str, "os.PathLike[str]"]

_CANON = {"simple": 0, "relaxed": 1}
_ALGORITHMS = {"rsa-sha256": 1, "ed25519-sha256": 2}
_ETOOLONG = -5


def _free(ptr: int) -> None:
    _ffi.lib.smtpc_dkim_free(ptr)


def _canonicalization(value: Union[str, Tuple[str, str]]) -> Tuple[int, int]:
    header, body = value.split("/", 1) if isinstance(value, str) and "/" in value else (
        (value, "simple") if isinstance(value, str) else value)
    try:
        return _CANON[header], _CANON[body]
    except KeyError:
        raise ValueError("canonicalization is \"header/body\" with each one of "
                         f"{', '.join(_CANON)}, not {value!r}") from None


class DKIMSigner:
    """One DKIM key and its settings: signs built messages
    (Message.add_dkim) and raw ones (sign_raw).

        signer = smtpc.DKIMSigner(key_file="dkim.pem", domain="example.org",
                                  selector="mail")
        msg.add_dkim(signer)

    Args:
        key_file, key: the private key (PEM, PKCS#1 or PKCS#8; RSA of 2048
            bits or more) from a path, or as bytes/str; password for an
            encrypted one.
        domain, selector: d= and s= (the public key is published at
            <selector>._domainkey.<domain>); both required.
        headers: the header names to sign (must include From); default
            the library's list (From, To, Cc, Subject, Date, ...).
        canonicalization: "relaxed/relaxed" (default), "simple/simple",
            "relaxed/simple", ... or a (header, body) tuple.
        oversign_from: name From once more in h= (default True), so that a
            From added on the way breaks the signature.
        timestamp: write t= (default True); expire: seconds after which
            the signature expires (x=), None for none.
        algorithm: "rsa-sha256" (default); "ed25519-sha256" raises
            NotSupportedError (mbedTLS has no Ed25519).

    Raises NotSupportedError in a library built without DKIM, and
    InvalidArgumentError, FileError, ... for a bad key or setting (the
    library's message says which). Messages using the signer keep it
    alive; do not share one between threads.
    """

    def __init__(self, *, key_file: Optional[PathLike] = None,
                 key: Optional[Union[bytes, str]] = None, password: Optional[str] = None,
                 domain: Optional[str] = None, selector: Optional[str] = None,
                 headers: Optional[Iterable[str]] = None,
                 canonicalization: Optional[Union[str, Tuple[str, str]]] = None,
                 oversign_from: bool = True, timestamp: bool = True,
                 expire: Optional[int] = None, algorithm: Optional[str] = None) -> None:
        out = ctypes.c_void_p()
        rc = _ffi.lib.smtpc_dkim_new(None, ctypes.byref(out))
        if rc != 0:
            raise error_from_record(None, rc)
        self._ptr: Optional[int] = out.value
        self._users = 0
        self._finalizer = weakref.finalize(self, _free, out.value)
        if key_file is not None and key is not None:
            raise ValueError("give key_file or key, not both")
        if algorithm is not None:
            self.set_algorithm(algorithm)
        if key_file is not None:
            self.set_key_file(key_file, password)
        elif key is not None:
            self.set_key(key, password)
        if domain is not None:
            self.set_domain(domain)
        if selector is not None:
            self.set_selector(selector)
        if headers is not None:
            self.set_headers(headers)
        if canonicalization is not None:
            self.set_canonicalization(canonicalization)
        if not oversign_from:
            self.set_oversign_from(False)
        if not timestamp or expire is not None:
            self.set_timestamps(timestamp, expire)

    @property
    def _handle(self) -> int:
        if self._ptr is None:
            raise ValueError("the DKIMSigner is closed")
        return self._ptr

    def _check(self, rc: int) -> int:
        if rc < 0:
            raise error_from_record(_ffi.lib.smtpc_dkim_error(self._handle), rc)
        return rc

    def set_key_file(self, path: PathLike, password: Optional[str] = None) -> None:
        self._check(_ffi.lib.smtpc_dkim_set_key_file(
            self._handle, cstr(os.fspath(path), "key_file"), cstr(password, "password")))

    def set_key(self, pem: Union[bytes, str], password: Optional[str] = None) -> None:
        data = as_bytes(pem, "key")
        self._check(_ffi.lib.smtpc_dkim_set_key_mem(self._handle, data, len(data),
                                                    cstr(password, "password")))

    def set_algorithm(self, algorithm: str) -> None:
        if algorithm not in _ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(_ALGORITHMS)}")
        self._check(_ffi.lib.smtpc_dkim_set_algorithm(self._handle, _ALGORITHMS[algorithm]))

    def set_domain(self, domain: str) -> None:
        self._check(_ffi.lib.smtpc_dkim_set_domain(self._handle, cstr(domain, "domain")))

    def set_selector(self, selector: str) -> None:
        self._check(_ffi.lib.smtpc_dkim_set_selector(self._handle, cstr(selector, "selector")))

    def set_headers(self, names: Optional[Iterable[str]]) -> None:
        """The header names to sign; None restores the default list."""
        if names is None:
            self._check(_ffi.lib.smtpc_dkim_set_headers(self._handle, None, 0))
            return
        if isinstance(names, str):
            raise TypeError("headers is a list of names, not one str")
        raw = [cstr(n, "header name") for n in names]
        table = (ctypes.c_char_p * max(len(raw), 1))(*raw)
        self._check(_ffi.lib.smtpc_dkim_set_headers(self._handle, table, len(raw)))

    def set_canonicalization(self, value: Union[str, Tuple[str, str]]) -> None:
        header, body = _canonicalization(value)
        self._check(_ffi.lib.smtpc_dkim_set_canonicalization(self._handle, header, body))

    def set_oversign_from(self, on: bool) -> None:
        self._check(_ffi.lib.smtpc_dkim_set_oversign_from(self._handle, 1 if on else 0))

    def set_timestamps(self, timestamp: bool = True, expire: Optional[int] = None) -> None:
        """t= on or off; expire seconds for x= (None: no x=)."""
        if expire is not None and expire <= 0:
            raise ValueError("expire must be a positive number of seconds (None: no x=)")
        self._check(_ffi.lib.smtpc_dkim_set_timestamps(self._handle, 1 if timestamp else 0,
                                                       expire or 0))

    def sign_raw(self, data: Union[bytes, bytearray, memoryview, str]) -> bytes:
        """The DKIM-Signature header field (folded, ending in CRLF) for a
        raw RFC 5322 message; send it followed by exactly these bytes."""
        body = as_bytes(data, "data")
        cap = 2048
        for _ in range(2):
            buf = ctypes.create_string_buffer(cap)
            got = ctypes.c_size_t()
            rc = _ffi.lib.smtpc_dkim_sign_raw(self._handle, body, len(body), buf, cap,
                                              ctypes.byref(got))
            if rc == _ETOOLONG and got.value > cap:
                cap = got.value
                continue
            self._check(rc)
            return buf.raw[:got.value]
        self._check(rc)
        raise AssertionError("unreachable")  # pragma: no cover

    def _acquire(self) -> int:
        """For a message that borrows the signer (counted, so that close()
        cannot free it under one)."""
        ptr = self._handle
        self._users += 1
        return ptr

    def _release(self) -> None:
        self._users -= 1
        if self._ptr is None and self._users == 0:
            self._finalizer()

    def close(self) -> None:
        """Free the signer (its key is wiped) now, or, while messages still
        use it, when the last of them is freed."""
        self._ptr = None
        if self._users == 0:
            self._finalizer()

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def __enter__(self) -> "DKIMSigner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
