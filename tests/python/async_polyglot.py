#!/usr/bin/env python3
"""Drives hinetd's async WinHTTP model from Python's standard library alone.

This is both a test and the reference example for client authors (docs/protocol.md links
it). It starts its own HTTP server on 127.0.0.1 and, unless --socket names a running daemon,
its own hinetd (--daemon PATH), then:

  * opens an async session (WINHTTP_FLAG_ASYNC) and subscribes to its status callbacks;
  * runs a GET and a POST whose body goes through WinHttpWriteData, moving from step to step
    only when the completion notification of the previous step arrives;
  * checks the notification sequences and that closing the session delivers HANDLE_CLOSING
    for the request, then the connect handle, then the session, and nothing after.

Usage: async_polyglot.py --daemon target/debug/hinetd   (exit status 0 = pass)
"""

import argparse
import base64
import http.server
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time

ASYNC = 0x10000000
ALL_NOTIFICATIONS = 0xFFFFFFFF

# WINHTTP_CALLBACK_STATUS_* values used below.
HEADERS_AVAILABLE = 0x00020000
DATA_AVAILABLE = 0x00040000
READ_COMPLETE = 0x00080000
WRITE_COMPLETE = 0x00100000
REQUEST_ERROR = 0x00200000
SENDREQUEST_COMPLETE = 0x00400000
COMPLETIONS = {HEADERS_AVAILABLE, DATA_AVAILABLE, READ_COMPLETE, WRITE_COMPLETE,
               REQUEST_ERROR, SENDREQUEST_COMPLETE}


class Origin(http.server.BaseHTTPRequestHandler):
    """GET /hello answers a fixed body; POST /upload echoes the body's length and bytes."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b"hello from the polyglot origin"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        data = self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"len": len(data), "body": data.decode()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Client:
    """JSON-RPC over the daemon's socket: one JSON text per line.

    Responses and notifications share the socket; responses are matched by id, and every
    notification read while waiting is kept, in order, in `self.events`.
    """

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buffer = b""
        self.next_id = 0
        self.responses = {}
        self.events = []

    def _read_one(self, timeout=None):
        """Reads one message; False if none arrived within `timeout` seconds."""
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.sock], [], [], timeout)
            if not ready:
                return False
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("daemon closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        msg = json.loads(line)
        if "id" in msg and "method" not in msg:
            self.responses[msg["id"]] = msg
        else:
            assert msg["method"] == "WinHttpStatusCallback", msg
            self.events.append(msg["params"]["result"])
        return True

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        line = json.dumps({"jsonrpc": "2.0", "id": my_id, "method": method, "params": params})
        self.sock.sendall(line.encode() + b"\n")
        while my_id not in self.responses:
            self._read_one()
        msg = self.responses.pop(my_id)
        if "error" in msg:
            raise RuntimeError(f"{method} failed: {msg['error']}")
        return msg["result"]

    def wait_completion(self, handle, deadline_s=10):
        """Returns the next completion notification for `handle` (reading as needed)."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            for i, ev in enumerate(self.events):
                if ev["handle"] == handle and ev["status"] in COMPLETIONS:
                    # Keep informational events seen before it for the sequence checks.
                    self.seen.extend(self.events[: i + 1])
                    del self.events[: i + 1]
                    return ev
            self._read_one(max(0.0, end - time.monotonic()))
        raise TimeoutError(f"no completion for handle {handle}")

    def drain(self, quiet_s=0.3):
        """Everything that arrives until the socket has been quiet for `quiet_s`."""
        while self._read_one(quiet_s):
            pass
        out, self.events = self.events, []
        return out


def names(events):
    return [e["statusName"] for e in events]


