"""Exceptions: WinHTTP failures, protocol faults, and trouble with the daemon itself.

The daemon answers a failed WinHTTP call with a JSON-RPC error whose ``code`` is positive (the
Win32/WinHTTP number); faults of the message itself have negative JSON-RPC codes. In async
sessions the same WinHTTP numbers arrive inside REQUEST_ERROR notifications. Both WinHTTP paths
become :class:`WinHttpError`, so a caller handles a refused connection the same way whether the
session is sync or async.
"""

from __future__ import annotations

from typing import Any, Optional

from .constants import error_name


class HinetError(Exception):
    """Base class of everything this package raises on purpose."""


class WinHttpError(HinetError):
    """A WinHTTP call failed.

    ``code`` is the WinHTTP/Win32 number (``12029``), ``name`` its symbolic name
    (``"ERROR_WINHTTP_CANNOT_CONNECT"``), ``detail`` the daemon's explanation (for people, not
    for parsing). ``required`` is the needed buffer size with ``ERROR_INSUFFICIENT_BUFFER``;
    ``api`` is the ``API_*`` number of the failed call when the error came from a REQUEST_ERROR
    notification (async sessions), else ``None``.
    """

    def __init__(
        self,
        code: int,
        name: Optional[str] = None,
        detail: str = "",
        *,
        required: Optional[int] = None,
        api: Optional[int] = None,
    ) -> None:
        self.code = code
        self.name = name or error_name(code)
        self.detail = detail
        self.required = required
        self.api = api
        super().__init__(f"{self.name} ({code}): {detail}" if detail else f"{self.name} ({code})")

    @classmethod
    def from_rpc_error(cls, error: dict) -> "WinHttpError":
        data = error.get("data") if isinstance(error.get("data"), dict) else {}
        return cls(
            int(error["code"]),
            data.get("name"),
            data.get("detail") or str(error.get("message", "")),
            required=data.get("required"),
        )

    @classmethod
    def from_request_error(cls, info: dict) -> "WinHttpError":
        return cls(
            int(info.get("error", 0)),
            info.get("errorName"),
            str(info.get("detail", "")),
            api=info.get("result"),
        )


class RpcError(HinetError):
    """The daemon rejected the message itself (JSON-RPC code < 0: unknown method, bad params…).

    ``code`` is the JSON-RPC code (``-32601``), ``message`` its text, ``data`` whatever detail the
    daemon attached (for ``-32602`` the deserializer's explanation).
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        self.code = code
        self.message = message
        self.data = data
        text = f"JSON-RPC error {code}: {message}"
        super().__init__(f"{text} ({data})" if data is not None else text)


class DaemonUnavailable(HinetError, ConnectionError):
    """No hinetd answers on the socket."""

    def __init__(self, path: str, cause: BaseException) -> None:
        self.path = path
        super().__init__(
            f"no hinetd is listening on {path} ({cause}); start one with: hinetd --socket {path}"
        )


class ConnectionClosed(HinetError, ConnectionError):
    """The connection to the daemon ended (the daemon exited, or this client closed it).

    The daemon closes every handle of a connection when it ends, so handles obtained through it
    are gone as well.
    """


class EventOverflow(HinetError):
    """An event stream's queue was full and events were dropped.

    Raised by the stream once the events received before the loss have been consumed. Read
    streams promptly, or give them a larger ``maxsize``.
    """


class StreamEnded(HinetError):
    """An event stream has nothing more to give: its handle closed (HANDLE_CLOSING was its
    last event), the stream was closed, or the client was closed."""


def error_from_reply(error: Any) -> HinetError:
    """The exception for a JSON-RPC ``error`` member."""
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        return RpcError(-32603, "malformed error from the daemon", error)
    if error["code"] > 0:
        return WinHttpError.from_rpc_error(error)
    return RpcError(error["code"], str(error.get("message", "")), error.get("data"))
