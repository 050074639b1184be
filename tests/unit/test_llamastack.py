"""Tests for argo_proxy.tools.llamastack against tests/fakes/fake_llamastack.py."""

from __future__ import annotations

import base64
import json
import logging
import socket

import pytest

from argo_proxy.tools.llamastack import (CONNECTORS, RUNTIME, LlamaStackSource, base_url_of,
                                         detect_chat_path, error_message, parse_version)
from argo_proxy.tools.toolset import ToolSet, ToolSourceError
from argo_proxy.upstream import Upstream
from tests.fakes.fake_llamastack import (DEFAULT_REPLY, NEW_CHAT, OLD_CHAT, PIXEL_PNG,
                                         FakeLlamaStack, tools_new)
from tests.fakes.fake_mcp import TOOLS as MCP_TOOLS
from tests.fakes.fake_mcp import FakeMCPHttp

INVOKE = "/v1/tool-runtime/invoke"


@pytest.fixture
def upstream():
    client = Upstream(connect_timeout=2.0, read_timeout=10.0)
    yield client
    client.close()


@pytest.fixture
def new_fake():
    with FakeLlamaStack("new", NEW_CHAT) as fake:
        yield fake


@pytest.fixture
def old_fake():
    with FakeLlamaStack("old", OLD_CHAT) as fake:
        yield fake


def closed_port_url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return "http://127.0.0.1:%d" % port


# -- listing --------------------------------------------------------------------------

def test_list_tools_new_shape(new_fake, upstream):
    tools = LlamaStackSource(new_fake.url, upstream).list_tools()
    assert [t["name"] for t in tools] == ["add", "echo", "pixel", "boom"]
    assert tools[0] == {"name": "add", "description": "Add two integers.",
                        "inputSchema": tools_new()[0]["input_schema"]}
    assert new_fake.requests[-1]["path"] == "/v1/tools"


def test_list_tools_old_shape(old_fake, upstream):
    tools = LlamaStackSource(old_fake.url + "/v1/", upstream).list_tools()
    assert [t["name"] for t in tools] == ["add", "echo", "pixel", "boom"]
    assert tools[0]["inputSchema"] == {"type": "object", "required": ["a", "b"], "properties": {
        "a": {"type": "integer"}, "b": {"type": "integer"}}}
    assert tools[2]["inputSchema"] == {"type": "object", "properties": {}}


def test_list_tools_error_body_and_empty_list(new_fake, upstream, caplog):
    caplog.set_level(logging.INFO, logger="argo_proxy")
    source = LlamaStackSource(new_fake.url, upstream)
    new_fake.fail("/v1/tools", 502, {"detail": "Failed to connect to MCP server at http://x/mcp"})
    with pytest.raises(ToolSourceError) as info:
        source.list_tools()
    assert info.value.status == 502
    assert "Failed to connect to MCP server at http://x/mcp" in info.value.message
    new_fake.fail("/v1/tools", 200, {"data": []})  # what 0.7+ answers
    assert source.list_tools() == []
    assert "lists no tools" in caplog.text


def test_unreachable_server_is_a_source_error(upstream):
    with pytest.raises(ToolSourceError) as info:
        LlamaStackSource(closed_port_url(), upstream).list_tools()
    assert info.value.status == 503
    assert "Cannot connect" in info.value.message


# -- invoking -------------------------------------------------------------------------

def test_invoke_text_result(new_fake, upstream):
    result = LlamaStackSource(new_fake.url, upstream).call_tool("add", {"a": 2, "b": 3}, 5.0)
    assert result == {"content": [{"type": "text", "text": "5"}], "isError": False}
    sent = new_fake.requests[-1]
    assert (sent["method"], sent["path"]) == ("POST", INVOKE)
    assert sent["body"] == {"tool_name": "add", "kwargs": {"a": 2, "b": 3}}


def test_invoke_image_result(new_fake, upstream):
    result = LlamaStackSource(new_fake.url, upstream).call_tool("pixel", {}, 5.0)
    assert result == {"content": [{"type": "image", "data": PIXEL_PNG, "mimeType": "image/png"}],
                      "isError": False}


def test_invoke_image_on_old_llamastack_is_its_500(old_fake, upstream):
    with pytest.raises(ToolSourceError) as info:
        LlamaStackSource(old_fake.url, upstream).call_tool("pixel", {}, 5.0)
    assert info.value.status == 500
    assert "Internal server error: An unexpected error occurred." in info.value.message


