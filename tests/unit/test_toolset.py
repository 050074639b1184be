"""Tests for argo_proxy.tools.toolset.ToolSet with small in-test tool sources."""

from __future__ import annotations

import copy
import json
import logging
import threading
import time

import pytest

from argo_proxy.tools.toolset import RETRY_FAILED, ToolSet, ToolSourceError

LOGGER = "test.toolset"


def schema(*names):
    return {"type": "object", "properties": dict((n, {"type": "integer"}) for n in names)}


class Source(object):
    """A tool source: answers "<source>:<tool>:<arguments>" unless a handler is set."""

    def __init__(self, name, tools=("add", "sub"), fail=None):
        self.name = name
        self.tool_list = [{"name": t, "description": "%s from %s" % (t, name),
                           "inputSchema": schema("a", "b")} for t in tools]
        self.fail = fail
        self.handlers = {}
        self.list_calls, self.calls = 0, []
        self.on_list_changed = None
        self.closed = False
        self._lock = threading.Lock()

    def list_tools(self):
        with self._lock:
            self.list_calls += 1
        if self.fail:
            raise self.fail
        return copy.deepcopy(self.tool_list)

    def call_tool(self, name, arguments, timeout):
        with self._lock:
            self.calls.append((name, arguments, timeout))
        if name in self.handlers:
            return self.handlers[name](arguments)
        text = "%s:%s:%s" % (self.name, name, json.dumps(arguments, sort_keys=True))
        return {"content": [{"type": "text", "text": text}]}

    def close(self):
        self.closed = True


class Clock(object):
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def make(*sources, **kwargs):
    """ToolSet over (source, options) pairs or bare sources, with a fake clock."""
    pairs = [s if isinstance(s, tuple) else (s, {}) for s in sources]
    kwargs.setdefault("clock", Clock())
    return ToolSet(pairs, log=logging.getLogger(LOGGER), **kwargs)


def names(toolset):
    return [t["function"]["name"] for t in toolset.tools()]


def call(name, arguments="{}", call_id=None):
    return {"id": call_id or "call_" + name, "type": "function",
            "function": {"name": name, "arguments": arguments}}


# -- listing and caching --------------------------------------------------------------

def test_tools_are_openai_functions_in_source_order():
    a, b = Source("a", ["add"]), Source("b", ["mul"])
    tools = make(a, b).tools()
    assert tools == [
        {"type": "function", "function": {"name": "add", "description": "add from a",
                                          "parameters": schema("a", "b")}},
        {"type": "function", "function": {"name": "mul", "description": "mul from b",
                                          "parameters": schema("a", "b")}}]


def test_list_is_cached_within_the_ttl_and_refreshed_after():
    clock, a = Clock(), Source("a")
    toolset = make(a, ttl=300, clock=clock)
    for _ in range(3):
        assert names(toolset) == ["add", "sub"]
    assert a.list_calls == 1
    clock.now += 299
    toolset.tools()
    assert a.list_calls == 1
    clock.now += 2
    toolset.tools()
    assert a.list_calls == 2


def test_invalidate_one_source_or_all():
    a, b = Source("a", ["x"]), Source("b", ["y"])
    toolset = make(a, b)
    toolset.tools()
    toolset.invalidate("a")
    toolset.tools()
    assert (a.list_calls, b.list_calls) == (2, 1)
    toolset.invalidate()
    toolset.tools()
    assert (a.list_calls, b.list_calls) == (3, 2)


def test_list_changed_notification_refreshes_the_list():
    a = Source("a", ["old"])
    toolset = make(a)
    assert names(toolset) == ["old"]
    assert callable(a.on_list_changed)
    a.tool_list[0]["name"] = "new"
    assert names(toolset) == ["old"]  # still cached
    a.on_list_changed()
    assert names(toolset) == ["new"]
    assert a.list_calls == 2


