"""Response headers and whole responses, as the convenience calls return them."""

from __future__ import annotations

import json
from typing import Any, Iterator, List, Optional, Tuple, Union


class Headers:
    """Header lines in the order received; lookups by name ignore case.

    Iterating gives ``(name, value)`` pairs; ``headers["content-type"]`` gives the first value
    (KeyError if absent), :meth:`get` a default instead, :meth:`get_all` every value.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Optional[List[Tuple[str, str]]] = None) -> None:
        self._items: List[Tuple[str, str]] = list(items or [])

    @classmethod
    def parse(cls, raw: str) -> "Headers":
        """From RAW_HEADERS_CRLF text (the status line, if present, is skipped)."""
        items = []
        for line in raw.split("\r\n"):
            if not line or line.startswith("HTTP/"):
                continue
            name, sep, value = line.partition(":")
            if sep:
                items.append((name.strip(), value.strip()))
        return cls(items)

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        lname = name.lower()
        for key, value in self._items:
            if key.lower() == lname:
                return value
        return default

    def get_all(self, name: str) -> List[str]:
        lname = name.lower()
        return [value for key, value in self._items if key.lower() == lname]

    def __getitem__(self, key: Union[str, int]) -> Any:
        if isinstance(key, int):
            return self._items[key]
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[Tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._items == other._items
        return isinstance(other, list) and self._items == other

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class Response:
    """A finished exchange: status, headers and the whole body."""

    __slots__ = ("status", "reason", "version", "headers", "body", "url")

    def __init__(
        self, status: int, reason: str, version: str, headers: Headers, body: bytes, url: str
    ) -> None:
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers
        self.body = body
        self.url = url

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400

    @property
    def text(self) -> str:
        """The body decoded with the Content-Type charset (UTF-8 when none is named)."""
        charset = "utf-8"
        for param in (self.headers.get("Content-Type") or "").split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason!r} {len(self.body)} bytes from {self.url}>"
