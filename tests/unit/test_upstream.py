"""The upstream client against the fake Argo: pooling, retries, timeouts, failures."""

import http.server
import socket
import threading
import time

import pytest

from argo_proxy import __version__
from argo_proxy.errors import ProxyError
from argo_proxy.upstream import Upstream, proxy_for, _retry_after


@pytest.fixture
def client():
    c = Upstream(connect_timeout=2.0, read_timeout=5.0)
    yield c
    c.close()


def test_connections_are_reused(fake, client):
    for _ in range(5):
        resp = client.request("GET", fake.url + "/api/v1/models/")
        assert resp.status == 200
        resp.read()
    assert client.opened == 1
    conns = {r["conn"] for r in fake.requests}
    assert len(fake.requests) == 5 and len(conns) == 1


def test_user_agent_and_identity_encoding(fake, client):
    client.request("GET", fake.url + "/api/v1/models/").read()
    headers = fake.last()["headers"]
    assert headers["user-agent"] == "argo-proxy/" + __version__
    assert headers["accept-encoding"] == "identity"


def test_retry_on_503_then_success(fake, client):
    fake.add_fault("/api/v1/models/", times=1, status=503, retry_after=0)
    resp = client.request("GET", fake.url + "/api/v1/models/")
    assert resp.status == 200
    assert len(fake.requests) == 2


def test_retries_are_bounded(fake, client):
    fake.add_fault("/api/v1/models/", status=429, retry_after=0)
    resp = client.request("GET", fake.url + "/api/v1/models/")
    assert resp.status == 429
    assert len(fake.requests) == 3  # first try + 2 retries


def test_long_retry_after_is_returned_not_waited(fake, client):
    fake.add_fault("/api/v1/models/", status=503, retry_after=3600)
    resp = client.request("GET", fake.url + "/api/v1/models/")
    assert resp.status == 503 and len(fake.requests) == 1


def test_no_retry_on_400(fake, client):
    fake.add_fault("/api/v1/models/", status=400)
    assert client.request("GET", fake.url + "/api/v1/models/").status == 400
    assert len(fake.requests) == 1


def test_connection_refused_is_503_naming_url_and_network(client):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    url = "http://127.0.0.1:%d/v1/chat/completions" % port
    with pytest.raises(ProxyError) as info:
        client.request("POST", url, body=b"{}", retries=0)
    assert info.value.status == 503
    assert url in info.value.message and "VPN" in info.value.message


def test_read_timeout_is_504(fake):
    c = Upstream(connect_timeout=2.0, read_timeout=0.3)
    fake.add_fault("/api/v1/models/", hang=True)
    with pytest.raises(ProxyError) as info:
        c.request("GET", fake.url + "/api/v1/models/")
    assert info.value.status == 504 and "0.3" in info.value.message
    c.close()


def test_garbage_is_502(client):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        conn.recv(65536)
        conn.sendall(b"this is not http\r\n\r\n")
        conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    with pytest.raises(ProxyError) as info:
        client.request("GET", "http://127.0.0.1:%d/x" % srv.getsockname()[1], retries=0)
    assert info.value.status == 502
    t.join(5)
    srv.close()


def test_invalid_json_body_is_502(fake, client):
    fake.add_fault("/api/v1/models/", invalid_json=True)
    with pytest.raises(ProxyError) as info:
        client.request("GET", fake.url + "/api/v1/models/").json()
    assert info.value.status == 502 and "not JSON" in info.value.message


def test_stream_yields_as_it_arrives(fake, client):
    resp = client.request("POST", fake.url + "/api/v1/resource/streamchat/",
                          body=b'{"user":"u","model":"gpt4o","messages":[{"role":"user","content":"hi"}]}')
    chunks = list(resp.iter_raw())
    assert len(chunks) > 1
    assert b"".join(chunks).decode() == "Hello from fake Argo."


def test_stream_reset_mid_way_is_502(fake, client):
    fake.add_fault("/api/v1/resource/streamchat/", reset_after=1)
    resp = client.request("POST", fake.url + "/api/v1/resource/streamchat/",
                          body=b'{"user":"u","model":"gpt4o","messages":[{"role":"user","content":"hi"}]}')
    with pytest.raises(ProxyError) as info:
        list(resp.iter_raw())
    assert info.value.status == 502


def test_stale_pooled_connection_is_replaced():
    """A server that closes kept-alive connections after each answer must not cause errors."""
    class Once(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            self.close_connection = True  # closes without saying Connection: close

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Once)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    c = Upstream(connect_timeout=2, read_timeout=5)
    try:
        for _ in range(3):
            assert c.request("GET", "http://127.0.0.1:%d/" % srv.server_address[1]).read() == b"ok"
    finally:
        c.close()
        srv.shutdown()
        srv.server_close()


