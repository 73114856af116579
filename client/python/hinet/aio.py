"""The asyncio client: the same objects as :mod:`hinet.client`, with ``await``-able calls.

Sessions are asynchronous by default (``WINHTTP_FLAG_ASYNC``): the daemon answers each request
operation at once and reports its outcome later as a status-callback notification. The objects
here hide that: ``await request.send()`` returns when SENDREQUEST_COMPLETE arrives and raises
:class:`~hinet.WinHttpError` when REQUEST_ERROR does; ``await request.read()`` returns the bytes
of READ_COMPLETE. Every notification can also be watched::

    async with await hinet.aio.connect() as client:
        async with await client.open_session("demo/1") as session:
            events = session.events()
            async with await session.connect("127.0.0.1", 8000) as conn:
                async with await conn.open_request("GET", "/") as req:
                    await req.send()
                    await req.receive_response()
                    print(await req.status_code, await req.read_all())
            print([e.name for e in events.drain()])

Properties that ask the daemon (``status_code``, ``headers``, …) are awaitable:
``await req.status_code``. A request runs one operation at a time, as in WinHTTP; run several
requests concurrently with ``asyncio.gather``. Cancelling an ``await`` does not cancel the
daemon's operation: close the request handle for that.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Awaitable, Dict, Iterable, Optional, Union

from . import constants as C
from ._aio_rpc import AsyncRpcConnection
from ._aio_streams import AsyncEventStream
from ._events import DEFAULT_MAX_EVENTS, Event, Node, completion_value
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
from .client import DEFAULT_USER_AGENT
from .errors import ConnectionClosed, WinHttpError
from .response import Headers, Response

__all__ = ["AsyncEventStream", "Client", "Connection", "Request", "Session", "connect", "get", "request"]

#: What an async session's callback must deliver for the awaiting helpers to work.
_REQUIRED_NOTIFICATIONS = C.WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS | C.WINHTTP_CALLBACK_FLAG_HANDLES


class Client:
    """One connection to the daemon (see :func:`connect`)."""

    def __init__(self, rpc: AsyncRpcConnection) -> None:
        self._rpc = rpc
        self.socket_path = rpc.path

    async def call(self, method: str, params: Optional[Dict[str, Any]] = None, **kwparams: Any) -> Any:
        """Any method, raw: returns the ``result`` as sent (bytes stay base64) or raises."""
        return await self._rpc.call(method, {**(params or {}), **kwparams})

    async def status(self) -> Dict[str, Any]:
        """``HinetStatus``: the daemon's counters."""
        return await self.call("HinetStatus")

    async def crack_url(self, url: str, flags: int = 0) -> Dict[str, Any]:
        return await self.call("WinHttpCrackUrl", url=url, flags=flags)

    async def create_url(self, components: Dict[str, Any], flags: int = 0) -> str:
        return (await self.call("WinHttpCreateUrl", components=components, flags=flags))["url"]

    async def open_session(
        self,
        user_agent: Optional[str] = None,
        flags: int = C.WINHTTP_FLAG_ASYNC,
        *,
        access_type: Optional[int] = None,
        notifications: Optional[int] = C.WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS,
    ) -> "Session":
        """``WinHttpOpen``, then ``WinHttpSetStatusCallback`` on the session with the
        ``notifications`` mask (for async sessions completions and handle events are always
        included: the awaiting helpers need them). ``flags=0`` opens a sync session, whose calls
        are answered directly."""
        is_async = bool(flags & C.WINHTTP_FLAG_ASYNC)
        if is_async:
            notifications = (notifications or 0) | _REQUIRED_NOTIFICATIONS
        params = drop_none(userAgent=user_agent, flags=flags, accessType=access_type)
        session = Session(self, (await self.call("WinHttpOpen", params))["handle"], None, is_async)
        self._rpc.router.add(session)
        if notifications:
            try:
                await session.set_status_callback(notifications)
            except BaseException:
                await session.close()
                raise
        return session

    async def close(self) -> None:
        await self._rpc.close()

    @property
    def closed(self) -> bool:
        return self._rpc.closed

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<hinet.aio.Client {self.socket_path}{' closed' if self.closed else ''}>"


