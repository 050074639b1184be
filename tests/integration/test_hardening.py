"""What a careless client or a hostile page cannot do: slow heads and bodies, paths outside the
API, the proxy's key leaking upstream, DNS rebinding and cross-origin pages."""

import json
import socket
import subprocess

import pytest

from tests import proxyproc

CHAT = {"model": "gpt4o", "messages": [{"role": "user", "content": "hi"}]}


def raw(p, data, timeout=10.0, linger=None):
    """Send bytes (all at once, or the first part then `linger` later) and read to the close."""
    host, port = p.host_port
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                piece = sock.recv(65536)
            except ConnectionResetError:
                chunks.append(b"<reset>")
                break
            if not piece:
                break
            chunks.append(piece)
        return b"".join(chunks)
    finally:
        sock.close()


def status_of(answer):
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


# -- slow clients -------------------------------------------------------------------------

def test_a_head_that_never_finishes_gets_408_and_close(start_proxy, fake):
    p = start_proxy("--user", "t", config={"argo_base_url": fake.url, "head_timeout": 0.5})
    answer = raw(p, b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1")   # no end of head
    assert status_of(answer) == 408 and b"Connection: close" in answer and b"head_timeout" in answer


def test_a_body_that_stalls_gets_408(start_proxy, fake):
    p = start_proxy("--user", "t", config={"argo_base_url": fake.url, "head_timeout": 0.5})
    answer = raw(p, b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"model\"")
    assert status_of(answer) == 408
    assert not [r for r in fake.requests if "chat" in r["path"]]


def test_idle_keep_alive_connections_are_not_408(start_proxy, fake):
    p = start_proxy("--user", "t", config={"argo_base_url": fake.url, "head_timeout": 0.5,
                                            "idle_timeout": 1})
    answer = raw(p, b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")   # then idle: plain close
    assert status_of(answer) == 200 and answer.count(b"HTTP/1.1 ") == 1


# -- paths -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/../../etc/passwd", "/v1/%2e%2e/%2e%2e/etc/passwd",
                                  "/v1/..%2f..%2fetc%2fpasswd", "/v1/x/../../../..", "/v1/%2E%2E/x",
                                  "/v1/%252e%252e/x", "/v1/a%2Fb", "/v1/a%5cb", "/openai/v1/./models"])
def test_dot_segments_and_encoded_slashes_are_refused(native_proxy, fake, path):
    answer = raw(native_proxy, ("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                                % path).encode())
    assert status_of(answer) == 400 and b"invalid_path" in answer
    assert not [r for r in fake.requests if "etc" in r["path"] or ".." in r["path"]]


# -- the proxy's own key ----------------------------------------------------------------------

@pytest.mark.parametrize("auth", ["k3y-secret", "Token k3y-secret", "Bearer k3y-secret", "Basic k3y-secret"])
def test_the_proxys_key_never_reaches_argo(start_proxy, fake, auth):
    p = start_proxy("--user", "t", "--native-openai", "--api-key", "k3y-secret",
                    config={"argo_base_url": fake.url})
    headers = {"x-api-key": "k3y-secret", "Authorization": auth, "OpenAI-Beta": "k3y-secret",
               "anthropic-beta": "x,k3y-secret"}
    for path in ("/v1/chat/completions", "/v1/models/extra", "/v1/messages"):
        p.request("POST", path, body=dict(CHAT, max_tokens=5), headers=headers)
    assert fake.requests and all("k3y-secret" not in json.dumps(r["headers"]) for r in fake.requests)


# -- Host and Origin ---------------------------------------------------------------------------

def test_foreign_host_names_are_misdirected(proxy):
    assert proxy.request("GET", "/health", headers={"Host": "evil.example"})[0] == 421
    status, _, body = proxy.request("GET", "/v1/models", headers={"Host": "evil.example:44497"})
    assert status == 421 and body["error"]["code"] == "misdirected_request"
    for host in ("localhost", "localhost:1234", "127.0.0.1:99", "127.8.9.10", "[::1]:5"):
        assert proxy.request("GET", "/health", headers={"Host": host})[0] == 200, host


def test_allowed_hosts_and_unix_sockets(start_proxy, fake, tmp_path):
    p = start_proxy("--user", "t", config={"argo_base_url": fake.url, "allowed_hosts": ["box.lan"]})
    assert p.request("GET", "/health", headers={"Host": "box.lan:44497"})[0] == 200
    sock = str(tmp_path / "p.sock")
    u = start_proxy("--user", "t", "--socket", sock, config={"argo_base_url": fake.url})
    assert proxyproc.unix_request(u.socket_path, "GET", "/health")[0] == 200   # Host: localhost


def test_pages_from_other_origins_are_refused(proxy):
    status, _, body = proxy.request("POST", "/v1/chat/completions", body=CHAT,
                                    headers={"Origin": "https://evil.example"})
    assert status == 403 and body["error"]["code"] == "origin_refused"


def test_cors_origins_get_preflight_and_headers(start_proxy, fake):
    p = start_proxy("--user", "t", config={"argo_base_url": fake.url,
                                            "cors_origins": ["http://localhost:3000"]})
    status, headers, _ = p.request("OPTIONS", "/v1/chat/completions", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"})
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Allow-Headers"] == "content-type, authorization"
    status, headers, body = p.request("POST", "/v1/chat/completions", body=CHAT,
                                      headers={"Origin": "http://localhost:3000"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


# -- odd input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True])
def test_lone_surrogates_are_a_400_naming_the_field(proxy, stream):
    body = json.dumps(dict(CHAT, stream=stream, messages=[{"role": "user", "content": "a\ud800b"}]))
    status, _, reply = proxy.request("POST", "/v1/chat/completions", body=body.encode())
    assert status == 400 and reply["error"]["param"] == "messages[0].content"
    paired = json.dumps(dict(CHAT, messages=[{"role": "user", "content": "emoji \U0001F600"}]))
    assert "\\ud83d" in paired   # sent escaped as a surrogate pair: that is fine
    assert proxy.request("POST", "/v1/chat/completions", body=paired.encode())[0] == 200


def test_show_prints_and_exits(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("user: jdoe\nport: 4\n")
    done = subprocess.run(proxyproc.command() + [str(config), "--show"], capture_output=True,
                          timeout=20, env=proxyproc.clean_env(str(tmp_path)), cwd=str(tmp_path))
    assert done.returncode == 0 and b"user: jdoe" in done.stdout and b"Listening" not in done.stderr
