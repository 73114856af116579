"""The synchronous client: WinHTTP's handles as Python objects.

::

    with hinet.connect() as client, client.open_session("demo/1") as session:
        with session.connect("127.0.0.1", 8000) as conn, conn.open_request("GET", "/") as req:
            req.send()
            req.receive_response()
            print(req.status_code, req.headers.get("Content-Type"), req.read_all())

Every call is the WinHTTP function of the same name, run by the daemon; a failure raises
:class:`~hinet.WinHttpError`. Handles close when their ``with`` block ends (closing a handle
closes everything below it, as in the daemon). Sessions here are synchronous; async sessions
(``WINHTTP_FLAG_ASYNC``) are driven by :mod:`hinet.aio`.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Iterator, Optional, Union

from . import constants as C
from ._events import DEFAULT_MAX_EVENTS, Node
from ._sync_rpc import RpcConnection
from ._sync_streams import EventStream
from ._wire import (
    DEFAULT_READ_SIZE,
    BodyArg,
    HeadersArg,
    b64,
    default_socket_path,
    drop_none,
    header_text,
    open_request_params,
    query_header_params,
    result_value,
    send_params,
    set_option_params,
    timeouts_params,
    url_target,
)
from .errors import ConnectionClosed, WinHttpError
from .response import Headers, Response

__version__ = "0.1.0"
DEFAULT_USER_AGENT = f"hinet-python/{__version__}"


class Client:
    """One connection to the daemon. Handles belong to the connection that made them: closing
    the client closes them all (the daemon does so when a connection ends).

    Thread-safe: calls from several threads run concurrently in the daemon.
    """

    def __init__(self, socket_path: Optional[str] = None, *, timeout: Optional[float] = None) -> None:
        self._rpc = RpcConnection(socket_path or default_socket_path(), timeout)
        self.socket_path = self._rpc.path

    def call(self, method: str, params: Optional[Dict[str, Any]] = None, **kwparams: Any) -> Any:
        """Any method, raw: ``client.call("WinHttpCrackUrl", url="http://x/")`` returns the
        ``result`` as the daemon sent it (bytes stay base64) or raises the error."""
        return self._rpc.call(method, {**(params or {}), **kwparams})

    def status(self) -> Dict[str, Any]:
        """``HinetStatus``: the daemon's counters (``connections``, ``sessions``, ``connects``,
        ``requests``, ``ownHandles``)."""
        return self.call("HinetStatus")

    def crack_url(self, url: str, flags: int = 0) -> Dict[str, Any]:
        """``WinHttpCrackUrl``: scheme, schemeId, hostName, port, userName, password, urlPath,
        extraInfo."""
        return self.call("WinHttpCrackUrl", url=url, flags=flags)

    def create_url(self, components: Dict[str, Any], flags: int = 0) -> str:
        """``WinHttpCreateUrl`` from CrackUrl-style components."""
        return self.call("WinHttpCreateUrl", components=components, flags=flags)["url"]

    def open_session(
        self,
        user_agent: Optional[str] = None,
        flags: int = 0,
        *,
        access_type: Optional[int] = None,
        notifications: Optional[int] = C.WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS,
    ) -> "Session":
        """``WinHttpOpen``. The session subscribes to its status callbacks with the
        ``notifications`` mask (None: no subscription), so that :meth:`Session.events` and the
        events of its connections and requests can be watched."""
        if flags & C.WINHTTP_FLAG_ASYNC:
            raise ValueError("async sessions (WINHTTP_FLAG_ASYNC) are driven by hinet.aio")
        params = drop_none(userAgent=user_agent, flags=flags, accessType=access_type)
        session = Session(self, self.call("WinHttpOpen", params)["handle"], None)
        self._rpc.router.add(session)
        if notifications:
            try:
                session.set_status_callback(notifications)
            except BaseException:
                session.close()
                raise
        return session

    def close(self) -> None:
        self._rpc.close()

    @property
    def closed(self) -> bool:
        return self._rpc.closed

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<hinet.Client {self.socket_path}{' closed' if self.closed else ''}>"


class _Handle(Node):
    def __init__(self, client: Client, handle: int, parent: Optional["_Handle"]) -> None:
        super().__init__(handle, parent)
        self.client = client

    def _call(self, method: str, params: Optional[Dict[str, Any]] = None, **kw: Any) -> Any:
        return self.client._rpc.call(method, {"handle": self.handle, **(params or {}), **kw})

    def call(self, method: str, params: Optional[Dict[str, Any]] = None, **kwparams: Any) -> Any:
        """Any method on this handle, raw (``handle`` is filled in): the way to reach methods
        without a helper here. Returns the ``result`` as sent."""
        return self._call(method, params, **kwparams)

    def _child(self, cls: type, result: Dict[str, Any]) -> Any:
        child = cls(self.client, result["handle"], self)
        self.client._rpc.router.add(child)
        return child

    def close(self) -> None:
        """``WinHttpCloseHandle``: closes this handle and all below it. Closing twice, or after
        a parent was closed, does nothing."""
        if self.closed:
            return
        try:
            self._call("WinHttpCloseHandle")
        except WinHttpError as e:
            if e.code != C.ERROR_INVALID_HANDLE:
                raise
        except ConnectionClosed:
            pass  # the daemon closed it with the connection
        finally:
            self.client._rpc.router.forget(self)

    def set_option(
        self, option: int, value: Union[int, str, None], buffer_length: Optional[int] = None
    ) -> None:
        """``WinHttpSetOption`` (numbers for DWORD options, strings for text ones)."""
        self._call("WinHttpSetOption", set_option_params(self.handle, option, value, buffer_length))

    def query_option(self, option: int) -> Any:
        """``WinHttpQueryOption``: the option's value."""
        return self._call("WinHttpQueryOption", option=option)["value"]

    def set_status_callback(self, notifications: int = C.WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS) -> int:
        """``WinHttpSetStatusCallback``: replaces this handle's callback (handles created under
        it later inherit it). Returns the subscription id. Events keep reaching
        :meth:`events` streams whichever subscription delivers them."""
        subscription = self._call("WinHttpSetStatusCallback", notificationFlags=notifications)
        self.client._rpc.router.add_subscription(subscription, self)
        return subscription

    def events(self, maxsize: int = DEFAULT_MAX_EVENTS) -> EventStream:
        """A stream of the status events of this handle and everything below it, from now on."""
        return EventStream(self.client._rpc.router, self, maxsize)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<hinet.{type(self).__name__} {self.handle}{' closed' if self.closed else ''}>"


