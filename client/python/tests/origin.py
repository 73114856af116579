"""Real local HTTP and HTTPS origins for the tests (http.server in a thread, 127.0.0.1 only).

Routes:
  GET  /hello            fixed text body
  GET  /big?n=N          N bytes of a repeating pattern
  GET  /status/NNN       that status, a short body
  GET  /multi            two Set-Cookie headers
  GET  /stall            answers only when the origin is released (or after 5 s)
  POST|PUT /echo         the request body back, with X-Method and X-Received-Length
Every request is recorded (method, path, headers, body) for the tests to inspect.
"""

import http.server
import ssl
import sys
import threading
from typing import List, NamedTuple, Optional, Tuple

PATTERN = bytes(range(256))


def pattern(n: int) -> bytes:
    return (PATTERN * (n // len(PATTERN) + 1))[:n]


class Recorded(NamedTuple):
    method: str
    path: str
    headers: List[Tuple[str, str]]
    body: bytes

    def header(self, name: str) -> Optional[str]:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self, body: bytes) -> None:
        self.server.owner.records.append(Recorded(self.command, self.path, list(self.headers.items()), body))

    def _reply(self, status: int, body: bytes, headers: Tuple[Tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        self._record(self._body())
        path, _, query = self.path.partition("?")
        if path == "/hello":
            self._reply(200, b"hello from the origin", (("Content-Type", "text/plain; charset=utf-8"),))
        elif path == "/big":
            n = int(query.partition("=")[2] or 0)
            self._reply(200, pattern(n), (("Content-Type", "application/octet-stream"),))
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self._reply(code, f"status {code}".encode())
        elif path == "/multi":
            self._reply(200, b"ok", (("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Thing", "yes")))
        elif path == "/stall":
            self.server.owner.release.wait(5)
            self._reply(200, b"late")
        else:
            self._reply(404, b"not found")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        body = self._body()
        self._record(body)
        headers = (
            ("Content-Type", "application/octet-stream"),
            ("X-Method", self.command),
            ("X-Received-Length", str(len(body))),
        )
        self._reply(200, body, headers)

    do_PUT = do_POST


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: "Origin"

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients that hang up early (closed or cancelled requests) are part of the tests.
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError)):
            super().handle_error(request, client_address)


class Origin:
    """A running origin; ``url(path)`` gives its address, ``records`` what it received."""

    def __init__(self, tls: Optional[Tuple[str, str]] = None) -> None:
        self.records: List[Recorded] = []
        self.release = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.scheme = "http"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def last(self) -> Recorded:
        return self.records[-1]

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
