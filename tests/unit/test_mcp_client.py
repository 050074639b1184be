"""The MCP client against the fake MCP server (stdio, Streamable HTTP, legacy SSE) and a real one."""

import base64
import json
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from argo_proxy import __version__
from argo_proxy.tools import mcp
from argo_proxy.tools.mcp import MCPError
from tests.fakes.fake_mcp import FakeMCPHttp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKE = os.path.join(ROOT, "tests", "fakes", "fake_mcp.py")
TOOL_NAMES = ["add", "echo", "pixel", "boom", "slow", "links"]
TIME_SERVER = os.path.join(os.path.dirname(sys.executable), "mcp-server-time")


class Stdio:
    """A stdio client of the fake plus the fake's record file."""

    def __init__(self, client, record_path):
        self.client = client
        self.record_path = record_path

    def records(self):
        if not os.path.exists(self.record_path):
            return []
        with open(self.record_path) as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def messages(self, method=None):
        return [r["msg"] for r in self.records() if isinstance(r.get("msg"), dict)
                and (method is None or r["msg"].get("method") == method)]


@pytest.fixture
def stdio(tmp_path):
    """stdio(*flags, **spec_extra) -> Stdio; every client is closed at teardown."""
    made = []

    def make(*flags, **spec_extra):
        record = str(tmp_path / ("record-%d.jsonl" % len(made)))
        spec = {"command": sys.executable, "args": [FAKE, "--stdio", "--record", record] + list(flags)}
        spec.update(spec_extra)
        made.append(Stdio(mcp.connect("fake", spec), record))
        return made[-1]

    yield make
    for s in made:
        s.client.close()


@pytest.fixture
def http_fake():
    """http_fake(**options) -> a started FakeMCPHttp; stopped at teardown (after its clients)."""
    fakes, clients = [], []

    def make(**options):
        fakes.append(FakeMCPHttp(**options).start())
        return fakes[-1]

    make.clients = clients
    yield make
    for c in clients:
        c.close()
    for f in fakes:
        f.stop()


def http_client(http_fake, fake, **spec):
    spec.setdefault("url", fake.url)
    client = mcp.connect("web", spec)
    http_fake.clients.append(client)
    return client


def texts(result):
    return [item.get("text") for item in result["content"] if item.get("type") == "text"]


# ---- connect() ------------------------------------------------------------------------------------

def test_connect_is_lazy_and_validates_the_spec(stdio):
    s = stdio()
    assert s.client.name == "fake"
    assert s.client.process is None and s.client.protocol_version is None
    with pytest.raises(ValueError, match="command.*url"):
        mcp.connect("bad", {"args": ["x"]})
    with pytest.raises(ValueError):
        mcp.connect("bad", {"url": "ftp://example.org/mcp"})


# ---- stdio ----------------------------------------------------------------------------------------

