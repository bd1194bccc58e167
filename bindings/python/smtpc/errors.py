"""Exceptions: one class per SMTPC_E* code (include/smtpc/base.h), grouped
under one class per block of codes:

    SMTPError
      InputError      -1 .. -19   bad arguments, state, local input
      NetworkError   -20 .. -39   the connection failed (session over)
      ProtocolError  -40 .. -59   the server spoke nonsense (session over)
      RefusedError   -60 .. -79   the server said no (reply attached)
      TLSError       -80 .. -99
      AuthError     -100 .. -119
      MessageError  -120 .. -139  the message builder

Every exception carries the library's error record: code, name, the
server's reply code, enhanced status and text (when there was a reply),
whether it was temporary (4xx), and the readable message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional, Type

if TYPE_CHECKING:  # pragma: no cover
    from .client import SendResult


class SMTPError(Exception):
    """An smtpc call failed.

    Attributes:
        code: the SMTPC_E* status (negative int)
        name: its C name, e.g. "SMTPC_EAUTH_FAILED"
        reply_code: the server's reply code (e.g. 550), 0 when none
        enhanced: the enhanced status ("5.1.1") or ""
        reply_text: the server's text or ""
        message: the library's readable description
        temporary: True for a 4xx reply (retrying later may succeed)
        result: for a failed send, the per-recipient results
            (smtpc.SendResult), else None
    """

    code: int = 0

    def __init__(self, message: str, code: Optional[int] = None, reply_code: int = 0,
                 enhanced: str = "", reply_text: str = "", temporary: bool = False,
                 result: Optional["SendResult"] = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.name = CODE_NAMES.get(self.code, "SMTPC_E?")
        self.message = message
        self.reply_code = reply_code
        self.enhanced = enhanced
        self.reply_text = reply_text
        self.temporary = temporary
        self.result = result

    def __str__(self) -> str:
        text = f"{self.message} [{self.name}]"
        if self.reply_code:
            reply = " ".join(p for p in (str(self.reply_code), self.enhanced, self.reply_text) if p)
            if reply not in self.message:
                text += f" (server: {reply})"
        return text


class InputError(SMTPError):
    """A caller or local-input error (-1 .. -19); the handle stays usable."""


class NetworkError(SMTPError):
    """The connection failed (-20 .. -39); the session is over."""


class ProtocolError(SMTPError):
    """The server's replies were malformed (-40 .. -59); the session is over."""


class RefusedError(SMTPError):
    """The server refused (-60 .. -79); its reply is attached."""


class TLSError(SMTPError):
    """TLS failed (-80 .. -99); the session is over."""


class AuthError(SMTPError):
    """Authentication failed (-100 .. -119)."""


class MessageError(SMTPError):
    """The message builder failed (-120 .. -139)."""


# --- input ---
class InvalidArgumentError(InputError, ValueError):
    code = -1


class StateError(InputError):
    code = -2


class OutOfMemoryError(InputError, MemoryError):
    code = -3


class NotSupportedError(InputError):
    code = -4


class TooLongError(InputError, ValueError):
    code = -5


class AddressError(InputError, ValueError):
    code = -6


class BadCharacterError(InputError, ValueError):
    code = -7


class EightBitError(InputError):
    code = -8


class UTF8Error(InputError):
    code = -9


class SizeError(InputError):
    code = -10


class SourceError(InputError):
    code = -11


class NoRecipientsError(InputError, ValueError):
    code = -12


class NoDSNError(InputError):
    """DSN asked for but the server does not offer it (nothing was sent;
    Client(allow_no_dsn=True) sends without the DSN request instead)."""
    code = -18


class RequireTLSError(InputError):
    """REQUIRETLS asked for on a session that is not verified TLS to a
    server offering REQUIRETLS (nothing was sent)."""
    code = -19


# --- network ---
class ResolveError(NetworkError):
    code = -20