def test_invoke_error_code(new_fake, upstream):
    source = LlamaStackSource(new_fake.url, upstream)
    assert source.call_tool("boom", {}, 5.0) == {
        "content": [{"type": "text", "text": "Error executing tool boom"}], "isError": True}
    bad = source.call_tool("add", {"a": "x", "b": 1}, 5.0)
    assert bad["isError"] is True and "validation error" in bad["content"][0]["text"]


@pytest.mark.parametrize("fake_shape,prefix", [("new", ""), ("old", "Invalid value: ")])
def test_invoke_unknown_tool(fake_shape, prefix, upstream):
    with FakeLlamaStack(fake_shape) as fake:
        with pytest.raises(ToolSourceError) as info:
            LlamaStackSource(fake.url, upstream).call_tool("nope", {}, 5.0)
    assert info.value.status == 400
    assert info.value.message.endswith(prefix + "Tool_group `nope` not served by provider: "
                                       "`model-context-protocol`. Make sure there is an ToolGroups "
                                       "provider serving this tool_group.")


def test_invoke_error_message_shapes_through_the_source(new_fake, upstream):
    source = LlamaStackSource(new_fake.url, upstream)
    new_fake.fail(INVOKE, 400, {"error": {"message": "kwargs: Field required"}})
    new_fake.fail(INVOKE, 422, {"detail": [{"loc": ["body", "tool_name"], "msg": "Field required",
                                            "type": "missing"}]})
    messages = []
    for _ in range(2):
        with pytest.raises(ToolSourceError) as info:
            source.call_tool("add", {}, 5.0)
        messages.append((info.value.status, info.value.message))
    assert messages[0] == (400, "LlamaStack POST %s answered HTTP 400: kwargs: Field required" % INVOKE)
    assert messages[1] == (422, "LlamaStack POST %s answered HTTP 422: body.tool_name: "
                                "Field required" % INVOKE)


def test_invoke_404_explains_llamastack_07(new_fake, upstream):
    new_fake.invoke_404 = True
    with pytest.raises(ToolSourceError) as info:
        LlamaStackSource(new_fake.url, upstream).call_tool("add", {"a": 1, "b": 1}, 5.0)
    assert info.value.status == 404
    assert "has no tool runtime" in info.value.message and "0.7 and later" in info.value.message
    assert "/v1beta/connectors" in info.value.message


@pytest.mark.parametrize("body,expected", [
    (b'{"detail": "Tool_group `x` not served"}', "Tool_group `x` not served"),
    (b'{"error": {"message": "{\'errors\': []}"}}', "{'errors': []}"),
    (b'{"detail": [{"loc": ["body", "kwargs"], "msg": "Field required"}, {"msg": "also"}]}',
     "body.kwargs: Field required; also"),
    (b"<html>gateway</html>", "<html>gateway</html>"),
    (b"", "an empty body"),
])
def test_error_message_shapes(body, expected):
    assert error_message(body, 400) == expected


def test_base_url_of():
    assert base_url_of("http://h:8321/") == "http://h:8321"
    assert base_url_of("http://h:8321/v1") == "http://h:8321"
    assert base_url_of("http://h:8321/llama/v1/") == "http://h:8321/llama"


