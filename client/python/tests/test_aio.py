"""The asyncio API: async sessions driven by status-callback notifications."""

import asyncio

import pytest

import hinet
import hinet.aio
from hinet import constants as C
from origin import pattern


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def names(events):
    return [e.name for e in events]


def test_async_get_from_notifications(daemon, origin):
    async def main():
        async with await hinet.aio.connect(daemon.socket) as client:
            session = await client.open_session("aio/1")
            assert session.is_async
            events = session.events()
            conn = await session.connect("127.0.0.1", origin.port)
            req = await conn.open_request("GET", "/big?n=200000")
            await req.send(context=0x1234)
            await req.receive_response()
            assert await req.status_code == 200
            assert (await req.headers)["Content-Length"] == "200000"
            assert await req.query_data_available() > 0
            body = await req.read_all()
            await session.close()
            seen = [e async for e in events]  # ends with the session's HANDLE_CLOSING
            return req, body, seen

    req, body, seen = run(main())
    assert body == pattern(200000)
    of_req = [e for e in seen if e.handle == req.handle]
    assert names(of_req)[:9] == [
        "HANDLE_CREATED",
        "RESOLVING_NAME",
        "NAME_RESOLVED",
        "CONNECTING_TO_SERVER",
        "CONNECTED_TO_SERVER",
        "SENDING_REQUEST",
        "REQUEST_SENT",
        "SENDREQUEST_COMPLETE",
        "RECEIVING_RESPONSE",
    ]
    assert {e.context for e in of_req[1:]} == {0x1234}
    reads = [e for e in of_req if e.name == "READ_COMPLETE"]
    # The body arrived only through READ_COMPLETE notifications; the last one marks the end.
    assert b"".join(e.info["data"] for e in reads) == body
    assert reads[-1].info == {"data": b"", "bytesRead": 0}
    assert "DATA_AVAILABLE" in names(of_req) and "HEADERS_AVAILABLE" in names(of_req)
    assert names(seen)[-3:] == ["HANDLE_CLOSING"] * 3


def test_async_answers_are_empty_and_completions_carry_results(daemon, origin):
    async def main():
        async with await hinet.aio.connect(daemon.socket) as client:
            async with await client.open_session() as session:
                async with await session.connect("127.0.0.1", origin.port) as conn:
                    async with await conn.open_request("GET", "/hello") as req:
                        events = req.events()
                        await req.send()
                        await req.receive_response()
                        answer = await req.call("WinHttpReadData", bytesToRead=100)
                        done = await events.wait_for(C.WINHTTP_CALLBACK_STATUS_READ_COMPLETE, timeout=5)
                        return answer, done

    answer, done = run(main())
    assert answer == {}
    assert done.info == {"data": b"hello from the origin", "bytesRead": 21}


def test_async_post_with_write_data(daemon, origin):
    parts = [b"alpha-", b"beta-", pattern(70000)]

    async def main():
        async with await hinet.aio.connect(daemon.socket) as client:
            async with await client.open_session() as session:
                async with await session.connect("127.0.0.1", origin.port) as conn:
                    async with await conn.open_request("POST", "/echo") as req:
                        events = req.events()
                        await req.send(
                            headers={"X-Kind": "stream"}, body=parts[0], total_length=sum(map(len, parts))
                        )
                        written = [await req.write(p) for p in parts[1:]]
                        await req.receive_response()
                        return (
                            written,
                            await req.header("X-Received-Length"),
                            await req.read_all(),
                            events.drain(),
                        )

    written, length, body, seen = run(main())
    assert written == [len(p) for p in parts[1:]]
    assert int(length) == len(body) == sum(map(len, parts))
    assert body == b"".join(parts) == origin.last().body
    assert origin.last().header("X-Kind") == "stream"
    assert names(seen).count("WRITE_COMPLETE") == 2
    assert [e.info["bytesWritten"] for e in seen if e.name == "WRITE_COMPLETE"] == written


def test_async_failure_arrives_as_request_error(daemon, closed_port):
    async def main():
        async with await hinet.aio.connect(daemon.socket) as client:
            async with await client.open_session() as session:
                events = session.events()
                async with await session.connect("127.0.0.1", closed_port) as conn:
                    async with await conn.open_request() as req:
                        with pytest.raises(hinet.WinHttpError) as caught:
                            await req.send()
                return caught.value, events.drain()

    err, seen = run(main())
    assert (err.code, err.name, err.api) == (12029, "ERROR_WINHTTP_CANNOT_CONNECT", C.API_SEND_REQUEST)
    failure = [e for e in seen if e.name == "REQUEST_ERROR"]
    assert len(failure) == 1 and failure[0].error.code == 12029


