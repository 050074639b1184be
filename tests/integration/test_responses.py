"""The whole Responses API through the proxy with the official openai SDK, in both modes:
every tool type Codex CLI sends, state (previous_response_id, GET/DELETE), streaming."""

import json

import openai
import pytest

MODES = [(), ("--native-openai",)]
ADD = {"type": "function", "name": "add", "description": "Add",
       "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}}
PATCH = {"type": "custom", "name": "apply_patch", "description": "Edit files",
         "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}}
AGENTS = {"type": "namespace", "name": "agents", "description": "Sub-agents",
          "tools": [{"type": "function", "name": "spawn", "description": "Start one",
                     "parameters": {"type": "object", "properties": {"task": {"type": "string"}}}}]}
SEARCH = {"type": "web_search"}


def start(start_proxy, fake, mode=()):
    return start_proxy("--user", "tester", *mode, config={"argo_base_url": fake.url})


def sdk(p):
    return openai.OpenAI(base_url=p.url + "/v1", api_key="t", max_retries=0)


def chat_bodies(fake):
    return [r["body"] for r in fake.requests
            if r["path"].endswith("/chat/completions") or r["path"].endswith("/resource/chat/")]


@pytest.mark.parametrize("mode", MODES)
def test_function_call_then_previous_response_id(start_proxy, fake, mode):
    p = start(start_proxy, fake, mode)
    first = sdk(p).responses.create(model="gpt-4o", input="12+30?", tools=[ADD, SEARCH])
    call = [o for o in first.output if o.type == "function_call"][0]
    assert call.name == "add" and json.loads(call.arguments) == {"a": 12, "b": 30}
    follow = sdk(p).responses.create(model="gpt-4o", previous_response_id=first.id, tools=[ADD],
                                     input=[{"type": "function_call_output", "call_id": call.call_id,
                                             "output": "42"}])
    assert follow.output_text == "Tool said: 42"
    sent = chat_bodies(fake)[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]   # history replayed
    got = sdk(p).responses.retrieve(follow.id)
    assert got.id == follow.id and got.output_text == "Tool said: 42"
    items = sdk(p).responses.input_items.list(follow.id)
    assert any(i.type == "function_call_output" for i in items.data)
    sdk(p).responses.delete(follow.id)
    with pytest.raises(openai.NotFoundError):
        sdk(p).responses.retrieve(follow.id)
    with pytest.raises(openai.NotFoundError):
        sdk(p).responses.create(model="gpt-4o", input="x", previous_response_id="resp_nope")


@pytest.mark.parametrize("mode", MODES)
def test_custom_tool_call_comes_back_with_raw_input(start_proxy, fake, mode):
    p = start(start_proxy, fake, mode)
    fake.tool_args = {"input": "*** Begin Patch\n*** End Patch"}
    out = sdk(p).responses.create(model="gpt-4o", input="edit it", tools=[PATCH, SEARCH])
    item = [o for o in out.output if o.type == "custom_tool_call"][0]
    assert item.name == "apply_patch" and item.input == "*** Begin Patch\n*** End Patch"
    offered = chat_bodies(fake)[-1]["tools"]
    assert len(offered) == 1 and offered[0]["function"]["parameters"]["properties"]["input"]


@pytest.mark.parametrize("mode", MODES)
def test_namespace_tool_streamed_back_with_name_and_namespace(start_proxy, fake, mode):
    p = start(start_proxy, fake, mode)
    fake.tool_args = {"task": "look around"}
    with sdk(p).responses.stream(model="gpt-4o", input="go", tools=[AGENTS, ADD]) as stream:
        kinds = [e.type for e in stream]
        final = stream.get_final_response()
    item = [o for o in final.output if o.type == "function_call"][0]
    assert item.name == "spawn" and item.namespace == "agents"
    assert json.loads(item.arguments) == {"task": "look around"}
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.function_call_arguments.done" in kinds


def test_forced_hosted_tool_is_a_clear_400(start_proxy, fake):
    p = start(start_proxy, fake)
    with pytest.raises(openai.BadRequestError) as info:
        sdk(p).responses.create(model="gpt-4o", input="x", tools=[SEARCH], tool_choice={"type": "web_search"})
    assert "web_search" in info.value.message


@pytest.mark.parametrize("mode", MODES)
def test_structured_output_and_parameters(start_proxy, fake, mode):
    p = start(start_proxy, fake, mode)
    schema = {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"],
              "additionalProperties": False}
    out = sdk(p).responses.create(
        model="gpt-5", input="hi", instructions="Be brief.", max_output_tokens=300,
        reasoning={"effort": "low"}, store=False, metadata={"k": "v"}, prompt_cache_key="abc",
        text={"format": {"type": "json_schema", "name": "X", "schema": schema, "strict": True}})
    assert out.status == "completed" and out.output_text
    sent = chat_bodies(fake)[-1]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent.get("reasoning_effort") == "low" and sent["max_tokens"] == 300
    with pytest.raises(openai.NotFoundError):
        sdk(p).responses.retrieve(out.id)   # store: false is not kept


def test_upstream_failure_in_stream_is_response_failed(start_proxy, fake):
    p = start(start_proxy, fake)
    fake.add_fault("/api/v1/resource/streamchat/", reset_after=2)
    with sdk(p).responses.stream(model="gpt-4o", input="hi") as stream:
        kinds = [e.type for e in stream]
    assert kinds[-1] == "response.failed"
