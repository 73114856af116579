"""What the sync and asyncio clients share: the socket path, framing, and the params of each
call (built here once, so both clients send exactly the same thing)."""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple, Union

from . import constants as C

#: What a ``headers`` argument may be: raw ``"Name: value\r\n…"`` text, a mapping, or pairs.
HeadersArg = Union[None, str, Mapping[str, str], Iterable[Tuple[str, str]]]
BodyArg = Union[bytes, bytearray, memoryview, str]

#: ReadData size used by read() without an argument and by read_all().
DEFAULT_READ_SIZE = 65536

#: The longest line the daemon sends is one answer of at most 32 MiB + 64 KiB of JSON.
MAX_LINE = 33 * 1024 * 1024 + 64 * 1024

#: The statuses that end an operation, by the method that started it.
COMPLETION_OF = {
    "WinHttpSendRequest": C.WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE,
    "WinHttpWriteData": C.WINHTTP_CALLBACK_STATUS_WRITE_COMPLETE,
    "WinHttpReceiveResponse": C.WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE,
    "WinHttpQueryDataAvailable": C.WINHTTP_CALLBACK_STATUS_DATA_AVAILABLE,
    "WinHttpReadData": C.WINHTTP_CALLBACK_STATUS_READ_COMPLETE,
}


def default_socket_path() -> str:
    """Where the daemon listens by default, by the same rules it applies itself:
    ``$HINETD_SOCKET``, else ``$XDG_RUNTIME_DIR/hinetd.sock``, else
    ``/run/hinetd/hinetd.sock`` for root, else ``/tmp/hinetd-<uid>/hinetd.sock``."""
    explicit = os.environ.get("HINETD_SOCKET")
    if explicit:
        return explicit
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "hinetd.sock")
    uid = os.geteuid()
    return "/run/hinetd/hinetd.sock" if uid == 0 else f"/tmp/hinetd-{uid}/hinetd.sock"


def encode_request(id_: int, method: str, params: Dict[str, Any]) -> bytes:
    msg = {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}
    return json.dumps(msg, separators=(",", ":")).encode("utf-8") + b"\n"


def b64(data: BodyArg) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.b64encode(bytes(data)).decode("ascii")


def unb64(text: Optional[str]) -> bytes:
    return base64.b64decode(text) if text else b""


def header_text(headers: HeadersArg) -> Optional[str]:
    """``"Name: value\\r\\n…"`` for any accepted ``headers`` form (None stays None)."""
    if headers is None or isinstance(headers, str):
        return headers
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return "".join(f"{name}: {value}\r\n" for name, value in pairs)


def drop_none(**params: Any) -> Dict[str, Any]:
    return {key: value for key, value in params.items() if value is not None}


def open_request_params(
    handle: int,
    verb: str,
    path: str,
    flags: int,
    version: Optional[str],
    referrer: Optional[str],
    accept_types: Optional[Iterable[str]],
    secure: Optional[bool],
) -> Dict[str, Any]:
    if secure:
        flags |= C.WINHTTP_FLAG_SECURE
    elif secure is not None:
        flags &= ~C.WINHTTP_FLAG_SECURE
    return drop_none(
        handle=handle,
        verb=verb,
        objectName=path,
        flags=flags,
        version=version,
        referrer=referrer,
        acceptTypes=list(accept_types) if accept_types is not None else None,
    )


def send_params(
    handle: int,
    headers: HeadersArg,
    body: Optional[BodyArg],
    total_length: Optional[int],
    context: int,
) -> Dict[str, Any]:
    return drop_none(
        handle=handle,
        headers=header_text(headers),
        optional=b64(body) if body else None,
        totalLength=total_length,
        context=context or None,
    )


def query_header_params(
    handle: int,
    level_or_name: Union[int, str],
    index: Optional[int],
    number: bool,
    request_headers: bool,
) -> Dict[str, Any]:
    name = None
    if isinstance(level_or_name, str):
        level, name = C.WINHTTP_QUERY_CUSTOM, level_or_name
    else:
        level = level_or_name
    if number and not level & (C.WINHTTP_QUERY_FLAG_NUMBER | C.WINHTTP_QUERY_FLAG_NUMBER64):
        level |= C.WINHTTP_QUERY_FLAG_NUMBER
    if request_headers:
        level |= C.WINHTTP_QUERY_FLAG_REQUEST_HEADERS
    return drop_none(handle=handle, infoLevel=level, name=name, index=index)


def set_option_params(
    handle: int, option: int, value: Union[int, str, None], buffer_length: Optional[int]
) -> Dict[str, Any]:
    params: Dict[str, Any] = {"handle": handle, "option": option, "value": value}
    if buffer_length is not None:
        params["bufferLength"] = buffer_length
    return params


def timeouts_params(handle: int, resolve: int, connect: int, send: int, receive: int) -> Dict[str, Any]:
    return {
        "handle": handle,
        "resolveTimeout": resolve,
        "connectTimeout": connect,
        "sendTimeout": send,
        "receiveTimeout": receive,
    }


def url_target(parts: Mapping[str, Any]) -> Tuple[str, int, str, bool]:
    """(host, port, request target, secure) from a WinHttpCrackUrl result; the fragment, which
    is never sent, is dropped."""
    target = (parts.get("urlPath") or "/") + (parts.get("extraInfo") or "")
    return (
        parts["hostName"],
        int(parts["port"]),
        target.split("#", 1)[0],
        parts.get("schemeId") == C.INTERNET_SCHEME_HTTPS,
    )


def result_value(method: str, result: Any) -> Any:
    """What a sync session's answer means: bytes read, a count, or None for a plain success."""
    if not isinstance(result, dict):
        return None
    if method == "WinHttpReadData":
        return unb64(result.get("data"))
    if method == "WinHttpQueryDataAvailable":
        return int(result.get("bytesAvailable", 0))
    if method == "WinHttpWriteData":
        return int(result.get("bytesWritten", 0))
    return None
