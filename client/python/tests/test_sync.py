"""The synchronous API against the real daemon and real local origins."""

import json
import threading

import pytest

import hinet
from hinet import constants as C
from origin import pattern


def test_get_through_the_handle_tree(client, origin):
    with client.open_session("pytest/1") as session:
        with session.connect("127.0.0.1", origin.port) as conn:
            with conn.open_request("GET", "/hello") as req:
                req.send()
                req.receive_response()
                assert req.status_code == 200
                assert req.reason == "OK"
                assert req.http_version == "HTTP/1.1"
                assert req.headers.get("content-type") == "text/plain; charset=utf-8"
                assert req.query_header("Content-Type") == "text/plain; charset=utf-8"
                assert req.query_header(C.WINHTTP_QUERY_CONTENT_LENGTH, number=True) == 21
                assert req.query_data_available() == 21
                assert req.read_all() == b"hello from the origin"
                assert req.read() == b""
                assert req.url == origin.url("/hello")
    sent = origin.last()
    assert (sent.method, sent.path) == ("GET", "/hello")
    assert sent.header("User-Agent") == "pytest/1"


def test_post_with_headers_and_body(client, origin):
    with client.open_session() as session, session.connect("127.0.0.1", origin.port) as conn:
        with conn.open_request("POST", "/echo") as req:
            req.add_headers({"X-Added": "early"})
            req.send(headers=[("Content-Type", "text/plain"), ("X-Trace", "7")], body=b"\x00binary\xff")
            req.receive_response()
            assert req.status_code == 200
            assert req.header("X-Received-Length") == "8"
            assert req.read_all() == b"\x00binary\xff"
    sent = origin.last()
    assert sent.body == b"\x00binary\xff"
    assert sent.header("X-Trace") == "7"
    assert sent.header("X-Added") == "early"
    assert sent.header("Content-Type") == "text/plain"


def test_write_data_streams_the_body(client, origin):
    parts = [b"first part, ", b"second part, ", pattern(100_000)]
    total = sum(map(len, parts))
    with client.open_session() as session, session.connect("127.0.0.1", origin.port) as conn:
        with conn.open_request("PUT", "/echo") as req:
            req.send(body=parts[0], total_length=total)
            assert [req.write(p) for p in parts[1:]] == [len(p) for p in parts[1:]]
            req.receive_response()
            assert req.header("X-Method") == "PUT"
            assert b"".join(req) == b"".join(parts)
    assert origin.last().body == b"".join(parts)


def test_application_framed_chunked_upload(client, origin):
    with client.open_session() as session, session.connect("127.0.0.1", origin.port) as conn:
        with conn.open_request("POST", "/echo") as req:
            req.add_headers("Transfer-Encoding: chunked")
            req.send()
            req.write(b"5\r\nhello\r\n")
            req.write(b"6\r\n world\r\n0\r\n\r\n")
            req.receive_response()
            assert req.read_all() == b"hello world"


def test_big_body_in_chunks(client, origin):
    with client.open_session() as session, session.connect("127.0.0.1", origin.port) as conn:
        with conn.open_request("GET", "/big?n=300000") as req:
            req.send()
            req.receive_response()
            chunks = list(req.iter_chunks(65536))
    assert [len(c) for c in chunks] == [65536] * 4 + [300000 - 4 * 65536]
    assert b"".join(chunks) == pattern(300000)


def test_refused_port_raises_winhttp_error(client, closed_port):
    with client.open_session() as session, session.connect("127.0.0.1", closed_port) as conn:
        with conn.open_request() as req:
            with pytest.raises(hinet.WinHttpError) as caught:
                req.send()
    err = caught.value
    assert err.code == 12029 == C.ERROR_WINHTTP_CANNOT_CONNECT
    assert err.name == "ERROR_WINHTTP_CANNOT_CONNECT"
    assert f"127.0.0.1:{closed_port}" in err.detail
    assert err.api is None
    assert isinstance(err, hinet.HinetError)


