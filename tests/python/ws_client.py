"""JSON-RPC over WebSocket on hinetd's Unix socket, with the `websockets` package.

Usage: ws_client.py SOCKET PORT

Opens an async session, subscribes to its status callbacks, fetches /hello from the origin
on 127.0.0.1:PORT driven purely by notifications, closes the session and checks the
closing notifications. Prints "ok" and exits 0 on success.
"""

import asyncio
import base64
import itertools
import json
import sys

import websockets

ASYNC = 0x10000000


class Client:
    def __init__(self, ws):
        self.ws = ws
        self.ids = itertools.count(1)
        self.answers = {}
        self.events = asyncio.Queue()
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        async for text in self.ws:
            msg = json.loads(text)
            if "id" in msg:
                self.answers.pop(msg["id"]).set_result(msg)
            else:
                await self.events.put(msg["params"]["result"])

    async def call(self, method, **params):
        n = next(self.ids)
        self.answers[n] = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps({"jsonrpc": "2.0", "id": n, "method": method, "params": params}))
        msg = await asyncio.wait_for(self.answers[n], 10)
        if "error" in msg:
            raise RuntimeError(f"{method}: {msg['error']}")
        return msg["result"]

    async def until(self, name):
        while True:
            event = await asyncio.wait_for(self.events.get(), 10)
            if event["statusName"] == "REQUEST_ERROR":
                raise RuntimeError(f"request failed: {event}")
            if event["statusName"] == name:
                return event


async def main(path, port):
    async with websockets.unix_connect(path, "ws://localhost/") as ws:
        c = Client(ws)
        ses = (await c.call("WinHttpOpen", userAgent="py-ws/1", flags=ASYNC))["handle"]
        await c.call("WinHttpSetStatusCallback", handle=ses, notificationFlags=0xFFFFFFFF)
        con = (await c.call("WinHttpConnect", handle=ses, serverName="127.0.0.1", serverPort=port))["handle"]
        req = (await c.call("WinHttpOpenRequest", handle=con, objectName="/hello"))["handle"]
        await c.call("WinHttpSendRequest", handle=req)
        await c.until("SENDREQUEST_COMPLETE")
        await c.call("WinHttpReceiveResponse", handle=req)
        await c.until("HEADERS_AVAILABLE")
        await c.call("WinHttpReadData", handle=req, bytesToRead=4096)
        read = await c.until("READ_COMPLETE")
        body = base64.b64decode(read["info"]["data"])
        assert body == b"hello world", body
        await c.call("WinHttpCloseHandle", handle=ses)
        closing = [(await c.until("HANDLE_CLOSING"))["handle"] for _ in range(3)]
        assert closing == [req, con, ses], closing
        status = await c.call("HinetStatus")
        assert status["ownHandles"] == 0, status
        c.reader.cancel()
    print("ok")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