class ConnectRefusedError(NetworkError):
    code = -21


class ConnectError(NetworkError):
    code = -22


class TimedOutError(NetworkError):
    code = -23


class ConnectionClosedError(NetworkError):
    code = -24


class TransportError(NetworkError):
    code = -25


# --- protocol ---
class MalformedReplyError(ProtocolError):
    code = -40


class ReplyLineTooLongError(ProtocolError):
    code = -41


class UnexpectedReplyError(ProtocolError):
    code = -42


class ReplyLimitError(ProtocolError):
    code = -43


# --- refusals ---
class GreetingRefusedError(RefusedError):
    code = -60


class ServiceShutdownError(RefusedError):
    code = -61


class HeloRefusedError(RefusedError):
    code = -62


class SenderRefusedError(RefusedError):
    code = -63


class RecipientsRefusedError(RefusedError):
    """Every recipient was refused; .result has each one's reply."""
    code = -64


class DataRefusedError(RefusedError):
    code = -65


class MessageRefusedError(RefusedError):
    code = -66


class OutcomeUnknownError(RefusedError):
    """The connection was lost after the end of data: the message may or may
    not have been delivered. Do not send it again blindly."""
    code = -67


class CommandRefusedError(RefusedError):
    code = -68


# --- TLS ---
class TLSFailureError(TLSError):
    code = -80


class CertificateVerifyError(TLSError):
    code = -81


class PinMismatchError(TLSError):
    code = -82


class StartTLSNotOfferedError(TLSError):
    code = -83


class StartTLSRefusedError(TLSError):
    code = -84


class ResponseInjectionError(TLSError):
    code = -85


class HandshakeError(TLSError):
    code = -86


# --- auth ---
class AuthNotOfferedError(AuthError):
    code = -100


class NoCommonMechanismError(AuthError):
    code = -101


class AuthFailedError(AuthError):
    """535: the credentials were rejected."""
    code = -102


class MechanismTooWeakError(AuthError):
    code = -103


class EncryptionRequiredError(AuthError):
    code = -104


class AuthTemporaryError(AuthError):
    code = -105


class InsecureAuthError(AuthError):
    """Credentials were not sent over an unencrypted connection."""
    code = -106


class ServerProofError(AuthError):
    code = -107


class AuthProtocolError(AuthError):
    code = -108


class OtherAuthError(AuthError):
    code = -109


# --- message ---
class HeaderError(MessageError):
    code = -120


class FileError(MessageError):
    code = -121


class SizeUnknownError(MessageError):
    code = -122


__all__ = [
    "SMTPError",
    "InputError",
    "NetworkError",
    "ProtocolError",
    "RefusedError",
    "TLSError",
    "AuthError",
    "MessageError",
    "InvalidArgumentError",
    "StateError",
    "OutOfMemoryError",
    "NotSupportedError",
    "TooLongError",
    "AddressError",
    "BadCharacterError",
    "EightBitError",
    "UTF8Error",
    "SizeError",
    "SourceError",
    "NoRecipientsError",
    "NoDSNError",
    "RequireTLSError",
    "ResolveError",
    "ConnectRefusedError",
    "ConnectError",
    "TimedOutError",
    "ConnectionClosedError",
    "TransportError",
    "MalformedReplyError",
    "ReplyLineTooLongError",
    "UnexpectedReplyError",
    "ReplyLimitError",
    "GreetingRefusedError",
    "ServiceShutdownError",
    "HeloRefusedError",
    "SenderRefusedError",
    "RecipientsRefusedError",
    "DataRefusedError",
    "MessageRefusedError",
    "OutcomeUnknownError",
    "CommandRefusedError",
    "TLSFailureError",
    "CertificateVerifyError",
    "PinMismatchError",
    "StartTLSNotOfferedError",
    "StartTLSRefusedError",
    "ResponseInjectionError",
    "HandshakeError",
    "AuthNotOfferedError",
    "NoCommonMechanismError",
    "AuthFailedError",
    "MechanismTooWeakError",
    "EncryptionRequiredError",
    "AuthTemporaryError",
    "InsecureAuthError",
    "ServerProofError",
    "AuthProtocolError",
    "OtherAuthError",
    "HeaderError",
    "FileError",
    "SizeUnknownError",
    "CODE_NAMES", "ERROR_CLASSES", "class_for",
]

