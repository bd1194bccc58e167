"""The blocking SMTP client (smtpc_client)."""

from __future__ import annotations

import ctypes
import weakref
from dataclasses import dataclass, field
from typing import (Any, BinaryIO, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional,
                    Tuple, Union)

from . import _ffi
from ._handle import Guard, Pending, as_bytes, cstr, error_from_record, make_reader, reraise
from .errors import SMTPError
from .message import Message
from .tls import TLSConfig

SECURITY = {"starttls": 0, "starttls-optional": 1, "tls": 2, "plain": 3}
AUTH_MECHANISMS = {"PLAIN": 0x01, "LOGIN": 0x02, "CRAM-MD5": 0x04, "XOAUTH2": 0x08,
                   "OAUTHBEARER": 0x10, "SCRAM-SHA-256": 0x20}
TIMEOUT_STAGES = {"connect": 0, "greeting": 1, "command": 2, "mail": 3, "rcpt": 4,
                  "data_init": 5, "data_block": 6, "data_end": 7, "tls": 8, "message": 9}
CAPABILITIES = {"PIPELINING": 0x001, "8BITMIME": 0x002, "SMTPUTF8": 0x004, "STARTTLS": 0x008,
                "SIZE": 0x010, "AUTH": 0x020, "CHUNKING": 0x040, "DSN": 0x080,
                "ENHANCEDSTATUSCODES": 0x100, "EHLO": 0x200, "REQUIRETLS": 0x800,
                "BINARYMIME": 0x1000}
MESSAGE_STATUS = {0: "not-sent", 1: "accepted", 2: "rejected", 3: "unknown"}
_TRACE_DIRECTIONS = {1: "send", 2: "recv", 3: "info"}
_MAIL_8BITMIME = 0x1

TraceFn = Callable[[str, str], Any]
Body = Union[bytes, bytearray, memoryview, str, BinaryIO]
# One message of a batch: a Message (envelope from its headers), or raw
# (sender, recipients, data) with data in memory.
BatchEntry = Union[Message, Tuple[str, Union[str, Iterable[str]],
                                  Union[bytes, bytearray, memoryview, str]]]


@dataclass(frozen=True)
class RecipientResult:
    """The server's answer to one RCPT TO."""
    address: str
    accepted: bool
    reply_code: int
    enhanced: str
    text: str


@dataclass(frozen=True)
class SendResult:
    """The outcome of one message: each recipient's result in the order
    given, and the message's fate ("accepted", "rejected", "not-sent" or
    "unknown"). error: for a message of a batch that failed, the exception
    that send() would have raised (None when accepted); send() and
    send_message() raise it instead."""
    recipients: List[RecipientResult] = field(default_factory=list)
    status: str = "not-sent"
    error: Optional[SMTPError] = None

    @property
    def accepted(self) -> List[RecipientResult]:
        return [r for r in self.recipients if r.accepted]

    @property
    def refused(self) -> List[RecipientResult]:
        return [r for r in self.recipients if not r.accepted]


def _free(ptr: int, keep: Dict[str, Any]) -> None:
    lib = _ffi.lib
    # No trace while the client is torn down (possibly inside the garbage
    # collector, where a Python exception has nowhere to go).
    lib.smtpc_client_set_trace(ptr, _ffi.TRACE_FN(), None)
    lib.smtpc_client_free(ptr)
    tls = keep.pop("tls", None)
    keep.clear()
    if tls is not None:
        tls._release()