def test_winhttp_errors_of_the_api(client, origin):
    with client.open_session() as session, session.connect("127.0.0.1", origin.port) as conn:
        with conn.open_request("GET", "/multi") as req:
            with pytest.raises(hinet.WinHttpError) as state:
                req.receive_response()  # before SendRequest
            assert state.value.code == C.ERROR_WINHTTP_INCORRECT_HANDLE_STATE
            req.send()
            req.receive_response()
            assert req.query_header("Set-Cookie", index=1) == "b=2"
            assert req.headers.get_all("set-cookie") == ["a=1", "b=2"]
            with pytest.raises(hinet.WinHttpError) as missing:
                req.query_header("X-Nope")
            assert missing.value.code == C.ERROR_WINHTTP_HEADER_NOT_FOUND
            assert req.header("X-Nope", "dflt") == "dflt"
            with pytest.raises(hinet.WinHttpError) as small:
                client.call(
                    "WinHttpQueryHeaders",
                    handle=req.handle,
                    infoLevel=C.WINHTTP_QUERY_STATUS_TEXT,
                    bufferLength=2,
                )
            assert (small.value.code, small.value.required) == (C.ERROR_INSUFFICIENT_BUFFER, 6)
        with pytest.raises(hinet.WinHttpError) as bad_verb:
            conn.open_request("NO SPACES")
        assert bad_verb.value.code == C.ERROR_INVALID_PARAMETER


def test_protocol_errors_are_rpc_errors(client):
    with pytest.raises(hinet.RpcError) as unknown:
        client.call("WinHttpNope")
    assert unknown.value.code == -32601
    with pytest.raises(hinet.RpcError) as bad:
        client.call("WinHttpOpen", userAgnet="typo")
    assert bad.value.code == -32602
    assert "userAgnet" in str(bad.value.data)


def test_context_managers_close_every_handle(client, origin):
    def counts():
        s = client.status()
        return s["sessions"], s["connects"], s["requests"]

    with client.open_session() as session:
        with session.connect("127.0.0.1", origin.port) as conn:
            with conn.open_request() as req:
                assert counts() == (1, 1, 1)
            assert req.closed
            assert counts() == (1, 1, 0)
        assert counts() == (1, 0, 0)
    assert counts() == (0, 0, 0)

    # Closing a parent closes what is below it; the children's own close() is then a no-op.
    session = client.open_session()
    conn = session.connect("127.0.0.1", origin.port)
    req = conn.open_request()
    session.close()
    assert counts() == (0, 0, 0)
    assert conn.closed and req.closed
    req.close()
    conn.close()

    # An exception leaving the block closes too.
    with pytest.raises(RuntimeError):
        with client.open_session() as session, session.connect("127.0.0.1", 1) as conn:
            raise RuntimeError("boom")
    assert counts() == (0, 0, 0)


def test_handles_close_with_the_client(daemon, origin):
    with hinet.connect(daemon.socket) as watcher:
        with hinet.connect(daemon.socket) as other:
            session = other.open_session()
            session.connect("127.0.0.1", origin.port).open_request()
            assert watcher.status()["requests"] == 1
        assert other.closed and session.closed
        for _ in range(100):
            if watcher.status()["sessions"] == 0:
                break
            threading.Event().wait(0.02)
        assert watcher.status()["sessions"] == 0
        with pytest.raises(hinet.ConnectionClosed):
            other.status()


def test_options_and_timeouts(client, origin):
    with client.open_session("ua/1") as session:
        session.set_timeouts(resolve=0, connect=1500, send=2500, receive=3500)
        assert session.query_option(C.WINHTTP_OPTION_CONNECT_TIMEOUT) == 1500
        assert session.query_option(C.WINHTTP_OPTION_USER_AGENT) == "ua/1"
        session.set_option(C.WINHTTP_OPTION_USER_AGENT, "ua/2")
        with session.connect("127.0.0.1", origin.port) as conn, conn.open_request("GET", "/hello") as req:
            assert req.query_option(C.WINHTTP_OPTION_RECEIVE_TIMEOUT) == 3500
            req.set_timeouts(receive=4500)
            assert req.query_option(C.WINHTTP_OPTION_RECEIVE_TIMEOUT) == 4500
            assert req.query_option(C.WINHTTP_OPTION_HANDLE_TYPE) == C.WINHTTP_HANDLE_TYPE_REQUEST
            assert req.call("WinHttpQueryOption", option=C.WINHTTP_OPTION_HANDLE_TYPE) == {"value": 3}
            assert req.query_option(C.WINHTTP_OPTION_PARENT_HANDLE) == conn.handle
            req.set_option(C.WINHTTP_OPTION_CONTEXT_VALUE, 0xC0FFEE)
            assert req.query_option(C.WINHTTP_OPTION_CONTEXT_VALUE) == 0xC0FFEE
            with pytest.raises(hinet.WinHttpError) as bad:
                req.set_option(999, 1)
            assert bad.value.name == "ERROR_WINHTTP_INVALID_OPTION"
            req.send()
            req.receive_response()
            req.read_all()
    assert origin.last().header("User-Agent") == "ua/2"


