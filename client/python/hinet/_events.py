"""Status-callback events and how they reach the handle objects.

Every notification names the handle it is about. The client keeps a table of the handle objects
it created (the :class:`Router`); an event goes to its handle (which may be waiting for the
completion of an operation) and then to the event streams of that handle and of each of its
ancestors, so a session's stream sees everything below it. HANDLE_CREATED arrives before the
new handle's number is known to the client: such an event is routed through the subscription
it came on, to the handle that subscribed.

The router is driven by the one reader of the connection (a thread in the sync client, a task
in the asyncio one) and never blocks it: streams have bounded queues that drop and remember the
loss instead of waiting.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Union

from . import constants as C
from ._wire import unb64
from .errors import EventOverflow, StreamEnded, WinHttpError

#: Default bound of an event stream's queue.
DEFAULT_MAX_EVENTS = 4096

#: What the stream helpers accept to pick events: a status number, a status name
#: (``"READ_COMPLETE"``), a set of either, or a predicate on the :class:`Event`.
EventMatch = Union[int, str, Iterable[Union[int, str]], Callable[["Event"], bool]]


class Event:
    """One ``WinHttpStatusCallback`` notification.

    ``status`` is the ``WINHTTP_CALLBACK_STATUS_*`` number and ``name`` its short name
    (``"READ_COMPLETE"``); ``info`` the status's details (docs/protocol.md §10.3), with the
    READ_COMPLETE ``data`` already decoded to bytes.
    """

    __slots__ = ("handle", "context", "status", "name", "info", "subscription")

    def __init__(
        self, handle: int, context: int, status: int, name: str, info: Dict[str, Any], subscription: Any
    ) -> None:
        self.handle = handle
        self.context = context
        self.status = status
        self.name = name
        self.info = info
        self.subscription = subscription

    @classmethod
    def from_params(cls, params: Any) -> Optional["Event"]:
        """From the notification's ``params``; None if they do not look like a status event."""
        if not isinstance(params, dict) or not isinstance(params.get("result"), dict):
            return None
        result = params["result"]
        status = result.get("status")
        if not isinstance(status, int):
            return None
        info = dict(result.get("info") or {})
        if status == C.WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
            info["data"] = unb64(info.get("data"))
        return cls(
            int(result.get("handle", 0)),
            int(result.get("context", 0)),
            status,
            str(result.get("statusName") or C.status_name(status)),
            info,
            params.get("subscription"),
        )

    @property
    def is_completion(self) -> bool:
        """True for the statuses that end an async operation (REQUEST_ERROR included)."""
        return self.status in C.COMPLETIONS

    @property
    def error(self) -> Optional[WinHttpError]:
        """The failure a REQUEST_ERROR reports, else None."""
        if self.status != C.WINHTTP_CALLBACK_STATUS_REQUEST_ERROR:
            return None
        return WinHttpError.from_request_error(self.info)

    def __repr__(self) -> str:
        return f"Event({self.name}, handle={self.handle}, context={self.context}, info={self.info!r})"


def matcher(match: EventMatch) -> Callable[[Event], bool]:
    if callable(match):
        return match
    if isinstance(match, (int, str)):
        match = (match,)
    wanted = set(match)
    return lambda ev: ev.status in wanted or ev.name in wanted


def completion_value(event: Event) -> Any:
    """What an async operation produced, from its completion; raises for REQUEST_ERROR."""
    error = event.error
    if error is not None:
        raise error
    if event.status == C.WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
        return event.info.get("data", b"")
    if event.status == C.WINHTTP_CALLBACK_STATUS_DATA_AVAILABLE:
        return int(event.info.get("bytesAvailable", 0))
    if event.status == C.WINHTTP_CALLBACK_STATUS_WRITE_COMPLETE:
        return int(event.info.get("bytesWritten", 0))
    return None


