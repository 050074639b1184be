"""Standard mode end to end: the official openai SDK → proxy process → fake Argo legacy API."""

import array
import base64
import json
import sys

import openai
import pytest

ADD_TOOL = {"type": "function", "function": {
    "name": "add", "description": "Add two integers.",
    "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                   "required": ["a", "b"]}}}
FAMILIES = ["argo:gpt-4o", "argo:claude-sonnet-4.5", "argo:gemini-2.5-pro"]


def sdk(proxy):
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key="tester", max_retries=0)


def sent(fake, suffix):
    return fake.last(suffix)["body"]


def raw_stream(proxy, path, body):
    conn = proxy.conn()
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


def data_events(raw):
    return [e[6:] for e in raw.split(b"\n\n") if e.startswith(b"data: ")]


@pytest.mark.smoke
def test_chat_completion(proxy, fake):
    reply = sdk(proxy).chat.completions.create(
        model="argo:gpt-4o", messages=[{"role": "system", "content": "be nice"},
                                       {"role": "user", "content": "Hello!"}], temperature=0.2)
    assert reply.id.startswith("chatcmpl-") and reply.object == "chat.completion"
    assert reply.choices[0].message.content == "Hello from fake Argo."
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    body = sent(fake, "/resource/chat/")
    assert body["model"] == "gpt4o" and body["user"] == "tester" and body["temperature"] == 0.2


@pytest.mark.smoke
def test_real_stream_is_well_formed(proxy, fake):
    status, raw = raw_stream(proxy, "/v1/chat/completions", {
        "model": "gpt4o", "stream": True, "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "hi"}]})
    assert status == 200 and raw.endswith(b"data: [DONE]\n\n")
    chunks = [json.loads(e) for e in data_events(raw)[:-1]]
    assert len({c["id"] for c in chunks}) == 1
    assert [bool(c["choices"] and "role" in c["choices"][0]["delta"]) for c in chunks].count(True) == 1
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop" and finishes.count("stop") == 1
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Hello from fake Argo."
    assert fake.last("/streamchat/")["headers"]["accept"] == "text/plain"


def test_stream_usage_matches_non_stream(proxy):
    msgs = [{"role": "user", "content": "count me"}]
    plain = sdk(proxy).chat.completions.create(model="gpt4o", messages=msgs)
    stream = sdk(proxy).chat.completions.create(model="gpt4o", messages=msgs, stream=True,
                                                stream_options={"include_usage": True})
    last = list(stream)[-1]
    assert last.usage.prompt_tokens == plain.usage.prompt_tokens
    assert last.usage.completion_tokens == plain.usage.completion_tokens


def test_split_utf8_comes_out_whole(proxy, fake):
    fake.set_reply("héllo wörld 😀")
    fake.add_fault("/api/v1/resource/streamchat/", split_utf8=True)
    stream = sdk(proxy).chat.completions.create(model="gpt4o", stream=True,
                                                messages=[{"role": "user", "content": "x"}])
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "héllo wörld 😀"


def test_sdk_stream_helper_accepts_the_stream(proxy):
    with sdk(proxy).chat.completions.stream(model="gpt4o", messages=[{"role": "user", "content": "x"}]) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.content == "Hello from fake Argo."


def test_pseudo_stream(start_proxy, fake):
    p = start_proxy("--user", "t", "--pseudo-stream", config={"argo_base_url": fake.url})
    with sdk(p).chat.completions.stream(model="gpt4o", messages=[{"role": "user", "content": "x"}]) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.content == "Hello from fake Argo."
    assert sent(fake, "/resource/chat/")["stream"] is False
    assert not [r for r in fake.requests if r["path"].endswith("/streamchat/")]


@pytest.mark.parametrize("model", FAMILIES)
def test_tool_round_trip_every_family(proxy, fake, model):
    client = sdk(proxy)
    msgs = [{"role": "user", "content": "What is 12+30?"}]
    first = client.chat.completions.create(model=model, messages=msgs, tools=[ADD_TOOL])
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "add" and json.loads(call.function.arguments) == {"a": 12, "b": 30}
    msgs += [first.choices[0].message.model_dump(exclude_none=True),
             {"role": "tool", "tool_call_id": call.id, "content": "42"}]
    second = client.chat.completions.create(model=model, messages=msgs, tools=[ADD_TOOL])
    assert second.choices[0].message.content == "Tool said: 42"


@pytest.mark.parametrize("model", FAMILIES)
def test_streamed_tool_call_every_family(proxy, fake, model):
    with sdk(proxy).chat.completions.stream(model=model, tools=[ADD_TOOL],
                                            messages=[{"role": "user", "content": "12+30?"}]) as s:
        final = s.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert call.function.name == "add" and json.loads(call.function.arguments) == {"a": 12, "b": 30}
    assert not [r for r in fake.requests if r["path"].endswith("/streamchat/")]


def test_claude_tools_sent_in_anthropic_shape(proxy, fake):
    sdk(proxy).chat.completions.create(model="argo:claude-sonnet-4.5", tools=[ADD_TOOL], tool_choice="required",
                                       messages=[{"role": "user", "content": "x"}])
    body = sent(fake, "/resource/chat/")
    assert body["tools"][0]["name"] == "add" and "input_schema" in body["tools"][0]
    assert body["tool_choice"] == {"type": "any"}


@pytest.mark.parametrize("fault", ["leaked_tool_call", "block_array"])
def test_claude_bad_day_replies_still_give_tool_calls(proxy, fake, fault):
    fake.add_fault("/api/v1/resource/chat/", **{fault: True})
    reply = sdk(proxy).chat.completions.create(model="argo:claude-sonnet-4.5", tools=[ADD_TOOL],
                                               messages=[{"role": "user", "content": "12+30?"}])
    call = reply.choices[0].message.tool_calls[0]
    assert call.function.name == "add" and json.loads(call.function.arguments) == {"a": 12, "b": 30}
    assert "toolu" not in (reply.choices[0].message.content or "")


def test_tool_prompting(start_proxy, fake):
    p = start_proxy("--user", "t", "--tool-prompting", config={"argo_base_url": fake.url})
    fake.set_reply('Let me add.\n<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>')
    reply = sdk(p).chat.completions.create(model="gpt4o", tools=[ADD_TOOL],
                                           messages=[{"role": "user", "content": "1+2?"}])
    body = sent(fake, "/resource/chat/")
    assert "tools" not in body and "add" in json.dumps(body["messages"][0])
    call = reply.choices[0].message.tool_calls[0]
    assert call.function.name == "add" and json.loads(call.function.arguments) == {"a": 1, "b": 2}


def test_completions(proxy, fake):
    out = sdk(proxy).completions.create(model="argo:gpt-4o", prompt="Say hi", max_tokens=5)
    assert out.object == "text_completion" and out.choices[0].text == "Hello from fake Argo."
    assert sent(fake, "/resource/chat/")["prompt"] == ["Say hi"]
    text = "".join(c.choices[0].text for c in sdk(proxy).completions.create(
        model="gpt4o", prompt="Say hi", stream=True) if c.choices)
    assert text == "Hello from fake Argo."


def test_embeddings_40_inputs_batched_in_order(proxy, fake):
    inputs = ["text number %d" % i for i in range(40)]
    out = sdk(proxy).embeddings.create(model="argo:text-embedding-3-small", input=inputs)
    batches = [r["body"]["prompt"] for r in fake.requests if r["path"].endswith("/embed/")]
    assert [len(b) for b in batches] == [16, 16, 8]
    assert sum(batches, []) == inputs
    assert [d.index for d in out.data] == list(range(40))
    single = sdk(proxy).embeddings.create(model="argo:text-embedding-3-small", input=inputs[17])
    assert single.data[0].embedding == out.data[17].embedding
    assert out.usage.prompt_tokens > 0


def test_embeddings_base64(proxy):
    floats = sdk(proxy).embeddings.create(model="v3small", input="x").data[0].embedding
    status, _, body = proxy.request("POST", "/v1/embeddings", body={
        "model": "v3small", "input": "x", "encoding_format": "base64"})
    vec = array.array("f", base64.b64decode(body["data"][0]["embedding"]))
    if sys.byteorder == "big":
        vec.byteswap()
    assert status == 200 and len(vec) == len(floats)
    assert all(abs(a - b) < 1e-6 for a, b in zip(vec, floats))


def test_responses_plain_and_streaming(proxy, fake):
    client = sdk(proxy)
    out = client.responses.create(model="argo:gpt-4o", input="Hello!", instructions="be brief")
    assert out.output_text == "Hello from fake Argo." and out.status == "completed"
    assert sent(fake, "/resource/chat/")["messages"][0] == {"role": "system", "content": "be brief"}
    events = list(client.responses.create(model="argo:gpt-4o", input="Hello!", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Hello from fake Argo."
    assert [e.sequence_number for e in events] == list(range(len(events)))


@pytest.mark.parametrize("stream", [False, True])
def test_responses_function_tool(proxy, stream):
    tool = {"type": "function", "name": "add", "description": "Add.",
            "parameters": ADD_TOOL["function"]["parameters"]}
    client = sdk(proxy)
    if stream:
        events = list(client.responses.create(model="gpt4o", input="12+30?", tools=[tool], stream=True))
        final = events[-1].response
    else:
        final = client.responses.create(model="gpt4o", input="12+30?", tools=[tool])
    calls = [o for o in final.output if o.type == "function_call"]
    assert calls[0].name == "add" and json.loads(calls[0].arguments) == {"a": 12, "b": 30}
    follow = client.responses.create(model="gpt4o", tools=[tool], input=[
        {"role": "user", "content": "12+30?"},
        {"type": "function_call", "call_id": calls[0].call_id, "name": "add", "arguments": calls[0].arguments},
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "42"}])
    assert follow.output_text == "Tool said: 42"


@pytest.mark.parametrize("stream", [False, True])
def test_auth_notice_becomes_403(proxy, fake, stream):
    fake.add_fault("/api/v1/resource/chat/", auth_notice=True)
    fake.add_fault("/api/v1/resource/streamchat/", auth_notice=True)
    with pytest.raises(openai.PermissionDeniedError) as info:
        out = sdk(proxy).chat.completions.create(model="gpt4o", stream=stream,
                                                 messages=[{"role": "user", "content": "x"}])
        if stream:
            list(out)
    assert "tester" in info.value.message and "user" in info.value.message


def test_upstream_error_keeps_status_and_message(proxy, fake):
    fake.add_fault("/api/v1/resource/chat/", status=422, body={"detail": "model zzz is not valid"})
    with pytest.raises(openai.UnprocessableEntityError) as info:
        sdk(proxy).chat.completions.create(model="zzz", messages=[{"role": "user", "content": "x"}])
    assert "model zzz is not valid" in info.value.message


def test_upstream_garbage_is_502(proxy, fake):
    fake.add_fault("/api/v1/resource/chat/", invalid_json=True)
    with pytest.raises(openai.APIStatusError) as info:
        sdk(proxy).chat.completions.create(model="gpt4o", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 502 and "not JSON" in info.value.message


def test_no_response_key_is_502(proxy, fake):
    fake.add_fault("/api/v1/resource/chat/", body={"response": None})
    with pytest.raises(openai.APIStatusError) as info:
        sdk(proxy).chat.completions.create(model="gpt4o", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 502


def test_argo_raw_chat_and_embed(proxy, fake):
    status, _, body = proxy.request("POST", "/v1/chat", body={
        "model": "argo:gpt-4o", "prompt": ["a", "b"], "system": ["s1", "s1", "s2"]})
    assert status == 200 and body == {"response": "Hello from fake Argo."}
    up = sent(fake, "/resource/chat/")
    assert up["prompt"] == ["a\n\nb"] and up["system"] == "s1\n\ns2" and up["user"] == "tester"
    status, raw = raw_stream(proxy, "/v1/chat", {"model": "gpt4o", "stream": True,
                                                 "messages": [{"role": "user", "content": "x"}]})
    assert status == 200 and raw == b"Hello from fake Argo."
    status, _, body = proxy.request("POST", "/v1/embed", body={"model": "v3small", "input": ["a", "b"]})
    assert status == 200 and len(body["embedding"]) == 2
    assert sent(fake, "/embed/")["prompt"] == ["a", "b"]


def test_continue_turn_for_claude_without_user_message(proxy, fake):
    sdk(proxy).chat.completions.create(model="argo:claude-sonnet-4.5",
                                       messages=[{"role": "system", "content": "introduce yourself"}])
    assert sent(fake, "/resource/chat/")["messages"][-1] == {"role": "user", "content": "[continue]"}


def test_responses_in_native_mode_use_native_chat_after_one_probe(native_proxy, fake):
    for _ in range(2):
        out = sdk(native_proxy).responses.create(model="gpt4o", input="hi")
        assert out.output_text == "Hello from fake Argo."
    assert fake.last("/v1/chat/completions")["body"]["model"] == "gpt4o"
    probes = [r for r in fake.requests if r["path"].endswith("/v1/responses")]
    assert len(probes) == 1   # Argo has no Responses API: asked once, then translated
    assert not [r for r in fake.requests if "/resource/chat/" in r["path"]]
