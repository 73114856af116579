"""Event streams for the synchronous client: filled by the reader thread, read by any thread."""

from __future__ import annotations

import threading
import time
from typing import Any, Iterator, List, Optional

from ._events import Event, EventMatch, EventQueue, Node, Router, matcher
from .errors import StreamEnded


class EventStream:
    """The status-callback events of a handle and everything below it, from the moment the
    stream was made.

    Iterate it (``for event in stream``: ends after the handle's HANDLE_CLOSING), or take events
    with :meth:`get`, :meth:`wait_for` and :meth:`until` (all with timeouts), or :meth:`drain`
    what has arrived. Close it (or use ``with``) when no longer interested: until then its
    bounded queue keeps filling.
    """

    def __init__(self, router: Router, node: Node, maxsize: int) -> None:
        self._router = router
        self._node = node
        self._queue = EventQueue(maxsize)
        self._cond = threading.Condition()
        router.attach(node, self)

    # Called by the router (reader thread).
    def _push(self, event: Event) -> None:
        with self._cond:
            if self._queue.offer(event):
                self._cond.notify_all()

    def _finish(self, error: Optional[BaseException]) -> None:
        with self._cond:
            self._queue.finish(error)
            self._cond.notify_all()

    def get(self, timeout: Optional[float] = None) -> Event:
        """The next event. Raises TimeoutError, :class:`StreamEnded` after the last event, or
        :class:`EventOverflow` where events were lost."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                item = self._queue.take()
                if item is not EventQueue.EMPTY:
                    return item
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"no event within {timeout} s")
                self._cond.wait(remaining)

    def until(self, match: EventMatch, timeout: Optional[float] = None) -> List[Event]:
        """Events up to and including the first that matches (a status number or name, a set
        of them, or a predicate)."""
        is_match = matcher(match)
        deadline = None if timeout is None else time.monotonic() + timeout
        seen: List[Event] = []
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            event = self.get(remaining)
            seen.append(event)
            if is_match(event):
                return seen

    def wait_for(self, match: EventMatch, timeout: Optional[float] = None) -> Event:
        """The first matching event (those before it are consumed)."""
        return self.until(match, timeout)[-1]

    def drain(self) -> List[Event]:
        """Everything that has arrived, without waiting."""
        with self._cond:
            return self._queue.take_all()

    def close(self) -> None:
        self._router.detach(self._node, self)
        self._finish(None)

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        try:
            return self.get()
        except StreamEnded:
            raise StopIteration from None

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