class Session(_Handle):
    """A ``WinHttpOpen`` handle: settings and a connection pool."""

    def connect(self, host: str, port: int = 0) -> "Connection":
        """``WinHttpConnect`` (no network I/O yet). Port 0: 443 for secure requests, else 80."""
        return self._child(Connection, self._call("WinHttpConnect", serverName=host, serverPort=port))

    def set_timeouts(
        self, resolve: int = 0, connect: int = 60000, send: int = 30000, receive: int = 30000
    ) -> None:
        """``WinHttpSetTimeouts`` in ms (0 or -1: no limit), for requests opened later."""
        self._call("WinHttpSetTimeouts", timeouts_params(self.handle, resolve, connect, send, receive))

    def request(
        self,
        verb: str,
        url: str,
        *,
        headers: HeadersArg = None,
        body: Optional[BodyArg] = None,
        insecure: bool = False,
        flags: int = 0,
    ) -> Response:
        """One whole exchange on this session (its pool is reused): cracks ``url`` with
        WinHttpCrackUrl, connects, sends, and reads the complete response. ``insecure`` sets
        all ``SECURITY_FLAG_IGNORE_*`` bits for https."""
        host, port, target, secure = url_target(self.client.crack_url(url))
        with self.connect(host, port) as conn, conn.open_request(verb, target, flags, secure=secure) as req:
            if insecure and secure:
                req.set_option(C.WINHTTP_OPTION_SECURITY_FLAGS, C.SECURITY_FLAG_IGNORE_ALL_CERT_ERRORS)
            req.send(headers=headers, body=body)
            req.receive_response()
            return req.read_response(url)

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.request("GET", url, **kwargs)


class Connection(_Handle):
    """A ``WinHttpConnect`` handle: a server name and port."""

    def open_request(
        self,
        verb: str = "GET",
        path: str = "/",
        flags: int = 0,
        *,
        version: Optional[str] = None,
        referrer: Optional[str] = None,
        accept_types: Optional[Iterable[str]] = None,
        secure: Optional[bool] = None,
    ) -> "Request":
        """``WinHttpOpenRequest``. ``secure=True`` adds ``WINHTTP_FLAG_SECURE`` (https)."""
        params = open_request_params(self.handle, verb, path, flags, version, referrer, accept_types, secure)
        return self._child(Request, self._call("WinHttpOpenRequest", params))


