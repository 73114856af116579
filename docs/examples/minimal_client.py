#!/usr/bin/env python3
"""A synchronous GET through hinetd, Python standard library only.

Usage: minimal_client.py [--socket PATH] URL
"""
import argparse
import base64
import itertools
import json
import os
import socket
import sys


def default_socket():
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return os.path.join(xdg, "hinetd.sock")
    if os.geteuid() == 0:
        return "/run/hinetd/hinetd.sock"
    return f"/tmp/hinetd-{os.geteuid()}/hinetd.sock"


class WinHttpError(Exception):
    def __init__(self, error):
        super().__init__(error["message"])
        self.code = error["code"]
        self.data = error.get("data")


class Hinetd:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb")
        self.ids = itertools.count(1)

    def call(self, method, **params):
        """One call at a time: send a line, read lines until the answer with our id."""
        id_ = next(self.ids)
        line = json.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": params})
        self.sock.sendall(line.encode("utf-8") + b"\n")
        while True:
            raw = self.reader.readline()
            if not raw:
                raise ConnectionError("hinetd closed the connection")
            msg = json.loads(raw)
            if msg.get("id") != id_:
                continue  # a status-callback notification (none without a subscription)
            if "error" in msg:
                raise WinHttpError(msg["error"])
            return msg["result"]


def get(url, path):
    h = Hinetd(path)
    parts = h.call("WinHttpCrackUrl", url=url)
    session = h.call("WinHttpOpen", userAgent="minimal-client/1.0")["handle"]
    try:
        connect = h.call("WinHttpConnect", handle=session,
                         serverName=parts["hostName"].strip("[]"),
                         serverPort=parts["port"])["handle"]
        flags = 0x00800000 if parts["schemeId"] == 2 else 0  # WINHTTP_FLAG_SECURE
        request = h.call("WinHttpOpenRequest", handle=connect, verb="GET",
                         objectName=(parts["urlPath"] or "/") + parts["extraInfo"],
                         flags=flags)["handle"]
        h.call("WinHttpSendRequest", handle=request)
        h.call("WinHttpReceiveResponse", handle=request)
        status = h.call("WinHttpQueryHeaders", handle=request,
                        infoLevel=19 | 0x20000000)["value"]  # STATUS_CODE | FLAG_NUMBER
        body = bytearray()
        while True:
            chunk = h.call("WinHttpReadData", handle=request, bytesToRead=65536)
            if chunk["bytesRead"] == 0:
                break
            body += base64.b64decode(chunk["data"])
        return status, bytes(body)
    finally:
        h.call("WinHttpCloseHandle", handle=session)  # closes connect and request too


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", default=os.environ.get("HINETD_SOCKET") or default_socket())
    ap.add_argument("url")
    args = ap.parse_args()
    try:
        status, body = get(args.url, args.socket)
    except WinHttpError as e:
        sys.exit(f"failed: {e.code} {e}")
    print(status, file=sys.stderr)
    sys.stdout.buffer.write(body)
