"""Tests for argo_proxy.convert.usage (token estimates)."""

from __future__ import annotations

import json

from argo_proxy.convert import legacy, usage

CALL = {"id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}


def test_estimate_rule():
    assert usage.estimate_tokens("") == 0
    assert usage.estimate_tokens(None) == 0
    assert usage.estimate_tokens("a") == 1
    assert usage.estimate_tokens("abcd") == 1
    assert usage.estimate_tokens("abcde") == 2
    assert usage.estimate_tokens("é") == 1                 # 2 bytes
    assert usage.estimate_tokens("日本語です") == 4          # 15 bytes


def test_prompt_tokens_counts_text_tools_and_prompt_style():
    text_only = {"messages": [{"role": "user", "content": "abcdefgh"}]}
    assert usage.prompt_tokens(text_only) == 2
    with_image = {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "abcdefgh"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 4000}}]}]}
    assert usage.prompt_tokens(with_image) == 2             # images are not counted
    tools = [{"type": "function", "function": {"name": "f"}}]
    with_tools = dict(text_only, tools=tools)
    assert usage.prompt_tokens(with_tools) == 2 + usage.estimate_tokens(
        json.dumps(tools, sort_keys=True))
    argo_style = {"system": "abcd", "prompt": ["abcdefgh"]}
    assert usage.prompt_tokens(argo_style) == 3


def test_prompt_tokens_counts_history_calls_and_results():
    plain = {"messages": [{"role": "user", "content": "hi"}]}
    history = {"messages": plain["messages"] + [
        {"role": "assistant", "content": "", "tool_calls": [CALL]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x",
                                      "content": "sunny and warm"}]}]}
    assert usage.prompt_tokens(history) > usage.prompt_tokens(plain) + usage.estimate_tokens(
        "sunny and warm")


def test_completion_tokens():
    assert usage.completion_tokens("", []) == 0
    assert usage.completion_tokens(None, None) == 0
    assert usage.completion_tokens("abcdefgh", []) == 2
    assert usage.completion_tokens(None, [CALL]) > 0


def test_streamed_and_whole_reply_count_the_same():
    content = "The weather in Paris is sunny. " * 7
    calls = [CALL, dict(CALL, id="call_2")]
    whole = usage.completion_tokens(content, calls)
    # what a stream consumer accumulates: the text pieces and the chunk tool-call entries
    chunks = legacy.pseudo_stream(content, calls, "m", 0, 0, False, piece=5)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    streamed_calls = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert "index" in streamed_calls[0]
    assert usage.completion_tokens(text, streamed_calls) == whole
    message = legacy.chat_completion(content, calls, "m", 0, whole)["choices"][0]["message"]
    assert usage.completion_tokens(message["content"], message["tool_calls"]) == whole
