"""The server core through a real proxy process: routes, limits, errors, auth, shutdown."""

import os
import socket
import stat
import threading

import pytest

from tests import proxyproc


def assert_envelope(body, status_word=None):
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert isinstance(err["message"], str) and err["message"]
    if status_word:
        assert status_word in err["message"]


def assert_healthy(proxy):
    status, _, body = proxy.request("GET", "/health")
    assert status == 200 and body == {"status": "healthy"}


@pytest.mark.smoke
def test_health_version_and_models(proxy, fake):
    assert_healthy(proxy)
    status, _, body = proxy.request("GET", "/version")
    assert status == 200 and body["mode"] == "standard" and body["version"]
    status, _, body = proxy.request("POST", "/refresh")
    assert status == 200 and body["ok"] is True
    status, _, body = proxy.request("GET", "/v1/models")
    ids = {m["id"] for m in body["data"]}
    assert body["object"] == "list"
    assert {"gpt4o", "argo:gpt-4o", "claudesonnet45", "argo:claude-sonnet-4.5", "v3small"} <= ids
    assert all(m["object"] == "model" for m in body["data"])
    owners = {m["id"]: m["owned_by"] for m in body["data"]}
    assert owners["gpt4o"] == "openai" and owners["claudesonnet45"] == "anthropic"


def test_model_by_id(proxy):
    status, _, body = proxy.request("GET", "/v1/models/argo:gpt-4o")
    assert status == 200 and body["id"] == "argo:gpt-4o" and body["internal_name"] == "gpt4o"
    status, _, body = proxy.request("GET", "/v1/models/no-such-model")
    assert status == 404
    assert_envelope(body, "no-such-model")


def test_openai_sdk_lists_models(proxy):
    import openai
    client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="anything")
    ids = [m.id for m in client.models.list()]
    assert "argo:gpt-4o" in ids and "gpt4o" in ids


def test_unknown_route_and_wrong_method(proxy):
    status, _, body = proxy.request("GET", "/v1/nothing/here")
    assert status == 404
    assert_envelope(body, "/v1/nothing/here")
    status, headers, body = proxy.request("DELETE", "/health")
    assert status == 405 and "GET" in headers["Allow"]
    assert_envelope(body)
    assert_healthy(proxy)


def test_oversize_body_is_413(start_proxy, fake):
    p = start_proxy("--user", "t", config={"argo_base_url": fake.url, "max_body_mb": 0.01})
    status, _, body = p.request("POST", "/refresh", body=b"x" * 20000)
    assert status == 413
    assert_envelope(body, "max_body_mb")
    assert_healthy(p)


def test_garbage_request_line_gets_json_error(proxy):
    host, port = proxy.host_port
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"BLAH\r\n\r\n")
        data = s.recv(65536)
    assert data.startswith(b"HTTP/1.1 400")
    assert b'"error"' in data
    assert_healthy(proxy)


def test_keep_alive_serves_several_requests_on_one_connection(proxy):
    conn = proxy.conn()
    for _ in range(3):
        conn.request("GET", "/health")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == b'{"status": "healthy"}'
    conn.close()


def test_connection_flood_gets_fast_503_and_server_recovers(start_proxy, fake):
    p = start_proxy("--user", "t", config={"argo_base_url": fake.url, "max_connections": 4})
    host, port = p.host_port
    idle = [socket.create_connection((host, port), timeout=5) for _ in range(4)]
    try:
        # the 4 idle connections hold every slot: a new one is refused quickly
        with socket.create_connection((host, port), timeout=5) as extra:
            extra.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            data = extra.recv(65536)
        assert data.startswith(b"HTTP/1.1 503")
        assert b"max_connections" in data
    finally:
        for s in idle:
            s.close()
    assert proxyproc.wait_until(lambda: p.request("GET", "/health")[0] == 200)


def test_idle_connection_is_closed(start_proxy, fake):
    p = start_proxy("--user", "t", config={"argo_base_url": fake.url, "idle_timeout": 0.3})
    host, port = p.host_port
    with socket.create_connection((host, port), timeout=10) as s:
        assert s.recv(1) == b""  # the server hung up on the idle connection


