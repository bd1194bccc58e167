"""TLS settings (smtpc_tls_config)."""

from __future__ import annotations

import ctypes
import os
import weakref
from typing import Optional, Union

from . import _ffi
from ._handle import as_bytes, cstr, error_from_record
from .errors import StateError

PathLike = Union[str, "os.PathLike[str]"]

VERIFY_REQUIRED = 1
VERIFY_NONE = 2
_MIN_VERSIONS = {"1.2": 0x0303, "1.3": 0x0304}


def _free(ptr: int) -> None:
    _ffi.lib.smtpc_tls_config_free(ptr)


class TLSConfig:
    """Whom to trust and how to prove who we are, for STARTTLS and implicit
    TLS. Safe by default: the server's certificate chain, dates and host
    name are verified against the system bundle, TLS 1.2 at least.

    Args:
        cafile: a PEM bundle (or one DER certificate) of trust anchors; the
            first anchor given replaces the system bundle.
        capath: a directory of certificate files.
        cadata: PEM or DER certificates in memory (bytes or str).
        verify: False accepts any certificate (tests, or with a pin only).
        pin: SHA-256 of the server's SubjectPublicKeyInfo: 32 bytes, or 64
            hex digits (':' separators allowed); checked whatever verify is.
        client_cert, client_key: a client certificate and its key, as paths
            or as PEM/DER bytes; key_password for an encrypted key.
        server_name: the name to verify and send as SNI instead of the host.
        min_version: "1.2" (default) or "1.3".

    Raises NotSupportedError in a library built without TLS. One TLSConfig
    may be shared by several clients (the clients keep it alive); do not
    change it while a client is connected with it.
    """

    def __init__(self, *, cafile: Optional[PathLike] = None, capath: Optional[PathLike] = None,
                 cadata: Optional[Union[bytes, str]] = None, verify: bool = True,
                 pin: Optional[Union[bytes, str]] = None,
                 client_cert: Optional[Union[PathLike, bytes]] = None,
                 client_key: Optional[Union[PathLike, bytes]] = None,
                 key_password: Optional[str] = None, server_name: Optional[str] = None,
                 min_version: Optional[str] = None) -> None:
        out = ctypes.c_void_p()
        rc = _ffi.lib.smtpc_tls_config_new(None, ctypes.byref(out))
        if rc != 0:
            raise error_from_record(None, rc)
        self._ptr: Optional[int] = out.value
        self._users = 0
        self._finalizer = weakref.finalize(self, _free, out.value)
        if cafile is not None:
            self.add_ca_file(cafile)
        if capath is not None:
            self.add_ca_dir(capath)
        if cadata is not None:
            self.add_ca_data(cadata)
        if not verify:
            self.set_verify(False)
        if pin is not None:
            self.set_pin(pin)
        if client_cert is not None or client_key is not None:
            if client_cert is None or client_key is None:
                raise ValueError("client_cert and client_key go together")
            self.set_client_cert(client_cert, client_key, key_password)
        if server_name is not None:
            self.set_server_name(server_name)
        if min_version is not None:
            self.set_min_version(min_version)

    @property
    def _handle(self) -> int:
        if self._ptr is None:
            raise ValueError("the TLSConfig is closed")
        return self._ptr

    @property
    def _settable(self) -> int:
        # The library forbids changes while a TLS session uses the
        # configuration, and a client in another thread may be in one at
        # any moment (the GIL is released): settle it before sharing it.
        if self._users:
            raise StateError("a TLSConfig cannot change once given to a client; "
                             "make a new one", code=-2)
        return self._handle

    def _check(self, rc: int) -> None:
        if rc != 0:
            raise error_from_record(_ffi.lib.smtpc_tls_config_error(self._handle), rc)

    def add_ca_file(self, path: PathLike) -> None:
        """Trust the certificates in a PEM bundle or DER file."""
        self._check(_ffi.lib.smtpc_tls_config_add_ca_file(
            self._settable, cstr(os.fspath(path), "cafile")))

    def add_ca_dir(self, path: PathLike) -> None:
        """Trust every certificate file in a directory."""
        self._check(_ffi.lib.smtpc_tls_config_add_ca_dir(
            self._settable, cstr(os.fspath(path), "capath")))

    def add_ca_data(self, data: Union[bytes, str]) -> None:
        """Trust PEM (one or more) or DER certificates from memory."""
        raw = as_bytes(data, "cadata")
        self._check(_ffi.lib.smtpc_tls_config_add_ca_mem(self._settable, raw, len(raw)))

    def set_verify(self, verify: bool) -> None:
        """Turn certificate verification on (default) or off."""
        self._check(_ffi.lib.smtpc_tls_config_set_verify(
            self._settable, VERIFY_REQUIRED if verify else VERIFY_NONE))

    @property
    def verify(self) -> bool:
        return _ffi.lib.smtpc_tls_config_verify_mode(self._handle) == VERIFY_REQUIRED

    def set_pin(self, pin: Optional[Union[bytes, str]]) -> None:
        """Pin the server's public key (32 bytes or hex); None clears it."""
        if pin is None or isinstance(pin, str):
            self._check(_ffi.lib.smtpc_tls_config_set_pin_sha256_hex(
                self._settable, cstr(pin, "pin")))
        else:
            raw = bytes(pin)
            self._check(_ffi.lib.smtpc_tls_config_set_pin_sha256(self._settable, raw, len(raw)))

    def set_client_cert(self, cert: Union[PathLike, bytes], key: Union[PathLike, bytes],
                        password: Optional[str] = None) -> None:
        """A client certificate and key: both paths, or both bytes."""
        pw = cstr(password, "key_password")
        if isinstance(cert, (bytes, bytearray)) and isinstance(key, (bytes, bytearray)):
            c, k = bytes(cert), bytes(key)
            self._check(_ffi.lib.smtpc_tls_config_set_client_cert_mem(
                self._settable, c, len(c), k, len(k), pw))
        elif isinstance(cert, (bytes, bytearray)) or isinstance(key, (bytes, bytearray)):
            raise TypeError("give client_cert and client_key both as paths or both as bytes")
        else:
            self._check(_ffi.lib.smtpc_tls_config_set_client_cert_file(
                self._settable, cstr(os.fspath(cert), "client_cert"),
                cstr(os.fspath(key), "client_key"), pw))

    def set_server_name(self, name: Optional[str]) -> None:
        """Verify the certificate against (and send as SNI) this name."""
        self._check(_ffi.lib.smtpc_tls_config_set_server_name(
            self._settable, cstr(name, "server_name")))

    def set_min_version(self, version: str) -> None:
        """The lowest TLS version accepted: "1.2" or "1.3"."""
        if version not in _MIN_VERSIONS:
            raise ValueError(f"min_version must be one of {sorted(_MIN_VERSIONS)}")
        self._check(_ffi.lib.smtpc_tls_config_set_min_version(
            self._settable, _MIN_VERSIONS[version]))

    def _acquire(self) -> int:
        """For a client that borrows the C configuration (it must outlive
        the client): counted, so that close() cannot free it under one."""
        ptr = self._handle
        self._users += 1
        return ptr

    def _release(self) -> None:
        self._users -= 1
        if self._ptr is None and self._users == 0:
            self._finalizer()

    def close(self) -> None:
        """Free the configuration now, or, while clients still use it, when
        the last of them is closed. No further change is allowed."""
        self._ptr = None
        if self._users == 0:
            self._finalizer()

    def __enter__(self) -> "TLSConfig":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
