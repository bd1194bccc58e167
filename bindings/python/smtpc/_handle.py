"""What every wrapped handle shares: turning status codes into exceptions,
carrying exceptions out of callbacks, guarding against use from two threads
at once (the GIL is released during calls), and the read callback over a
Python file object."""

from __future__ import annotations

import ctypes
import threading
from typing import Any, BinaryIO, Callable, Optional, Union

from . import _ffi
from .errors import SMTPError, class_for

BytesLike = Union[bytes, bytearray, memoryview]


def cstr(value: Optional[Union[str, bytes]], what: str) -> Optional[bytes]:
    """A str (UTF-8) or bytes for a C string argument. A NUL byte would cut
    the string short in C without a word, so it is refused here with the
    same error the library gives CR and LF."""
    if value is None:
        return None
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if b"\0" in data:
        raise class_for(-7)(f"{what} contains a NUL character")
    return data


def as_bytes(data: Union[str, BytesLike], what: str) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{what} must be bytes, bytearray, memoryview or str, "
                    f"not {type(data).__name__}")


def error_from_record(record: Optional[int], code: int, **extra: Any) -> SMTPError:
    """The exception for a failed call: the handle's error record when it
    describes this code, else the code's static description."""
    lib = _ffi.lib
    if record and lib.smtpc_error_code(record) == code:
        return class_for(code)(
            _ffi.decode(lib.smtpc_error_message(record)) or _ffi.decode(lib.smtpc_strerror(code)),
            code=code,
            reply_code=lib.smtpc_error_reply_code(record),
            enhanced=_ffi.decode(lib.smtpc_error_enhanced(record)),
            reply_text=_ffi.decode(lib.smtpc_error_reply_text(record)),
            temporary=bool(lib.smtpc_error_is_temporary(record)),
            **extra)
    return class_for(code)(_ffi.decode(lib.smtpc_strerror(code)), code=code, **extra)


class Pending:
    """The first exception raised inside a callback during a C call. C cannot
    carry a Python exception, so the callback stores it, returns an error
    code (or nothing, for the trace), and the wrapper re-raises it once the
    C call has returned."""

    __slots__ = ("exc",)

    def __init__(self) -> None:
        self.exc: Optional[BaseException] = None

    def store(self, exc: BaseException) -> None:
        if self.exc is None:
            self.exc = exc

    def take(self) -> Optional[BaseException]:
        exc, self.exc = self.exc, None
        return exc


def reraise(pending: Pending, error: Optional[SMTPError]) -> None:
    """After a C call: raise the callback's exception (with the library's
    error, if any, as its __context__), else the library's error."""
    exc = pending.take()
    if exc is not None:
        if error is not None and exc.__context__ is None:
            exc.__context__ = error
        raise exc
    if error is not None:
        raise error


class Guard:
    """One thread at a time on a handle. Calls release the GIL, so without
    this two Python threads could drive one C handle at once, which the C
    library does not allow (smtpc.h, Threads). The same thread may re-enter
    (a callback calling a query): the library itself refuses what it must."""

    __slots__ = ("_lock", "depth", "what")

    def __init__(self, what: str) -> None:
        self._lock = threading.RLock()
        self.depth = 0
        self.what = what

    def __enter__(self) -> "Guard":
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(f"this {self.what} is in use by another thread "
                               "(smtpc handles are not thread-safe)")
        self.depth += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        self.depth -= 1
        self._lock.release()


def make_reader(source: BinaryIO, pending: Pending) -> Any:
    """A READ_FN over a binary file object: readinto() straight into the
    library's buffer when the object has it, else read(). An exception from
    the file (or a str from a text-mode file) is stored in pending and
    reported to C as a read failure (SMTPC_ESOURCE)."""
    readinto = getattr(source, "readinto", None)
    read = source.read

    def cb(_user: Any, buf: Any, cap: int, out_len: Any) -> int:
        try:
            if readinto is not None:
                view = (ctypes.c_uint8 * cap).from_address(ctypes.addressof(buf.contents))
                # Released on return: a reader that kept the view would
                # otherwise write into the library's buffer later.
                with memoryview(view) as raw, raw.cast("B") as target:
                    n = readinto(target)
                if n is None:
                    raise BlockingIOError("the file object has no data ready (non-blocking)")
            else:
                chunk = read(cap)
                if not isinstance(chunk, (bytes, bytearray)):
                    raise TypeError("read() must return bytes, not "
                                    f"{type(chunk).__name__} (open the file in binary mode)")
                n = len(chunk)
                if n > cap:
                    raise ValueError(f"read({cap}) returned {n} bytes")
                ctypes.memmove(buf, bytes(chunk), n)
            out_len[0] = n
            return 0
        except BaseException as exc:  # noqa: B902 - re-raised after the C call
            pending.store(exc)
            out_len[0] = 0
            return -1

    return _ffi.READ_FN(cb)


def make_rewinder(source: BinaryIO, pending: Pending) -> Any:
    """A REWIND_FN seeking back to where the file object was when the part
    was added; NULL (None) for an object that cannot seek."""
    seekable = getattr(source, "seekable", None)
    if seekable is None or not seekable():
        return None
    start = source.tell()

    def cb(_user: Any) -> int:
        try:
            source.seek(start)
            return 0
        except BaseException as exc:  # noqa: B902 - re-raised after the C call
            pending.store(exc)
            return -1

    return _ffi.REWIND_FN(cb)


def remaining_size(source: BinaryIO) -> int:
    """Bytes left from the current position of a seekable file object, or
    -1 when that cannot be known."""
    try:
        if not source.seekable():
            return -1
        pos = source.tell()
        end = source.seek(0, 2)
        source.seek(pos)
        return max(end - pos, 0)
    except (AttributeError, OSError, ValueError):
        return -1


Callback = Callable[..., Any]
