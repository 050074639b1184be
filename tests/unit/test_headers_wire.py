"""The lean head parser (argo_proxy/headers.py) and the upstream wire (argo_proxy/wire.py)."""

import io
import socket
import threading

import pytest

from argo_proxy import wire
from argo_proxy.headers import MAX_FIELDS, MAX_LINE, Refusal, Headers, read_headers


def parse(raw: bytes) -> Headers:
    return read_headers(io.BytesIO(raw).readline)


def test_fields_are_case_insensitive_and_repeats_kept_in_order():
    h = parse(b"Host: a\r\nX-Thing:  one \r\nx-thing: two\r\nContent-Length: 5\r\n\r\nBODY")
    assert h.get("HOST") == "a" and h["x-THING"] == "one"
    assert h.get_all("X-Thing") == ["one", "two"] and h.get_all("nope") is None
    assert h.keys() == ["Host", "X-Thing", "x-thing", "Content-Length"]
    assert "content-length" in h and "Transfer-Encoding" not in h
    assert h.get("missing", "dflt") == "dflt" and len(h) == 4


def test_bare_lf_lines_and_empty_values():
    h = parse(b"A: 1\nB:\n\n")
    assert h.get("a") == "1" and h.get("b") == ""


def test_the_reader_stops_at_the_blank_line():
    fp = io.BytesIO(b"A: 1\r\n\r\nrest")
    read_headers(fp.readline)
    assert fp.read() == b"rest"


@pytest.mark.parametrize("raw", [b"NoColonHere\r\n\r\n", b"Bad Name: x\r\n\r\n", b": empty\r\n\r\n",
                                 b"A: 1\r\n folded\r\n\r\n", b"A\x00: 1\r\n\r\n"])
def test_malformed_lines_are_400(raw):
    with pytest.raises(Refusal) as info:
        parse(raw)
    assert info.value.status == 400


def test_limits_are_431():
    with pytest.raises(Refusal) as info:
        parse(b"A: " + b"x" * MAX_LINE + b"\r\n\r\n")
    assert info.value.status == 431
    many = b"".join(b"H%d: v\r\n" % i for i in range(MAX_FIELDS + 1)) + b"\r\n"
    with pytest.raises(Refusal) as info:
        parse(many)
    assert info.value.status == 431
    assert len(parse(b"".join(b"H%d: v\r\n" % i for i in range(MAX_FIELDS)) + b"\r\n")) == MAX_FIELDS


def test_request_head_has_host_length_and_headers_once():
    head = wire.request_head("POST", "/v1/x", "example:8080", {"Content-Type": "application/json"}, b"{}")
    assert head == (b"POST /v1/x HTTP/1.1\r\nHost: example:8080\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2\r\n\r\n")
    assert b"Content-Length" not in wire.request_head("GET", "/", "h", {}, None)
    assert b"Content-Length: 0" in wire.request_head("POST", "/", "h", {}, None)
    assert wire.request_head("GET", "/", "h", {"host": "other"}, None).count(b"ost:") == 1


@pytest.mark.parametrize("value", ["a\r\nInjected: 1", "a\nb", "a\0b"])
def test_request_head_refuses_header_injection(value):
    with pytest.raises(ValueError):
        wire.request_head("GET", "/", "h", {"X-A": value}, None)


def test_host_header_brackets_ipv6_and_drops_default_port():
    assert wire.host_header("::1", 80, 80) == "[::1]"
    assert wire.host_header("::1", 8080, 80) == "[::1]:8080"
    assert wire.host_header("argo", 443, 443) == "argo"


def _answer_once(raw: bytes):
    """A one-shot server on 127.0.0.1 that reads a request head and writes `raw`."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            conn.sendall(raw)
            conn.shutdown(socket.SHUT_WR)
            conn.recv(1)
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


def _fetch(raw: bytes):
    port = _answer_once(raw)
    conn = wire.Connection("127.0.0.1", port, timeout=5)
    conn.connect()
    wire.send(conn, wire.request_head("GET", "/", "127.0.0.1", {}, None), None)
    resp = conn.answer("GET")
    resp.begin()
    body = resp.read()
    conn.close()
    return resp, body


def test_response_chunked_with_interim_100_and_repeated_headers():
    resp, body = _fetch(b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
                        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a\r\n"
                        b"set-cookie: b\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    assert resp.status == 200 and body == b"abcde" and not resp.will_close
    assert resp.headers.get_all("Set-Cookie") == ["a", "b"] and resp.headers.get("X-Interim") is None


def test_response_length_and_close_delimited():
    resp, body = _fetch(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope")
    assert (resp.status, resp.reason, body, resp.will_close) == (404, "Not Found", b"nope", False)
    resp, body = _fetch(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
    assert body == b"until the end" and resp.will_close
    resp, body = _fetch(b"HTTP/1.0 200 OK\r\n\r\nold")
    assert body == b"old" and resp.will_close


def test_a_malformed_answer_head_is_an_http_exception():
    import http.client
    with pytest.raises(http.client.HTTPException):
        _fetch(b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n")
