"""The streaming MIME message builder (smtpc_message)."""

from __future__ import annotations

import ctypes
import datetime as _dt
import os
import weakref
from typing import (TYPE_CHECKING, Any, BinaryIO, Callable, Dict, Iterable, Iterator, List, Mapping, Optional,
                    Tuple, Union)

from . import _ffi
from ._handle import (Guard, Pending, as_bytes, cstr, error_from_record, make_reader,
                      make_rewinder, remaining_size, reraise)
from .errors import StateError

if TYPE_CHECKING:  # pragma: no cover
    from .dkim import DKIMSigner

PathLike = Union[str, "os.PathLike[str]"]
# An address: "a@example.org", or ("Display Name", "a@example.org") in the
# order of email.utils.formataddr.
Address = Union[str, Tuple[Optional[str], str]]
# What a part's content may come from: bytes in memory, a path, or a binary
# file object (streamed through the library's read callback).
Source = Union[bytes, bytearray, memoryview, PathLike, BinaryIO]

FLAG_8BITMIME = 0x1
FLAG_SMTPUTF8 = 0x2
FLAG_ESCAPE_FROM = 0x4
FLAG_REQUIRETLS = 0x100
DSN_RET = {"full": 1, "hdrs": 2}
DSN_NOTIFY = {"never": 0x1, "success": 0x2, "failure": 0x4, "delay": 0x8}
_MEM_BORROW = 1
_CHUNK = 64 * 1024


def _split_address(addr: Address) -> Tuple[Optional[str], str]:
    if isinstance(addr, tuple):
        name, address = addr
        return name, address
    return None, addr


def _free(ptr: int, keep: Dict[Any, Any]) -> None:
    # keep holds every buffer, callback and signer the C message borrows:
    # freeing the message first, then letting them go, is the safe order.
    _ffi.lib.smtpc_message_free(ptr)
    signers = [v for k, v in keep.items() if isinstance(k, tuple) and k[0] == "dkim"]
    keep.clear()
    for signer in signers:
        signer._release()


