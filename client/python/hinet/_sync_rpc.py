"""The synchronous JSON-RPC connection: any thread may call; one reader thread answers.

The daemon runs the lines of a connection concurrently and answers in any order, and status
notifications arrive between answers at any time. A single reader thread therefore owns the
receiving side: it hands each answer to the caller waiting for that id and each notification to
the router, and never blocks on either, so a caller that is not reading events cannot stall
the others (nor make the daemon drop the connection as a slow reader).
"""

from __future__ import annotations

import itertools
import json
import logging
import socket
import threading
from typing import Any, Dict, Optional

from ._events import Event, Router
from ._wire import MAX_LINE, encode_request
from .errors import ConnectionClosed, DaemonUnavailable, error_from_reply

log = logging.getLogger("hinet")


class _Waiter:
    __slots__ = ("done", "reply")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.reply: Optional[Dict[str, Any]] = None


class RpcConnection:
    def __init__(self, path: str, timeout: Optional[float]) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except OSError as e:
            sock.close()
            raise DaemonUnavailable(path, e) from e
        self.path = path
        self.timeout = timeout
        self.router = Router()
        self._sock = sock
        self._ids = itertools.count(1)
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._waiters: Dict[int, _Waiter] = {}
        self._ended: Optional[ConnectionClosed] = None
        self._closing = False
        self._reader = threading.Thread(target=self._read_loop, name="hinet-reader", daemon=True)
        self._reader.start()

    def call(self, method: str, params: Dict[str, Any], timeout: Optional[float] = None) -> Any:
        waiter = _Waiter()
        id_ = next(self._ids)
        with self._lock:
            if self._ended is not None:
                raise ConnectionClosed(str(self._ended))
            self._waiters[id_] = waiter
        try:
            with self._send_lock:
                self._sock.sendall(encode_request(id_, method, params))
            limit = self.timeout if timeout is None else timeout
            if not waiter.done.wait(limit):
                raise TimeoutError(f"{method}: no answer from hinetd within {limit} s")
        except OSError as e:
            raise ConnectionClosed(f"connection to hinetd lost: {e}") from e
        finally:
            with self._lock:
                self._waiters.pop(id_, None)
        reply = waiter.reply
        if reply is None:
            raise ConnectionClosed(str(self._ended or "connection to hinetd closed"))
        if "error" in reply:
            raise error_from_reply(reply["error"])
        return reply.get("result")

    def close(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._closing = True
        try:
            # Wakes the reader (its recv returns end-of-stream) so it can finish the waiters.
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if threading.current_thread() is not self._reader:
            self._reader.join()
        self._sock.close()

    @property
    def closed(self) -> bool:
        return self._ended is not None

    def _read_loop(self) -> None:
        reason = "hinetd closed the connection"
        try:
            reader = self._sock.makefile("rb")
            while True:
                line = reader.readline(MAX_LINE + 1)
                if not line:
                    break
                if not line.endswith(b"\n") and len(line) > MAX_LINE:
                    reason = "hinetd sent a line longer than any valid message"
                    break
                self._dispatch(line)
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
            with self._lock:
                waiter = self._waiters.get(item.get("id"))  # type: ignore[arg-type]
            if waiter is not None:
                waiter.reply = item
                waiter.done.set()

    def _end(self, reason: str) -> None:
        intentional = self._closing
        error = ConnectionClosed("the client was closed" if intentional else reason)
        with self._lock:
            self._ended = error
            waiters = list(self._waiters.values())
        for waiter in waiters:
            waiter.done.set()
        # Closing on purpose ends the event streams cleanly; losing the daemon is an error.
        self.router.shutdown(None if intentional else error)