class Request(_Handle):
    """A ``WinHttpOpenRequest`` handle: one HTTP exchange at a time."""

    def add_headers(self, headers: HeadersArg, modifiers: int = C.WINHTTP_ADDREQ_FLAG_ADD) -> None:
        """``WinHttpAddRequestHeaders`` (text, a mapping or pairs; ``WINHTTP_ADDREQ_FLAG_*``)."""
        self._call("WinHttpAddRequestHeaders", headers=header_text(headers), modifiers=modifiers)

    def send(
        self,
        headers: HeadersArg = None,
        body: Optional[BodyArg] = b"",
        total_length: Optional[int] = None,
        context: int = 0,
    ) -> None:
        """``WinHttpSendRequest``. ``body`` is sent whole; with ``total_length`` larger than it,
        the rest follows through :meth:`write`."""
        self._call("WinHttpSendRequest", send_params(self.handle, headers, body, total_length, context))

    def write(self, data: BodyArg) -> int:
        """``WinHttpWriteData``: the next part of the body; returns the bytes written."""
        return self._op("WinHttpWriteData", data=b64(data))

    def receive_response(self) -> None:
        """``WinHttpReceiveResponse``: ends the body and waits for the response head."""
        self._op("WinHttpReceiveResponse")

    def query_header(
        self,
        level_or_name: Union[int, str],
        index: Optional[int] = None,
        number: bool = False,
        request_headers: bool = False,
    ) -> Any:
        """``WinHttpQueryHeaders``: a ``WINHTTP_QUERY_*`` level (modifiers may be ORed in) or a
        header name. ``number`` adds FLAG_NUMBER. Raises WinHttpError 12150 when absent."""
        params = query_header_params(self.handle, level_or_name, index, number, request_headers)
        return self._call("WinHttpQueryHeaders", params)["value"]

    def header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """A response header's first value, or ``default`` when there is none."""
        try:
            return self.query_header(name)
        except WinHttpError as e:
            if e.code == C.ERROR_WINHTTP_HEADER_NOT_FOUND:
                return default
            raise

    @property
    def status_code(self) -> int:
        return self.query_header(C.WINHTTP_QUERY_STATUS_CODE, number=True)

    @property
    def reason(self) -> str:
        return self.query_header(C.WINHTTP_QUERY_STATUS_TEXT)

    @property
    def http_version(self) -> str:
        return self.query_header(C.WINHTTP_QUERY_VERSION)

    @property
    def raw_headers(self) -> str:
        """RAW_HEADERS_CRLF: the status line and headers, as the daemon rebuilds them."""
        return self.query_header(C.WINHTTP_QUERY_RAW_HEADERS_CRLF)

    @property
    def headers(self) -> Headers:
        """The response headers, in order, as ``(name, value)`` pairs."""
        return Headers.parse(self.raw_headers)

    @property
    def url(self) -> str:
        return self.query_option(C.WINHTTP_OPTION_URL)

    def query_data_available(self) -> int:
        """``WinHttpQueryDataAvailable``: bytes readable now without waiting; 0 at the end."""
        return self._op("WinHttpQueryDataAvailable")

    def read(self, size: int = DEFAULT_READ_SIZE) -> bytes:
        """``WinHttpReadData``: up to ``size`` bytes (fewer only at the end); b"" at the end."""
        return self._op("WinHttpReadData", bytesToRead=size)

    def iter_chunks(self, size: int = DEFAULT_READ_SIZE) -> Iterator[bytes]:
        while True:
            chunk = self.read(size)
            if not chunk:
                return
            yield chunk

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_chunks()

    def read_all(self, size: int = DEFAULT_READ_SIZE) -> bytes:
        return b"".join(self.iter_chunks(size))

    def read_response(self, url: Optional[str] = None) -> Response:
        """Status, headers and the whole (rest of the) body, after :meth:`receive_response`."""
        raw = self.raw_headers
        status_line = raw.split("\r\n", 1)[0].split(" ", 2)
        version = status_line[0]
        reason = status_line[2] if len(status_line) > 2 else ""
        return Response(
            self.status_code, reason, version, Headers.parse(raw), self.read_all(), url or self.url
        )

    def set_timeouts(
        self, resolve: int = 0, connect: int = 60000, send: int = 30000, receive: int = 30000
    ) -> None:
        """``WinHttpSetTimeouts`` for this request only (ms; 0 or -1: no limit)."""
        self._call("WinHttpSetTimeouts", timeouts_params(self.handle, resolve, connect, send, receive))

    def _op(self, method: str, **params: Any) -> Any:
        return result_value(method, self._call(method, params))


def connect(socket_path: Optional[str] = None, *, timeout: Optional[float] = None) -> Client:
    """Connects to the daemon (default socket: docs/protocol.md §2). ``timeout`` bounds each
    wait for an answer (None: the daemon's own timeouts decide)."""
    return Client(socket_path, timeout=timeout)


def request(
    verb: str,
    url: str,
    *,
    headers: HeadersArg = None,
    body: Optional[BodyArg] = None,
    insecure: bool = False,
    socket_path: Optional[str] = None,
    user_agent: Optional[str] = DEFAULT_USER_AGENT,
    timeout: Optional[float] = None,
) -> Response:
    """One request through the daemon, on a connection and session of its own."""
    with (
        connect(socket_path, timeout=timeout) as client,
        client.open_session(user_agent, notifications=None) as s,
    ):
        return s.request(verb, url, headers=headers, body=body, insecure=insecure)


def get(url: str, **kwargs: Any) -> Response:
    """``hinet.get("http://127.0.0.1:8000/")``: a whole GET through the daemon."""
    return request("GET", url, **kwargs)


def post(url: str, body: BodyArg, **kwargs: Any) -> Response:
    return request("POST", url, body=body, **kwargs)