class EventQueue:
    """A bounded FIFO with an end. Not synchronized: the streams wrap it with their own waiting.

    When full it stops accepting (a stream with a gap would mislead); once what it holds has
    been taken, :meth:`take` raises :class:`EventOverflow`.
    """

    EMPTY = object()

    def __init__(self, maxsize: int) -> None:
        self._items: Deque[Event] = deque()
        self._maxsize = max(1, maxsize)
        self._overflowed = False
        self._ended = False
        self._end_error: Optional[BaseException] = None

    def offer(self, event: Event) -> bool:
        if self._ended or self._overflowed:
            return False
        if len(self._items) >= self._maxsize:
            self._overflowed = True
            return False
        self._items.append(event)
        return True

    def finish(self, error: Optional[BaseException]) -> None:
        if not self._ended:
            self._ended, self._end_error = True, error

    def take(self) -> Any:
        """The next event, :attr:`EMPTY` if none yet, or raises when nothing more can come."""
        if self._items:
            return self._items.popleft()
        if self._overflowed:
            raise EventOverflow("events were dropped because the stream's queue was full")
        if self._ended:
            if self._end_error is not None:
                raise self._end_error
            raise StreamEnded("the event stream has ended")
        return self.EMPTY

    def take_all(self) -> List[Event]:
        items = list(self._items)
        self._items.clear()
        return items


class Node:
    """What the router needs of a handle object (the sync and asyncio handles derive from it)."""

    def __init__(self, handle: int, parent: Optional["Node"]) -> None:
        self.handle = handle
        self._parent = parent
        self._streams: List[Any] = []
        self.closed = False

    def _on_own_event(self, event: Event) -> None:
        """An event about this very handle (before the streams see it)."""

    def _on_closed(self, error: Optional[BaseException]) -> None:
        """The handle is gone: HANDLE_CLOSING arrived, it was closed, or the connection ended
        (then ``error`` says why). Its streams have been finished already."""

    def _is_below(self, other: "Node") -> bool:
        node: Optional[Node] = self
        while node is not None:
            if node is other:
                return True
            node = node._parent
        return False


class Router:
    """Handle number and subscription id → handle object; delivers each event."""

    def __init__(self) -> None:
        # Held only to read or change the tables and stream lists, never while delivering.
        self._lock = threading.Lock()
        self._handles: Dict[int, Node] = {}
        self._subscriptions: Dict[Any, Node] = {}
        self._shut = False

    def add(self, node: Node) -> None:
        with self._lock:
            if not self._shut:
                self._handles[node.handle] = node

    def add_subscription(self, subscription: Any, node: Node) -> None:
        with self._lock:
            self._subscriptions[subscription] = node

    def attach(self, node: Node, stream: Any) -> None:
        with self._lock:
            if not node.closed:
                node._streams.append(stream)
                return
        stream._finish(None)

    def detach(self, node: Node, stream: Any) -> None:
        with self._lock:
            if stream in node._streams:
                node._streams.remove(stream)

    def forget(self, node: Node) -> None:
        """The handle was closed: it and everything below it leave the table (those that got
        HANDLE_CLOSING have left already)."""
        with self._lock:
            gone = [n for n in self._handles.values() if n._is_below(node)]
            for n in gone:
                del self._handles[n.handle]
            for sub in [s for s, n in self._subscriptions.items() if n._is_below(node)]:
                del self._subscriptions[sub]
        if node not in gone:
            gone.append(node)
        for n in gone:
            self._close_node(n, None)

    def route(self, event: Event) -> None:
        with self._lock:
            owner = self._handles.get(event.handle)
            node = owner if owner is not None else self._subscriptions.get(event.subscription)
            closing = owner is not None and event.status == C.WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING
            if closing:
                del self._handles[event.handle]
            # The handle's own streams first, then its ancestors'.
            streams = []
            while node is not None:
                streams.extend(node._streams)
                node = node._parent
        if owner is not None:
            owner._on_own_event(event)
        for stream in streams:
            stream._push(event)
        if closing and owner is not None:
            self._close_node(owner, None)

    def shutdown(self, error: Optional[BaseException]) -> None:
        """The connection ended: every handle is gone (the daemon closed them)."""
        with self._lock:
            self._shut = True
            nodes = list(self._handles.values())
            self._handles.clear()
            self._subscriptions.clear()
        for node in nodes:
            self._close_node(node, error)

    def _close_node(self, node: Node, error: Optional[BaseException]) -> None:
        with self._lock:
            if node.closed:
                return
            node.closed = True
            streams, node._streams = node._streams, []
        for stream in streams:
            stream._finish(error)
        node._on_closed(error)