def test_proxy_env_routing(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    assert proxy_for("https", "apps.inside.anl.gov") == "http://proxy.example:3128"
    assert proxy_for("https", "internal.example") is None
    assert proxy_for("https", "127.0.0.1") is None  # tunnels on loopback never use the proxy
    monkeypatch.delenv("HTTPS_PROXY")
    assert proxy_for("https", "apps.inside.anl.gov") is None


def test_retry_after_parsing():
    assert _retry_after("2", 0) == 2.0
    assert _retry_after("0", 0) == 0.0
    assert _retry_after("99999", 0) is None
    assert _retry_after(None, 1) == 1.0
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 0) == 0.0  # in the past: retry now


def test_cancel_never_touches_a_connection_back_in_the_pool(fake, client):
    from argo_proxy.upstream import Cancel
    cancel = Cancel()
    client.request("GET", fake.url + "/api/v1/models/", cancel=cancel).read()
    cancel.cancel()  # that client has gone; its connection already serves others
    assert client.request("GET", fake.url + "/api/v1/models/").read()
    assert client.opened == 1 and len({r["conn"] for r in fake.requests}) == 1


def test_cancel_ends_a_retry_wait():
    import threading
    from argo_proxy.upstream import Cancel
    cancel = Cancel()
    threading.Timer(0.05, cancel.cancel).start()
    cancel.wait(30)  # returns once cancelled, not after 30 s
    assert cancel.cancelled


@pytest.mark.parametrize("no_proxy,host,bypass", [
    ("", "apps.inside.anl.gov", False), ("*", "apps.inside.anl.gov", True),
    ("anl.gov", "apps.inside.anl.gov", True), (".anl.gov", "apps.inside.anl.gov", True),
    ("inside.anl.gov:443", "apps.inside.anl.gov", True), ("xanl.gov", "apps.inside.anl.gov", False),
    ("a.com, anl.gov", "apps.inside.anl.gov", True), ("[::5]", "::5", True), ("10.0.0.1", "10.0.0.1", True),
])
def test_no_proxy_rules(monkeypatch, no_proxy, host, bypass):
    monkeypatch.setenv("https_proxy", "proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert (proxy_for("https", host) is None) is bypass
    if not bypass:
        assert proxy_for("https", host) == "http://proxy.example:3128"


def test_head_and_body_leave_in_one_write(fake, client):
    sent = []
    resp = client.request("POST", fake.url + "/api/v1/resource/chat/", body=b'{"user":"u","model":"gpt4o",'
                          b'"messages":[{"role":"user","content":"hi"}]}')
    resp.read()
    conn = client._pools[next(iter(client._pools))][0][0]
    original = conn.write
    conn.write = lambda data: (sent.append(data), original(data))[1]
    client.request("POST", fake.url + "/api/v1/resource/chat/", body=b'{"user":"u","model":"gpt4o",'
                   b'"messages":[{"role":"user","content":"again"}]}').read()
    assert len(sent) == 1 and sent[0].endswith(b'"again"}]}') and sent[0].startswith(b"POST ")


class _Held:
    """A raw server that answers with a close-delimited stream (no length, Connection: close),
    sends one chunk and then stays quiet until the test ends."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.url = "http://127.0.0.1:%d/events" % self.srv.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.srv.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
                     b"data: hello\n\n")
        self.done.wait(10)
        conn.close()

    def stop(self):
        self.done.set()
        self.thread.join(5)
        self.srv.close()


@pytest.fixture
def held():
    h = _Held()
    yield h
    h.stop()


def test_set_timeout_reaches_a_close_delimited_stream(client, held):
    resp = client.request("GET", held.url, retries=0)
    chunks = resp.iter_raw()
    assert next(chunks) == b"data: hello\n\n"
    resp.set_timeout(0.2)   # http.client no longer shows this socket on the connection
    start = time.monotonic()
    with pytest.raises(ProxyError) as info:
        next(chunks)
    assert info.value.code == "upstream_timeout" and time.monotonic() - start < 3


def test_cancel_wakes_a_quiet_close_delimited_stream(client, held):
    from argo_proxy.upstream import NO_TIMEOUT, Cancel
    cancel = Cancel()
    resp = client.request("GET", held.url, retries=0, read_timeout=0.2, cancel=cancel)
    chunks = resp.iter_raw()
    assert next(chunks) == b"data: hello\n\n"
    resp.set_timeout(NO_TIMEOUT)   # a quiet stream: no read timeout any more
    threading.Timer(0.5, cancel.cancel).start()
    start = time.monotonic()
    try:
        rest = list(chunks)   # ends (EOF) once the socket is shut down
    except ProxyError as err:   # or breaks off, depending on the platform
        rest = err
    elapsed = time.monotonic() - start
    assert rest == [] or getattr(rest, "status", None) == 502
    assert 0.4 < elapsed < 5   # not the 0.2 s read timeout, and not forever
