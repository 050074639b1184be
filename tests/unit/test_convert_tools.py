"""Tests for argo_proxy.convert.tools (native tool calling per family)."""

from __future__ import annotations

import copy
import json

import pytest

from argo_proxy.convert import tools
from argo_proxy.errors import ProxyError

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"$ref": "#/$defs/unit"}},
    "required": ["city"],
    "additionalProperties": False,
    "$defs": {"unit": {"type": "string", "enum": ["c", "f"]}},
    "title": "Weather",
}
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get weather", "parameters": SCHEMA, "strict": True}}
TIME = {"type": "function", "function": {"name": "get_time"}}


def body(**extra):
    b = {"model": "m", "user": "u", "messages": [{"role": "user", "content": "hi"}],
         "tools": [copy.deepcopy(WEATHER), copy.deepcopy(TIME)]}
    b.update(extra)
    return b


def history():
    """user, assistant with two calls, two results, assistant with one call, one result."""
    return [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather and time in Paris?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "call_2", "type": "function",
             "function": {"name": "get_time", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_3", "type": "function",
             "function": {"name": "get_weather", "arguments": "not json"}}]},
        {"role": "tool", "tool_call_id": "call_3", "content": [{"type": "text", "text": "rain"}]},
    ]


# --- OpenAI family ------------------------------------------------------------

def test_openai_tools_and_choice_as_given():
    b = body(tool_choice="required")
    tools.to_family(b, "openai")
    assert b["tools"][0] == WEATHER            # strict and the whole schema kept
    assert b["tools"][1] == TIME
    assert b["tool_choice"] == "required"


def test_openai_absent_choice_stays_absent():
    b = body()
    tools.to_family(b, "openai")
    assert "tool_choice" not in b


@pytest.mark.parametrize("choice", ["auto", "none", "required",
                                    {"type": "function", "function": {"name": "get_time"}}])
def test_openai_every_choice_passes(choice):
    b = body(tool_choice=copy.deepcopy(choice))
    tools.to_family(b, "openai")
    assert b["tool_choice"] == choice


def test_openai_history_kept_and_object_arguments_dumped():
    msgs = history()
    msgs[2]["tool_calls"][0]["function"]["arguments"] = {"city": "Paris"}
    b = body(messages=msgs)
    tools.to_family(b, "openai")
    assert b["messages"][2]["tool_calls"][0]["function"]["arguments"] == '{"city": "Paris"}'
    assert b["messages"][3] == msgs[3]
    assert msgs[2]["tool_calls"][0]["function"]["arguments"] == {"city": "Paris"}  # not mutated


# --- Anthropic family ---------------------------------------------------------

def test_anthropic_tools_keep_every_schema_key():
    b = body()
    tools.to_family(b, "anthropic")
    assert b["tools"][0] == {"name": "get_weather", "description": "Get weather",
                             "input_schema": SCHEMA}
    assert b["tools"][0]["input_schema"]["additionalProperties"] is False
    assert "$defs" in b["tools"][0]["input_schema"]


def test_anthropic_tool_defaults_for_missing_description_and_parameters():
    b = body()
    tools.to_family(b, "anthropic")
    assert b["tools"][1] == {"name": "get_time", "description": "",
                             "input_schema": {"type": "object", "properties": {}}}


@pytest.mark.parametrize("choice,expected", [
    ("auto", {"type": "auto"}),
    ("required", {"type": "any"}),
    ("any", {"type": "any"}),
    ("none", {"type": "none"}),
    ({"type": "function", "function": {"name": "get_time"}}, {"type": "tool", "name": "get_time"}),
    ({"type": "auto"}, {"type": "auto"}),
    ({"type": "any"}, {"type": "any"}),
    ({"type": "none"}, {"type": "none"}),
    ({"type": "tool", "name": "get_time"}, {"type": "tool", "name": "get_time"}),
])
def test_anthropic_tool_choice(choice, expected):
    b = body(tool_choice=choice)
    tools.to_family(b, "anthropic")
    assert b["tool_choice"] == expected


def test_anthropic_absent_choice_stays_absent():
    b = body()
    tools.to_family(b, "anthropic")
    assert "tool_choice" not in b


