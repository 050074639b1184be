"""LlamaStack mode (the seed proxy's product) and the tool loop, through a real proxy process."""

import socket

import openai
import pytest

from tests import proxyproc
from tests.fakes.fake_llamastack import OLD_CHAT, WEB_SEARCH, FakeLlamaStack, tools_new
from tests.fakes.fake_mcp import TOOLS as MCP_TOOLS
from tests.fakes.fake_mcp import FakeMCPHttp

CLIENT_TOOL = {"type": "function", "function": {
    "name": "lookup", "description": "Client-side lookup.",
    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}


@pytest.fixture
def stack():
    with FakeLlamaStack() as f:
        yield f


def ls_proxy(start_proxy, stack, *extra, config=None):
    return start_proxy("--llamastack", stack.url, *extra, config=config)


def sdk(p, prefix="/v1"):
    return openai.OpenAI(base_url=p.url + prefix, api_key="any", max_retries=0)


def invokes(stack):
    return [r for r in stack.requests if r["path"] == "/v1/tool-runtime/invoke"]


def chats(stack):
    return [r for r in stack.requests if r["path"].endswith("/chat/completions")]


def test_seed_loop_non_streaming(start_proxy, stack):
    p = ls_proxy(start_proxy, stack)
    reply = sdk(p).chat.completions.create(model="openai/fake-model",
                                           messages=[{"role": "user", "content": "2+3?"}])
    assert reply.choices[0].message.content == "Tool said: 5"
    assert [r["body"]["tool_name"] for r in invokes(stack)] == ["add"]
    first = chats(stack)[0]["body"]
    assert {t["function"]["name"] for t in first["tools"]} >= {"add", "echo"}
    assert first["model"] == "openai/fake-model"  # LlamaStack ids pass unchanged
    assert proxyproc.wait_until(lambda: "tool add source=llamastack" in p.log())


@pytest.mark.parametrize("send_done", [True, False])
def test_open_webui_style_stream_executes_tools(start_proxy, send_done):
    with FakeLlamaStack(send_done=send_done) as stack:
        p = ls_proxy(start_proxy, stack)
        chunks = proxyproc.chat_stream(p, {"model": "openai/fake-model",
                                           "messages": [{"role": "user", "content": "2+3?"}]})
    assert proxyproc.visible_text(chunks) == "Tool said: 5"
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and
            c["choices"][0]["finish_reason"]] == ["stop"]


def test_parallel_calls_run_and_all_results_go_back(start_proxy, stack):
    stack.script([{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}},
                                  {"name": "echo", "arguments": {"text": "hi"}}]}])
    p = ls_proxy(start_proxy, stack)
    sdk(p).chat.completions.create(model="openai/fake-model", messages=[{"role": "user", "content": "x"}])
    assert sorted(r["body"]["tool_name"] for r in invokes(stack)) == ["add", "echo"]
    last = chats(stack)[-1]["body"]["messages"]
    assert [m["role"] for m in last[-3:]] == ["assistant", "tool", "tool"]
    assert len(last[-3]["tool_calls"]) == 2


def test_iteration_cap(start_proxy, stack):
    stack.script([{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": i}}]} for i in range(5)])
    p = ls_proxy(start_proxy, stack, config={"max_tool_iterations": 2})
    reply = sdk(p).chat.completions.create(model="openai/fake-model", messages=[{"role": "user", "content": "x"}])
    assert "max_tool_iterations" in reply.choices[0].message.content
    assert not reply.choices[0].message.tool_calls
    assert len(invokes(stack)) == 2 and len(chats(stack)) == 3


def test_client_tool_call_goes_back_to_client(start_proxy, stack):
    stack.script([{"tool_calls": [{"name": "lookup", "arguments": {"q": "x"}}]}])
    p = ls_proxy(start_proxy, stack)
    reply = sdk(p).chat.completions.create(model="openai/fake-model", tools=[CLIENT_TOOL],
                                           messages=[{"role": "user", "content": "x"}])
    call = reply.choices[0].message.tool_calls[0]
    assert call.function.name == "lookup" and invokes(stack) == []
    sent_tools = [t["function"]["name"] for t in chats(stack)[0]["body"]["tools"]]
    assert sent_tools[0] == "lookup" and "add" in sent_tools


def test_failing_tool_reaches_model_as_text(start_proxy, stack):
    stack.script([{"tool_calls": [{"name": "boom", "arguments": {}}]}])
    p = ls_proxy(start_proxy, stack)
    reply = sdk(p).chat.completions.create(model="openai/fake-model", messages=[{"role": "user", "content": "x"}])
    assert reply.choices[0].message.content == "Tool said: Error executing tool boom"


def test_passthrough_health_models_tools_and_prefix(start_proxy, stack):
    p = ls_proxy(start_proxy, stack)
    assert p.request("GET", "/health")[2] == {"status": "healthy"}
    status, _, body = p.request("GET", "/v1/models")
    assert status == 200 and body["data"][0]["id"] == "openai/fake-model"
    status, _, body = p.request("GET", "/argo/tools")   # the proxy's own list
    names = {t["name"]: t for t in body["data"]}
    assert names["add"]["source"] == "llamastack" and names["add"]["parameters"]["type"] == "object"
    status, _, body = p.request("GET", "/v1/tools")     # LlamaStack's, passed through
    assert status == 200 and body["data"] == tools_new()
    reply = sdk(p, "/openai/v1").chat.completions.create(model="openai/fake-model",
                                                         messages=[{"role": "user", "content": "2+3?"}])
    assert reply.choices[0].message.content == "Tool said: 5"


def test_old_llamastack_chat_path_detected(start_proxy):
    with FakeLlamaStack(shape="old", chat_path=OLD_CHAT) as stack:
        p = ls_proxy(start_proxy, stack)
        reply = sdk(p).chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "2+3?"}])
        assert reply.choices[0].message.content == "Tool said: 5"
        assert chats(stack)[0]["path"] == OLD_CHAT


