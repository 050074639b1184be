"""Tests for argo_proxy.tools.llamastack against tests/fakes/fake_llamastack.py."""

from __future__ import annotations

import base64
import json
import logging
import socket

import pytest

from argo_proxy.tools.llamastack import (LlamaStackSource, base_url_of, detect_chat_path,
                                         error_message)
from argo_proxy.tools.toolset import ToolSet, ToolSourceError
from argo_proxy.upstream import Upstream
from tests.fakes.fake_llamastack import (DEFAULT_REPLY, NEW_CHAT, OLD_CHAT, PIXEL_PNG,
                                         FakeLlamaStack, tools_new)

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
    assert "LlamaStack 0.7 and later cannot run tools" in info.value.message
    assert "mcp_servers" in info.value.message


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