def test_anthropic_parallel_false_disables_parallel_use():
    b = body(tool_choice="auto", parallel_tool_calls=False)
    tools.to_family(b, "anthropic")
    assert b["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    b = body(parallel_tool_calls=False)
    tools.to_family(b, "anthropic")
    assert b["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    b = body(tool_choice="none", parallel_tool_calls=False)
    tools.to_family(b, "anthropic")
    assert b["tool_choice"] == {"type": "none"}


@pytest.mark.parametrize("choice", ["sometimes", {"type": "tool"},
                                    {"type": "function", "function": {}}])
def test_anthropic_invalid_choice_is_400(choice):
    with pytest.raises(ProxyError) as err:
        tools.to_family(body(tool_choice=choice), "anthropic")
    assert err.value.status == 400
    assert err.value.param == "tool_choice"


def test_anthropic_history_blocks_and_merged_results():
    msgs = history()
    b = body(messages=msgs)
    tools.to_family(b, "anthropic")
    out = b["messages"]
    assert [m["role"] for m in out] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert out[2]["content"] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}},
    ]
    assert "tool_calls" not in out[2]
    # the two consecutive tool messages became ONE user message
    assert out[3]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"},
        {"type": "tool_result", "tool_use_id": "call_2", "content": "noon"},
    ]
    # empty text gives no text block; bad JSON arguments give {}
    assert out[4]["content"] == [{"type": "tool_use", "id": "call_3", "name": "get_weather",
                                  "input": {}}]
    assert out[5]["content"] == [{"type": "tool_result", "tool_use_id": "call_3",
                                  "content": [{"type": "text", "text": "rain"}]}]
    assert msgs[2]["tool_calls"][0]["id"] == "call_1"           # originals untouched
    assert msgs[3]["role"] == "tool"


def test_anthropic_results_separated_by_user_text_are_not_merged():
    msgs = history()[:4] + [{"role": "user", "content": "and?"},
                            {"role": "tool", "tool_call_id": "call_2", "content": "noon"}]
    b = body(messages=msgs)
    tools.to_family(b, "anthropic")
    assert [len(m["content"]) for m in b["messages"][3:] if m["role"] == "user"
            and isinstance(m["content"], list)] == [1, 1]


# --- Google family ---------------------------------------------------------------

def test_google_function_declarations():
    b = body()
    tools.to_family(b, "google")
    assert b["tools"] == [
        {"name": "get_weather", "description": "Get weather", "parameters": SCHEMA},
        {"name": "get_time", "description": "", "parameters": {"type": "object",
                                                                "properties": {}}},
    ]


@pytest.mark.parametrize("choice,expected", [
    ("auto", "AUTO"),
    ("required", "ANY"),
    ("none", "NONE"),
    ({"type": "function", "function": {"name": "get_time"}},
     {"mode": "ANY", "allowed_function_names": ["get_time"]}),
    ({"type": "tool", "name": "get_time"},
     {"mode": "ANY", "allowed_function_names": ["get_time"]}),
    ({"type": "any"}, "ANY"),
    ("AUTO", "AUTO"),
    ({"mode": "ANY", "allowed_function_names": ["f"]}, {"mode": "ANY", "allowed_function_names": ["f"]}),
])
def test_google_tool_choice(choice, expected):
    b = body(tool_choice=choice)
    tools.to_family(b, "google")
    assert b["tool_choice"] == expected


def test_google_history():
    # quirks have already split the two-call turn; here the name is still missing
    msgs = history()
    b = body(messages=msgs)
    tools.to_family(b, "google")
    out = b["messages"]
    assert out[2]["tool_calls"] == [
        {"id": "call_1", "args": {"city": "Paris"}, "name": "get_weather"},
        {"id": "call_2", "args": {}, "name": "get_time"},
    ]
    assert out[2]["content"] == "Checking."
    assert out[3] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny",
                      "name": "get_weather"}
    assert out[4]["name"] == "get_time"
    assert out[5]["tool_calls"] == [{"id": "call_3", "args": {}, "name": "get_weather"}]
    assert "name" not in msgs[3]


def test_non_function_tool_is_400_not_prompting():
    b = body(tools=[{"type": "web_search"}])
    with pytest.raises(ProxyError) as err:
        tools.to_family(b, "anthropic")
    assert err.value.status == 400 and "web_search" in err.value.message


def test_tool_without_name_is_400():
    with pytest.raises(ProxyError):
        tools.to_family(body(tools=[{"type": "function", "function": {}}]), "google")


def test_prompt_style_body_gets_no_messages_key():
    b = {"model": "m", "prompt": ["hi"], "tools": [WEATHER]}
    tools.to_family(b, "anthropic")
    assert "messages" not in b


# --- replies ----------------------------------------------------------------------

