"""Tests for argo_proxy.convert.responses (Responses API over chat)."""

from __future__ import annotations

import json

import pytest

from argo_proxy.convert import responses
from argo_proxy.errors import ProxyError

FN_TOOL = {"type": "function", "name": "get_weather", "description": "Get weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
           "strict": True}
CALL = {"id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}


# --- to_chat ---------------------------------------------------------------------

def test_string_input_with_instructions():
    chat, tools = responses.to_chat({
        "model": "gpt4o", "input": "hi", "instructions": "be brief", "max_output_tokens": 30,
        "temperature": 0.5, "top_p": 0.9, "stream": True, "store": True, "metadata": {"a": "b"},
        "reasoning": {"effort": "low"}, "user": "x", "truncation": "auto", "include": [],
        "text": {}})
    assert chat == {"model": "gpt4o", "temperature": 0.5, "top_p": 0.9, "stream": True,
                    "max_tokens": 30, "reasoning_effort": "low",
                    "messages": [{"role": "system", "content": "be brief"},
                                 {"role": "user", "content": "hi"}]}
    assert isinstance(tools, responses.ToolMap) and len(tools) == 0 and tools.notes == []


def test_message_items_with_parts():
    chat, _ = responses.to_chat({"model": "m", "input": [
        {"role": "user", "content": [
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"}]},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "A cat."}]},
        {"role": "user", "content": [{"type": "input_text", "text": "Sure?"},
                                     {"type": "input_text", "text": "Really?"}]},
    ]})
    assert chat["messages"] == [
        {"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA",
                                                "detail": "low"}}]},
        {"role": "assistant", "content": "A cat."},
        {"role": "user", "content": "Sure?\nReally?"},
    ]


def test_function_call_items_merged_into_one_turn():
    chat, _ = responses.to_chat({"model": "m", "tools": [FN_TOOL], "tool_choice": "auto",
                              "parallel_tool_calls": False, "input": [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather",
         "arguments": '{"city": "Paris"}', "id": "fc_1"},
        {"type": "function_call", "call_id": "call_2", "name": "get_weather",
         "arguments": '{"city": "Rome"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
        {"type": "function_call_output", "call_id": "call_2", "output": "rain"},
    ]})
    msgs = chat["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool", "tool"]
    assert [c["id"] for c in msgs[1]["tool_calls"]] == ["call_1", "call_2"]
    assert msgs[1]["tool_calls"][1] == {"id": "call_2", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city": "Rome"}'}}
    assert msgs[2] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
    assert chat["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Get weather",
        "parameters": FN_TOOL["parameters"], "strict": True}}]
    assert chat["tool_choice"] == "auto" and chat["parallel_tool_calls"] is False


def test_assistant_text_around_function_calls_joins_the_turn():
    for order in ("text_first", "calls_first"):
        text = {"type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": "Checking."}]}
        call = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}
        items = [{"role": "user", "content": "go"}] + (
            [text, call] if order == "text_first" else [call, text]) + [
            {"type": "function_call_output", "call_id": "c1", "output": "done"}]
        msgs = responses.to_chat({"model": "m", "input": items})[0]["messages"]
        assert [m["role"] for m in msgs] == ["user", "assistant", "tool"], order
        assert msgs[1]["content"] == "Checking." and len(msgs[1]["tool_calls"]) == 1


def test_named_tool_choice_mapped():
    chat, _ = responses.to_chat({"model": "m", "input": "x", "tools": [FN_TOOL],
                                 "tool_choice": {"type": "function", "name": "get_weather"}})
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


@pytest.mark.parametrize("tool", [{"type": "web_search"}, {"type": "file_search"},
                                  {"type": "code_interpreter"}])
def test_hosted_tool_types_dropped_with_a_note(tool):
    chat, tools = responses.to_chat({"model": "m", "input": "x", "tools": [FN_TOOL, tool]})
    assert [t["function"]["name"] for t in chat["tools"]] == ["get_weather"]
    assert any(tool["type"] in note for note in tools.notes)


def test_previous_response_id_accepted_not_forwarded():
    chat, tools = responses.to_chat({"model": "m", "input": "x", "previous_response_id": "resp_1"})
    assert "previous_response_id" not in chat and tools.notes == []


