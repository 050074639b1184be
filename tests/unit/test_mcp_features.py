"""MCP sessions that come back, task-augmented tool calls, and the client features (sampling,
roots, a declined elicitation), against the fake MCP server over stdio and Streamable HTTP."""

import http.client
import json
import logging
import os
import pathlib
import sys
import threading
import time
import types

import pytest

from argo_proxy.app import build_toolset, model_resolver
from argo_proxy.tools import mcp, mcp_http
from argo_proxy.tools.mcp import MCPError
from argo_proxy.tools.mcp_base import Fault as _Fault, client_options, sampling_messages, sampling_result
from argo_proxy.tools.mcp_http import names_session as _names_session
from argo_proxy.tools.toolset import ToolSet
from tests.fakes.fake_mcp import FakeMCPHttp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKE = os.path.join(ROOT, "tests", "fakes", "fake_mcp.py")
LOGGER = "test.mcp_features"


@pytest.fixture
def servers(tmp_path):
    """servers(kind, *flags, **client_options) -> (client, fake): kind "stdio" (fake = record
    reader) or "http" (fake = FakeMCPHttp; options for it go in `fake_options`)."""
    made, fakes = [], []

    def make(kind, *flags, fake_options=None, **options):
        if kind == "http":
            fake = FakeMCPHttp(**_http_options(flags, fake_options or {})).start()
            fakes.append(fake)
            client = mcp.connect("web", {"url": fake.url}, log=logging.getLogger(LOGGER), **options)
        else:
            record = str(tmp_path / ("record-%d.jsonl" % len(made)))
            spec = {"command": sys.executable, "args": [FAKE, "--stdio", "--record", record] + stdio_flags(*flags)}
            client = mcp.connect("fake", spec, log=logging.getLogger(LOGGER), **options)
            fake = Records(record)
        made.append(client)
        return client, fake

    yield make
    for client in made:
        client.close()
    for fake in fakes:
        fake.stop()


def _http_options(flags, options):
    names = {"--task-tools": "task_tools", "--client-features": "client_features",
             "--no-tasks-capability": None}
    out = dict(options)
    for flag in flags:
        if flag == "--no-tasks-capability":
            out["tasks_capability"] = False
        elif flag in names:
            out[names[flag]] = True
        elif flag.startswith("--poll-interval-ms="):
            out["poll_interval_ms"] = int(flag.split("=", 1)[1])
    return out


class Records:
    """The stdio fake's record file, read like FakeMCPHttp's records."""

    def __init__(self, path):
        self.path = path

    @property
    def records(self):
        if not os.path.exists(self.path):
            return []
        with open(self.path) as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def messages(self, method=None):
        return [r["msg"] for r in self.records if isinstance(r.get("msg"), dict)
                and (method is None or r["msg"].get("method") == method)]


def stdio_flags(*flags):
    """The command line of --poll-interval-ms=N is two arguments."""
    out = []
    for flag in flags:
        out.extend(flag.split("=", 1) if flag.startswith("--poll-interval-ms=") else [flag])
    return out


def texts(result):
    return [item.get("text") for item in result["content"] if item.get("type") == "text"]


