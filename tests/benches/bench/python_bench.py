#!/usr/bin/env python3
"""Small GETs from Python: through hinetd (standard library only) or directly with httpx or
requests. Prints the rate in requests per second.

usage: python_bench.py hinetd|httpx|requests URL N THREADS SOCKET
Each thread has its own connection (hinetd: its own socket and session; httpx and
requests: a shared httpx.Client / one requests.Session per thread, keep-alive on).
"""
import base64
import json
import socket
import sys
import threading
import time
from urllib.parse import urlsplit


class Hinetd:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.f = self.sock.makefile("rwb")
        self.n = 0

    def call(self, method, **params):
        self.n += 1
        self.f.write(json.dumps({"jsonrpc": "2.0", "id": self.n, "method": method,
                                 "params": params}).encode() + b"\n")
        self.f.flush()
        while True:
            reply = json.loads(self.f.readline())
            if "method" not in reply:
                break
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["result"]


def hinetd_worker(url, count, path, out):
    parts = urlsplit(url)
    c = Hinetd(path)
    ses = c.call("WinHttpOpen", userAgent="bench-py")["handle"]
    con = c.call("WinHttpConnect", handle=ses, serverName=parts.hostname,
                 serverPort=parts.port)["handle"]
    target = parts.path + ("?" + parts.query if parts.query else "")
    for _ in range(count):
        req = c.call("WinHttpOpenRequest", handle=con, objectName=target)["handle"]
        c.call("WinHttpSendRequest", handle=req)
        c.call("WinHttpReceiveResponse", handle=req)
        body = b""
        while True:
            r = c.call("WinHttpReadData", handle=req, bytesToRead=65536)
            if r["bytesRead"] == 0:
                break
            body += base64.b64decode(r["data"])
        c.call("WinHttpCloseHandle", handle=req)
        if len(body) != 1024:
            out.append("bad body")
    c.call("WinHttpCloseHandle", handle=ses)


def httpx_worker(client, url, count, out):
    for _ in range(count):
        if len(client.get(url).content) != 1024:
            out.append("bad body")


def requests_worker(url, count, out):
    import requests
    s = requests.Session()
    for _ in range(count):
        if len(s.get(url).content) != 1024:
            out.append("bad body")


def guarded(errors, fn, *args):
    try:
        fn(*args)
    except Exception as e:  # a failed worker must fail the run, not shorten it
        errors.append(repr(e))


def main():
    lib, url, n, threads, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    per = max(1, n // threads)
    errors = []
    shared = None
    if lib == "httpx":
        import httpx
        shared = httpx.Client(limits=httpx.Limits(max_connections=threads,
                                                  max_keepalive_connections=threads))
    workers = []
    for _ in range(threads):
        if lib == "hinetd":
            args = (hinetd_worker, (url, per, path, errors))
        elif lib == "httpx":
            args = (httpx_worker, (shared, url, per, errors))
        else:
            args = (requests_worker, (url, per, errors))
        workers.append(threading.Thread(target=guarded, args=(errors, args[0]) + args[1]))
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    took = time.perf_counter() - start
    if errors:
        print("errors: %d" % len(errors), file=sys.stderr)
        sys.exit(1)
    print("%.1f" % (per * threads / took))


if __name__ == "__main__":
    main()