def test_stdio_handshake_list_and_call(stdio):
    s = stdio()
    client = s.client
    assert [t["name"] for t in client.list_tools()] == TOOL_NAMES
    assert client.protocol_version == "2025-11-25"
    assert client.server_info == {"name": "fake-mcp", "version": "1.0.0"}
    assert texts(client.call_tool("echo", {"text": "hi", "shout": True}, timeout=10)) == ["HI"]
    sent = s.messages()
    assert sent[0]["method"] == "initialize"
    assert sent[0]["params"] == {"protocolVersion": "2025-11-25", "capabilities": {},
                                 "clientInfo": {"name": "argo-proxy", "version": __version__}}
    assert sent[1] == {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert [m.get("method") for m in sent[2:]] == ["tools/list", "tools/call"]


def test_start_is_idempotent(stdio):
    s = stdio()
    s.client.start()
    pid = s.client.process.pid
    s.client.start()
    s.client.list_tools()
    assert s.client.process.pid == pid
    assert len(s.messages("initialize")) == 1


def test_structured_image_and_resource_results_come_back_intact(stdio):
    client = stdio().client
    added = client.call_tool("add", {"a": 2, "b": 3}, timeout=10)
    assert added == {"content": [{"type": "text", "text": "5"}], "isError": False,
                     "structuredContent": {"result": 5}}
    image = client.call_tool("pixel", {}, timeout=10)["content"][0]
    assert image["type"] == "image" and image["mimeType"] == "image/png"
    assert base64.b64decode(image["data"]).startswith(b"\x89PNG\r\n\x1a\n")
    links = client.call_tool("links", {}, timeout=10)["content"]
    assert [item["type"] for item in links] == ["resource_link", "resource"]
    assert links[1]["resource"]["text"] == "Embedded notes."


def test_is_error_result_is_returned_not_raised(stdio):
    result = stdio().client.call_tool("boom", {}, timeout=10)
    assert result["isError"] is True
    assert texts(result) == ["Error executing tool boom"]


def test_unknown_tool_raises_with_its_json_rpc_code(stdio):
    with pytest.raises(MCPError) as info:
        stdio().client.call_tool("nope", {}, timeout=10)
    assert info.value.code == -32602
    assert "'fake'" in str(info.value) and "Unknown tool: nope" in str(info.value)


def test_pagination_is_followed(stdio):
    s = stdio("--page-size", "1")
    assert [t["name"] for t in s.client.list_tools()] == TOOL_NAMES
    cursors = [m["params"].get("cursor") for m in s.messages("tools/list")]
    assert cursors == [None, "page:1", "page:2", "page:3", "page:4", "page:5"]


def test_fake_rejects_an_invalid_cursor(stdio):
    client = stdio().client
    client.start()
    with pytest.raises(MCPError) as info:
        client._request("tools/list", {"cursor": "bogus"}, 10)
    assert info.value.code == -32602


def test_list_changed_before_the_reply_calls_back_first(stdio):
    client = stdio("--list-changed").client
    changed = threading.Event()
    client.on_list_changed = changed.set
    client.list_tools()
    # The notification precedes the reply on the one stdout, and is handled before it.
    assert changed.is_set()


def test_server_ping_and_sampling_requests_are_answered(stdio):
    s = stdio("--ping-first", "--ask-sampling")
    assert [t["name"] for t in s.client.list_tools()] == TOOL_NAMES
    answers = {r["answered"]: r["reply"] for r in s.records() if "answered" in r}
    assert answers["ping"]["result"] == {} and answers["ping"]["id"].startswith("fake-ping")
    assert answers["sampling/createMessage"]["error"] == {"code": -32601, "message": "Method not found"}


def test_concurrent_calls_each_get_their_own_result(stdio):
    client = stdio().client
    client.start()
    barrier = threading.Barrier(8)
    results, errors = {}, []

    def call(i):
        try:
            barrier.wait(10)
            results[i] = client.call_tool("add", {"a": i, "b": 1000}, timeout=20)
        except Exception as exc:   # surfaced by the assertion below
            errors.append(exc)
    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert {i: r["structuredContent"]["result"] for i, r in results.items()} == {i: i + 1000 for i in range(8)}


def test_timeout_raises_and_sends_cancelled(stdio):
    s = stdio()
    with pytest.raises(MCPError, match=r"'fake'.*slow.*timed out after 0.5 s"):
        s.client.call_tool("slow", {"seconds": 30}, timeout=0.5)
    # stdin is ordered: once this reply arrives, the fake has read (and recorded) the cancel.
    assert texts(s.client.call_tool("echo", {"text": "still here"}, timeout=10)) == ["still here"]
    slow_id = [m for m in s.messages("tools/call") if m["params"]["name"] == "slow"][0]["id"]
    cancels = s.messages("notifications/cancelled")
    assert len(cancels) == 1
    assert cancels[0]["params"]["requestId"] == slow_id and "timed out" in cancels[0]["params"]["reason"]


def test_dead_server_fails_with_stderr_then_restarts_on_next_use(stdio):
    s = stdio("--die-after-calls", "2")
    client = s.client
    assert texts(client.call_tool("echo", {"text": "one"}, timeout=10)) == ["one"]
    first = client.process
    with pytest.raises(MCPError) as info:
        client.call_tool("echo", {"text": "two"}, timeout=10)
    assert "exited with code 3" in str(info.value)
    assert "fake_mcp: exiting on tools/call #2" in str(info.value)
    assert texts(client.call_tool("echo", {"text": "three"}, timeout=10)) == ["three"]
    assert client.process.pid != first.pid and first.poll() == 3
    assert len(s.messages("initialize")) == 2
    assert [r["pid"] for r in s.records() if r.get("event") == "start"] == [first.pid, client.process.pid]


def test_close_leaves_no_process_and_is_final(stdio):
    client = stdio().client
    client.list_tools()
    proc = client.process
    client.close()
    assert proc.poll() is not None
    client.close()   # idempotent
    with pytest.raises(MCPError, match="closed"):
        client.list_tools()


def test_command_not_found_is_a_clear_error():
    client = mcp.connect("ghost", {"command": "/nonexistent/dir/mcp-server-ghost", "args": []})
    try:
        with pytest.raises(MCPError, match=r"'ghost'.*command not found.*mcp-server-ghost"):
            client.list_tools()
    finally:
        client.close()


def test_env_and_cwd_reach_the_server(stdio, tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    s = stdio(env={"FAKE_MCP_TOKEN": "s3cret"}, cwd=str(workdir))
    s.client.start()
    start = [r for r in s.records() if r.get("event") == "start"][0]
    assert start["env"] == {"FAKE_MCP_TOKEN": "s3cret"}
    assert os.path.realpath(start["cwd"]) == os.path.realpath(str(workdir))


def test_stderr_is_drained_and_its_tail_bounded(stdio):
    # 1 MB of stderr before the server reads stdin: without draining, the handshake would hang.
    s = stdio("--stderr-noise", "1000000")
    assert [t["name"] for t in s.client.list_tools()] == TOOL_NAMES
    assert s.client.call_tool("boom", {}, timeout=10)["isError"] is True
    assert 0 < len(s.client.stderr_tail()) <= mcp.STDERR_LINES


@pytest.mark.parametrize("error_id", ["server-error", "null"])
def test_transport_error_ids_fail_the_request(stdio, error_id):
    client = stdio("--transport-error-id", error_id).client
    with pytest.raises(MCPError, match="fake transport error") as info:
        client.call_tool("echo", {"text": "x"}, timeout=30)
    assert info.value.code == -32600


# ---- version negotiation and capabilities ----------------------------------------------------------

def test_older_protocol_version_is_accepted(stdio):
    client = stdio("--protocol-version", "2024-11-05").client
    assert [t["name"] for t in client.list_tools()] == TOOL_NAMES
    assert client.protocol_version == "2024-11-05"


def test_unknown_protocol_version_is_refused_and_disconnected(stdio):
    client = stdio("--protocol-version", "1999-01-01").client
    with pytest.raises(MCPError, match="'fake'.*1999-01-01"):
        client.start()
    assert client.process is None and client.protocol_version is None


def test_no_tools_capability_means_no_tools_list(stdio):
    s = stdio("--no-tools-capability")
    assert s.client.list_tools() == []
    s.client._request("ping", {}, 10)   # once answered, the fake has recorded all before it
    assert [m.get("method") for m in s.messages()] == ["initialize", "notifications/initialized", "ping"]


# ---- Streamable HTTP --------------------------------------------------------------------------------

@pytest.mark.parametrize("json_response", [False, True], ids=["sse", "json"])
def test_http_list_and_call(http_fake, json_response):
    fake = http_fake(json_response=json_response)
    client = http_client(http_fake, fake)
    assert [t["name"] for t in client.list_tools()] == TOOL_NAMES
    assert client.call_tool("add", {"a": 2, "b": 3}, timeout=10)["structuredContent"] == {"result": 5}
    assert client.call_tool("boom", {}, timeout=10)["isError"] is True
    with pytest.raises(MCPError) as info:
        client.call_tool("nope", {}, timeout=10)
    assert info.value.code == -32602
    assert fake.http("GET") == []   # the optional GET stream is never opened


def test_http_session_and_version_headers(http_fake):
    fake = http_fake()
    client = http_client(http_fake, fake, headers={"Authorization": "Bearer tok"})
    client.call_tool("echo", {"text": "x"}, timeout=10)
    posts = fake.http("POST")
    init, rest = posts[0], posts[1:]
    assert init["msg"]["method"] == "initialize"
    assert "mcp-session-id" not in init["headers"] and "mcp-protocol-version" not in init["headers"]
    session = next(iter(fake.sessions))
    assert [p["msg"].get("method") for p in rest] == ["notifications/initialized", "tools/call"]
    for post in posts:
        assert post["headers"]["authorization"] == "Bearer tok"
        assert post["headers"]["content-type"] == "application/json"
        assert post["headers"]["accept"] == "application/json, text/event-stream"
    for post in rest:
        assert post["headers"]["mcp-session-id"] == session
        assert post["headers"]["mcp-protocol-version"] == "2025-11-25"


def test_http_session_expiry_reinitializes_once(http_fake):
    fake = http_fake()
    client = http_client(http_fake, fake)
    client.list_tools()
    old = next(iter(fake.sessions))
    fake.expire_sessions()
    assert texts(client.call_tool("echo", {"text": "again"}, timeout=10)) == ["again"]
    new = next(iter(fake.sessions))
    assert new != old
    assert len(fake.messages("initialize")) == 2
    calls = [p for p in fake.http("POST") if p["msg"].get("method") == "tools/call"]
    assert [c["headers"]["mcp-session-id"] for c in calls] == [old, new]


def test_http_session_that_never_sticks_gives_up_after_one_reinit(http_fake):
    fake = http_fake(expire_always=True)
    client = http_client(http_fake, fake)
    with pytest.raises(MCPError, match="session not found"):
        client.call_tool("echo", {"text": "x"}, timeout=10)
    assert len(fake.messages("initialize")) == 2


def test_http_close_deletes_the_session(http_fake):
    fake = http_fake()
    client = http_client(http_fake, fake)
    client.list_tools()
    session = next(iter(fake.sessions))
    client.close()
    deletes = fake.http("DELETE")
    assert len(deletes) == 1 and deletes[0]["headers"]["mcp-session-id"] == session
    assert fake.sessions == set()
    client.close()
    assert len(fake.http("DELETE")) == 1


def test_http_timeout_sends_cancelled(http_fake):
    fake = http_fake()
    client = http_client(http_fake, fake)
    with pytest.raises(MCPError, match="timed out after 0.5 s"):
        client.call_tool("slow", {"seconds": 30}, timeout=0.5)
    slow_id = fake.messages("tools/call")[0]["id"]
    cancels = fake.messages("notifications/cancelled")
    assert [c["params"]["requestId"] for c in cancels] == [slow_id]
    assert client.call_tool("add", {"a": 1, "b": 1}, timeout=10)["structuredContent"] == {"result": 2}


def test_http_concurrent_calls(http_fake):
    fake = http_fake()
    client = http_client(http_fake, fake)
    client.start()
    barrier = threading.Barrier(8)
    results, errors = {}, []

    def call(i):
        try:
            barrier.wait(10)
            results[i] = texts(client.call_tool("echo", {"text": "n%d" % i}, timeout=20))
        except Exception as exc:
            errors.append(exc)
    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert results == {i: ["n%d" % i] for i in range(8)}


def test_http_server_requests_and_list_changed_on_the_reply_stream(http_fake):
    fake = http_fake(ping_first=True, ask_sampling=True, send_list_changed_after_init=True)
    client = http_client(http_fake, fake)
    changed = threading.Event()
    client.on_list_changed = changed.set
    assert [t["name"] for t in client.list_tools()] == TOOL_NAMES
    assert changed.is_set()
    answers = {r["answered"]: r["reply"] for r in fake.records if "answered" in r}
    assert answers["ping"]["result"] == {}
    assert answers["sampling/createMessage"]["error"]["code"] == -32601
    # Each answer went out as its own POST within the session.
    replies = [p for p in fake.http("POST") if "method" not in (p["msg"] or {})]
    assert len(replies) == 2 and all(p["headers"].get("mcp-session-id") for p in replies)


def test_http_transport_error_id_fails_the_request(http_fake):
    fake = http_fake(transport_error_id=None)
    client = http_client(http_fake, fake)
    with pytest.raises(MCPError, match="fake transport error"):
        client.call_tool("echo", {"text": "x"}, timeout=30)


def test_http_older_version_is_sent_in_the_header(http_fake):
    fake = http_fake(protocol_version_override="2024-11-05")
    client = http_client(http_fake, fake)
    client.list_tools()
    assert client.protocol_version == "2024-11-05"
    assert fake.http("POST")[-1]["headers"]["mcp-protocol-version"] == "2024-11-05"


def test_http_unknown_version_is_refused_and_the_session_deleted(http_fake):
    fake = http_fake(protocol_version_override="1999-01-01")
    client = http_client(http_fake, fake)
    with pytest.raises(MCPError, match="1999-01-01"):
        client.list_tools()
    assert len(fake.http("DELETE")) == 1
    assert fake.messages("tools/list") == []


def test_http_no_tools_capability(http_fake):
    fake = http_fake(no_tools_capability=True)
    client = http_client(http_fake, fake)
    assert client.list_tools() == []
    assert fake.messages("tools/list") == []


# ---- legacy HTTP+SSE ------------------------------------------------------------------------------

def test_legacy_sse_fallback(http_fake):
    fake = http_fake(legacy=True, ping_first=True)
    client = http_client(http_fake, fake, headers={"Authorization": "Bearer tok"})
    assert [t["name"] for t in client.list_tools()] == TOOL_NAMES
    assert client.call_tool("add", {"a": 2, "b": 3}, timeout=10)["structuredContent"] == {"result": 5}
    assert client.protocol_version == "2025-11-25"
    first, get = fake.records[0], fake.http("GET")
    assert first["http"] == "POST" and first["path"] == "/sse"   # the Streamable probe: 405
    assert len(get) == 1 and get[0]["headers"]["accept"] == "text/event-stream"
    assert get[0]["headers"]["authorization"] == "Bearer tok"
    posts = [p for p in fake.http("POST") if p["path"].startswith("/messages/")]
    assert [p["msg"].get("method") for p in posts][:3] == ["initialize", "notifications/initialized", "tools/list"]
    assert {r["answered"]: r["reply"] for r in fake.records if "answered" in r}["ping"]["result"] == {}


def test_legacy_sse_timeout_sends_cancelled(http_fake):
    fake = http_fake(legacy=True)
    client = http_client(http_fake, fake)
    with pytest.raises(MCPError, match="timed out after 0.5 s"):
        client.call_tool("slow", {"seconds": 30}, timeout=0.5)
    slow_id = fake.messages("tools/call")[0]["id"]
    assert [c["params"]["requestId"] for c in fake.messages("notifications/cancelled")] == [slow_id]


class _NotFound(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args):
        pass


def test_neither_transport_names_both_attempts():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    url = "http://127.0.0.1:%d/mcp" % server.server_address[1]
    client = mcp.connect("nowhere", {"url": url})
    try:
        with pytest.raises(MCPError) as info:
            client.list_tools()
        text = str(info.value)
        assert url in text and "Streamable HTTP" in text and "HTTP 404" in text and "legacy" in text
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_refused_url_names_the_url():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))   # bound, never listening: connections are refused
    try:
        url = "http://127.0.0.1:%d/mcp" % holder.getsockname()[1]
        client = mcp.connect("down", {"url": url})
        with pytest.raises(MCPError, match="'down'.*cannot connect to " + url):
            client.list_tools()
        client.close()
    finally:
        holder.close()


