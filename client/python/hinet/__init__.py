"""hinet: Python client for hinetd, the daemon that serves WinHTTP over a Unix socket.

One line::

    >>> hinet.get("http://127.0.0.1:8000/").status
    200

WinHTTP's handles, synchronously (:mod:`hinet.client`)::

    with hinet.connect() as client, client.open_session("demo/1") as session:
        with session.connect("127.0.0.1", 8000) as conn, conn.open_request("POST", "/echo") as req:
            req.send(headers={"Content-Type": "text/plain"}, body=b"hello")
            req.receive_response()
            print(req.status_code, req.read_all())

and with asyncio, async sessions and status callbacks (:mod:`hinet.aio`). Failures raise
:class:`WinHttpError` (``.code``, ``.name``, ``.detail``); bytes go in and come out as bytes.
The numbers of WinHTTP are in :mod:`hinet.constants`, under WinHTTP's names.
"""

from . import constants
from ._events import Event
from ._sync_streams import EventStream
from ._wire import default_socket_path
from .client import (
    DEFAULT_USER_AGENT,
    Client,
    Connection,
    Request,
    Session,
    __version__,
    connect,
    get,
    post,
    request,
)
from .errors import (
    ConnectionClosed,
    DaemonUnavailable,
    EventOverflow,
    HinetError,
    RpcError,
    StreamEnded,
    WinHttpError,
)
from .response import Headers, Response

__all__ = [
    "DEFAULT_USER_AGENT",
    "Client",
    "Connection",
    "ConnectionClosed",
    "DaemonUnavailable",
    "Event",
    "EventOverflow",
    "EventStream",
    "Headers",
    "HinetError",
    "Request",
    "Response",
    "RpcError",
    "Session",
    "StreamEnded",
    "WinHttpError",
    "__version__",
    "aio",
    "connect",
    "constants",
    "default_socket_path",
    "get",
    "post",
    "request",
]


def __getattr__(name: str):  # PEP 562: `hinet.aio` without importing asyncio up front
    if name == "aio":
        import importlib

        return importlib.import_module(".aio", __name__)
    raise AttributeError(f"module 'hinet' has no attribute {name!r}")