def test_allow_and_deny_use_the_original_names():
    a = Source("a", ["read", "write", "delete", "get_env"])
    allow = make((a, {"allow": ["read", "write", "get_*"], "deny": ["write"], "prefix": "fs"}))
    assert names(allow) == ["fs_read", "fs_get_env"]
    deny = make((Source("b", ["read", "get_env"]), {"deny": ["get_*"]}))
    assert names(deny) == ["read"]
    assert names(make((Source("c", ["read"]), {"allow": []}))) == []


def test_a_failing_source_contributes_nothing_and_is_retried_later(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    clock = Clock()
    down, up = Source("down", ["x"], fail=ToolSourceError("connection refused", 503)), Source("up", ["y"])
    toolset = make(down, up, clock=clock)
    assert names(toolset) == ["y"]
    assert "tool source down: listing tools failed: connection refused" in caplog.text
    assert toolset.stats() == [{"source": "down", "ok": False, "tools": 0, "error": "connection refused"},
                               {"source": "up", "ok": True, "tools": 1}]
    toolset.tools()
    assert down.list_calls == 1  # not asked again on every request
    down.fail = None
    clock.now += RETRY_FAILED + 1
    assert names(toolset) == ["x", "y"]
    assert toolset.stats()[0] == {"source": "down", "ok": True, "tools": 1}


def test_a_hung_listing_costs_one_bounded_wait(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    gate = threading.Event()
    slow, fast = Source("slow", ["s"]), Source("fast", ["f"])
    real_list = slow.list_tools
    slow.list_tools = lambda: gate.wait(10) and real_list()
    toolset = make(slow, fast, list_timeout=0.3)
    try:
        assert names(toolset) == ["f"]
        assert "tool source slow: listing tools takes longer than 0.3 s" in caplog.text
        started = time.monotonic()
        assert names(toolset) == ["f"]
        assert time.monotonic() - started < 0.25  # did not wait for the same listing again
        listing = toolset._inflight["slow"]
    finally:
        gate.set()
    listing.result(timeout=5)
    assert names(toolset) == ["s", "f"]


def test_stats_never_lists():
    a, b = Source("a", ["x", "y"]), Source("b", ["z"])
    toolset = make(a, b)
    assert toolset.source_names == ["a", "b"]
    assert toolset.stats() == [{"source": "a", "ok": False, "tools": 0, "error": "tools not listed yet"},
                               {"source": "b", "ok": False, "tools": 0, "error": "tools not listed yet"}]
    assert a.list_calls == b.list_calls == 0
    assert toolset.owns("z")  # lists: nothing was listed yet
    assert toolset.stats() == [{"source": "a", "ok": True, "tools": 2},
                               {"source": "b", "ok": True, "tools": 1}]


def test_collisions_get_the_later_source_name_and_prefixes_apply():
    toolset = make(Source("a", ["add"]), Source("b", ["add", "sub"]),
                   (Source("c", ["add"]), {"prefix": "calc"}))
    assert names(toolset) == ["add", "b_add", "sub", "calc_add"]


def test_owns_and_describe():
    toolset = make(Source("a", ["add"]), (Source("b", ["add"]), {"prefix": "p"}))
    toolset.tools()
    assert toolset.owns("add") and toolset.owns("p_add")
    assert not toolset.owns("b_add") and not toolset.owns("client_tool")
    assert toolset.describe() == [
        {"name": "add", "description": "add from a", "source": "a", "parameters": schema("a", "b")},
        {"name": "p_add", "description": "add from b", "source": "b", "parameters": schema("a", "b")}]


def test_invalid_tool_names_from_a_source_are_made_valid():
    toolset = make(Source("a", ["fs.read file", ""]))
    exposed = names(toolset)
    assert len(exposed) == 1 and exposed[0].startswith("fs_read_file_")  # nameless tool skipped


def test_duplicate_source_names_are_refused():
    with pytest.raises(ValueError):
        make(Source("a"), Source("a"))


# -- execution ------------------------------------------------------------------------

def test_execute_returns_tool_messages_in_order_and_routes_by_exposed_name():
    a, b = Source("a", ["add"]), Source("b", ["add"])
    toolset = make(a, b)
    toolset.tools()
    out = toolset.execute([call("b_add", '{"a": 1}', "c1"), call("add", '{"a": 2}', "c2"),
                           call("add", "", "c3")], timeout=5, max_chars=1000)
    assert out == [
        {"role": "tool", "tool_call_id": "c1", "content": 'b:add:{"a": 1}'},
        {"role": "tool", "tool_call_id": "c2", "content": 'a:add:{"a": 2}'},
        {"role": "tool", "tool_call_id": "c3", "content": "a:add:{}"}]
    assert b.calls == [("add", {"a": 1}, 5)]


def test_calls_run_concurrently():
    barrier = threading.Barrier(3, timeout=5)  # only passes when all three run at once
    a = Source("a", ["t1", "t2", "t3"])
    for name in ("t1", "t2", "t3"):
        a.handlers[name] = lambda args, n=name: {"content": [
            {"type": "text", "text": "%s:%d" % (n, barrier.wait())}]}
    toolset = make(a)
    toolset.tools()
    out = toolset.execute([call("t1"), call("t2"), call("t3")], timeout=10, max_chars=100)
    contents = [m["content"] for m in out]
    assert [c.split(":")[0] for c in contents] == ["t1", "t2", "t3"]
    assert sorted(int(c.split(":")[1]) for c in contents) == [0, 1, 2]


@pytest.fixture
def release():
    event = threading.Event()
    yield event
    event.set()  # frees the hung tool's thread


def test_a_hung_tool_times_out_alone(release, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    a = Source("a", ["hang", "add"])
    a.handlers["hang"] = lambda args: release.wait() and {"content": []}
    toolset = make(a)
    toolset.tools()
    started = time.monotonic()
    out = toolset.execute([call("hang", "{}", "h"), call("add", '{"a": 1}', "ok")],
                          timeout=0.3, max_chars=1000)
    assert time.monotonic() - started < 5
    assert out == [{"role": "tool", "tool_call_id": "h",
                    "content": "Error calling hang: timed out after 0.3 s"},
                   {"role": "tool", "tool_call_id": "ok", "content": 'a:add:{"a": 1}'}]
    assert "tool hang source=a 300ms error: timed out after 0.3 s" in caplog.text


@pytest.mark.parametrize("arguments,problem", [
    ('{"a": 1', "the arguments are not valid JSON"),
    ("[1, 2]", "the arguments must be a JSON object, not list"),
])
def test_bad_arguments_answer_the_model_without_calling(arguments, problem):
    a = Source("a", ["add"])
    toolset = make(a)
    toolset.tools()
    out = toolset.execute([call("add", arguments, "c")], timeout=5, max_chars=1000)
    assert out[0]["content"].startswith("Error calling add: " + problem)
    assert a.calls == []


def test_arguments_given_as_an_object_are_used_as_is():
    a = Source("a", ["add"])
    toolset = make(a)
    toolset.tools()
    toolset.execute([{"id": "c", "function": {"name": "add", "arguments": {"a": 3}}}], 5, 100)
    assert a.calls == [("add", {"a": 3}, 5)]


def test_exceptions_become_error_text_and_refresh_the_list(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    a = Source("a", ["add", "odd"])

    def broken(args):
        raise ToolSourceError("MCP server exited", 502)

    a.handlers["add"] = broken
    a.handlers["odd"] = lambda args: "not a dict"
    toolset = make(a)
    toolset.tools()
    out = toolset.execute([call("add"), call("odd")], timeout=5, max_chars=1000)
    assert out[0]["content"] == "Error calling add: MCP server exited"
    assert out[1]["content"] == "Error calling odd: the tool source returned str instead of a result"
    assert "error: MCP server exited" in caplog.text
    toolset.tools()
    assert a.list_calls == 2  # the failure may mean the server restarted or changed its tools


def test_error_results_go_to_the_model_and_are_logged_as_errors(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    a = Source("a", ["boom", "add"])
    a.handlers["boom"] = lambda args: {"content": [{"type": "text", "text": "it broke"}], "isError": True}
    toolset = make(a)
    toolset.tools()
    out = toolset.execute([call("boom"), call("add")], timeout=5, max_chars=1000)
    assert out[0]["content"] == "Error: it broke"
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("tool ")]
    assert len(lines) == 2
    assert lines[0].startswith("tool boom source=a ") and "ms error" in lines[0]
    assert lines[1].startswith("tool add source=a ") and lines[1].endswith("ms ok")


def test_unknown_tool_and_truncation():
    a = Source("a", ["big"])
    a.handlers["big"] = lambda args: {"content": [{"type": "text", "text": "y" * 50}]}
    toolset = make(a)
    toolset.tools()
    out = toolset.execute([call("nope"), call("big")], timeout=5, max_chars=60)
    assert out[0]["content"] == "Error calling nope: no injected tool is named 'nope'"
    assert out[1]["content"] == "y" * 50
    out = toolset.execute([call("big")], timeout=5, max_chars=20)
    assert out[0]["content"] == "y" * 20 + "\u2026 [truncated: 30 more characters]"


# -- lifecycle ------------------------------------------------------------------------

def test_start_close_and_failures_are_logged(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    a, b, c = Source("a"), Source("b"), Source("c")
    started = []
    a.start = lambda: started.append("a")

    def bad():
        raise RuntimeError("no such command")

    b.start = bad
    b.close = bad
    toolset = make(a, b, c)
    toolset.start()
    assert started == ["a"]
    assert "tool source b: start failed: no such command" in caplog.text
    toolset.close()
    assert a.closed and c.closed
    assert "tool source b: close failed" in caplog.text


# -- call context and cancellation ----------------------------------------------------

def test_sources_that_take_them_get_the_chat_model_and_the_cancel():
    seen = []

    class Aware(Source):
        def call_tool(self, name, arguments, timeout, cancel=None, model=None):
            seen.append((name, model, cancel))
            return Source.call_tool(self, name, arguments, timeout)

    aware, plain = Aware("aware", ["a"]), Source("plain", ["p"])
    toolset = make(aware, plain)
    toolset.tools()
    gone = threading.Event()
    out = toolset.execute([call("a"), call("p")], timeout=5, max_chars=100, model="gpt4o", cancel=gone)
    assert [m["content"] for m in out] == ["aware:a:{}", "plain:p:{}"]
    assert seen == [("a", "gpt4o", gone)]
    assert plain.calls == [("p", {}, 5)]


def test_a_cancelled_caller_stops_waiting_for_its_tools(release, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    a = Source("a", ["hang", "add"])
    a.handlers["hang"] = lambda args: release.wait() and {"content": []}
    toolset = make(a)
    toolset.tools()
    gone = threading.Event()
    threading.Timer(0.2, gone.set).start()
    started = time.monotonic()
    out = toolset.execute([call("hang", "{}", "h"), call("add", "{}", "ok")], timeout=30, max_chars=100,
                          cancel=gone)
    assert time.monotonic() - started < 3
    assert out == [{"role": "tool", "tool_call_id": "h",
                    "content": "Error calling hang: cancelled: the client went away"},
                   {"role": "tool", "tool_call_id": "ok", "content": "a:add:{}"}]
    assert "tool hang source=a 0ms error: cancelled: the client went away" in caplog.text


def test_sampling_requests_reach_the_sampler_with_the_first_known_hint():
    calls = []

    class Sampling(Source):
        on_sampling = None

    a = Sampling("a")
    toolset = make(a, sampler=lambda *args: calls.append(args) or {"content": "ok"},
                   resolve_model={"gpt-4o": "gpt4o"}.get)
    messages = [{"role": "user", "content": "hi"}]
    assert a.on_sampling(messages, "sys", 10, ["nope", "gpt-4o"], "claude") == {"content": "ok"}
    assert a.on_sampling(messages, None, 10, ["nope"], "claude") == {"content": "ok"}
    assert calls == [(messages, "sys", 10, "gpt4o", "claude"), (messages, None, 10, None, "claude")]
    unwired = Sampling("b")
    make(unwired)
    with pytest.raises(Exception, match="without a model caller for MCP sampling"):
        unwired.on_sampling(messages, None, 10, [], None)
