"""The asyncio JSON-RPC connection: one reader task routes answers by id and notifications by
handle; callers await futures. Nothing the reader does can wait on a caller."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from typing import Any, Dict, Optional

from ._events import Event, Router
from ._wire import MAX_LINE, encode_request
from .errors import ConnectionClosed, DaemonUnavailable, error_from_reply

log = logging.getLogger("hinet")


class AsyncRpcConnection:
    def __init__(self, path: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.path = path
        self.router = Router()
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._waiters: Dict[int, "asyncio.Future[Dict[str, Any]]"] = {}
        # StreamWriter.drain() may not be awaited by two tasks at once on older Pythons.
        self._send_lock = asyncio.Lock()
        self._ended: Optional[ConnectionClosed] = None
        self._closing = False
        self._task = asyncio.ensure_future(self._read_loop())

    @classmethod
    async def open(cls, path: str) -> "AsyncRpcConnection":
        try:
            reader, writer = await asyncio.open_unix_connection(path, limit=MAX_LINE + 1)
        except OSError as e:
            raise DaemonUnavailable(path, e) from e
        return cls(path, reader, writer)

    async def call(self, method: str, params: Dict[str, Any]) -> Any:
        if self._ended is not None:
            raise ConnectionClosed(str(self._ended))
        id_ = next(self._ids)
        future: "asyncio.Future[Dict[str, Any]]" = asyncio.get_running_loop().create_future()
        self._waiters[id_] = future
        try:
            async with self._send_lock:
                self._writer.write(encode_request(id_, method, params))
                await self._writer.drain()
            reply = await future
        except OSError as e:
            raise ConnectionClosed(f"connection to hinetd lost: {e}") from e
        finally:
            self._waiters.pop(id_, None)
        if "error" in reply:
            raise error_from_reply(reply["error"])
        return reply.get("result")

    @property
    def closed(self) -> bool:
        return self._ended is not None

    async def close(self) -> None:
        if self._closing:
            await asyncio.shield(self._task)
            return
        self._closing = True
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except OSError:
            pass
        await asyncio.shield(self._task)

    async def _read_loop(self) -> None:
        reason = "hinetd closed the connection"
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    break
                self._dispatch(line)
        except ValueError:
            reason = "hinetd sent a line longer than any valid message"
        except OSError as e:
            reason = f"connection to hinetd lost: {e}"
        finally:
            self._end(reason)

    def _dispatch(self, line: bytes) -> None:
        try:
            msg = json.loads(line)
        except ValueError:
            if line.strip():
                log.warning("hinet: ignoring a line that is not JSON: %.200r", line)
            return
        for item in msg if isinstance(msg, list) else [msg]:
            if not isinstance(item, dict):
                continue
            if "method" in item:
                if item["method"] == "WinHttpStatusCallback":
                    event = Event.from_params(item.get("params"))
                    if event is not None:
                        self.router.route(event)
                continue
            future = self._waiters.get(item.get("id"))  # type: ignore[arg-type]
            if future is not None and not future.done():
                future.set_result(item)

    def _end(self, reason: str) -> None:
        intentional = self._closing
        error = ConnectionClosed("the client was closed" if intentional else reason)
        self._ended = error
        for future in self._waiters.values():
            if not future.done():
                future.set_exception(error)
        self._waiters.clear()
        if not self._writer.is_closing():
            self._writer.close()
        self.router.shutdown(None if intentional else error)