def test_from_openai_keeps_ids_and_accepts_dict_arguments():
    content, calls = tools.from_family({"content": None, "tool_calls": [
        {"id": "call_abc", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"id": "call_def", "type": "function",
         "function": {"name": "get_time", "arguments": {"tz": "UTC"}}}]}, "openai")
    assert content is None
    assert calls[0] == {"id": "call_abc", "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    assert calls[1]["id"] == "call_def"
    assert json.loads(calls[1]["function"]["arguments"]) == {"tz": "UTC"}


def test_from_anthropic_tool_use():
    content, calls = tools.from_family({"content": "I'll check.", "tool_calls": [
        {"id": "toolu_vrtx_01X", "input": {"city": "Paris"}, "name": "get_weather",
         "type": "tool_use"}]}, "anthropic")
    assert content == "I'll check."
    assert calls == [{"id": "toolu_vrtx_01X", "type": "function",
                      "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]


def test_from_anthropic_block_array_content():
    content, calls = tools.from_family({"content": [
        {"type": "text", "text": "I'll call get_weather."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
        {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
    ], "tool_calls": []}, "anthropic")
    assert content == "I'll call get_weather."
    assert [c["id"] for c in calls] == ["toolu_1", "toolu_2"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Oslo"}


def test_from_anthropic_block_array_of_only_tool_use_gives_none_content():
    content, calls = tools.from_family({"content": [
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]}, "anthropic")
    assert content is None and len(calls) == 1


def test_from_anthropic_leaked_call():
    block = {"id": "toolu_01abc", "input": {"city": "Paris"}, "name": "get_weather",
             "type": "tool_use"}
    content, calls = tools.from_family(
        {"content": "I'll call get_weather. %r" % block, "tool_calls": []}, "anthropic")
    assert content == "I'll call get_weather."
    assert calls == [{"id": "toolu_01abc", "type": "function",
                      "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]


def test_from_google_ids_are_made_and_unique():
    content, calls = tools.from_family({"content": "", "tool_calls": [
        {"id": None, "args": {"city": "Paris"}, "name": "get_weather"},
        {"id": None, "args": {"city": "Rome"}, "name": "get_weather"}]}, "google")
    assert content is None
    ids = [c["id"] for c in calls]
    assert all(i.startswith("call_") for i in ids) and len(set(ids)) == 2
    assert json.loads(calls[1]["function"]["arguments"]) == {"city": "Rome"}


def test_duplicate_upstream_ids_are_replaced():
    _, calls = tools.from_family({"content": None, "tool_calls": [
        {"id": "same", "input": {}, "name": "a", "type": "tool_use"},
        {"id": "same", "input": {}, "name": "b", "type": "tool_use"}]}, "anthropic")
    assert calls[0]["id"] == "same" and calls[1]["id"] != "same"


def test_text_only_dict_reply():
    assert tools.from_family({"content": "hello", "tool_calls": []}, "google") == ("hello", [])
    assert tools.from_family({"content": None, "tool_calls": []}, "openai") == ("", [])


# --- leaked calls -------------------------------------------------------------------

def test_leaked_python_true_and_nested_dicts():
    text = ("Let me look. {'id': 'toolu_01', 'input': {'q': {'deep': [1, {'x': None}]}, "
            "'exact': True}, 'name': 'search', 'type': 'tool_use'}")
    clean, calls = tools.leaked_tool_calls(text)
    assert clean == "Let me look."
    assert json.loads(calls[0]["function"]["arguments"]) == {
        "q": {"deep": [1, {"x": None}]}, "exact": True}


def test_leaked_json_true_false_null():
    text = "{'id': 'toolu_02', 'input': {'a': true, 'b': false, 'c': null}, 'name': 'f', 'type': 'tool_use'}"
    clean, calls = tools.leaked_tool_calls(text)
    assert clean == ""
    assert json.loads(calls[0]["function"]["arguments"]) == {"a": True, "b": False, "c": None}


def test_leaked_call_inside_other_text_keeps_the_rest():
    text = ("First part {'note': 'not a call'}.\n"
            "{'id': 'toolu_03', 'input': {'s': \"it's {braced}\"}, 'name': 'f', 'type': 'tool_use'}"
            " then the end.")
    clean, calls = tools.leaked_tool_calls(text)
    assert clean == "First part {'note': 'not a call'}.\n then the end."
    assert json.loads(calls[0]["function"]["arguments"]) == {"s": "it's {braced}"}


def test_leaked_several_calls():
    a = {"id": "toolu_a", "input": {}, "name": "a", "type": "tool_use"}
    b = {"id": "toolu_b", "input": {"n": 1}, "name": "b", "type": "tool_use"}
    clean, calls = tools.leaked_tool_calls("x %r y %r" % (a, b))
    assert clean == "x y"
    assert [c["function"]["name"] for c in calls] == ["a", "b"]


def test_text_without_leaks_is_untouched():
    for text in ("plain tool_use talk {not: valid", "{'type': 'tool_use'} has no name",
                 "no braces at all"):
        assert tools.leaked_tool_calls(text) == (text, [])