def call(name, arguments=None, call_id=None):
    return {"id": call_id or "call_" + name, "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments or {})}}


def answers(fake):
    return {r["answered"]: r["reply"] for r in fake.records if "answered" in r}


KINDS = ["stdio", "http"]


# ---- sessions -----------------------------------------------------------------------------------

def test_fake_answers_a_stale_session_with_400_like_the_typescript_sdk():
    with FakeMCPHttp(stale_status=400) as fake:
        port = int(fake.url.split(":")[2].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"})
        conn.request("POST", "/mcp", body, {"Content-Type": "application/json", "Mcp-Session-Id": "stale",
                                            "Accept": "application/json, text/event-stream"})
        reply = conn.getresponse()
        assert reply.status == 400
        assert json.loads(reply.read())["error"]["message"] == "Bad Request: No valid session ID provided"
        conn.close()


@pytest.mark.parametrize("stale_status", [400, 404])
def test_a_forgotten_session_starts_a_new_one_and_retries_once(servers, stale_status, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    client, fake = servers("http", fake_options={"stale_status": stale_status})
    client.list_tools()
    old = next(iter(fake.sessions))
    fake.restart()
    assert texts(client.call_tool("echo", {"text": "back"}, timeout=10)) == ["back"]
    new = next(iter(fake.sessions))
    assert new != old and len(fake.messages("initialize")) == 2
    sent = [p["headers"]["mcp-session-id"] for p in fake.http("POST") if p["msg"].get("method") == "tools/call"]
    assert sent == [old, new]
    assert "starting a new session and sending tools/call 'echo' again" in caplog.text
    if stale_status == 400:
        assert "No valid session ID provided" in caplog.text


def test_a_400_that_never_sticks_gives_up_after_one_new_session(servers):
    client, fake = servers("http", fake_options={"stale_status": 400, "expire_always": True})
    with pytest.raises(MCPError, match="No valid session ID provided.*even right after a new initialize"):
        client.call_tool("echo", {"text": "x"}, timeout=10)
    assert len(fake.messages("initialize")) == 2


def test_only_4xx_naming_the_session_count():
    assert _names_session(404, b"")
    assert _names_session(400, b'{"error":{"message":"Bad Request: No valid session ID provided"}}')
    assert not _names_session(400, b'{"error":{"message":"Unsupported protocol version"}}')
    assert not _names_session(401, b"session expired, log in")
    assert not _names_session(500, b"session")


def test_a_connection_closed_mid_call_starts_a_new_session_and_retries_once(servers):
    client, fake = servers("http")
    client.list_tools()
    fake.drop_next("tools/call")
    assert texts(client.call_tool("echo", {"text": "again"}, timeout=10)) == ["again"]
    assert len(fake.messages("tools/call")) == 2 and len(fake.messages("initialize")) == 2
    assert [r["dropped"] for r in fake.records if "dropped" in r] == [fake.messages("tools/call")[0]["id"]]


def test_a_connection_that_closes_twice_fails_the_call(servers):
    client, fake = servers("http")
    client.list_tools()
    fake.drop_next("tools/call", count=2)
    with pytest.raises(mcp.ConnectionLost):
        client.call_tool("echo", {"text": "x"}, timeout=10)
    assert len(fake.messages("tools/call")) == 2
    assert texts(client.call_tool("echo", {"text": "later"}, timeout=10)) == ["later"]


def test_a_restart_during_a_call_retries_it_on_the_new_server(servers):
    client, fake = servers("http")
    client.list_tools()
    out = {}
    worker = threading.Thread(target=lambda: out.update(r=client.call_tool("slow", {"seconds": 0.5}, timeout=20)))
    worker.start()
    deadline = time.monotonic() + 10
    while not fake.messages("tools/call") and time.monotonic() < deadline:
        time.sleep(0.02)
    fake.restart()
    worker.join(20)
    assert texts(out["r"]) == ["slept 0.5 s"]
    assert len(fake.messages("tools/call")) == 2 and len(fake.messages("initialize")) == 2


def test_legacy_sse_stream_lost_mid_call_reconnects_and_retries(servers):
    client, fake = servers("http", fake_options={"legacy": True})
    client.list_tools()
    out = {}
    worker = threading.Thread(target=lambda: out.update(r=client.call_tool("slow", {"seconds": 0.5}, timeout=20)))
    worker.start()
    deadline = time.monotonic() + 10
    while not fake.messages("tools/call") and time.monotonic() < deadline:
        time.sleep(0.02)
    fake.restart()   # ends the event stream the reply would have come on
    worker.join(20)
    assert texts(out["r"]) == ["slept 0.5 s"]
    assert len(fake.http("GET")) == 2


def test_a_restarted_servers_tools_are_back_on_the_next_call(servers):
    client, fake = servers("http", fake_options={"stale_status": 400})
    toolset = ToolSet([(client, {})], log=logging.getLogger(LOGGER))
    assert "echo" in [t["function"]["name"] for t in toolset.tools()]
    fake.restart()
    out = toolset.execute([call("echo", {"text": "hi"})], timeout=10, max_chars=100)
    assert out[0]["content"] == "hi"
    # the new session may come with other tools: the list is fetched again
    assert "echo" in [t["function"]["name"] for t in toolset.tools()]
    assert len(fake.messages("tools/list")) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_plain_call_the_caller_gives_up_on_is_cancelled(servers, kind):
    client, fake = servers(kind)
    client.list_tools()
    gone = threading.Event()
    threading.Timer(0.3, gone.set).start()
    started = time.monotonic()
    with pytest.raises(mcp.RequestCancelled, match="slow.*cancelled by the client"):
        client.call_tool("slow", {"seconds": 5}, timeout=20, cancel=gone)
    assert time.monotonic() - started < 2
    slow_id = fake.messages("tools/call")[0]["id"]
    assert texts(client.call_tool("echo", {"text": "x"}, timeout=10)) == ["x"]   # stdio: in order
    assert [c["params"]["requestId"] for c in fake.messages("notifications/cancelled")] == [slow_id]
    deadline = time.monotonic() + 5   # the fake's slow() notes it from its own thread
    while not [r for r in fake.records if "cancelled" in r] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r["cancelled"] for r in fake.records if "cancelled" in r] == [slow_id]
    with pytest.raises(mcp.RequestCancelled):
        client.call_tool("echo", {"text": "not sent"}, timeout=10, cancel=gone)


# ---- tasks --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_a_tool_requiring_tasks_is_hidden_when_the_server_lacks_the_capability(servers, kind, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    client, _ = servers(kind, "--task-tools", "--no-tasks-capability")
    toolset = ToolSet([(client, {})], log=logging.getLogger(LOGGER))
    names = [t["function"]["name"] for t in toolset.tools()]
    assert "research" not in names and "report" in names
    assert not client.supports_tasks
    assert "not offering research: it requires MCP tasks" in caplog.text


def test_a_tool_requiring_tasks_is_hidden_when_the_client_does_not_do_tasks(servers):
    client, _ = servers("http", "--task-tools", tasks=False)
    toolset = ToolSet([(client, {})], log=logging.getLogger(LOGGER))
    assert "research" not in [t["function"]["name"] for t in toolset.tools()]


def test_sources_without_task_support_never_offer_required_tools():
    class Plain:
        name = "plain"
        on_list_changed = None

        def list_tools(self):
            return [{"name": "bg", "inputSchema": {}, "execution": {"taskSupport": "required"}},
                    {"name": "fg", "inputSchema": {}, "execution": {"taskSupport": "optional"}}]

    toolset = ToolSet([(Plain(), {})], log=logging.getLogger(LOGGER))
    assert [t["function"]["name"] for t in toolset.tools()] == ["fg"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_tool_requiring_tasks_runs_as_a_task(servers, kind):
    client, fake = servers(kind, "--task-tools", "--poll-interval-ms=150")
    toolset = ToolSet([(client, {})], log=logging.getLogger(LOGGER))
    assert "research" in [t["function"]["name"] for t in toolset.tools()]
    assert client.supports_tasks
    out = toolset.execute([call("research", {"topic": "tides", "seconds": 0.4})], timeout=10, max_chars=200)
    assert out[0]["content"] == "findings on tides"
    created = fake.messages("tools/call")[0]["params"]
    assert created["name"] == "research" and created["task"]["ttl"] == (10 + 60) * 1000
    polls = fake.messages("tasks/get")
    assert 1 <= len(polls) <= 4   # every 150 ms over ~400 ms, not a busy loop
    assert [m["params"] for m in fake.messages("tasks/result")] == [{"taskId": polls[0]["params"]["taskId"]}]
    assert "tasks" not in fake.messages("initialize")[0]["params"]["capabilities"]


def test_an_optional_task_tool_is_called_normally(servers):
    client, fake = servers("http", "--task-tools")
    client.list_tools()
    assert texts(client.call_tool("report", {}, timeout=10)) == ["report done (direct)"]
    assert "task" not in fake.messages("tools/call")[0]["params"]
    assert fake.messages("tasks/get") == []


def test_a_failed_task_returns_its_error_result(servers):
    client, _ = servers("stdio", "--task-tools")
    client.list_tools()
    result = client.call_tool("research", {"topic": "fail", "seconds": 0}, timeout=10)
    assert result["isError"] is True and texts(result) == ["research on fail failed"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_task_past_its_deadline_is_cancelled(servers, kind):
    client, fake = servers(kind, "--task-tools")
    client.list_tools()
    started = time.monotonic()
    with pytest.raises(MCPError, match=r"research.*timed out after 0.6 s \(task "):
        client.call_tool("research", {"topic": "x", "seconds": 30}, timeout=0.6)
    assert time.monotonic() - started < 5
    cancels = fake.messages("tasks/cancel")
    assert len(cancels) == 1
    assert [r["task_cancelled"] for r in fake.records if "task_cancelled" in r] == [cancels[0]["params"]["taskId"]]


@pytest.mark.parametrize("kind", KINDS)
def test_a_task_the_caller_gives_up_on_is_cancelled(servers, kind):
    client, fake = servers(kind, "--task-tools")
    toolset = ToolSet([(client, {})], log=logging.getLogger(LOGGER))
    toolset.tools()
    gone = threading.Event()
    threading.Timer(0.4, gone.set).start()
    started = time.monotonic()
    out = toolset.execute([call("research", {"topic": "x", "seconds": 30})], timeout=30, max_chars=200,
                          cancel=gone)
    assert time.monotonic() - started < 3
    assert out[0]["content"] == "Error calling research: cancelled: the client went away"
    deadline = time.monotonic() + 5   # the call's thread cancels the task in the background
    while not fake.messages("tasks/cancel") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake.messages("tasks/cancel")) == 1


def test_the_wait_between_polls_follows_the_servers_poll_interval(servers):
    client, fake = servers("http", "--task-tools", "--poll-interval-ms=400")
    client.list_tools()
    started = time.monotonic()
    assert texts(client.call_tool("research", {"topic": "t", "seconds": 0.5}, timeout=10)) == ["findings on t"]
    assert 0.75 <= time.monotonic() - started < 3   # two waits of 400 ms before the task was done
    assert len(fake.messages("tasks/get")) == 2


# ---- sampling -----------------------------------------------------------------------------------

class Sampler:
    def __init__(self, text="4", fail=None):
        self.text = text
        self.fail = fail
        self.calls = []

    def __call__(self, messages, system, max_tokens, model_hint, triggering_model):
        self.calls.append((messages, system, max_tokens, model_hint, triggering_model))
        if self.fail:
            raise self.fail
        return {"role": "assistant", "content": {"type": "text", "text": self.text},
                "model": model_hint or triggering_model, "stopReason": "endTurn"}


KNOWN = {"gpt-4o": "gpt4o", "claude-sonnet-4.5": "claudesonnet45"}


@pytest.mark.parametrize("kind", KINDS)
def test_sampling_goes_to_the_sampler_with_the_hinted_model_and_a_token_cap(servers, kind, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    client, fake = servers(kind, "--client-features", sampling=True, sampling_max_tokens=20)
    sampler = Sampler()
    toolset = ToolSet([(client, {})], log=logging.getLogger(LOGGER), sampler=sampler, resolve_model=KNOWN.get)
    toolset.tools()
    args = {"prompt": "What is 2+2?", "system": "Be brief", "hint": "gpt-4o", "max_tokens": 100}
    out = toolset.execute([call("sample", args)], timeout=10, max_chars=200, model="claudeopus4")
    assert out[0]["content"] == "4"
    assert sampler.calls == [([{"role": "user", "content": "What is 2+2?"}], "Be brief", 20, "gpt4o",
                              "claudeopus4")]
    reply = answers(fake)["sampling/createMessage"]["result"]
    assert reply == {"role": "assistant", "content": {"type": "text", "text": "4"}, "model": "gpt4o",
                     "stopReason": "endTurn"}
    assert fake.messages("initialize")[0]["params"]["capabilities"] == {"sampling": {}}
    assert ("MCP server %r asks the client: sampling/createMessage" % client.name) in caplog.text


def test_sampling_without_a_known_hint_uses_the_chats_model_and_a_small_request_stays_small(servers):
    client, _ = servers("stdio", "--client-features", sampling=True)
    sampler = Sampler()
    toolset = ToolSet([(client, {})], log=logging.getLogger(LOGGER), sampler=sampler, resolve_model=KNOWN.get)
    toolset.tools()
    toolset.execute([call("sample", {"prompt": "hi", "hint": "no-such-model", "max_tokens": 7})],
                    timeout=10, max_chars=200, model="gpt4o")
    assert sampler.calls[0][2:] == (7, None, "gpt4o")


def test_sampling_is_off_by_default_and_answers_method_not_found(servers):
    client, fake = servers("http", "--client-features")
    sampler = Sampler()
    toolset = ToolSet([(client, {})], log=logging.getLogger(LOGGER), sampler=sampler)
    toolset.tools()
    out = toolset.execute([call("sample", {"prompt": "hi"})], timeout=10, max_chars=200)
    assert out[0]["content"] == "Error: sampling refused: Method not found"
    assert sampler.calls == []
    assert fake.messages("initialize")[0]["params"]["capabilities"] == {}


def test_sampling_with_no_sampler_wired_refuses_with_a_clear_error(servers):
    client, _ = servers("http", "--client-features", sampling=True)
    toolset = ToolSet([(client, {})], log=logging.getLogger(LOGGER))
    toolset.tools()
    out = toolset.execute([call("sample", {"prompt": "hi"})], timeout=10, max_chars=300)
    assert out[0]["content"].startswith("Error: sampling refused: sampling failed: argo-proxy was started "
                                        "without a model caller for MCP sampling")


def test_a_failing_sampler_becomes_a_json_rpc_error(servers):
    client, fake = servers("stdio", "--client-features", sampling=True)
    toolset = ToolSet([(client, {})], log=logging.getLogger(LOGGER),
                      sampler=Sampler(fail=RuntimeError("Argo answered 503")))
    toolset.tools()
    toolset.execute([call("sample", {"prompt": "hi"})], timeout=10, max_chars=300)
    assert answers(fake)["sampling/createMessage"]["error"] == {"code": -32603,
                                                                 "message": "sampling failed: Argo answered 503"}


@pytest.mark.parametrize("kind", KINDS)
def test_a_task_that_needs_sampling_gets_the_model_of_its_call(servers, kind):
    client, fake = servers(kind, "--task-tools", sampling=True)
    sampler = Sampler(text="short summary")
    toolset = ToolSet([(client, {})], log=logging.getLogger(LOGGER), sampler=sampler)
    toolset.tools()
    out = toolset.execute([call("research", {"topic": "tides", "seconds": 0, "ask": True})], timeout=15,
                          max_chars=200, model="gemini25pro")
    assert out[0]["content"] == "findings on tides: short summary"
    assert sampler.calls[0][0] == [{"role": "user", "content": "Summarise tides"}]
    assert sampler.calls[0][4] == "gemini25pro"


def test_sampling_messages_become_openai_messages():
    raw = [{"role": "user", "content": {"type": "text", "text": "look"}},
           {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
           {"role": "user", "content": [{"type": "text", "text": "this"},
                                        {"type": "image", "data": "QUJD", "mimeType": "image/jpeg"},
                                        {"type": "audio", "data": "UklG", "mimeType": "audio/wav"}]}]
    assert sampling_messages(raw) == [
        {"role": "user", "content": "look"},
        {"role": "assistant", "content": "a\nb"},
        {"role": "user", "content": [{"type": "text", "text": "this"},
                                     {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,QUJD"}},
                                     {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}}]}]
    for bad in ([], None, [{"role": "system", "content": {"type": "text", "text": "x"}}],
                [{"role": "user", "content": {"type": "video"}}]):
        with pytest.raises(_Fault):
            sampling_messages(bad)


def test_sampler_answers_are_normalised():
    assert sampling_result("hi") == {"role": "assistant", "content": {"type": "text", "text": "hi"},
                                     "model": "unknown", "stopReason": "endTurn"}
    assert sampling_result({"content": "x", "model": "m", "stopReason": "maxTokens"})["stopReason"] == "maxTokens"
    with pytest.raises(_Fault):
        sampling_result(None)


# ---- roots and elicitation ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_roots_are_declared_and_listed_as_file_uris(servers, kind, tmp_path):
    work = tmp_path / "work dir"
    work.mkdir()
    client, fake = servers(kind, "--client-features", roots=[str(work), "~"])
    client.list_tools()
    result = client.call_tool("roots", {}, timeout=10)
    expected = [pathlib.Path(str(work)).as_uri(), pathlib.Path(os.path.expanduser("~")).as_uri()]
    assert json.loads(texts(result)[0]) == expected and "%20" in expected[0]
    assert answers(fake)["roots/list"]["result"]["roots"][0]["name"] == "work dir"
    assert fake.messages("initialize")[0]["params"]["capabilities"] == {"roots": {"listChanged": False}}


def test_roots_without_a_list_are_not_offered(servers):
    client, _ = servers("http", "--client-features")
    client.list_tools()
    assert texts(client.call_tool("roots", {}, timeout=10)) == ["roots refused: Method not found"]


@pytest.mark.parametrize("kind", KINDS)
def test_elicitation_is_declined_and_never_declared(servers, kind, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    client, fake = servers(kind, "--client-features", sampling=True, roots=["/tmp"])
    client.list_tools()
    assert texts(client.call_tool("elicit", {}, timeout=10)) == ["elicitation: decline"]
    assert answers(fake)["elicitation/create"]["result"] == {"action": "decline"}
    assert "elicitation" not in fake.messages("initialize")[0]["params"]["capabilities"]
    assert "asks the client: elicitation/create" in caplog.text and "declined its elicitation" in caplog.text


# ---- options and build_toolset ------------------------------------------------------------------

def test_client_options_are_checked():
    assert client_options("s") == (False, 4096, [])
    assert client_options("s", True, 100, ["/a", "rel"])[2] == ["/a", os.path.abspath("rel")]
    for bad in ({"sampling": "yes"}, {"sampling_max_tokens": 0}, {"sampling_max_tokens": True},
                {"roots": "/tmp"}, {"roots": [""]}, {"roots": [3]}):
        with pytest.raises(ValueError, match="'s'"):
            client_options("s", **bad)
    with pytest.raises(ValueError, match="sampling"):
        mcp.connect("s", {"command": "x"}, sampling=1)


def test_build_toolset_takes_the_client_options_out_of_the_server_spec(tmp_path):
    spec = {"command": sys.executable, "args": [FAKE, "--stdio"], "prefix": "p", "allow": ["echo"],
            "sampling": True, "sampling_max_tokens": 64, "roots": [str(tmp_path)]}
    cfg = types.SimpleNamespace(mcp_servers={"s": spec, "plain": {"url": "http://127.0.0.1:9/mcp"}},
                                llamastack_url=None, llamastack_mode=False, tool_cache_ttl=300)
    sampler = Sampler()
    toolset = build_toolset(cfg, None, sampler=sampler, models=None)
    try:
        (client, options), (plain, _) = toolset._sources
        assert options == {"prefix": "p", "allow": ["echo"], "deny": None}
        assert (client.sampling, client.sampling_max_tokens, client.roots) == (True, 64, [str(tmp_path)])
        assert client._argv == [sys.executable, FAKE, "--stdio"]
        assert (plain.sampling, plain.sampling_max_tokens, plain.roots) == (False, 4096, [])
        assert toolset._sampler is sampler and callable(client.on_sampling)
    finally:
        toolset.close()


def test_model_hints_resolve_by_name_alias_or_substring():
    class Models:
        def resolve(self, name):
            return (KNOWN[name], True) if name in KNOWN else (name, False)

        def entries(self):
            return [{"id": "argo:gpt-4o", "internal_name": "gpt4o"},
                    {"id": "argo:claude-sonnet-4.5", "internal_name": "claudesonnet45"}]

    resolve = model_resolver(Models())
    assert resolve("gpt-4o") == "gpt4o"
    assert resolve("sonnet") == "claudesonnet45"
    assert resolve("llama") is None and resolve("  ") is None


# ---- the standalone GET stream (Streamable HTTP) ----------------------------------------------------

def get_threads():
    return [t for t in threading.enumerate() if t.name == "mcp-web-get" and t.is_alive()]


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_server_requests_and_notifications_on_the_get_stream_are_handled(servers, tmp_path):
    client, fake = servers("http", fake_options={"get_stream": True}, roots=[str(tmp_path)])
    changed = threading.Event()
    client.on_list_changed = changed.set
    client.list_tools()
    assert fake.wait_get_stream()   # open once start() is back: a request sent at once finds it
    (get,) = fake.http("GET")
    assert get["headers"]["accept"] == "text/event-stream"
    assert get["headers"]["mcp-session-id"] == next(iter(fake.sessions))
    assert get["headers"]["mcp-protocol-version"] == "2025-11-25"
    # A request that belongs to no call of ours (as the TypeScript SDK sends roots/list): answered by POST.
    reply = fake.ask_client("roots/list")
    assert reply["result"]["roots"] == [{"uri": pathlib.Path(str(tmp_path)).as_uri(), "name": tmp_path.name}]
    assert fake.ask_client("ping")["result"] == {}
    answer_posts = [p for p in fake.http("POST") if "method" not in (p["msg"] or {})]
    assert len(answer_posts) == 2 and all(p["headers"]["mcp-session-id"] == get["headers"]["mcp-session-id"]
                                          for p in answer_posts)
    fake.push({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    assert changed.wait(5)
    assert client.call_tool("add", {"a": 2, "b": 3}, timeout=10)["structuredContent"] == {"result": 5}


def test_sampling_asked_on_the_get_stream_reaches_the_sampler(servers):
    client, fake = servers("http", fake_options={"get_stream": True}, sampling=True)
    client.on_sampling = lambda messages, system, max_tokens, hints, model: "sampled: " + messages[0]["content"]
    client.list_tools()
    assert fake.wait_get_stream()
    reply = fake.ask_client("sampling/createMessage", {"messages": [{"role": "user", "content": {
        "type": "text", "text": "hi"}}], "maxTokens": 10})
    assert reply["result"]["content"] == {"type": "text", "text": "sampled: hi"}


def test_no_get_stream_without_roots_or_sampling(servers):
    client, fake = servers("http", fake_options={"get_stream": True})
    client.call_tool("echo", {"text": "x"}, timeout=10)
    assert fake.http("GET") == []


def test_a_get_answered_405_is_not_offered_and_not_asked_again(servers, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    client, fake = servers("http", "--client-features", roots=[str(tmp_path)])   # GET /mcp: 405
    client.list_tools()
    assert json.loads(texts(client.call_tool("roots", {}, timeout=10))[0]) == [pathlib.Path(str(tmp_path)).as_uri()]
    assert client.call_tool("add", {"a": 1, "b": 2}, timeout=10)["structuredContent"] == {"result": 3}
    fake.expire_sessions()   # a new session: still not asked again
    assert client.call_tool("add", {"a": 1, "b": 2}, timeout=10)["structuredContent"] == {"result": 3}
    assert len(fake.messages("initialize")) == 2
    (get,) = fake.http("GET")
    assert get["headers"]["accept"] == "text/event-stream" and get["headers"]["mcp-session-id"]
    assert "offers no standalone event stream" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert wait_until(lambda: not get_threads())


def test_a_dropped_get_stream_is_reopened_with_the_last_event_id(servers, tmp_path, monkeypatch):
    monkeypatch.setattr(mcp_http, "GET_BACKOFF", 0.05)
    client, fake = servers("http", fake_options={"get_stream": True}, roots=[str(tmp_path)])
    client.list_tools()
    assert fake.wait_get_stream()
    assert fake.ask_client("ping")["result"] == {}
    fake.drop_get_streams()
    assert wait_until(lambda: len(fake.http("GET")) == 2) and fake.wait_get_stream()
    first, second = fake.http("GET")
    assert "last-event-id" not in first["headers"] and second["headers"]["last-event-id"] == "1"
    assert fake.ask_client("roots/list")["result"]["roots"][0]["uri"] == pathlib.Path(str(tmp_path)).as_uri()


def test_a_get_stream_that_keeps_dropping_is_reopened_a_bounded_number_of_times(servers, tmp_path,
                                                                              monkeypatch):
    monkeypatch.setattr(mcp_http, "GET_BACKOFF", 0.02)
    client, fake = servers("http", fake_options={"get_stream": True}, roots=[str(tmp_path)])
    client.list_tools()
    for n in range(1, mcp_http.GET_REOPENS + 2):
        assert wait_until(lambda: len(fake.http("GET")) == n) and fake.wait_get_stream()
        fake.drop_get_streams()
    assert wait_until(lambda: not get_threads())
    assert len(fake.http("GET")) == mcp_http.GET_REOPENS + 1
    assert client.call_tool("add", {"a": 1, "b": 2}, timeout=10)["structuredContent"] == {"result": 3}


def test_a_new_session_opens_a_new_get_stream_and_close_ends_it(servers, tmp_path):
    client, fake = servers("http", fake_options={"get_stream": True}, roots=[str(tmp_path)])
    client.list_tools()
    assert fake.wait_get_stream()
    fake.restart()   # sessions forgotten, streams ended: the reopen gets 404 and stops
    assert client.call_tool("add", {"a": 1, "b": 2}, timeout=10)["structuredContent"] == {"result": 3}
    assert fake.wait_get_stream()
    session = next(iter(fake.sessions))
    assert fake.http("GET")[-1]["headers"]["mcp-session-id"] == session
    assert fake.ask_client("roots/list")["result"]["roots"]
    assert len(get_threads()) == 1
    client.close()
    assert not get_threads()   # close() joined the reader
    assert client._get is None
    assert wait_until(lambda: not fake._get_streams)   # the fake saw the client close its socket