class _Handle(Node):
    def __init__(self, client: Client, handle: int, parent: Optional["_Handle"]) -> None:
        super().__init__(handle, parent)
        self.client = client

    async def _call(self, method: str, params: Optional[Dict[str, Any]] = None, **kw: Any) -> Any:
        return await self.client._rpc.call(method, {"handle": self.handle, **(params or {}), **kw})

    async def call(self, method: str, params: Optional[Dict[str, Any]] = None, **kwparams: Any) -> Any:
        """Any method on this handle, raw (``handle`` is filled in): the way to reach methods
        without a helper here. Returns the ``result`` as sent; async operations are not awaited."""
        return await self._call(method, params, **kwparams)

    def _child(self, cls: type, result: Dict[str, Any]) -> Any:
        child = cls(self.client, result["handle"], self)
        self.client._rpc.router.add(child)
        return child

    async def close(self) -> None:
        """``WinHttpCloseHandle``: closes this handle and all below it (their pending operations
        fail with 12017). Closing twice, or after a parent was closed, does nothing."""
        if self.closed:
            return
        try:
            await self._call("WinHttpCloseHandle")
        except WinHttpError as e:
            if e.code != C.ERROR_INVALID_HANDLE:
                raise
        except ConnectionClosed:
            pass  # the daemon closed it with the connection
        finally:
            self.client._rpc.router.forget(self)

    async def set_option(
        self, option: int, value: Union[int, str, None], buffer_length: Optional[int] = None
    ) -> None:
        await self._call("WinHttpSetOption", set_option_params(self.handle, option, value, buffer_length))

    async def query_option(self, option: int) -> Any:
        return (await self._call("WinHttpQueryOption", option=option))["value"]

    async def set_status_callback(
        self, notifications: int = C.WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS
    ) -> int:
        """``WinHttpSetStatusCallback`` on this handle; returns the subscription id. In an async
        session, a mask without the completions breaks the awaiting helpers of the requests
        that get it."""
        subscription = await self._call("WinHttpSetStatusCallback", notificationFlags=notifications)
        self.client._rpc.router.add_subscription(subscription, self)
        return subscription

    def events(self, maxsize: int = DEFAULT_MAX_EVENTS) -> AsyncEventStream:
        """A stream of the status events of this handle and everything below it, from now on."""
        return AsyncEventStream(self.client._rpc.router, self, maxsize)

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<hinet.aio.{type(self).__name__} {self.handle}{' closed' if self.closed else ''}>"


class Session(_Handle):
    """A ``WinHttpOpen`` handle."""

    def __init__(self, client: Client, handle: int, parent: None, is_async: bool) -> None:
        super().__init__(client, handle, parent)
        self.is_async = is_async

    async def connect(self, host: str, port: int = 0) -> "Connection":
        """``WinHttpConnect`` (no network I/O yet). Port 0: 443 for secure requests, else 80."""
        return self._child(Connection, await self._call("WinHttpConnect", serverName=host, serverPort=port))

    async def set_timeouts(
        self, resolve: int = 0, connect: int = 60000, send: int = 30000, receive: int = 30000
    ) -> None:
        await self._call("WinHttpSetTimeouts", timeouts_params(self.handle, resolve, connect, send, receive))

    async def request(
        self,
        verb: str,
        url: str,
        *,
        headers: HeadersArg = None,
        body: Optional[BodyArg] = None,
        insecure: bool = False,
        flags: int = 0,
    ) -> Response:
        """One whole exchange on this session: crack, connect, send, read everything."""
        host, port, target, secure = url_target(await self.client.crack_url(url))
        async with await self.connect(host, port) as conn:
            async with await conn.open_request(verb, target, flags, secure=secure) as req:
                if insecure and secure:
                    await req.set_option(
                        C.WINHTTP_OPTION_SECURITY_FLAGS, C.SECURITY_FLAG_IGNORE_ALL_CERT_ERRORS
                    )
                await req.send(headers=headers, body=body)
                await req.receive_response()
                return await req.read_response(url)

    async def get(self, url: str, **kwargs: Any) -> Response:
        return await self.request("GET", url, **kwargs)