def test_concurrent_requests_on_one_session(daemon, origin):
    async def fetch(session, n):
        return len((await session.get(origin.url(f"/big?n={n}"))).body)

    async def main():
        async with await hinet.aio.connect(daemon.socket) as client:
            async with await client.open_session() as session:
                sizes = [1, 5000, 65536, 100001, 250000]
                return sizes, await asyncio.gather(*(fetch(session, n) for n in sizes))

    sizes, got = run(main())
    assert got == sizes


def test_close_cancels_the_pending_operation(daemon, origin):
    async def main():
        async with await hinet.aio.connect(daemon.socket) as client:
            async with await client.open_session() as session:
                conn = await session.connect("127.0.0.1", origin.port)
                req = await conn.open_request("GET", "/stall")
                events = req.events()
                await req.send()
                receiving = asyncio.ensure_future(req.receive_response())
                await events.wait_for("RECEIVING_RESPONSE", timeout=5)  # the daemon runs it
                # One operation at a time, as in WinHTTP: refused without asking the daemon.
                with pytest.raises(hinet.WinHttpError) as busy:
                    await req.read()
                await req.close()
                with pytest.raises(hinet.WinHttpError) as cancelled:
                    await receiving
                status = await client.status()
                return busy.value, cancelled.value, req, status

    busy, cancelled, req, status = run(main())
    assert busy.code == C.ERROR_WINHTTP_INCORRECT_HANDLE_STATE
    assert cancelled.code == C.ERROR_WINHTTP_OPERATION_CANCELLED
    assert req.closed and status["requests"] == 0


def test_cancelled_await_leaves_the_operation_running(daemon, origin):
    async def main():
        async with await hinet.aio.connect(daemon.socket) as client:
            async with await client.open_session() as session:
                async with await session.connect("127.0.0.1", origin.port) as conn:
                    async with await conn.open_request("GET", "/stall") as req:
                        events = req.events()
                        await req.send()
                        with pytest.raises(asyncio.TimeoutError):
                            await asyncio.wait_for(req.receive_response(), 0.2)
                        # The daemon still runs ReceiveResponse: a new operation must wait.
                        with pytest.raises(hinet.WinHttpError) as busy:
                            await req.query_data_available()
                        assert busy.value.code == C.ERROR_WINHTTP_INCORRECT_HANDLE_STATE
                    return events.drain()

    seen = run(main())
    assert names(seen)[-2:] == ["REQUEST_ERROR", "HANDLE_CLOSING"]
    assert seen[-2].error.code == C.ERROR_WINHTTP_OPERATION_CANCELLED


def test_request_event_iteration_ends_at_handle_closing(daemon, origin):
    async def main():
        async with await hinet.aio.connect(daemon.socket) as client:
            async with await client.open_session() as session:
                async with await session.connect("127.0.0.1", origin.port) as conn:
                    req = await conn.open_request("GET", "/hello")

                    async def collect():
                        return [e async for e in req.events()]

                    collector = asyncio.ensure_future(collect())
                    await asyncio.sleep(0)  # the stream exists before anything happens
                    await req.send()
                    await req.receive_response()
                    await req.read_all()
                    await req.close()
                    return await collector

    seen = run(main())
    # A HANDLE_CREATED may come after OpenRequest's answer; then the request's stream sees it.
    assert [n for n in names(seen) if n != "HANDLE_CREATED"][0] == "RESOLVING_NAME"
    assert names(seen)[-1] == "HANDLE_CLOSING"
    assert "READ_COMPLETE" in names(seen)


def test_sync_session_through_aio(daemon, origin):
    async def main():
        async with await hinet.aio.connect(daemon.socket) as client:
            async with await client.open_session(flags=0) as session:
                assert not session.is_async
                return await session.request("POST", origin.url("/echo"), body=b"sync inside asyncio")

    resp = run(main())
    assert resp.status == 200 and resp.body == b"sync inside asyncio"


def test_aio_get_over_https(daemon, tls_origin):
    resp = run(hinet.aio.get(tls_origin.url("/hello"), socket_path=daemon.socket))
    assert resp.status == 200 and resp.text == "hello from the origin"


def test_pending_operation_fails_when_the_daemon_goes(daemon, origin):
    async def main():
        client = await hinet.aio.connect(daemon.socket)
        session = await client.open_session()
        events = session.events()
        req = await (await session.connect("127.0.0.1", origin.port)).open_request("GET", "/stall")
        await req.send()
        receiving = asyncio.ensure_future(req.receive_response())
        await events.wait_for("RECEIVING_RESPONSE", timeout=5)
        daemon.proc.kill()
        with pytest.raises(hinet.ConnectionClosed):
            await receiving
        with pytest.raises(hinet.ConnectionClosed):
            await events.get(timeout=5)
        with pytest.raises(hinet.ConnectionClosed):
            await client.status()
        await client.close()
        return req

    assert run(main()).closed