def exchange(client, connect, verb, path, body=None):
    """One request driven purely by completions; returns (status names seen, response body)."""
    client.seen = []
    req = client.call("WinHttpOpenRequest", handle=connect, verb=verb, objectName=path)["handle"]
    if body is None:
        client.call("WinHttpSendRequest", handle=req, context=0x1234)
    else:
        # Announce the length, send nothing yet: the body goes through WinHttpWriteData.
        client.call("WinHttpSendRequest", handle=req, totalLength=len(body), context=0x1234)
    ev = client.wait_completion(req)
    assert ev["statusName"] == "SENDREQUEST_COMPLETE", ev
    assert ev["context"] == 0x1234, "SendRequest's context replaces the handle's"
    if body is not None:
        half = len(body) // 2
        for piece in (body[:half], body[half:]):
            client.call("WinHttpWriteData", handle=req, data=base64.b64encode(piece).decode())
            ev = client.wait_completion(req)
            assert ev["statusName"] == "WRITE_COMPLETE", ev
            assert ev["info"]["bytesWritten"] == len(piece), ev
    client.call("WinHttpReceiveResponse", handle=req)
    ev = client.wait_completion(req)
    assert ev["statusName"] == "HEADERS_AVAILABLE", ev
    status = client.call("WinHttpQueryHeaders", handle=req, infoLevel=19 | 0x20000000)
    assert status["value"] == 200, status
    received = b""
    while True:
        client.call("WinHttpQueryDataAvailable", handle=req)
        ev = client.wait_completion(req)
        assert ev["statusName"] == "DATA_AVAILABLE", ev
        if ev["info"]["bytesAvailable"] == 0:
            break
        client.call("WinHttpReadData", handle=req, bytesToRead=ev["info"]["bytesAvailable"])
        ev = client.wait_completion(req)
        assert ev["statusName"] == "READ_COMPLETE", ev
        chunk = base64.b64decode(ev["info"]["data"])
        assert len(chunk) == ev["info"]["bytesRead"]
        if not chunk:
            break
        received += chunk
    return req, names([e for e in client.seen if e["handle"] == req]), received


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", help="hinetd binary to start")
    ap.add_argument("--socket", help="socket of a running hinetd")
    args = ap.parse_args()

    origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    port = origin.server_address[1]

    daemon = None
    tmp = tempfile.mkdtemp(prefix="hinet-polyglot-")
    path = args.socket
    if path is None:
        if not args.daemon:
            ap.error("give --daemon or --socket")
        path = os.path.join(tmp, "hinetd.sock")
        daemon = subprocess.Popen([args.daemon, "--socket", path],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(500):
            if os.path.exists(path):
                break
            time.sleep(0.01)
    try:
        client = Client(path)
        session = client.call("WinHttpOpen", userAgent="polyglot/1", flags=ASYNC)["handle"]
        client.call("WinHttpSetStatusCallback", handle=session, notificationFlags=ALL_NOTIFICATIONS)
        connect = client.call("WinHttpConnect", handle=session, serverName="127.0.0.1",
                              serverPort=port)["handle"]

        req, seq, body = exchange(client, connect, "GET", "/hello")
        assert body == b"hello from the polyglot origin", body
        expected_prefix = ["HANDLE_CREATED", "RESOLVING_NAME", "NAME_RESOLVED",
                           "CONNECTING_TO_SERVER", "CONNECTED_TO_SERVER", "SENDING_REQUEST",
                           "REQUEST_SENT", "SENDREQUEST_COMPLETE"]
        assert [s for s in seq if s in expected_prefix] == expected_prefix, seq
        assert seq.index("RECEIVING_RESPONSE") < seq.index("RESPONSE_RECEIVED") \
            < seq.index("HEADERS_AVAILABLE"), seq
        assert seq[-1] == "READ_COMPLETE" or seq[-1] == "DATA_AVAILABLE", seq
        client.call("WinHttpCloseHandle", handle=req)
        closing = client.drain()
        assert names(closing) == ["HANDLE_CLOSING"], closing

        payload = b"posted through WinHttpWriteData"
        req, seq, body = exchange(client, connect, "POST", "/upload", payload)
        echoed = json.loads(body)
        assert echoed == {"len": len(payload), "body": payload.decode()}, echoed
        assert seq.count("WRITE_COMPLETE") == 2, seq
        assert "RESOLVING_NAME" not in seq, f"a pooled connection shows no resolve/connect: {seq}"

        # Closing the session closes its subtree: requests, then connects, then the session.
        client.call("WinHttpCloseHandle", handle=session)
        closing = client.drain()
        assert [(e["statusName"], e["handle"]) for e in closing] == [
            ("HANDLE_CLOSING", req), ("HANDLE_CLOSING", connect), ("HANDLE_CLOSING", session)
        ], closing
        assert client.drain(0.3) == [], "nothing after HANDLE_CLOSING"
        print("polyglot async test: 1 passed, 0 failed")
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(5)
        origin.shutdown()


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
