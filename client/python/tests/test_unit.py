"""Pieces that need no daemon: socket path rules, header handling, error mapping."""

import os

import pytest

import hinet
from hinet import constants as C
from hinet._wire import header_text, url_target


def test_default_socket_path_rules(monkeypatch):
    monkeypatch.setenv("HINETD_SOCKET", "/x/explicit.sock")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert hinet.default_socket_path() == "/x/explicit.sock"
    monkeypatch.delenv("HINETD_SOCKET")
    assert hinet.default_socket_path() == "/run/user/1000/hinetd.sock"
    monkeypatch.setenv("XDG_RUNTIME_DIR", "")
    uid = os.geteuid()
    expected = "/run/hinetd/hinetd.sock" if uid == 0 else f"/tmp/hinetd-{uid}/hinetd.sock"
    assert hinet.default_socket_path() == expected


def test_no_daemon_says_how_to_start_one(tmp_path):
    path = str(tmp_path / "nobody.sock")
    with pytest.raises(hinet.DaemonUnavailable) as caught:
        hinet.connect(path)
    assert f"hinetd --socket {path}" in str(caught.value)
    assert isinstance(caught.value, ConnectionError)


def test_headers_forms():
    assert header_text(None) is None
    assert header_text("A: 1") == "A: 1"
    assert header_text({"A": "1", "B": "2"}) == "A: 1\r\nB: 2\r\n"
    assert header_text([("A", "1"), ("A", "2")]) == "A: 1\r\nA: 2\r\n"


def test_headers_parse_and_lookup():
    h = hinet.Headers.parse("HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Y:  z \r\n\r\n")
    assert list(h) == [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Y", "z")]
    assert h["set-cookie"] == "a=1" and h.get_all("SET-COOKIE") == ["a=1", "b=2"]
    assert "x-y" in h and "nope" not in h and h.get("nope", "d") == "d"
    with pytest.raises(KeyError):
        h["nope"]


def test_url_target_drops_the_fragment():
    parts = {"hostName": "[::1]", "port": 8443, "urlPath": "/a", "extraInfo": "?q=1#frag", "schemeId": 2}
    assert url_target(parts) == ("[::1]", 8443, "/a?q=1", True)
    assert url_target({"hostName": "h", "port": 80, "urlPath": "", "extraInfo": "", "schemeId": 1}) == (
        "h",
        80,
        "/",
        False,
    )


def test_error_mapping():
    err = hinet.errors.error_from_reply(
        {
            "code": 12029,
            "message": "ERROR_WINHTTP_CANNOT_CONNECT: nope",
            "data": {"name": "ERROR_WINHTTP_CANNOT_CONNECT", "detail": "nope"},
        }
    )
    assert isinstance(err, hinet.WinHttpError)
    assert (err.code, err.name, err.detail) == (12029, "ERROR_WINHTTP_CANNOT_CONNECT", "nope")
    assert str(err) == "ERROR_WINHTTP_CANNOT_CONNECT (12029): nope"
    rpc = hinet.errors.error_from_reply({"code": -32601, "message": "Method not found"})
    assert isinstance(rpc, hinet.RpcError) and rpc.code == -32601
    ev = hinet.Event.from_params(
        {
            "subscription": 1,
            "result": {
                "handle": 5,
                "context": 0,
                "status": C.WINHTTP_CALLBACK_STATUS_REQUEST_ERROR,
                "statusName": "REQUEST_ERROR",
                "info": {
                    "result": 5,
                    "error": 12007,
                    "errorName": "ERROR_WINHTTP_NAME_NOT_RESOLVED",
                    "detail": "x",
                },
            },
        }
    )
    assert ev.is_completion
    assert (ev.error.code, ev.error.api) == (12007, C.API_SEND_REQUEST)


def test_read_complete_data_is_bytes():
    ev = hinet.Event.from_params(
        {
            "subscription": 1,
            "result": {
                "handle": 5,
                "context": 0,
                "status": 0x80000,
                "statusName": "READ_COMPLETE",
                "info": {"data": "aGk=", "bytesRead": 2},
            },
        }
    )
    assert ev.info["data"] == b"hi"