def test_api_key_required_when_configured(start_proxy, fake):
    p = start_proxy("--user", "t", "--api-key", "sekrit", config={"argo_base_url": fake.url})
    status, _, body = p.request("GET", "/v1/models")
    assert status == 401
    assert_envelope(body, "API key")
    assert p.request("GET", "/v1/models", headers={"Authorization": "Bearer wrong"})[0] == 401
    assert p.request("GET", "/v1/models", headers={"Authorization": "Bearer sekrit"})[0] == 200
    assert p.request("GET", "/v1/models", headers={"x-api-key": "sekrit"})[0] == 200
    assert_healthy(p)  # health stays open for monitors


def test_host_flag_binds_that_address(start_proxy, fake):
    p = start_proxy("--user", "t", "--host", "127.0.0.2", config={"argo_base_url": fake.url})
    assert p.host_port[0] == "127.0.0.2"
    assert_healthy(p)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", p.host_port[1]), timeout=2).close()


def test_unix_socket_mode(start_proxy, fake, tmp_path):
    path = str(tmp_path / "proxy.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # a leftover socket file from a crashed run
    p = start_proxy("--user", "t", "--socket", path, config={"argo_base_url": fake.url})
    assert p.socket_path == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    status, body = proxyproc.unix_request(path, "GET", "/health")
    assert status == 200 and b"healthy" in body
    assert p.stop() == 0
    assert not os.path.exists(path)


def test_sigterm_lets_in_flight_request_finish(start_proxy, fake):
    fake.add_fault("/api/v1/models/", delay=1.0)
    p = start_proxy("--user", "t", config={"argo_base_url": fake.url, "model_refresh_interval_hours": 0})
    result = {}
    started = threading.Event()

    def slow():
        started.set()
        result["r"] = p.request("POST", "/refresh")

    t = threading.Thread(target=slow)
    t.start()
    started.wait(5)
    # the start-up fetch is request 1; ours is request 2 and is now held by the fake
    assert proxyproc.wait_until(lambda: len(fake.requests) >= 2)
    assert p.stop() == 0
    t.join(10)
    assert result["r"][0] == 200


def test_access_log_line(proxy):
    proxy.request("GET", "/v1/models")
    proxy.request("GET", "/nope")
    # the line is written just after the answer is sent
    assert proxyproc.wait_until(lambda: "GET /nope model=- status=404" in proxy.log())
    assert "GET /v1/models model=- status=200" in proxy.log()


def test_verbose_logs_bodies_with_secrets_and_images_cut(start_proxy, fake):
    p = start_proxy("--user", "t", "--verbose", config={"argo_base_url": fake.url})
    image = "data:image/png;base64," + "A" * 5000
    p.request("POST", "/refresh", body={"api_key": "hunter2", "image": image})
    assert proxyproc.wait_until(lambda: "request body:" in p.log())
    log = p.log()
    assert "hunter2" not in log and "A" * 200 not in log and "base64,AAAA" in log


def raw_exchange(proxy, data, timeout=10):
    host, port = proxy.host_port
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_stalled_body_is_408_not_500(start_proxy, fake):
    p = start_proxy("--user", "t", config={"argo_base_url": fake.url, "idle_timeout": 0.5})
    data = raw_exchange(p, b"POST /refresh HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{\"a\"")
    assert data.startswith(b"HTTP/1.1 408") and b"idle_timeout" in data
    assert "Traceback" not in p.log()


def test_negative_content_length_closes_connection(proxy):
    data = raw_exchange(proxy, b"POST /refresh HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n\r\nhello")
    assert data.startswith(b"HTTP/1.1 400") and b"Content-Length" in data
    assert data.count(b"HTTP/1.1") == 1  # the stray bytes were not read as a second request


def test_expect_100_refused_before_upload(start_proxy, fake):
    p = start_proxy("--user", "t", "--api-key", "k", config={"argo_base_url": fake.url, "max_body_mb": 1})
    big = raw_exchange(p, b"POST /refresh HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer k\r\n"
                          b"Expect: 100-continue\r\nContent-Length: 999999999\r\n\r\n")
    assert big.startswith(b"HTTP/1.1 413") and b"100 Continue" not in big
    noauth = raw_exchange(p, b"POST /refresh HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
                             b"Content-Length: 2\r\n\r\n")
    assert noauth.startswith(b"HTTP/1.1 401")
    ok = raw_exchange(p, b"POST /refresh HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer k\r\n"
                         b"Expect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    assert ok.startswith(b"HTTP/1.1 100 Continue") and b"HTTP/1.1 200" in ok