class Client:
    """An SMTP client session.

        with smtpc.Client("mail.example.org", 587, security="starttls",
                          user="me", password="secret") as c:
            c.send("me@example.org", ["you@example.org"], raw_bytes)

    The with block connects (unless already connected) and ends with QUIT;
    close() drops the connection without QUIT and frees the C handle (the
    garbage collector does the same for a forgotten client).

    Args:
        host, port: the server (port default: 587, or 465 with "tls").
        security: "starttls" (default: STARTTLS required), "starttls-optional",
            "tls" (implicit TLS from the first byte) or "plain".
        user, password: credentials for AUTH; or user, oauth_token.
        auth_mechanisms: names allowed ("PLAIN", "LOGIN", "CRAM-MD5",
            "SCRAM-SHA-256", "XOAUTH2", "OAUTHBEARER"); default all.
        allow_plaintext_auth: send credentials without TLS (default no).
        tls: a TLSConfig; or its settings as keywords (cafile, capath,
            cadata, verify, pin, client_cert, client_key, key_password,
            server_name, min_tls_version). Neither: the system trust store.
        timeout: seconds for every stage but the whole-message bound;
            timeouts: {"connect": s, "greeting": s, "command": s, "mail": s,
            "rcpt": s, "data_init": s, "data_block": s, "data_end": s,
            "tls": s, "message": s}, None meaning no limit.
        ehlo_name: the name sent in EHLO (default "localhost").
        allow_no_dsn: send a message asking for DSN to a server without
            DSN, dropping the request (default no: NoDSNError).
        chunking: use BDAT when offered (default True).
        binarymime: send built messages' attachments unencoded when the
            server offers BINARYMIME and CHUNKING (default True).
        io_buffer, output_buffer: buffer sizes in bytes for the next
            connect (default 4096 and 16384; at least 256 and 1024).
        trace: a callable trace(direction, line) with direction "send",
            "recv" or "info"; secrets are redacted by the library.

    Errors raise smtpc.SMTPError subclasses. An exception raised by the
    trace callable or by a file object's read() is re-raised by the call
    that invoked it, once the library has returned.

    A Client is not thread-safe: using it from a second thread while a call
    runs raises RuntimeError. Blocking calls release the GIL.
    """

    def __init__(self, host: Optional[str] = None, port: Optional[Union[int, str]] = None, *,
                 security: str = "starttls", user: Optional[str] = None,
                 password: Optional[str] = None, oauth_token: Optional[str] = None,
                 auth_mechanisms: Optional[Iterable[str]] = None,
                 allow_plaintext_auth: bool = False, tls: Optional[TLSConfig] = None,
                 cafile: Optional[str] = None, capath: Optional[str] = None,
                 cadata: Optional[Union[bytes, str]] = None, verify: bool = True,
                 pin: Optional[Union[bytes, str]] = None, client_cert: Any = None,
                 client_key: Any = None, key_password: Optional[str] = None,
                 server_name: Optional[str] = None, min_tls_version: Optional[str] = None,
                 timeout: Optional[float] = None,
                 timeouts: Optional[Mapping[str, Optional[float]]] = None,
                 ehlo_name: Optional[str] = None, allow_no_dsn: bool = False,
                 chunking: Optional[bool] = None, binarymime: Optional[bool] = None,
                 io_buffer: Optional[int] = None, output_buffer: Optional[int] = None,
                 trace: Optional[TraceFn] = None) -> None:
        out = ctypes.c_void_p()
        rc = _ffi.lib.smtpc_client_new(None, ctypes.byref(out))
        if rc != 0:
            raise error_from_record(None, rc)
        self._ptr: Optional[int] = out.value
        # What the C client borrows (the trace callback, the TLS
        # configuration), kept alive until it is freed.
        self._keep: Dict[str, Any] = {}
        self._finalizer = weakref.finalize(self, _free, out.value, self._keep)
        self._guard = Guard("client")
        self._pending = Pending()
        self._close_deferred = False
        self.last_result: Optional[SendResult] = None
        self._sent_rcpts: List[str] = []

        if host is not None:
            self.set_server(host, port)
        self.set_security(security)
        tls_kwargs = dict(cafile=cafile, capath=capath, cadata=cadata, pin=pin,
                          client_cert=client_cert, client_key=client_key,
                          key_password=key_password, server_name=server_name,
                          min_version=min_tls_version)
        given = {k: v for k, v in tls_kwargs.items() if v is not None}
        if tls is not None and (given or not verify):
            raise ValueError("give either tls=TLSConfig(...) or TLS keywords, not both")
        if tls is None and (given or not verify):
            tls = TLSConfig(verify=verify, **given)
        if tls is not None:
            self.set_tls(tls)
        if user is not None:
            if oauth_token is not None:
                self.set_oauth_token(user, oauth_token)
            else:
                self.set_credentials(user, password)
        elif password is not None or oauth_token is not None:
            raise ValueError("password and oauth_token need a user")
        if auth_mechanisms is not None:
            self.set_auth_mechanisms(auth_mechanisms)
        if allow_plaintext_auth:
            self.allow_plaintext_auth(True)
        if timeout is not None:
            for stage in TIMEOUT_STAGES:
                if stage != "message":
                    self.set_timeout(stage, timeout)
        for stage, seconds in (timeouts or {}).items():
            self.set_timeout(stage, seconds)
        if ehlo_name is not None:
            self.set_ehlo_name(ehlo_name)
        if allow_no_dsn:
            self.allow_no_dsn(True)
        if chunking is not None:
            self.set_chunking(chunking)
        if binarymime is not None:
            self.set_binarymime(binarymime)
        if io_buffer is not None or output_buffer is not None:
            self.set_buffers(io_buffer, output_buffer)
        if trace is not None:
            self.set_trace(trace)

    # --- plumbing ---------------------------------------------------------

    @property
    def _handle(self) -> int:
        if self._ptr is None:
            raise ValueError("the client is closed")
        return self._ptr

    def _error(self, rc: int, **extra: Any) -> SMTPError:
        return error_from_record(_ffi.lib.smtpc_client_error(self._handle), rc, **extra)

    def _call(self, fn: Callable[..., int], *args: Any,
              message: Optional[Message] = None, result: bool = False,
              messages: Iterable[Message] = (), check: bool = True) -> int:
        """fn(handle, *args) under the guard. Raises an exception from a
        callback (the trace, a message's file objects), else the library's
        error for a negative result unless check is False."""
        with self._guard:
            try:
                rc = fn(self._handle, *args)
                res = self._result() if result else None
                if result:
                    self.last_result = res
                error = self._error(rc, result=res) if rc < 0 and check else None
                for m in ([message] if message is not None else []) + list(messages):
                    if m._pending.exc is not None:
                        self._pending.store(m._pending.take())
                reraise(self._pending, error)
                return rc
            finally:
                if self._close_deferred and self._guard.depth == 1:
                    self._close_deferred = False
                    self._ptr = None
                    self._finalizer()

    def _engine(self) -> int:
        return _ffi.lib.smtpc_client_engine(self._handle)

    def _result(self) -> SendResult:
        return self._result_of(self._engine(), self._sent_rcpts)

    @staticmethod
    def _result_of(e: int, names: List[str], error: Optional[SMTPError] = None) -> SendResult:
        lib = _ffi.lib
        n = lib.smtpc_engine_rcpt_count(e)
        rcpts = [RecipientResult(
            address=names[i] if i < len(names) else "",
            accepted=bool(lib.smtpc_engine_rcpt_accepted(e, i)),
            reply_code=lib.smtpc_engine_rcpt_reply_code(e, i),
            enhanced=_ffi.decode(lib.smtpc_engine_rcpt_enhanced(e, i)),
            text=_ffi.decode(lib.smtpc_engine_rcpt_reply_text(e, i))) for i in range(n)]
        status = MESSAGE_STATUS.get(lib.smtpc_engine_message_status(e), "unknown")
        return SendResult(rcpts, status, error)

    # --- settings ---------------------------------------------------------

    def set_server(self, host: str, port: Optional[Union[int, str]] = None) -> None:
        self._call(_ffi.lib.smtpc_client_set_server, cstr(host, "host"),
                   cstr(None if port is None else str(port), "port"))

    def set_security(self, security: str) -> None:
        """"starttls", "starttls-optional", "tls" or "plain"."""
        if security not in SECURITY:
            raise ValueError(f"security must be one of {', '.join(SECURITY)}")
        self._call(_ffi.lib.smtpc_client_set_security, SECURITY[security])

    def set_tls(self, tls: TLSConfig) -> None:
        """Use this TLS configuration (kept alive while the client lives)."""
        ptr = tls._acquire()
        try:
            self._call(_ffi.lib.smtpc_client_set_tls_config, ptr)
        except BaseException:
            tls._release()
            raise
        old = self._keep.get("tls")
        self._keep["tls"] = tls
        if old is not None:
            old._release()

    def set_credentials(self, user: str, password: Optional[str]) -> None:
        self._call(_ffi.lib.smtpc_client_set_credentials, cstr(user, "user"),
                   cstr(password or "", "password"))

    def set_oauth_token(self, user: str, token: str) -> None:
        self._call(_ffi.lib.smtpc_client_set_oauth_token, cstr(user, "user"),
                   cstr(token, "oauth_token"))

    def set_auth_mechanisms(self, names: Iterable[str]) -> None:
        mask = 0
        for name in names:
            if name.upper() not in AUTH_MECHANISMS:
                raise ValueError(f"unknown AUTH mechanism {name!r}")
            mask |= AUTH_MECHANISMS[name.upper()]
        self._call(_ffi.lib.smtpc_client_set_auth_mechanisms, mask)

    def allow_plaintext_auth(self, allow: bool = True) -> None:
        self._call(_ffi.lib.smtpc_client_allow_plaintext_auth, 1 if allow else 0)

    def allow_no_dsn(self, allow: bool = True) -> None:
        """Send a message asking for DSN to a server without DSN, without the
        request (default: NoDSNError before MAIL)."""
        self._call(_ffi.lib.smtpc_client_allow_no_dsn, 1 if allow else 0)

    def set_chunking(self, use: bool) -> None:
        """BDAT (RFC 3030) when the server offers CHUNKING (default on)."""
        self._call(_ffi.lib.smtpc_client_set_chunking, 1 if use else 0)

    def set_binarymime(self, use: bool) -> None:
        """Unencoded attachments with BODY=BINARYMIME when the server offers
        BINARYMIME and CHUNKING (default on)."""
        self._call(_ffi.lib.smtpc_client_set_binarymime, 1 if use else 0)

    def set_buffers(self, io_bytes: Optional[int] = None,
                    output_bytes: Optional[int] = None) -> None:
        """Receive and output buffer sizes for the next connect (None: the
        default). InvalidArgumentError when out of range."""
        for value in (io_bytes, output_bytes):
            if value is not None and value < 1:
                # 0 would silently mean "default" in C.
                raise ValueError("buffer sizes must be positive (None: the default)")
        self._call(_ffi.lib.smtpc_client_set_buffers, io_bytes or 0, output_bytes or 0)

    def set_timeout(self, stage: str, seconds: Optional[float]) -> None:
        """One stage's timeout in seconds (None: no limit)."""
        if stage not in TIMEOUT_STAGES:
            raise ValueError(f"stage must be one of {', '.join(TIMEOUT_STAGES)}")
        ms = -1 if seconds is None else int(seconds * 1000)
        if seconds is not None and ms < 0:
            raise ValueError("a timeout cannot be negative")
        self._call(_ffi.lib.smtpc_client_set_timeout, TIMEOUT_STAGES[stage], ms)

    def set_ehlo_name(self, name: str) -> None:
        self._call(_ffi.lib.smtpc_client_set_ehlo_name, cstr(name, "ehlo_name"))

    def set_trace(self, trace: Optional[TraceFn]) -> None:
        """trace(direction, line) for every line ("send", "recv", "info");
        None turns tracing off."""
        if trace is None:
            self._call(_ffi.lib.smtpc_client_set_trace, _ffi.TRACE_FN(), None)
            self._keep.pop("trace", None)
            return
        pending = self._pending

        def cb(_user: Any, direction: int, text: Any, length: int) -> None:
            try:
                line = ctypes.string_at(text, length).decode("utf-8", "replace")
                trace(_TRACE_DIRECTIONS.get(direction, "info"), line)
            except BaseException as exc:  # noqa: B902 - re-raised after the C call
                pending.store(exc)

        fn = _ffi.TRACE_FN(cb)
        self._call(_ffi.lib.smtpc_client_set_trace, fn, None)
        self._keep["trace"] = fn

    # --- session ----------------------------------------------------------

    def connect(self) -> None:
        """Connect, greet, STARTTLS per the security level, authenticate."""
        self._call(_ffi.lib.smtpc_client_connect)

    @property
    def connected(self) -> bool:
        return self._ptr is not None and bool(_ffi.lib.smtpc_client_connected(self._ptr))

    @staticmethod
    def _rcpt_table(recipients: Union[str, Iterable[str]]) -> Tuple[List[str], Any]:
        names = [recipients] if isinstance(recipients, str) else list(recipients)
        table = (ctypes.c_char_p * max(len(names), 1))(
            *[cstr(r, "recipient") for r in names])
        return names, table

    def send(self, sender: str, recipients: Union[str, Iterable[str]], data: Body, *,
             size: Optional[int] = None, eightbit: bool = False) -> SendResult:
        """Send a raw RFC 5322 message (headers, blank line, body; any line
        endings) to recipients. data is bytes (or str, sent as UTF-8), or a
        binary file object streamed through the read callback; for a file
        object, size is its exact length with CRLF line ends when known
        (default: none declared) and eightbit declares BODY=8BITMIME.

        Returns the per-recipient results when the server accepted the
        message for at least one recipient (check .refused); raises
        RecipientsRefusedError (with .result) when every recipient was
        refused, and the other SMTPError subclasses for other failures.
        """
        names, table = self._rcpt_table(recipients)
        self._sent_rcpts = names
        frm = cstr(sender, "sender")
        if hasattr(data, "read"):
            reader = make_reader(data, self._pending)  # type: ignore[arg-type]
            self._call(_ffi.lib.smtpc_client_send_stream, frm, table, len(names), reader, None,
                       -1 if size is None else size, _MAIL_8BITMIME if eightbit else 0,
                       result=True)
        else:
            body = as_bytes(data, "data")  # type: ignore[arg-type]
            self._call(_ffi.lib.smtpc_client_send, frm, table, len(names), body, len(body),
                       result=True)
        assert self.last_result is not None
        return self.last_result

    def send_message(self, msg: Message, sender: Optional[str] = None,
                     recipients: Optional[Union[str, Iterable[str]]] = None) -> SendResult:
        """Send a Message. sender: the envelope sender (default: its From).
        recipients: default every To, Cc and Bcc address (each once). Bcc
        never appears in the headers. Results and errors as send()."""
        names, table = self._rcpt_table(self._envelope(msg, recipients))
        if not names:
            from .errors import NoRecipientsError
            raise NoRecipientsError("the message has no recipients (To, Cc or Bcc)", code=-12)
        self._sent_rcpts = names
        with msg._guard:
            self._call(_ffi.lib.smtpc_client_send_message, msg._handle,
                       cstr(sender, "sender"), table, len(names), message=msg, result=True)
        assert self.last_result is not None
        return self.last_result

    @staticmethod
    def _envelope(msg: Message, recipients: Optional[Union[str, Iterable[str]]]
                  ) -> Union[str, Iterable[str]]:
        if recipients is not None:
            return recipients
        seen: List[str] = []
        for r in msg.envelope_recipients():
            if r not in seen:
                seen.append(r)
        return seen

    def _fill_item(self, item: Any, entry: BatchEntry) -> Tuple[List[str], Any, Optional[Message]]:
        """Fill a smtpc_batch_item from entry; returns the recipient names,
        what C borrows (kept alive until the verdict) and the Message."""
        if isinstance(entry, Message):
            names, table = self._rcpt_table(self._envelope(entry, None))
            item.msg = entry._handle
            item.rcpts = table
            item.n_rcpts = len(names)
            return names, table, entry
        if not isinstance(entry, tuple) or len(entry) != 3:
            raise TypeError("a batch entry is a Message or a (sender, recipients, data) "
                            f"tuple, not {type(entry).__name__}")
        sender, recipients, data = entry
        names, table = self._rcpt_table(recipients)
        frm = cstr(sender, "sender")
        body = as_bytes(data, "data")
        item.from_ = frm
        item.rcpts = table
        item.n_rcpts = len(names)
        item.body = body
        item.body_len = len(body)
        return names, (frm, table, body), None

    def send_batch(self, entries: Iterable[BatchEntry]) -> List[SendResult]:
        """Send many messages on the connected session, pipelined when the
        server offers PIPELINING (one round trip per message once under way).

        entries: Message objects and/or raw (sender, recipients, data)
        tuples (data in memory: bytes or str). A list or tuple goes to the
        library whole (smtpc_client_send_batch); any other iterable, a
        generator say, is consumed one entry at a time as the library is
        ready for it (smtpc_client_send_each).

        Returns one SendResult per message, in order, each with its
        per-recipient results and, when it failed, .error (the exception
        send() would have raised; refused before MAIL, e.g. a bad address:
        no recipient results). A refusal does not stop the batch. When the
        session ends mid-batch, every message not yet answered gets that
        error (status "not-sent", or "unknown" when its end of data had
        gone: never send such a one again blindly) and the client is no
        longer connected; no message is sent twice. Raises (nothing sent)
        for a bad entry, when not connected, and for an exception from a
        trace, a file object or the entries iterator (re-raised once the
        library returns).
        """
        results: List[SendResult] = []
        supplied: Dict[int, Tuple[List[str], Any, Optional[Message]]] = {}
        messages: List[Message] = []
        pending = self._pending
        guards: List[Guard] = []

        def done(_user: Any, index: int, rc: int, status: int, e: Any, err: Any) -> None:
            try:
                names, _keep, msg = supplied.pop(index)
                error = None if rc == 0 else error_from_record(err, rc)
                if e:
                    res = self._result_of(e, names, error)
                else:
                    res = SendResult([], MESSAGE_STATUS.get(status, "unknown"), error)
                if error is not None:
                    error.result = res
                results.append(res)
            except BaseException as exc:  # noqa: B902 - re-raised after the C call
                pending.store(exc)

        def take(index: int, item: Any, entry: BatchEntry) -> None:
            filled = self._fill_item(item, entry)
            msg = filled[2]
            if msg is not None:
                # The message is read by the library until its verdict.
                msg._guard.__enter__()
                guards.append(msg._guard)
                messages.append(msg)
            supplied[index] = filled

        done_fn = _ffi.BATCH_DONE_FN(done)
        try:
            if isinstance(entries, (list, tuple)):
                items = (_ffi.BatchItem * max(len(entries), 1))()
                for i, entry in enumerate(entries):
                    take(i, items[i], entry)
                rc = self._call(_ffi.lib.smtpc_client_send_batch, items, len(entries),
                                done_fn, None, messages=messages, check=False)
                complete = len(results) == len(entries)
            else:
                source = iter(entries)

                def next_cb(_user: Any, index: int, item_ptr: Any) -> int:
                    try:
                        entry = next(source)
                    except StopIteration:
                        return 0
                    except BaseException as exc:  # noqa: B902 - re-raised after the call
                        pending.store(exc)
                        return 0
                    try:
                        take(index, item_ptr.contents, entry)
                        return 1
                    except BaseException as exc:  # noqa: B902 - re-raised after the call
                        pending.store(exc)
                        return 0

                next_fn = _ffi.BATCH_NEXT_FN(next_cb)
                rc = self._call(_ffi.lib.smtpc_client_send_each, next_fn, done_fn, None,
                                messages=messages, check=False)
                complete = not supplied
        finally:
            for guard in guards:
                guard.__exit__(None, None, None)
        if rc in (-1, -2) or (rc < 0 and not complete):
            # Refused as a whole (not connected, a bad argument): nothing
            # was sent, nothing reported. A session that ended mid-batch is
            # in the results instead, every message with its error.
            if self._ptr is None:  # closed from a trace callback meanwhile
                raise error_from_record(None, rc)
            raise self._error(rc, result=results[-1] if results else None)
        if results:
            self.last_result = results[-1]
        return results

    def rset(self) -> None:
        self._call(_ffi.lib.smtpc_client_rset)

    def noop(self) -> None:
        self._call(_ffi.lib.smtpc_client_noop)

    def quit(self) -> None:
        """Send QUIT and close the connection (closed even if QUIT fails)."""
        self._call(_ffi.lib.smtpc_client_quit)

    # --- session facts ----------------------------------------------------

    @property
    def capabilities(self) -> FrozenSet[str]:
        """The EHLO keywords the library understood ("PIPELINING", ...)."""
        bits = _ffi.lib.smtpc_engine_capabilities(self._engine())
        return frozenset(name for name, bit in CAPABILITIES.items() if bits & bit)

    @property
    def size_limit(self) -> Optional[int]:
        """The server's SIZE limit in bytes, None when it gave none."""
        return _ffi.lib.smtpc_engine_size_limit(self._engine()) or None

    @property
    def encrypted(self) -> bool:
        return bool(_ffi.lib.smtpc_engine_is_encrypted(self._engine()))

    @property
    def auth_mechanism(self) -> Optional[str]:
        """The AUTH mechanism used by the last connect, None if none."""
        return _ffi.decode(_ffi.lib.smtpc_engine_auth_mechanism(self._engine())) or None

    # --- lifetime ---------------------------------------------------------

    def close(self) -> None:
        """Drop the connection (no QUIT) and free the handle; idempotent.
        Inside one of the client's own callbacks the handle is freed as soon
        as the running call returns."""
        if self._ptr is None:
            return
        with self._guard:
            if self._guard.depth > 1:
                self._close_deferred = True
                return
            self._ptr = None
            self._finalizer()

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def __enter__(self) -> "Client":
        if not self.connected:
            self.connect()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if self.connected:
                try:
                    self.quit()
                except SMTPError:
                    if exc_type is None:
                        raise
        finally:
            self.close()
