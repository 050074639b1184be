"""Tests for argo_proxy.convert.tool_prompt (prompt-based tool calling)."""

from __future__ import annotations

import json

import pytest

from argo_proxy.convert import tool_prompt

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Get weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


def chat(**extra):
    b = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": TOOLS,
         "tool_choice": "auto", "parallel_tool_calls": True}
    b.update(extra)
    return b


def system_text(b):
    return b["messages"][0]["content"]


# --- the prompt --------------------------------------------------------------------

def test_absent_tool_choice_means_auto():
    text = tool_prompt.tool_prompt(TOOLS, None, None)
    assert "Tool choice: auto." in text
    assert "Do NOT call" not in text


@pytest.mark.parametrize("choice,phrase", [
    ("auto", "Tool choice: auto."),
    ("none", "Do NOT call any tool"),
    ("required", "MUST call at least one"),
    ({"type": "function", "function": {"name": "get_weather"}}, "MUST call the tool `get_weather`"),
    ({"type": "tool", "name": "get_weather"}, "MUST call the tool `get_weather`"),
    ({"type": "any"}, "MUST call at least one"),
])
def test_each_tool_choice_is_described(choice, phrase):
    assert phrase in tool_prompt.tool_prompt(TOOLS, choice, None)


def test_prompt_lists_tools_and_format():
    text = tool_prompt.tool_prompt(TOOLS, None, False)
    assert '"name": "get_weather"' in text and '"description": "Get weather"' in text
    assert '<tool_call>{"name": "tool_name", "arguments":' in text
    assert "at most one tool" in text
    assert "several tools" in tool_prompt.tool_prompt(TOOLS, None, None)


# --- injection -------------------------------------------------------------------

def test_inject_inserts_system_and_removes_tool_keys():
    b = chat()
    tool_prompt.inject(b, b["tools"], b["tool_choice"], b["parallel_tool_calls"])
    assert b["messages"][0]["role"] == "system"
    assert "get_weather" in system_text(b)
    assert b["messages"][1] == {"role": "user", "content": "hi"}
    for key in ("tools", "tool_choice", "parallel_tool_calls"):
        assert key not in b


def test_inject_appends_to_first_system_string():
    b = chat(messages=[{"role": "system", "content": "Be brief."},
                       {"role": "user", "content": "hi"},
                       {"role": "system", "content": "second"}])
    tool_prompt.inject(b, TOOLS, None, None)
    assert system_text(b).startswith("Be brief.\n\n# Tools")
    assert b["messages"][2]["content"] == "second"


def test_inject_appends_text_part_to_list_system():
    original = [{"type": "text", "text": "Be brief."}]
    b = chat(messages=[{"role": "system", "content": original},
                       {"role": "user", "content": "hi"}])
    tool_prompt.inject(b, TOOLS, None, None)
    content = system_text(b)
    assert content[0] == {"type": "text", "text": "Be brief."}
    assert content[1]["type"] == "text" and "get_weather" in content[1]["text"]
    assert len(original) == 1                       # the caller's list is not mutated


def test_inject_into_prompt_style_system():
    b = {"model": "m", "system": "You are Argo", "prompt": ["hi"], "tools": TOOLS}
    tool_prompt.inject(b, TOOLS, None, None)
    assert b["system"].startswith("You are Argo\n\n# Tools")
    assert "messages" not in b
    b = {"model": "m", "prompt": ["hi"], "tools": TOOLS}
    tool_prompt.inject(b, TOOLS, None, None)
    assert "get_weather" in b["system"]


def test_history_rewritten_as_text():
    msgs = [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "call_2", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "rain"},
    ]
    b = chat(messages=msgs)
    tool_prompt.inject(b, TOOLS, None, None)
    out = b["messages"]
    assert [m["role"] for m in out] == ["system", "user", "assistant", "user"]
    assert "tool_calls" not in out[2]
    assert out[2]["content"] == (
        'Checking.\n<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'
        '\n<tool_call>{"name": "get_weather", "arguments": {"city": "Rome"}}</tool_call>')
    assert out[3]["content"] == ("Result of get_weather (call call_1): sunny\n\n"
                                 "Result of get_weather (call call_2): rain")
    assert msgs[2]["role"] == "tool"                 # originals untouched


# --- parsing -------------------------------------------------------------------------

def test_parse_several_blocks_with_whitespace():
    text = ('Sure.\n<tool_call>\n  {"name": "a", "arguments": {"x": 1}}\n</tool_call>\n'
            '<tool_call>{"name": "b", "arguments": {}}</tool_call>')
    content, calls = tool_prompt.parse(text)
    assert content == "Sure."
    assert [c["function"]["name"] for c in calls] == ["a", "b"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"x": 1}
    assert calls[0]["type"] == "function"
    assert all(c["id"].startswith("call_") for c in calls)
    assert calls[0]["id"] != calls[1]["id"]


def test_parse_code_fence_inside_block():
    text = '<tool_call>\n```json\n{"name": "a", "arguments": {"x": "y"}}\n```\n</tool_call>'
    content, calls = tool_prompt.parse(text)
    assert content is None
    assert json.loads(calls[0]["function"]["arguments"]) == {"x": "y"}


def test_parse_fenced_block_leaves_no_empty_fence():
    text = 'Here:\n```\n<tool_call>{"name": "a", "arguments": {}}</tool_call>\n```'
    content, calls = tool_prompt.parse(text)
    assert content == "Here:" and len(calls) == 1


def test_parse_unclosed_final_block():
    content, calls = tool_prompt.parse('Calling. <tool_call>{"name": "a", "arguments": {"k": 2}}\n')
    assert content == "Calling."
    assert json.loads(calls[0]["function"]["arguments"]) == {"k": 2}


def test_parse_invalid_json_kept_in_text():
    text = 'A <tool_call>{"name": "bad", invalid}</tool_call> B <tool_call>{"name": "ok"}</tool_call>'
    content, calls = tool_prompt.parse(text)
    assert content == 'A <tool_call>{"name": "bad", invalid}</tool_call> B'
    assert [c["function"]["name"] for c in calls] == ["ok"]
    assert calls[0]["function"]["arguments"] == "{}"


def test_parse_unclosed_invalid_kept():
    text = "Hmm <tool_call>{oops"
    assert tool_prompt.parse(text) == (text, [])


def test_parse_parameters_alias_and_string_arguments():
    _, calls = tool_prompt.parse('<tool_call>{"name": "a", "parameters": {"p": 1}}</tool_call>'
                                 '<tool_call>{"name": "b", "arguments": "{\\"q\\": 2}"}</tool_call>')
    assert json.loads(calls[0]["function"]["arguments"]) == {"p": 1}
    assert json.loads(calls[1]["function"]["arguments"]) == {"q": 2}


def test_parse_invalid_string_arguments_kept_in_text():
    text = '<tool_call>{"name": "b", "arguments": "{not json"}</tool_call>'
    assert tool_prompt.parse(text) == (text, [])


def test_parse_plain_text():
    assert tool_prompt.parse("  just text  ") == ("just text", [])