# The C name of each code, as in include/smtpc/base.h.
CODE_NAMES: Dict[int, str] = {
    -1: "SMTPC_EINVAL", -2: "SMTPC_ESTATE", -3: "SMTPC_ENOMEM", -4: "SMTPC_ENOTSUP",
    -5: "SMTPC_ETOOLONG", -6: "SMTPC_EADDRESS", -7: "SMTPC_EBADCHAR", -8: "SMTPC_E8BIT",
    -9: "SMTPC_EUTF8", -10: "SMTPC_ESIZE", -11: "SMTPC_ESOURCE", -12: "SMTPC_ENORECIPIENTS",
    -18: "SMTPC_ENODSN", -19: "SMTPC_EREQUIRETLS",
    -20: "SMTPC_ERESOLVE", -21: "SMTPC_ECONNREFUSED", -22: "SMTPC_ECONNECT",
    -23: "SMTPC_ETIMEDOUT", -24: "SMTPC_ECLOSED", -25: "SMTPC_EIO",
    -40: "SMTPC_EPROTO", -41: "SMTPC_ELINE", -42: "SMTPC_EUNEXPECTED", -43: "SMTPC_EREPLYLIMIT",
    -60: "SMTPC_EGREETING", -61: "SMTPC_ESHUTDOWN", -62: "SMTPC_EHELO", -63: "SMTPC_EMAILFROM",
    -64: "SMTPC_ERCPTS", -65: "SMTPC_EDATA", -66: "SMTPC_EMESSAGE", -67: "SMTPC_EUNKNOWN",
    -68: "SMTPC_ECOMMAND",
    -80: "SMTPC_ETLS", -81: "SMTPC_ETLS_VERIFY", -82: "SMTPC_ETLS_PIN", -83: "SMTPC_ENOSTARTTLS",
    -84: "SMTPC_ESTARTTLS", -85: "SMTPC_EINJECTION", -86: "SMTPC_ETLS_HANDSHAKE",
    -100: "SMTPC_EAUTH_NOTOFFERED", -101: "SMTPC_EAUTH_NOMECH", -102: "SMTPC_EAUTH_FAILED",
    -103: "SMTPC_EAUTH_WEAK", -104: "SMTPC_EAUTH_ENCRYPT", -105: "SMTPC_EAUTH_TEMP",
    -106: "SMTPC_EAUTH_INSECURE", -107: "SMTPC_EAUTH_SERVER", -108: "SMTPC_EAUTH_PROTO",
    -109: "SMTPC_EAUTH",
    -120: "SMTPC_EHEADER", -121: "SMTPC_EFILE", -122: "SMTPC_ESIZEUNKNOWN",
}

_BLOCKS = [(-19, InputError), (-39, NetworkError), (-59, ProtocolError), (-79, RefusedError),
           (-99, TLSError), (-119, AuthError), (-139, MessageError)]


def _all_subclasses(cls: type) -> list:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


ERROR_CLASSES: Dict[int, Type[SMTPError]] = {
    cls.code: cls for cls in _all_subclasses(SMTPError) if cls.code and
    cls.__module__ == __name__}


def class_for(code: int) -> Type[SMTPError]:
    """The exception class for an SMTPC_E* code: its own class, else the
    class of its block (a code newer than this binding), else SMTPError."""
    cls = ERROR_CLASSES.get(code)
    if cls is not None:
        return cls
    for low, block in _BLOCKS:
        if 0 > code >= low:
            return block
    return SMTPError