class Connection(_Handle):
    """A ``WinHttpConnect`` handle."""

    @property
    def session(self) -> Session:
        return self._parent  # type: ignore[return-value]

    async def open_request(
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
        return self._child(Request, await self._call("WinHttpOpenRequest", params))


class Request(_Handle):
    """A ``WinHttpOpenRequest`` handle. In an async session each operation waits for its
    completion notification."""

    def __init__(self, client: Client, handle: int, parent: Connection) -> None:
        super().__init__(client, handle, parent)
        self._pending: Optional["asyncio.Future[Event]"] = None

    @property
    def session(self) -> Session:
        return self._parent._parent  # type: ignore[union-attr,return-value]

    async def add_headers(self, headers: HeadersArg, modifiers: int = C.WINHTTP_ADDREQ_FLAG_ADD) -> None:
        await self._call("WinHttpAddRequestHeaders", headers=header_text(headers), modifiers=modifiers)

    async def send(
        self,
        headers: HeadersArg = None,
        body: Optional[BodyArg] = b"",
        total_length: Optional[int] = None,
        context: int = 0,
    ) -> None:
        """``WinHttpSendRequest``; async sessions: until SENDREQUEST_COMPLETE."""
        await self._op("WinHttpSendRequest", send_params(self.handle, headers, body, total_length, context))

    async def write(self, data: BodyArg) -> int:
        """``WinHttpWriteData``; returns the bytes written (WRITE_COMPLETE)."""
        return await self._op("WinHttpWriteData", {"handle": self.handle, "data": b64(data)})

    async def receive_response(self) -> None:
        """``WinHttpReceiveResponse``; async sessions: until HEADERS_AVAILABLE."""
        await self._op("WinHttpReceiveResponse", {"handle": self.handle})

    async def query_data_available(self) -> int:
        """``WinHttpQueryDataAvailable`` (DATA_AVAILABLE); 0 at the end of the body."""
        return await self._op("WinHttpQueryDataAvailable", {"handle": self.handle})

    async def read(self, size: int = DEFAULT_READ_SIZE) -> bytes:
        """``WinHttpReadData`` (READ_COMPLETE): in async sessions whatever has arrived, up to
        ``size``; b"" at the end of the body."""
        return await self._op("WinHttpReadData", {"handle": self.handle, "bytesToRead": size})

    async def iter_chunks(self, size: int = DEFAULT_READ_SIZE) -> AsyncIterator[bytes]:
        while True:
            chunk = await self.read(size)
            if not chunk:
                return
            yield chunk

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.iter_chunks()

    async def read_all(self, size: int = DEFAULT_READ_SIZE) -> bytes:
        return b"".join([chunk async for chunk in self.iter_chunks(size)])

    async def query_header(
        self,
        level_or_name: Union[int, str],
        index: Optional[int] = None,
        number: bool = False,
        request_headers: bool = False,
    ) -> Any:
        """``WinHttpQueryHeaders`` (always answered directly); raises 12150 when absent."""
        params = query_header_params(self.handle, level_or_name, index, number, request_headers)
        return (await self._call("WinHttpQueryHeaders", params))["value"]

    async def header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        try:
            return await self.query_header(name)
        except WinHttpError as e:
            if e.code == C.ERROR_WINHTTP_HEADER_NOT_FOUND:
                return default
            raise

    @property
    def status_code(self) -> Awaitable[int]:
        return self.query_header(C.WINHTTP_QUERY_STATUS_CODE, number=True)

    @property
    def reason(self) -> Awaitable[str]:
        return self.query_header(C.WINHTTP_QUERY_STATUS_TEXT)

    @property
    def http_version(self) -> Awaitable[str]:
        return self.query_header(C.WINHTTP_QUERY_VERSION)

    @property
    def raw_headers(self) -> Awaitable[str]:
        return self.query_header(C.WINHTTP_QUERY_RAW_HEADERS_CRLF)

    @property
    def headers(self) -> Awaitable[Headers]:
        return self._headers()

    async def _headers(self) -> Headers:
        return Headers.parse(await self.raw_headers)

    @property
    def url(self) -> Awaitable[str]:
        return self.query_option(C.WINHTTP_OPTION_URL)

    async def read_response(self, url: Optional[str] = None) -> Response:
        """Status, headers and the whole (rest of the) body, after :meth:`receive_response`."""
        raw = await self.raw_headers
        status_line = raw.split("\r\n", 1)[0].split(" ", 2)
        reason = status_line[2] if len(status_line) > 2 else ""
        status = await self.status_code
        body = await self.read_all()
        return Response(status, reason, status_line[0], Headers.parse(raw), body, url or await self.url)

    async def set_timeouts(
        self, resolve: int = 0, connect: int = 60000, send: int = 30000, receive: int = 30000
    ) -> None:
        await self._call("WinHttpSetTimeouts", timeouts_params(self.handle, resolve, connect, send, receive))

    async def _op(self, method: str, params: Dict[str, Any]) -> Any:
        """Runs a request operation: the answer in a sync session, the completion in an async
        one. The completion may arrive before the answer, so the waiter is in place first."""
        if not self.session.is_async:
            return result_value(method, await self.client._rpc.call(method, params))
        if self._pending is not None:
            raise WinHttpError(
                C.ERROR_WINHTTP_INCORRECT_HANDLE_STATE,
                None,
                f"{method}: request {self.handle} already has an operation outstanding",
            )
        completion: "asyncio.Future[Event]" = asyncio.get_running_loop().create_future()
        # Retrieves an exception nobody awaits any more (the caller was cancelled), silently.
        completion.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._pending = completion
        answer = asyncio.ensure_future(self.client._rpc.call(method, params))
        answer.add_done_callback(lambda task: self._answered(completion, task))
        # Shielded: once sent, the call runs to its answer even if our caller is cancelled, so
        # the request knows whether a completion is still to come.
        await asyncio.shield(answer)
        return completion_value(await completion)

    def _answered(self, completion: "asyncio.Future[Event]", answer: "asyncio.Future[Any]") -> None:
        if answer.cancelled() or answer.exception() is not None:
            # Refused: no completion will come.
            if self._pending is completion:
                self._pending = None
            completion.cancel()

    def _on_own_event(self, event: Event) -> None:
        if event.is_completion and self._pending is not None:
            completion, self._pending = self._pending, None
            if not completion.done():
                completion.set_result(event)

    def _on_closed(self, error: Optional[BaseException]) -> None:
        completion, self._pending = self._pending, None
        if completion is not None and not completion.done():
            completion.set_exception(
                error
                or WinHttpError(
                    C.ERROR_WINHTTP_OPERATION_CANCELLED, None, f"request {self.handle} was closed"
                )
            )


async def connect(socket_path: Optional[str] = None) -> Client:
    """Connects to the daemon (default socket: docs/protocol.md §2)."""
    return Client(await AsyncRpcConnection.open(socket_path or default_socket_path()))


async def request(
    verb: str,
    url: str,
    *,
    headers: HeadersArg = None,
    body: Optional[BodyArg] = None,
    insecure: bool = False,
    socket_path: Optional[str] = None,
    user_agent: Optional[str] = DEFAULT_USER_AGENT,
) -> Response:
    """One request through an async session on a connection of its own."""
    async with await connect(socket_path) as client:
        async with await client.open_session(user_agent) as session:
            return await session.request(verb, url, headers=headers, body=body, insecure=insecure)


async def get(url: str, **kwargs: Any) -> Response:
    return await request("GET", url, **kwargs)