class Message:
    """An RFC 5322 message built by the library, streamed in constant memory
    whatever the size of its parts.

    All arguments are optional and keyword-only; each has a method to set it
    later. Addresses are "a@example.org" or ("Name", "a@example.org").

    Args:
        sender: the From mailbox (required before the message is read).
        to, cc, bcc, reply_to: one address or a list; Bcc never appears in
            the headers, only in the envelope.
        subject, text, html: the Subject and the text/plain and text/html
            bodies (str, or UTF-8 bytes).
        headers: extra headers, a mapping or (name, value) pairs.
        date: a str (verbatim) or a timezone-aware datetime; default: now.
        message_id: "<left@right>"; default: generated.
        eightbit: the server takes 8BITMIME (non-ASCII text may go 8bit).
        smtputf8: SMTPUTF8 in use: raw UTF-8 headers and addresses.
        escape_from: protect lines starting with "From " from mbox mangling.
        require_tls: REQUIRETLS (RFC 8689): sent only over verified TLS to
            a server offering REQUIRETLS, else RequireTLSError before MAIL.

    Delivery status notifications: set_dsn() and set_rcpt_dsn().
    DKIM: add_dkim(DKIMSigner(...)).

    The message borrows nothing from the caller except file objects given
    to attach()/add_inline(), which must stay open until it is sent or
    closed. Free it with close() or a with block (or leave it to the
    garbage collector).
    """

    def __init__(self, *, sender: Optional[Address] = None,
                 to: Union[Address, Iterable[Address]] = (),
                 cc: Union[Address, Iterable[Address]] = (),
                 bcc: Union[Address, Iterable[Address]] = (),
                 reply_to: Union[Address, Iterable[Address]] = (),
                 subject: Optional[str] = None, text: Optional[Union[str, bytes]] = None,
                 html: Optional[Union[str, bytes]] = None,
                 headers: Optional[Union[Mapping[str, str], Iterable[Tuple[str, str]]]] = None,
                 date: Optional[Union[str, _dt.datetime]] = None,
                 message_id: Optional[str] = None, eightbit: bool = False,
                 smtputf8: bool = False, escape_from: bool = False,
                 require_tls: bool = False) -> None:
        out = ctypes.c_void_p()
        rc = _ffi.lib.smtpc_message_new(None, ctypes.byref(out))
        if rc != 0:
            raise error_from_record(None, rc)
        self._ptr: Optional[int] = out.value
        self._keep: Dict[Any, Any] = {}
        self._finalizer = weakref.finalize(self, _free, out.value, self._keep)
        self._guard = Guard("message")
        self._pending = Pending()
        self._flags = 0
        self.set_flags(eightbit=eightbit, smtputf8=smtputf8, escape_from=escape_from,
                       require_tls=require_tls)
        if sender is not None:
            self.set_from(sender)
        for setter, value in ((self.add_to, to), (self.add_cc, cc), (self.add_bcc, bcc),
                              (self.add_reply_to, reply_to)):
            single = isinstance(value, str) or (isinstance(value, tuple) and len(value) == 2)
            for addr in ([value] if single else value):
                setter(addr)
        if subject is not None:
            self.set_subject(subject)
        if date is not None:
            self.set_date(date)
        if message_id is not None:
            self.set_message_id(message_id)
        items = headers.items() if isinstance(headers, Mapping) else (headers or ())
        for name, value in items:
            self.add_header(name, value)
        if text is not None:
            self.set_text(text)
        if html is not None:
            self.set_html(html)

    # --- plumbing ---------------------------------------------------------

    @property
    def _handle(self) -> int:
        if self._ptr is None:
            raise ValueError("the message is closed")
        return self._ptr

    def _error(self, rc: int) -> Any:
        return error_from_record(_ffi.lib.smtpc_message_error(self._handle), rc)

    def _call(self, fn: Callable[..., int], *args: Any, mutate: bool = True) -> int:
        """Run fn(handle, *args) under the guard; raise on a negative
        result or an exception from a callback."""
        with self._guard:
            if mutate and self._guard.depth > 1:
                # The library does not check this on messages (smtpc.h,
                # Callbacks): changing a message while it is being read
                # would pull memory from under the reader.
                raise StateError("the message cannot change while it is being read "
                                 "(inside one of its callbacks)", code=-2)
            rc = fn(self._handle, *args)
            reraise(self._pending, self._error(rc) if rc < 0 else None)
            return rc

    def _keep_bytes(self, data: bytes) -> bytes:
        # Given to C as SMTPC_MEM_BORROW: bytes are immutable and kept here
        # until the message is freed, so the library needs no copy.
        self._keep[("buf", id(data), len(self._keep))] = data
        return data

    # --- settings ---------------------------------------------------------

    def set_flags(self, *, eightbit: bool = False, smtputf8: bool = False,
                  escape_from: bool = False, require_tls: bool = False) -> None:
        """Replace the flags (see the class docstring)."""
        flags = ((FLAG_8BITMIME if eightbit else 0) | (FLAG_SMTPUTF8 if smtputf8 else 0)
                 | (FLAG_ESCAPE_FROM if escape_from else 0)
                 | (FLAG_REQUIRETLS if require_tls else 0))
        self._call(_ffi.lib.smtpc_message_set_flags, flags)
        self._flags = flags

    def _address(self, fn: Callable[..., int], addr: Address, what: str) -> None:
        name, address = _split_address(addr)
        self._call(fn, cstr(address, what), cstr(name, what + " display name"))

    def set_from(self, address: Address, name: Optional[str] = None) -> None:
        """The From mailbox."""
        self._address(_ffi.lib.smtpc_message_set_from,
                      (name, address) if name is not None else address, "From")

    def add_to(self, address: Address, name: Optional[str] = None) -> None:
        self._address(_ffi.lib.smtpc_message_add_to,
                      (name, address) if name is not None else address, "To")

    def add_cc(self, address: Address, name: Optional[str] = None) -> None:
        self._address(_ffi.lib.smtpc_message_add_cc,
                      (name, address) if name is not None else address, "Cc")

    def add_bcc(self, address: Address, name: Optional[str] = None) -> None:
        """A Bcc recipient: in the envelope only, never in the headers."""
        self._address(_ffi.lib.smtpc_message_add_bcc,
                      (name, address) if name is not None else address, "Bcc")

    def add_reply_to(self, address: Address, name: Optional[str] = None) -> None:
        self._address(_ffi.lib.smtpc_message_add_reply_to,
                      (name, address) if name is not None else address, "Reply-To")

    def set_subject(self, subject: Optional[str]) -> None:
        """The Subject (None removes it); non-ASCII is encoded for you."""
        self._call(_ffi.lib.smtpc_message_set_subject, cstr(subject, "subject"))

    def set_date(self, date: Optional[Union[str, _dt.datetime]]) -> None:
        """The Date header: a str used verbatim, or an aware datetime; None:
        the clock's time when the message is first read."""
        if isinstance(date, _dt.datetime):
            import email.utils
            if date.tzinfo is None:
                raise ValueError("date must be timezone-aware")
            date = email.utils.format_datetime(date)
        self._call(_ffi.lib.smtpc_message_set_date, cstr(date, "date"))

    def set_message_id(self, message_id: Optional[str]) -> None:
        """"<left@right>"; None: generated when first read."""
        self._call(_ffi.lib.smtpc_message_set_message_id, cstr(message_id, "message_id"))

    def add_header(self, name: str, value: str) -> None:
        """Any other header (not one of those with their own setter)."""
        self._call(_ffi.lib.smtpc_message_add_header, cstr(name, "header name"),
                   cstr(value, "header value"))

    def set_clock(self, clock: Optional[Callable[[], _dt.datetime]]) -> None:
        """The time source for Date: a callable returning an aware datetime
        (None: the system clock). Called once, when first read or sized."""
        if clock is None:
            self._call(_ffi.lib.smtpc_message_set_clock, _ffi.CLOCK_FN(), None)
            self._keep.pop("clock", None)
            return
        pending = self._pending

        def cb(_user: Any, unix_time: Any, offset: Any) -> int:
            try:
                now = clock()
                delta = now.utcoffset()
                if delta is None:
                    raise ValueError("the clock must return a timezone-aware datetime")
                unix_time[0] = int(now.timestamp())
                offset[0] = int(delta.total_seconds() // 60)
                return 0
            except BaseException as exc:  # noqa: B902 - re-raised after the C call
                pending.store(exc)
                return -1

        fn = _ffi.CLOCK_FN(cb)
        self._call(_ffi.lib.smtpc_message_set_clock, fn, None)
        self._keep["clock"] = fn

    def set_random(self, random: Optional[Callable[[int], bytes]]) -> None:
        """The random source for boundaries and Message-ID: random(n) returns
        n bytes (None: the library's CSPRNG). For reproducible tests."""
        if random is None:
            self._call(_ffi.lib.smtpc_message_set_random, _ffi.RANDOM_FN(), None)
            self._keep.pop("random", None)
            return
        pending = self._pending

        def cb(_user: Any, buf: Any, n: int) -> int:
            try:
                data = bytes(random(n))
                if len(data) != n:
                    raise ValueError(f"random({n}) returned {len(data)} bytes")
                ctypes.memmove(buf, data, n)
                return 0
            except BaseException as exc:  # noqa: B902 - re-raised after the C call
                pending.store(exc)
                return -1

        fn = _ffi.RANDOM_FN(cb)
        self._call(_ffi.lib.smtpc_message_set_random, fn, None)
        self._keep["random"] = fn

    # --- delivery status notifications (RFC 3461) --------------------------

    def set_dsn(self, ret: Optional[str] = None, envid: Optional[str] = None) -> None:
        """RET and ENVID on MAIL FROM. ret: "full" (the whole message in a
        failure report), "hdrs" (its headers) or None (the server's
        choice); envid: an identifier echoed in the reports (no CR/LF, at
        most 100 octets xtext-encoded). Sending to a server without DSN
        then raises NoDSNError before MAIL (see Client(allow_no_dsn=...)).
        The message's bytes do not change."""
        if ret is not None and ret not in DSN_RET:
            raise ValueError(f"ret must be one of {', '.join(DSN_RET)} or None")
        self._call(_ffi.lib.smtpc_message_set_dsn, DSN_RET.get(ret or "", 0),
                   cstr(envid, "envid"))

    def set_rcpt_dsn(self, address: Optional[str],
                     notify: Optional[Union[str, Iterable[str]]] = None,
                     orcpt: Optional[str] = None) -> None:
        """NOTIFY (and ORCPT) for one envelope recipient, or, address None,
        NOTIFY for every recipient without its own entry (orcpt must then
        be None). notify: "never", or any of "success", "failure", "delay"
        (a list, or a comma-separated str); None: no NOTIFY."""
        words = ([] if notify is None else
                 [w.strip() for w in notify.split(",")] if isinstance(notify, str)
                 else list(notify))
        mask = 0
        for word in words:
            if word.lower() not in DSN_NOTIFY:
                raise ValueError(f"unknown NOTIFY value {word!r} "
                                 f"(one of {', '.join(DSN_NOTIFY)})")
            mask |= DSN_NOTIFY[word.lower()]
        self._call(_ffi.lib.smtpc_message_set_rcpt_dsn, cstr(address, "address"), mask,
                   cstr(orcpt, "orcpt"))

    # --- DKIM -------------------------------------------------------------

    def add_dkim(self, signer: "DKIMSigner") -> None:
        """Sign the message with signer (a DKIM-Signature header first, one
        per signer, in the order added). The signer stays alive while the
        message does. Every part must be rewindable (bytes, paths, seekable
        file objects): the body is read twice. NotSupportedError in a
        library built without DKIM."""
        from .dkim import DKIMSigner
        if not isinstance(signer, DKIMSigner):
            raise TypeError(f"add_dkim takes a DKIMSigner, not {type(signer).__name__}")
        ptr = signer._acquire()
        try:
            self._call(_ffi.lib.smtpc_message_add_dkim, ptr)
        except BaseException:
            signer._release()
            raise
        self._keep[("dkim", id(signer))] = signer

    # --- bodies -----------------------------------------------------------

    def set_text(self, text: Optional[Union[str, bytes]]) -> None:
        """The text/plain body (None removes it)."""
        self._body(_ffi.lib.smtpc_message_set_text, text, "text")

    def set_html(self, html: Optional[Union[str, bytes]]) -> None:
        """The text/html body (None removes it)."""
        self._body(_ffi.lib.smtpc_message_set_html, html, "html")

    def _body(self, fn: Callable[..., int], value: Optional[Union[str, bytes]],
              what: str) -> None:
        if value is None:
            self._call(fn, None, 0, 0)
            return
        data = self._keep_bytes(as_bytes(value, what))
        self._call(fn, data, len(data), _MEM_BORROW)

    # --- parts ------------------------------------------------------------

    def attach(self, source: Source, filename: Optional[str] = None,
               content_type: Optional[str] = None, *, size: Optional[int] = None) -> None:
        """Add an attachment from bytes, a path (str or os.PathLike), or a
        binary file object (read through the library's read callback as the
        message is sent; size: its byte count when not seekable).
        content_type: "type/subtype", default guessed from the filename."""
        self._part(source, None, filename, content_type, size)

    def add_inline(self, source: Source, content_id: str, filename: Optional[str] = None,
                   content_type: Optional[str] = None, *, size: Optional[int] = None) -> None:
        """Add an inline part (multipart/related) that the HTML body refers
        to as "cid:<content_id>"; sources as for attach()."""
        self._part(source, content_id, filename, content_type, size)

    def _part(self, source: Source, content_id: Optional[str], filename: Optional[str],
              content_type: Optional[str], size: Optional[int]) -> None:
        lib = _ffi.lib
        inline = content_id is not None
        cid = cstr(content_id, "content_id")
        name = cstr(filename, "filename")
        ctype = cstr(content_type, "content_type")
        tail = ((cid,) if inline else ()) + (name, ctype)
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = self._keep_bytes(as_bytes(source, "attachment"))
            fn = lib.smtpc_message_inline_mem if inline else lib.smtpc_message_attach_mem
            self._call(fn, data, len(data), _MEM_BORROW, *tail)
        elif isinstance(source, (str, os.PathLike)):
            fn = lib.smtpc_message_inline_file if inline else lib.smtpc_message_attach_file
            self._call(fn, cstr(os.fspath(source), "path"), *tail)
        elif hasattr(source, "read"):
            reader = make_reader(source, self._pending)
            rewinder = make_rewinder(source, self._pending)
            total = remaining_size(source) if size is None else size
            fn = lib.smtpc_message_inline_reader if inline else lib.smtpc_message_attach_reader
            self._call(fn, reader, rewinder or _ffi.REWIND_FN(), None, total, *tail)
            self._keep[("reader", id(reader))] = (source, reader, rewinder)
        else:
            raise TypeError("a part comes from bytes, a path or a binary file object, "
                            f"not {type(source).__name__}")

    # --- reading ----------------------------------------------------------

    def read(self, size: int = _CHUNK) -> bytes:
        """The next bytes of the serialized message (CRLF line ends), b""
        at the end. The first read fixes Date, Message-ID and boundaries."""
        if size < 1:
            raise ValueError("size must be at least 1")
        buf = ctypes.create_string_buffer(size)
        got = ctypes.c_size_t()
        self._call(_ffi.lib.smtpc_message_read, buf, size, ctypes.byref(got), mutate=False)
        return buf.raw[:got.value]

    def rewind(self) -> None:
        """Start reading again from the first byte (rewinding file objects)."""
        self._call(_ffi.lib.smtpc_message_rewind, mutate=False)

    def __iter__(self) -> Iterator[bytes]:
        """The message in chunks, from the start."""
        self.rewind()
        while True:
            chunk = self.read()
            if not chunk:
                return
            yield chunk

    def as_bytes(self) -> bytes:
        """The whole message, read from the start."""
        return b"".join(self)

    __bytes__ = as_bytes

    def write_to(self, out: BinaryIO) -> int:
        """Write the whole message to a binary file object; the byte count."""
        n = 0
        for chunk in self:
            out.write(chunk)
            n += len(chunk)
        return n

    def size(self) -> Optional[int]:
        """The exact size in bytes, or None when a file-object part's size
        is unknown."""
        out = ctypes.c_int64()
        with self._guard:
            rc = _ffi.lib.smtpc_message_size(self._handle, ctypes.byref(out))
            if rc == -122:  # SMTPC_ESIZEUNKNOWN
                reraise(self._pending, None)
                return None
            reraise(self._pending, self._error(rc) if rc < 0 else None)
        return out.value

    def mail_flags(self) -> int:
        """The SMTPC_MAIL_* flags a transaction carrying it needs."""
        return self._call(_ffi.lib.smtpc_message_mail_flags, mutate=False)

    @property
    def from_address(self) -> Optional[str]:
        value = _ffi.lib.smtpc_message_from_address(self._handle)
        return None if value is None else _ffi.decode(value)

    def envelope_recipients(self) -> List[str]:
        """The To, Cc and Bcc addresses in order (duplicates kept)."""
        lib = _ffi.lib
        n = lib.smtpc_message_envelope_rcpts(self._handle, None, 0)
        table = (ctypes.c_char_p * max(n, 1))()
        lib.smtpc_message_envelope_rcpts(self._handle, table, n)
        return [_ffi.decode(table[i]) for i in range(n)]

    # --- lifetime ---------------------------------------------------------

    def close(self) -> None:
        """Free the message now (idempotent)."""
        with self._guard:
            if self._guard.depth > 1:
                raise StateError("a message cannot be closed inside its own callbacks",
                                 code=-2)
            self._ptr = None
            self._finalizer()

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def __enter__(self) -> "Message":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