# ---- a real MCP server from PyPI -------------------------------------------------------------------

@pytest.mark.skipif(not os.path.exists(TIME_SERVER),
                    reason="mcp-server-time is not installed next to this Python (tests/requirements.txt)")
def test_real_mcp_server_time_over_stdio():
    client = mcp.connect("time", {"command": TIME_SERVER, "args": ["--local-timezone", "UTC"]})
    try:
        tools = {t["name"]: t for t in client.list_tools()}
        assert set(tools) == {"get_current_time", "convert_time"}
        assert tools["convert_time"]["inputSchema"]["type"] == "object"
        assert client.server_info["name"] == "mcp-time"
        # Neither zone has daylight saving time, so the answer never depends on the date.
        result = client.call_tool("convert_time", {"source_timezone": "UTC", "time": "12:00",
                                                   "target_timezone": "Asia/Kolkata"}, timeout=30)
        assert result.get("isError") is not True
        converted = result["structuredContent"]
        assert converted["target"]["datetime"].endswith("T17:30:00+05:30")
        assert converted["time_difference"] == "+5.5h"
        bad = client.call_tool("get_current_time", {"timezone": "Mars/Olympus"}, timeout=30)
        assert bad["isError"] is True and "Mars/Olympus" in texts(bad)[0]
        with pytest.raises(MCPError) as info:
            client.call_tool("nope", {}, timeout=30)
        assert info.value.code == -32602
        proc = client.process
    finally:
        client.close()
    assert proc.poll() is not None
