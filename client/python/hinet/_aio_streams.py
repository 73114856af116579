"""Event streams for the asyncio client: filled by the reader task, awaited by anyone."""

from __future__ import annotations

import asyncio
import time
from typing import Any, List, Optional, Set

from ._events import Event, EventMatch, EventQueue, Node, Router, matcher
from .errors import StreamEnded


class AsyncEventStream:
    """The status-callback events of a handle and everything below it, from the moment the
    stream was made.

    ``async for event in stream`` ends after the handle's HANDLE_CLOSING; :meth:`get`,
    :meth:`wait_for` and :meth:`until` take a timeout; :meth:`drain` returns what has arrived.
    Close it (or use ``with``) when no longer interested: until then its bounded queue keeps
    filling.
    """

    def __init__(self, router: Router, node: Node, maxsize: int) -> None:
        self._router = router
        self._node = node
        self._queue = EventQueue(maxsize)
        self._waiters: Set["asyncio.Future[None]"] = set()
        router.attach(node, self)

    # Called by the router, on the loop (reader task).
    def _push(self, event: Event) -> None:
        if self._queue.offer(event):
            self._wake()

    def _finish(self, error: Optional[BaseException]) -> None:
        self._queue.finish(error)
        self._wake()

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def get(self, timeout: Optional[float] = None) -> Event:
        """The next event. Raises TimeoutError, :class:`StreamEnded` after the last event, or
        :class:`EventOverflow` where events were lost."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            item = self._queue.take()
            if item is not EventQueue.EMPTY:
                return item
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"no event within {timeout} s")
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except asyncio.TimeoutError:
                pass  # once more round the loop: take() first, then the deadline
            finally:
                self._waiters.discard(waiter)

    async def until(self, match: EventMatch, timeout: Optional[float] = None) -> List[Event]:
        """Events up to and including the first that matches (a status number or name, a set
        of them, or a predicate)."""
        is_match = matcher(match)
        deadline = None if timeout is None else time.monotonic() + timeout
        seen: List[Event] = []
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            event = await self.get(remaining)
            seen.append(event)
            if is_match(event):
                return seen

    async def wait_for(self, match: EventMatch, timeout: Optional[float] = None) -> Event:
        """The first matching event (those before it are consumed)."""
        return (await self.until(match, timeout))[-1]

    def drain(self) -> List[Event]:
        """Everything that has arrived, without waiting."""
        return self._queue.take_all()

    def close(self) -> None:
        self._router.detach(self._node, self)
        self._finish(None)

    def __aiter__(self) -> "AsyncEventStream":
        return self

    async def __anext__(self) -> Event:
        try:
            return await self.get()
        except StreamEnded:
            raise StopAsyncIteration from None

    def __enter__(self) -> "AsyncEventStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    async def __aenter__(self) -> "AsyncEventStream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()