def test_seed_environment_variables(start_proxy, stack):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = start_proxy("--port", str(port), env={"LLAMASTACK_URL": stack.url})
    assert p.host_port[1] == port and "mode llamastack" in p.log()
    reply = sdk(p).chat.completions.create(model="openai/fake-model", messages=[{"role": "user", "content": "2+3?"}])
    assert reply.choices[0].message.content == "Tool said: 5"


def test_proxy_port_and_default_port(tmp_path, stack):
    from tests.integration.test_cli import run
    code, out, _ = run(tmp_path, "--show", "--validate", env={"LLAMASTACK_URL": stack.url})
    assert "port: 8322  # default (LlamaStack mode)" in out
    code, out, _ = run(tmp_path, "--show", "--validate", env={"LLAMASTACK_URL": stack.url, "PROXY_PORT": "9123"})
    assert "port: 9123  # env PROXY_PORT" in out and "llamastack_mode: true" in out


# -- llama-stack 0.7+: its connectors' MCP servers are the tool sources ------------------

@pytest.fixture
def mcp():
    with FakeMCPHttp() as server:
        yield server


@pytest.fixture
def stack07(mcp):
    with FakeLlamaStack(version="0.7.3", send_done=False, connectors=[("mcp::demo", mcp.url)]) as f:
        yield f


def test_07_loop_uses_the_connectors_mcp_tools(start_proxy, stack07, mcp):
    p = ls_proxy(start_proxy, stack07)
    reply = sdk(p).chat.completions.create(model="openai/fake-model",
                                           messages=[{"role": "user", "content": "2+3?"}])
    assert reply.choices[0].message.content == "Tool said: 5"
    assert mcp.messages("tools/call")[0]["params"] == {"name": "add", "arguments": {"a": 2, "b": 3}}
    sent = [t["function"]["name"] for t in chats(stack07)[0]["body"]["tools"]]
    assert sent == [t["name"] for t in MCP_TOOLS]          # no web_search: nothing could run it
    chunks = proxyproc.chat_stream(p, {"model": "openai/fake-model",
                                       "messages": [{"role": "user", "content": "2+3?"}]})
    assert proxyproc.visible_text(chunks) == "Tool said: 5"
    assert len(mcp.messages("tools/call")) == 2 and invokes(stack07) == []
    assert proxyproc.wait_until(lambda: "tool add source=llamastack" in p.log())
    log = p.log()
    assert log.count("web_search") == 1 and "not offered" in log   # one warning, not one per chat
    assert "invoke answered 404" not in log


def test_07_passthrough_and_the_proxys_tool_list(start_proxy, stack07, mcp):
    p = ls_proxy(start_proxy, stack07)
    status, _, body = p.request("GET", "/v1beta/connectors")
    assert status == 200 and body["data"][0]["url"] == mcp.url
    status, _, body = p.request("GET", "/v1beta/connectors/mcp::demo")
    assert status == 200 and body["connector_id"] == "mcp::demo"
    status, _, body = p.request("GET", "/v1/tools")          # LlamaStack's own list
    assert status == 200 and body["data"] == [WEB_SEARCH]
    status, _, body = p.request("GET", "/v1/version")
    assert body == {"version": "0.7.3"}
    status, _, body = p.request("GET", "/argo/tools")
    assert status == 200 and [t["name"] for t in body["data"]] == [t["name"] for t in MCP_TOOLS]
    assert {t["source"] for t in body["data"]} == {"llamastack"}
    status, _, _ = p.request("GET", "/v1/chat/completions")   # llama-stack's stored completions
    assert status == 404 and stack07.requests[-1]["method"] == "GET"
    assert stack07.requests[-1]["path"] == "/v1/chat/completions"
    status, _, body = p.request("GET", "/v1alpha/anything?x=1")
    # LlamaStack's answer, relayed in its shape; the message names the request and whose it is
    assert status == 404 and body["detail"].startswith("Not Found (request req_") \
        and body["detail"].endswith("; LlamaStack answered HTTP 404)") and list(body) == ["detail"]
    assert stack07.requests[-1]["path"] == "/v1alpha/anything" and stack07.requests[-1]["query"] == {"x": "1"}
    assert p.request("GET", "/health")[2] == {"status": "healthy"}   # the proxy's own