def test_status_events_of_a_sync_session(client, origin):
    with client.open_session() as session:
        events = session.events()
        with session.connect("127.0.0.1", origin.port) as conn:
            with conn.open_request("GET", "/hello") as req:
                req_events = req.events()
                req.send(context=77)
                req.receive_response()
                req.read_all()
            seen = req_events.until("HANDLE_CLOSING", timeout=5)
            with pytest.raises(hinet.StreamEnded):
                req_events.get(timeout=1)
    names = [e.name for e in events.drain()]
    assert names.index("RESOLVING_NAME") > max(i for i, n in enumerate(names) if n == "HANDLE_CREATED")
    assert names.count("HANDLE_CREATED") == 2  # connect and request
    for expected in [
        "RESOLVING_NAME",
        "CONNECTED_TO_SERVER",
        "SENDING_REQUEST",
        "REQUEST_SENT",
        "RECEIVING_RESPONSE",
        "RESPONSE_RECEIVED",
    ]:
        assert expected in names
    assert names[-3:] == ["HANDLE_CLOSING"] * 3  # request, connect, session
    assert list(events) == []  # the session's HANDLE_CLOSING ended the stream
    assert {e.handle for e in seen} == {req.handle}
    # A HANDLE_CREATED may come after OpenRequest's answer; then the request's stream sees it.
    first = [e for e in seen if e.name != "HANDLE_CREATED"][0]
    assert (first.name, first.context, first.info) == ("RESOLVING_NAME", 77, {"name": "127.0.0.1"})


def test_event_stream_overflow_is_reported(client, origin):
    with client.open_session() as session:
        events = session.events(maxsize=3)
        with session.connect("127.0.0.1", origin.port) as conn, conn.open_request("GET", "/hello") as req:
            req.send()
            req.receive_response()
        assert len(events.drain()) == 3
        with pytest.raises(hinet.EventOverflow):
            events.get(timeout=1)


def test_concurrent_calls_from_threads(client, origin):
    results = {}

    def fetch(i):
        with client.open_session() as session:
            results[i] = session.get(origin.url(f"/big?n={1000 * i}")).body

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(1, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert {i: len(b) for i, b in results.items()} == {i: 1000 * i for i in range(1, 7)}


def test_get_convenience(daemon, origin):
    resp = hinet.get(origin.url("/hello?x=1#frag"), socket_path=daemon.socket)
    assert (resp.status, resp.reason, resp.ok) == (200, "OK", True)
    assert resp.text == "hello from the origin"
    assert resp.headers["Content-Length"] == "21"
    assert origin.last().path == "/hello?x=1"
    posted = hinet.post(origin.url("/echo"), json.dumps({"a": 1}), socket_path=daemon.socket)
    assert posted.json() == {"a": 1}
    missing = hinet.get(origin.url("/status/404"), socket_path=daemon.socket)
    assert (missing.status, missing.ok, missing.body) == (404, False, b"status 404")


def test_socket_from_environment(daemon, origin, monkeypatch):
    monkeypatch.setenv("HINETD_SOCKET", daemon.socket)
    with hinet.connect() as c:
        assert c.socket_path == daemon.socket
        assert c.status()["connections"] >= 1


def test_https_get_with_trusted_ca(daemon, tls_origin):
    resp = hinet.get(tls_origin.url("/hello"), socket_path=daemon.socket)
    assert resp.status == 200 and resp.body == b"hello from the origin"
    with (
        hinet.connect(daemon.socket) as c,
        c.open_session() as s,
        s.connect("127.0.0.1", tls_origin.port) as conn,
    ):
        with conn.open_request("POST", "/echo", secure=True) as req:
            req.send(body=b"over tls")
            req.receive_response()
            assert req.read_all() == b"over tls"
            flags = req.query_option(C.WINHTTP_OPTION_SECURITY_FLAGS)
            assert flags & C.SECURITY_FLAG_SECURE


def test_https_untrusted_certificate(strict_daemon, tls_origin):
    with pytest.raises(hinet.WinHttpError) as caught:
        hinet.get(tls_origin.url("/hello"), socket_path=strict_daemon.socket)
    assert caught.value.code == C.ERROR_WINHTTP_SECURE_FAILURE
    relaxed = hinet.get(tls_origin.url("/hello"), socket_path=strict_daemon.socket, insecure=True)
    assert relaxed.status == 200


def test_daemon_gone(daemon):
    client = hinet.connect(daemon.socket)
    session = client.open_session()
    events = session.events()
    daemon.proc.kill()
    daemon.proc.wait()
    with pytest.raises(hinet.ConnectionClosed):
        events.get(timeout=5)
    with pytest.raises(hinet.ConnectionClosed):
        session.connect("127.0.0.1", 80)
    assert session.closed
    session.close()  # nothing left to close: no error
    client.close()
