"""The Anthropic Messages API through the proxy, with the official anthropic SDK, in every mode:
Claude models on Argo's Anthropic endpoint, other models translated to the chat upstream."""

import json
import os
import sys

import anthropic
import pytest

from tests import proxyproc

MODES = [(), ("--native-openai",)]
TOOL = {"name": "add", "description": "Add two numbers",
        "input_schema": {"type": "object", "properties": {"a": {"type": "number"},
                                                          "b": {"type": "number"}}}}
HI = [{"role": "user", "content": "hi"}]


def client(p, key="jdoe", base=None):
    return anthropic.Anthropic(base_url=base or p.url, api_key=key, max_retries=0)


def start(start_proxy, fake, mode=(), **config):
    config.update({"argo_base_url": fake.url})
    return start_proxy("--user", "tester", *mode, config=config)


def messages_sent(fake):
    return [r for r in fake.requests if r["path"].endswith("/v1/messages")]


# -- Claude: Argo's Anthropic endpoint, every mode -----------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_claude_vendor_id_reaches_argo_resolved_with_user(start_proxy, fake, mode):
    p = start(start_proxy, fake, mode)
    msg = client(p).messages.create(model="claude-sonnet-4-5-20250929", max_tokens=200, messages=HI)
    assert msg.content[0].text == "Hello from fake Argo." and msg.stop_reason == "end_turn"
    sent = messages_sent(fake)[-1]
    assert sent["body"]["model"] == "claudesonnet45" and sent["body"]["user"] == "tester"
    assert sent["headers"]["anthropic-version"]   # forwarded as the SDK sent it
    assert sent["headers"].get("x-api-key") is None   # the client's key is not passed on


@pytest.mark.parametrize("mode", MODES)
def test_claude_stream_is_relayed_with_thinking_and_signature(start_proxy, fake, mode):
    p = start(start_proxy, fake, mode)
    with client(p).messages.stream(model="claude-sonnet-4-5[1m]", max_tokens=4000, messages=HI,
                                   thinking={"type": "adaptive"},
                                   extra_body={"output_config": {"effort": "low"}}) as stream:
        final = stream.get_final_message()
    kinds = [b.type for b in final.content]
    assert kinds == ["thinking", "text"] and final.content[0].signature
    sent = messages_sent(fake)[-1]["body"]
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 3999}   # sonnet 4.5: no adaptive


def test_system_messages_inside_messages_are_moved(start_proxy, fake):
    p = start(start_proxy, fake)
    body = {"model": "claude-opus-4-7", "max_tokens": 100, "system": [{"type": "text", "text": "A"}],
            "messages": [{"role": "user", "content": "hi"},
                         {"role": "system", "content": [{"type": "text", "text": "B",
                                                         "cache_control": {"type": "ephemeral"}}]}],
            "temperature": 0.5, "thinking": {"type": "enabled", "budget_tokens": 2048}}
    status, _, reply = p.request("POST", "/v1/messages?beta=true", body=body,
                                 headers={"anthropic-version": "2023-06-01"})
    assert status == 200 and reply["type"] == "message", reply
    sent = messages_sent(fake)[-1]["body"]
    assert [m["role"] for m in sent["messages"]] == ["user"]
    assert [b["text"] for b in sent["system"]] == ["A", "B"]
    assert sent["system"][1]["cache_control"] == {"type": "ephemeral"}
    assert "temperature" not in sent and sent["thinking"]["type"] == "adaptive"   # opus 4.7


def test_large_non_streaming_request_is_streamed_upstream_and_aggregated(start_proxy, fake):
    p = start(start_proxy, fake)
    status, _, reply = p.request("POST", "/v1/messages", body={
        "model": "claudesonnet45", "max_tokens": 64000, "messages": HI,
        "tools": [TOOL]}, headers={"anthropic-version": "2023-06-01"})
    assert status == 200 and reply["stop_reason"] == "tool_use", reply
    assert reply["content"][0]["type"] == "tool_use" and reply["content"][0]["input"] == {"a": 12, "b": 30}
    assert messages_sent(fake)[-1]["body"]["stream"] is True


def test_argo_200_with_error_body_becomes_an_error_status(start_proxy, fake):
    p = start(start_proxy, fake)
    with pytest.raises(anthropic.APIStatusError) as info:
        client(p).messages.create(model="claude-opus-4-1", max_tokens=100, messages=HI)
    assert info.value.status_code == 502 and "Internal server error" in str(info.value.message)
    assert info.value.body["error"]["type"] == "api_error"


@pytest.mark.parametrize("mode", MODES)
def test_claude_count_tokens_is_argos(start_proxy, fake, mode):
    p = start(start_proxy, fake, mode)
    count = client(p).messages.count_tokens(model="claude-haiku-4-5", messages=HI)
    assert count.input_tokens > 0
    assert fake.last("/v1/messages/count_tokens")["body"]["model"] == "claudehaiku45"


# -- other models: translated through the chat upstream -----------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model", ["gpt-4o", "gemini-2.5-pro"])
def test_other_models_answer_as_messages(start_proxy, fake, mode, model):
    p = start(start_proxy, fake, mode)
    msg = client(p).messages.create(model=model, max_tokens=100, system="Be brief.", messages=HI)
    assert msg.type == "message" and msg.content[0].text == "Hello from fake Argo."
    assert msg.usage.output_tokens > 0 and msg.model == model
    assert not messages_sent(fake)