def test_toolset_over_llamastack(new_fake, upstream):
    toolset = ToolSet([(LlamaStackSource(new_fake.url, upstream), {"deny": ["boom"]})])
    assert [t["function"]["name"] for t in toolset.tools()] == ["add", "echo", "pixel"]
    out = toolset.execute([{"id": "1", "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}},
                           {"id": "2", "function": {"name": "pixel", "arguments": "{}"}}], 5.0, 1000)
    assert [m["content"] for m in out] == [
        "5", "[image: image/png, %d bytes]" % len(base64.b64decode(PIXEL_PNG))]


# -- chat path ------------------------------------------------------------------------

def test_detect_chat_path_new(new_fake, upstream):
    assert detect_chat_path(new_fake.url, upstream) == new_fake.url + NEW_CHAT


def test_detect_chat_path_old(old_fake, upstream):
    assert detect_chat_path(old_fake.url + "/", upstream) == old_fake.url + OLD_CHAT
    paths = [r["path"] for r in old_fake.requests]
    assert paths == ["/v1/models", "/v1/openai/v1/models"]
    assert all(r["method"] == "GET" for r in old_fake.requests)  # never runs a model


def test_detect_chat_path_defaults_when_nothing_answers(upstream):
    url = closed_port_url()
    assert detect_chat_path(url, upstream) == url + NEW_CHAT


# -- the fake's chat model (other tests rely on it) -----------------------------------

def post_chat(upstream, fake, body):
    resp = upstream.request("POST", fake.url + fake.chat_path, body=json.dumps(body).encode())
    return resp.status, resp.read()


def test_fake_chat_calls_the_add_tool_then_reports_its_result(new_fake, upstream):
    tools = [{"type": "function", "function": {"name": "echo"}},
             {"type": "function", "function": {"name": "calc_add"}}]
    status, raw = post_chat(upstream, new_fake, {"model": "openai/fake-model", "tools": tools,
                                                 "messages": [{"role": "user", "content": "2+3?"}]})
    message = json.loads(raw)["choices"][0]["message"]
    assert status == 200 and json.loads(raw)["choices"][0]["finish_reason"] == "tool_calls"
    call = message["tool_calls"][0]
    assert call["function"] == {"name": "calc_add", "arguments": '{"a": 2, "b": 3}'}
    history = [{"role": "user", "content": "2+3?"}, message,
               {"role": "tool", "tool_call_id": call["id"], "content": "5"}]
    _, raw = post_chat(upstream, new_fake, {"model": "m", "tools": tools, "messages": history})
    assert json.loads(raw)["choices"][0]["message"]["content"] == "Tool said: 5"
    _, raw = post_chat(upstream, new_fake, {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert json.loads(raw)["choices"][0]["message"]["content"] == DEFAULT_REPLY


def sse_events(raw):
    return [line[6:] for line in raw.decode().split("\n") if line.startswith("data: ")]


@pytest.mark.parametrize("send_done", [True, False])
def test_fake_chat_streams_scripted_tool_calls_in_fragments(send_done, upstream):
    with FakeLlamaStack(chat_path=OLD_CHAT, send_done=send_done) as fake:
        fake.script([{"content": "Let me check.", "tool_calls": [
            {"name": "add", "arguments": {"a": 10, "b": 20}}, {"name": "echo", "arguments": "{bad"}]}])
        status, raw = post_chat(upstream, fake, {"model": "m", "stream": True, "messages": [],
                                                 "stream_options": {"include_usage": True}})
    events = sse_events(raw)
    assert status == 200 and (events[-1] == "[DONE]") is send_done
    chunks = [json.loads(e) for e in events if e != "[DONE]"]
    assert chunks[-1]["usage"]["total_tokens"] == 15
    text, calls, finishes = "", {}, []
    for chunk in chunks[:-1]:
        choice = chunk["choices"][0]
        text += choice["delta"].get("content") or ""
        finishes.append(choice["finish_reason"])
        for delta in choice["delta"].get("tool_calls") or []:
            entry = calls.setdefault(delta["index"], {"name": "", "arguments": "", "parts": 0})
            entry["name"] += delta.get("function", {}).get("name", "")
            entry["arguments"] += delta["function"].get("arguments", "")
            entry["parts"] += 1
    assert text == "Let me check."
    assert calls[0]["name"] == "add" and json.loads(calls[0]["arguments"]) == {"a": 10, "b": 20}
    assert calls[0]["parts"] > 2  # the arguments came in several fragments
    assert calls[1]["arguments"] == "{bad"
    assert finishes[-1] == "tool_calls" and finishes.count("tool_calls") == 1


def test_fake_missing_kwargs_and_strict_models(upstream):
    with FakeLlamaStack(strict_models=True) as fake:
        resp = upstream.request("POST", fake.url + INVOKE, body=b'{"tool_name": "add"}')
        assert resp.status == 400 and "kwargs" in resp.json()["error"]["message"]
        status, raw = post_chat(upstream, fake, {"model": "fake-model", "messages": []})
        assert status == 404 and "not found" in json.loads(raw)["error"]["message"]


# -- versions: 0.7+ connectors used as MCP servers ----------------------------------------

MCP_NAMES = [t["name"] for t in MCP_TOOLS]


@pytest.fixture
def mcp():
    with FakeMCPHttp() as server:
        yield server


@pytest.fixture
def fake07(mcp):
    with FakeLlamaStack(version="0.7.3", connectors=[("mcp::demo", mcp.url)]) as fake:
        yield fake


def paths(fake):
    return [r["path"] for r in fake.requests]


def test_parse_version():
    assert parse_version("0.7.3") == (0, 7, 3) and parse_version("v0.8.0rc1") == (0, 8, 0)
    assert parse_version("0.2") == (0, 2, 0)
    assert parse_version(None) is None and parse_version("dev") is None


@pytest.mark.parametrize("shape,chat", [("new", NEW_CHAT), ("old", OLD_CHAT)])
def test_older_versions_keep_the_tool_runtime(shape, chat, upstream):
    with FakeLlamaStack(shape, chat) as fake:
        source = LlamaStackSource(fake.url, upstream)
        assert [t["name"] for t in source.list_tools()] == ["add", "echo", "pixel", "boom"]
        source.list_tools()
        assert source.mode == RUNTIME and source.version in ("0.6.1", "0.2.23")
        assert source.connectors() == []
        assert source.call_tool("add", {"a": 2, "b": 3}, 5.0)["content"][0]["text"] == "5"
        assert paths(fake).count("/v1/version") == 1   # detected once
        assert "/v1beta/connectors" not in paths(fake)


def test_07_offers_the_connectors_mcp_tools_and_runs_them_over_mcp(fake07, mcp, upstream, caplog):
    caplog.set_level(logging.INFO, logger="argo_proxy")
    source = LlamaStackSource(fake07.url, upstream)
    try:
        tools = source.list_tools()
        assert source.mode == CONNECTORS and source.version == "0.7.3"
        assert [t["name"] for t in tools] == MCP_NAMES   # web_search (built-in) is not offered
        assert tools[0]["inputSchema"] == MCP_TOOLS[0]["inputSchema"]
        assert source.connectors() == [("mcp::demo", mcp.url)]
        result = source.call_tool("add", {"a": 2, "b": 3}, 5.0)
        assert result["content"] == [{"type": "text", "text": "5"}] and not result.get("isError")
        assert mcp.messages("tools/call")[-1]["params"] == {"name": "add", "arguments": {"a": 2, "b": 3}}
        source.list_tools()
        assert "/v1/tool-runtime/invoke" not in paths(fake07)
        assert paths(fake07).count("/v1/version") == 1
        assert len(mcp.messages("initialize")) == 1   # the MCP client (and session) is kept
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "web_search" in warnings[0] and "not offered" in warnings[0]
    finally:
        source.close()


def test_mcp_factory_makes_the_connector_clients(fake07, mcp, upstream):
    made = []

    class Client(object):
        on_list_changed = None

        def __init__(self, name, spec, client=None, log=None):
            made.append((name, spec, client))
            self.closed = False

        def list_tools(self, timeout=None):
            return [{"name": "ping", "inputSchema": {"type": "object"}}]

        def call_tool(self, name, arguments, timeout):
            return {"content": [{"type": "text", "text": "pong %s" % name}]}

        def close(self):
            self.closed = True

    source = LlamaStackSource(fake07.url, upstream, mcp_factory=Client)
    assert [t["name"] for t in source.list_tools()] == ["ping"]
    assert made == [("mcp::demo", {"url": mcp.url}, upstream)]
    assert source.call_tool("ping", {}, 5.0)["content"][0]["text"] == "pong ping"
    fake07.connectors = [{"connector_id": "mcp::demo", "url": mcp.url + "?v=2"},
                         {"connector_id": "other", "url": mcp.url + "?v=3"}]
    changed = []
    source.on_list_changed = lambda: changed.append(1)
    source.list_tools()
    assert [m[0] for m in made] == ["mcp::demo", "mcp::demo", "other"]   # the url changed
    source._clients["mcp::demo"][1].on_list_changed()   # as an MCP list_changed would
    assert changed == [1]   # it reaches the ToolSet
    fake07.connectors = []
    assert source.list_tools() == []
    with pytest.raises(ToolSourceError):
        source.call_tool("ping", {}, 5.0)
    source.close()


def test_two_connectors_clashing_names_and_one_down(mcp, upstream, caplog):
    with FakeMCPHttp() as other, FakeLlamaStack(version="0.7.3", builtin_tools=[], connectors=[
            ("mcp::one", mcp.url), ("mcp::two", other.url), ("mcp::down", closed_port_url() + "/mcp")]) as fake:
        source = LlamaStackSource(fake.url, upstream, timeout=5.0)
        try:
            names = [t["name"] for t in source.list_tools()]
            assert names[:len(MCP_NAMES)] == MCP_NAMES and len(names) == 2 * len(MCP_NAMES)
            assert names[len(MCP_NAMES):] == ["mcp_two_" + n for n in MCP_NAMES]
            source.call_tool("mcp_two_add", {"a": 1, "b": 1}, 5.0)
            assert len(other.messages("tools/call")) == 1 and mcp.messages("tools/call") == []
            assert "connector mcp::down: listing its tools failed" in caplog.text
            assert source._retry is not None   # lists again soon, not after the whole TTL
            fake.connectors = [{"connector_id": "mcp::down", "url": closed_port_url() + "/mcp"}]
            with pytest.raises(ToolSourceError) as info:
                source.list_tools()
            assert "no connector could list its tools" in info.value.message
        finally:
            source.close()


def test_07_detected_without_a_version_route(fake07, upstream):
    fake07.fail("/v1/version", 404, {"detail": "Not Found"})
    source = LlamaStackSource(fake07.url, upstream)
    try:
        assert [t["name"] for t in source.list_tools()] == MCP_NAMES
        assert source.mode == CONNECTORS and source.version is None
    finally:
        source.close()


def test_invoke_404_stops_offering_runtime_tools(mcp, upstream, caplog):
    """A 0.6 that becomes 0.7 in place: the first 404 switches to connectors, for good."""
    with FakeLlamaStack() as fake:
        source = LlamaStackSource(fake.url, upstream)
        changed = []
        source.on_list_changed = lambda: changed.append(1)
        try:
            assert "add" in [t["name"] for t in source.list_tools()]
            fake.version, fake.has_connectors, fake.connectors = "0.7.3", True, [
                {"connector_id": "mcp::demo", "url": mcp.url}]
            for _ in range(2):
                with pytest.raises(ToolSourceError) as info:
                    source.call_tool("add", {"a": 1, "b": 1}, 5.0)
            assert info.value.status == 404 and changed == [1]
            assert caplog.text.count("has no tool runtime") == 1
            assert [t["name"] for t in source.list_tools()] == MCP_NAMES
            assert source.call_tool("add", {"a": 1, "b": 1}, 5.0)["content"][0]["text"] == "2"
        finally:
            source.close()


def test_toolset_over_llamastack_07(fake07, upstream):
    toolset = ToolSet([(LlamaStackSource(fake07.url, upstream), {"allow": ["add", "echo"]})])
    try:
        assert [t["function"]["name"] for t in toolset.tools()] == ["add", "echo"]
        out = toolset.execute([{"id": "1", "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}}],
                              5.0, 1000)
        assert out[0]["content"] == "5"
    finally:
        toolset.close()


def test_fake_07_serves_connectors_and_no_tool_runtime(fake07, mcp, upstream):
    def get(path):
        resp = upstream.request("GET", fake07.url + path)
        return resp.status, json.loads(resp.read())
    assert get("/v1/version") == (200, {"version": "0.7.3"})
    assert get("/v1/tools")[1]["data"][0]["name"] == "web_search"
    status, body = get("/v1beta/connectors")
    assert status == 200 and body["data"][0]["connector_id"] == "mcp::demo"
    assert body["data"][0]["url"] == mcp.url and body["data"][0]["connector_type"] == "mcp"
    assert get("/v1beta/connectors/mcp::demo")[1]["url"] == mcp.url
    assert get("/v1beta/connectors/nope")[0] == 404
    assert get("/v1/toolgroups")[0] == 404
    resp = upstream.request("POST", fake07.url + INVOKE, body=b'{"tool_name": "add", "kwargs": {}}')
    assert resp.status == 404 and resp.read()


# -- routes: the proxy's own tool list --------------------------------------------------

def test_argo_tools_in_every_mode_and_v1_tools_outside_llamastack_mode():
    from tests.inproc import drive, make_app
    for settings in ({}, {"use_native_openai": True}):
        app = make_app(**settings)
        for path in ("/argo/tools", "/v1/tools"):
            result = drive(app, "GET", path)
            assert result.status == 200 and result.json() == {"object": "list", "data": []}