@pytest.mark.parametrize("item", [
    {"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]},
    {"type": "item_reference", "id": "x"},
    {"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]},
])
def test_unsupported_input_rejected(item):
    with pytest.raises(ProxyError) as err:
        responses.to_chat({"model": "m", "input": [item]})
    assert err.value.status == 400 and err.value.param.startswith("input[0]")


def test_missing_input_rejected():
    with pytest.raises(ProxyError):
        responses.to_chat({"model": "m"})


# --- response object -------------------------------------------------------------------

REQUEST = {"model": "argo:gpt-4o", "input": "x", "instructions": "be brief",
           "max_output_tokens": 30, "temperature": 0.5, "top_p": 0.9, "tools": [FN_TOOL],
           "tool_choice": "required"}


def test_response_object_text_only():
    out = responses.response_object("Hello", [], "gpt4o", REQUEST, 3, 2, created=100)
    assert out["id"].startswith("resp_") and out["object"] == "response"
    assert out["created_at"] == 100 and out["status"] == "completed"
    assert out["model"] == "gpt4o"
    assert len(out["output"]) == 1
    msg = out["output"][0]
    assert msg["type"] == "message" and msg["id"].startswith("msg_")
    assert msg["role"] == "assistant" and msg["status"] == "completed"
    assert msg["content"] == [{"type": "output_text", "text": "Hello", "annotations": []}]
    assert out["usage"]["input_tokens"] == 3 and out["usage"]["output_tokens"] == 2
    assert out["usage"]["total_tokens"] == 5
    # request settings are echoed
    assert out["instructions"] == "be brief" and out["max_output_tokens"] == 30
    assert out["temperature"] == 0.5 and out["top_p"] == 0.9
    assert out["tools"] == [FN_TOOL] and out["tool_choice"] == "required"


def test_response_object_with_tool_calls():
    out = responses.response_object(None, [CALL], "gpt4o", {"input": "x"}, 1, 1, id="resp_x")
    assert out["id"] == "resp_x"
    assert out["output"] == [{"type": "function_call", "id": out["output"][0]["id"],
                              "call_id": "call_1", "name": "get_weather",
                              "arguments": '{"city": "Paris"}', "status": "completed"}]
    assert out["output"][0]["id"].startswith("fc_")
    assert out["tool_choice"] == "auto" and out["tools"] == []
    assert isinstance(out["created_at"], int)


# --- streaming events ---------------------------------------------------------------

def parse(raw):
    """(event type, data) pairs of encoder output."""
    out = []
    for block in raw.decode("utf-8").split("\n\n"):
        if block:
            head, data = block.split("\n", 1)
            out.append((head[len("event: "):], json.loads(data[len("data: "):])))
    return out


def tool_call(ev, call, pieces=1):
    """A complete OpenAI call given to the encoder as fragments (first carries id and name)."""
    args = call["function"]["arguments"]
    step = max(1, -(-len(args) // pieces))
    out = ev.tool_call(0, call["id"], call["function"]["name"], args[:step])
    for i in range(step, len(args), step):
        out += ev.tool_call(0, None, None, args[i:i + step])
    return out


def finish(ev, ptoks, ctoks):
    return ev.finish("stop") + ev.usage({"prompt_tokens": ptoks, "completion_tokens": ctoks}) + ev.end()


def test_event_sequence_text_only():
    ev = responses.ResponsesEncoder("gpt4o", REQUEST, id="resp_1", created=7)
    events = parse(ev.start() + ev.text("Hel") + ev.text("") + ev.text("lo") + finish(ev, 3, 2))
    types = [t for t, _ in events]
    assert types == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added", "response.output_text.delta",
        "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.completed"]
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    assert all(d["type"] == t for t, d in events)
    assert events[0][1]["response"]["status"] == "in_progress"
    msg_id = events[2][1]["item"]["id"]
    assert {d.get("item_id") for _, d in events[3:8]} == {msg_id}
    assert events[6][1]["text"] == "Hello"
    final = events[-1][1]["response"]
    assert final["id"] == "resp_1" and final["status"] == "completed"
    assert final["output"][0]["id"] == msg_id
    assert final["output"][0]["content"][0]["text"] == "Hello"
    assert final["usage"]["total_tokens"] == 5


def test_event_sequence_with_text_then_tool_call():
    ev = responses.ResponsesEncoder("gpt4o", {"input": "x"})
    events = parse(ev.start() + ev.text("Checking.") + tool_call(ev, CALL) + finish(ev, 1, 1))
    types = [t for t, _ in events]
    assert types == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done",
        "response.completed"]
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    indexes = [d["output_index"] for _, d in events if "output_index" in d]
    assert indexes == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
    added = events[8][1]["item"]
    assert added["type"] == "function_call" and added["status"] == "in_progress"
    assert events[9][1]["delta"] == '{"city": "Paris"}'
    final = events[-1][1]["response"]
    assert [i["type"] for i in final["output"]] == ["message", "function_call"]
    assert final["output"][1]["id"] == added["id"] and final["output"][1]["call_id"] == "call_1"


def test_event_sequence_tool_call_only():
    ev = responses.ResponsesEncoder("m", {})
    events = parse(ev.start() + tool_call(ev, CALL) + finish(ev, 0, 0))
    assert [t for t, _ in events][2:] == [
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done",
        "response.completed"]
    assert events[-1][1]["response"]["output"][0]["type"] == "function_call"


def test_fragmented_arguments_are_joined():
    ev = responses.ResponsesEncoder("m", {})
    events = parse(ev.start() + tool_call(ev, CALL, pieces=3) + finish(ev, 0, 0))
    deltas = [d["delta"] for t, d in events if t == "response.function_call_arguments.delta"]
    assert len(deltas) == 3 and "".join(deltas) == CALL["function"]["arguments"]
    done = [d for t, d in events if t == "response.function_call_arguments.done"][0]
    assert done["arguments"] == CALL["function"]["arguments"]


def test_encode():
    raw = responses.encode("response.created", {"type": "response.created", "x": "é"})
    head, data = raw.decode("utf-8").split("\n", 1)
    assert head == "event: response.created"
    assert data.startswith("data: ") and data.endswith("\n\n")
    assert json.loads(data[6:]) == {"type": "response.created", "x": "é"}