@pytest.mark.parametrize("mode", MODES)
def test_other_models_stream_text_and_tool_use(start_proxy, fake, mode):
    p = start(start_proxy, fake, mode)
    with client(p).messages.stream(model="gpt-4o", max_tokens=100, messages=HI) as stream:
        assert "".join(stream.text_stream) == "Hello from fake Argo."
    with client(p).messages.stream(model="gpt-4o", max_tokens=100, messages=HI, tools=[TOOL]) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    use = [b for b in final.content if b.type == "tool_use"][0]
    assert use.name == "add" and use.input == {"a": 12, "b": 30}
    follow = client(p).messages.create(model="gpt-4o", max_tokens=100, tools=[TOOL], messages=[
        HI[0], {"role": "assistant", "content": [use.model_dump()]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "42"}]}])
    assert follow.content[0].text == "Tool said: 42"


def test_other_model_count_tokens_is_an_estimate(start_proxy, fake):
    p = start(start_proxy, fake)
    count = client(p).messages.count_tokens(model="gpt-4o", messages=HI, tools=[TOOL])
    assert count.input_tokens > 5
    assert not fake.requests or all("count_tokens" not in r["path"] for r in fake.requests)


# -- names, lists, errors ----------------------------------------------------------------

def test_model_aliases_route_claude_names_to_another_model(start_proxy, fake):
    p = start(start_proxy, fake, model_aliases={"haiku": "gpt5mini", "claude-haiku-4-5": "argo:gpt-4o"})
    msg = client(p).messages.create(model="claude-haiku-4-5-20251001", max_tokens=50, messages=HI)
    assert msg.content[0].text == "Hello from fake Argo."
    assert fake.last("/api/v1/resource/chat/")["body"]["model"] == "gpt4o"
    ids = [m.id for m in client(p).models.list()]
    assert ids[:2] == ["haiku", "claude-haiku-4-5"] and "claudesonnet45" in ids


def test_models_in_anthropic_shape(start_proxy, fake):
    p = start(start_proxy, fake)
    status, _, body = p.request("GET", "/v1/models", headers={"anthropic-version": "2023-06-01"})
    assert status == 200 and body["has_more"] is False and body["first_id"] == body["data"][0]["id"]
    assert {"type", "id", "display_name", "created_at"} <= set(body["data"][0])
    status, _, body = p.request("GET", "/v1/models")
    assert body["object"] == "list"


def test_errors_use_anthropics_envelope(start_proxy, fake):
    p = start_proxy("--user", "tester", "--api-key", "sekret", config={"argo_base_url": fake.url})
    with pytest.raises(anthropic.AuthenticationError) as info:
        client(p, key="wrong").messages.create(model="gpt-4o", max_tokens=5, messages=HI)
    assert info.value.body["type"] == "error" and info.value.body["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.BadRequestError) as info:
        client(p, key="sekret").messages.create(model="gpt-4o", max_tokens=5, messages=[{"role": "user"}])
    assert info.value.body["error"]["type"] == "invalid_request_error"
    status, _, body = p.request("POST", "/v1/messages/nope", body={}, headers={"x-api-key": "sekret"})
    assert status == 404 and body["error"]["type"] == "not_found_error"
    msg = client(p, key="sekret", base=p.url + "/anthropic").messages.create(
        model="claude-sonnet-4-5", max_tokens=50, messages=HI)
    assert msg.content[0].text == "Hello from fake Argo."
    assert messages_sent(fake)[-1]["headers"].get("authorization") != "Bearer sekret"


def test_upstream_failure_mid_stream_is_an_error_event(start_proxy, fake):
    p = start(start_proxy, fake)
    fake.add_fault("/api/v1/resource/chat/", status=503, body={"detail": "down"}, times=3)
    with pytest.raises(anthropic.APIStatusError) as info:
        with client(p).messages.stream(model="gpt-4o", max_tokens=5, messages=HI, tools=[TOOL]) as s:
            s.get_final_message()
    assert info.value.body["error"]["type"] == "overloaded_error"


# -- tools the proxy runs -------------------------------------------------------------------

FAKE_MCP = os.path.join(proxyproc.ROOT, "tests", "fakes", "fake_mcp.py")


@pytest.mark.parametrize("model", ["gpt-4o", "claude-sonnet-4-5"])
@pytest.mark.parametrize("stream", [False, True])
def test_injected_tools_work_on_messages(start_proxy, fake, model, stream):
    servers = {"calc": {"command": sys.executable, "args": [FAKE_MCP, "--stdio"]}}
    p = start(start_proxy, fake, ("--native-openai",), mcp_servers=servers)
    if stream:
        with client(p).messages.stream(model=model, max_tokens=100, messages=HI) as s:
            final = s.get_final_message()
    else:
        final = client(p).messages.create(model=model, max_tokens=100, messages=HI)
    assert [b.type for b in final.content] == ["text"] and final.content[0].text == "Tool said: 42"


# -- LlamaStack mode ------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True])
def test_messages_in_llamastack_mode_run_the_tool_loop(start_proxy, stream):
    from tests.fakes.fake_llamastack import FakeLlamaStack
    with FakeLlamaStack() as stack:
        p = start_proxy("--llamastack", stack.url)
        c = client(p)
        if stream:
            with c.messages.stream(model="openai/fake-model", max_tokens=50,
                                   messages=[{"role": "user", "content": "2+3?"}]) as s:
                final = s.get_final_message()
        else:
            final = c.messages.create(model="openai/fake-model", max_tokens=50,
                                      messages=[{"role": "user", "content": "2+3?"}])
        assert [b.type for b in final.content] == ["text"] and final.content[0].text == "Tool said: 5"
        chats = [r for r in stack.requests if r["path"].endswith("/chat/completions")]
        assert chats[0]["body"]["model"] == "openai/fake-model"
