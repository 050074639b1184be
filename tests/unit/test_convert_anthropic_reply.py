"""Tests for argo_proxy.convert.anthropic.completion_to_message (chat.completion -> Message)."""

from __future__ import annotations

import pytest

from argo_proxy.convert import anthropic, usage
from argo_proxy.errors import ProxyError


def completion(message, finish="stop", usage_=None):
    body = {"id": "chatcmpl-9", "object": "chat.completion", "model": "gpt-4o",
            "choices": [{"index": 0, "message": dict({"role": "assistant"}, **message),
                         "finish_reason": finish, "logprobs": None}]}
    if usage_ is not None:
        body["usage"] = usage_
    return body


USAGE = {"prompt_tokens": 21, "completion_tokens": 5, "total_tokens": 26,
         "completion_tokens_details": {"reasoning_tokens": 0},
         "prompt_tokens_details": {"cached_tokens": 0}}


def test_text_reply_shape():
    msg = anthropic.completion_to_message(
        completion({"content": "pong", "refusal": None, "tool_calls": None, "annotations": []},
                   usage_=USAGE), "claude-sonnet-4-5")
    assert msg["id"].startswith("msg_") and len(msg["id"]) > 10
    del msg["id"]
    assert msg == {"type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                   "content": [{"type": "text", "text": "pong"}], "stop_reason": "end_turn",
                   "stop_sequence": None,
                   "usage": {"input_tokens": 21, "output_tokens": 5,
                             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}


def test_ids_are_unique():
    body = completion({"content": "x"})
    assert anthropic.completion_to_message(body, "m")["id"] != \
        anthropic.completion_to_message(body, "m")["id"]


def test_reasoning_first_then_text_then_tool_uses():
    msg = anthropic.completion_to_message(completion({
        "content": "Let me look.", "reasoning_content": "They want weather.",
        "tool_calls": [
            {"id": "call_abc", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
            {"type": "function", "function": {"name": "get_time", "arguments": "not json"}},
            {"id": "", "type": "function", "function": {"name": "list", "arguments": "[1, 2]"}},
            {"id": "call_d", "type": "function", "function": {"name": "noop"}}]},
        "tool_calls"), "m")
    content = msg["content"]
    assert content[0] == {"type": "thinking", "thinking": "They want weather.", "signature": ""}
    assert content[1] == {"type": "text", "text": "Let me look."}
    assert content[2] == {"type": "tool_use", "id": "call_abc", "name": "get_weather",
                          "input": {"city": "Paris"}}
    assert content[3]["id"].startswith("toolu_") and content[3]["input"] == {}
    assert content[4]["id"].startswith("toolu_") and content[4]["input"] == {}
    assert content[5] == {"type": "tool_use", "id": "call_d", "name": "noop", "input": {}}
    assert msg["stop_reason"] == "tool_use"


def test_empty_or_null_content_gives_no_text_block():
    for content in ("", None):
        msg = anthropic.completion_to_message(completion({"content": content,
                                                          "reasoning_content": ""}), "m")
        assert msg["content"] == []


def test_content_given_as_text_parts():
    msg = anthropic.completion_to_message(completion({"content": [
        {"type": "text", "text": "a"}, {"type": "text", "text": "b"}, {"type": "image"}]}), "m")
    assert msg["content"] == [{"type": "text", "text": "ab"}]


@pytest.mark.parametrize("finish, reason", [
    ("stop", "end_turn"), ("length", "max_tokens"), ("tool_calls", "tool_use"),
    ("content_filter", "refusal"), (None, "end_turn"), ("function_call", "tool_use"),
    ("weird", "end_turn")])
def test_finish_reason_map(finish, reason):
    msg = anthropic.completion_to_message(completion({"content": "x"}, finish), "m")
    assert msg["stop_reason"] == reason and msg["stop_sequence"] is None


def test_stop_with_tool_calls_is_tool_use():
    # Gemini answers "stop" even when it called tools.
    msg = anthropic.completion_to_message(completion({"content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}), "m")
    assert msg["stop_reason"] == "tool_use"


def test_refusal_becomes_text_and_refusal_stop():
    msg = anthropic.completion_to_message(completion({"content": None,
                                                      "refusal": "I can't help."}), "m")
    assert msg["content"] == [{"type": "text", "text": "I can't help."}]
    assert msg["stop_reason"] == "refusal"


def test_usage_estimated_when_missing():
    calls = [{"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]
    msg = anthropic.completion_to_message(completion({"content": "hello world",
                                                      "tool_calls": calls}), "m")
    assert msg["usage"]["input_tokens"] == 0
    assert msg["usage"]["output_tokens"] == usage.completion_tokens("hello world", calls)


def test_gemini_minimal_shape():
    body = {"id": "UzYP", "object": "chat.completion", "created": 1, "model": "gemini25pro",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong",
                                                 "tool_calls": None},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    msg = anthropic.completion_to_message(body, "gemini25pro")
    assert msg["content"] == [{"type": "text", "text": "pong"}]
    assert msg["usage"]["input_tokens"] == 1 and msg["usage"]["output_tokens"] == 1


@pytest.mark.parametrize("body", [
    None, [], "x", {}, {"choices": []}, {"choices": None}, {"choices": ["x"]},
    {"choices": [{"message": None}]}, {"choices": [{"message": "hi"}]}])
def test_garbage_upstream_replies_are_502(body):
    with pytest.raises(ProxyError) as info:
        anthropic.completion_to_message(body, "m")
    assert info.value.status == 502


@pytest.mark.parametrize("arguments, expected", [
    ('{"a": 1}', {"a": 1}), ("", {}), ("  ", {}), ("null", {}), ("[1]", {}), ('"s"', {}),
    ("{bad", {}), (None, {}), ({"already": "dict"}, {"already": "dict"}), (5, {})])
def test_tool_input_parsing(arguments, expected):
    from argo_proxy.convert.anthropic_reply import tool_input
    assert tool_input(arguments) == expected
