"""Tests for argo_proxy.convert.anthropic.messages_to_chat: every wrong type is a
ProxyError 400 naming the exact field, never a Python exception."""

from __future__ import annotations

import pytest

from argo_proxy.convert import anthropic
from argo_proxy.errors import ProxyError
from tests.unit.test_convert_anthropic import BASE, WEATHER, assistant, rejected, user


# --- every wrong type is a 400 naming the field -----------------------------------------

@pytest.mark.parametrize("field, value, path", [
    ("model", 5, "model"),
    ("max_tokens", "10", "max_tokens"),
    ("max_tokens", True, "max_tokens"),
    ("max_tokens", 1.5, "max_tokens"),
    ("temperature", "hot", "temperature"),
    ("temperature", False, "temperature"),
    ("top_p", [0.9], "top_p"),
    ("stream", "yes", "stream"),
    ("stop_sequences", "END", "stop_sequences"),
    ("stop_sequences", ["a", 2], "stop_sequences[1]"),
    ("system", 5, "system"),
    ("system", {"type": "text", "text": "x"}, "system"),
    ("system", [{"type": "text", "text": "a"}, "b"], "system[1]"),
    ("system", [{"type": "text", "text": "a"}, {"type": "image"}], "system[1].type"),
    ("system", [{"type": "text", "text": None}], "system[0].text"),
    ("system", [{"text": "x"}], "system[0].type"),
    ("messages", None, "messages"),
    ("messages", "hi", "messages"),
    ("messages", {"role": "user"}, "messages"),
    ("messages", ["hi"], "messages[0]"),
    ("messages", [{"content": "x"}], "messages[0].role"),
    ("messages", [{"role": "tool", "content": "x"}], "messages[0].role"),
    ("messages", [{"role": "user"}], "messages[0].content"),
    ("messages", [{"role": "user", "content": 5}], "messages[0].content"),
    ("messages", [{"role": "user", "content": {"type": "text"}}], "messages[0].content"),
    ("messages", [user("a"), user([{"type": "text", "text": 1}])], "messages[1].content[0].text"),
    ("messages", [user("a"), user([None])], "messages[1].content[0]"),
    ("messages", [user([{"type": 3}])], "messages[0].content[0].type"),
    ("messages", [user([{"type": "text", "text": "a"}, {"text": "b"}])],
     "messages[0].content[1].type"),
    ("messages", [{"role": "system", "content": [{"type": "image"}]}],
     "messages[0].content[0].type"),
    ("messages", [{"role": "system", "content": 7}], "messages[0].content"),
    ("messages", [user("a"), assistant([{"type": "text", "text": ["x"]}])],
     "messages[1].content[0].text"),
    ("messages", [assistant([{"type": "tool_use", "name": "f", "input": {}}])],
     "messages[0].content[0].id"),
    ("messages", [assistant([{"type": "tool_use", "id": "t", "input": {}}])],
     "messages[0].content[0].name"),
    ("messages", [assistant([{"type": "tool_use", "id": "t", "name": "f", "input": "{}"}])],
     "messages[0].content[0].input"),
    ("messages", [user([{"type": "tool_result", "content": "x"}])],
     "messages[0].content[0].tool_use_id"),
    ("messages", [user([{"type": "tool_result", "tool_use_id": "t", "content": 5}])],
     "messages[0].content[0].content"),
    ("messages", [user([{"type": "tool_result", "tool_use_id": "t",
                         "content": [{"type": "text", "text": 5}]}])],
     "messages[0].content[0].content[0].text"),
    ("messages", [user([{"type": "tool_result", "tool_use_id": "t", "content": ["x"]}])],
     "messages[0].content[0].content[0]"),
    ("messages", [user([{"type": "tool_result", "tool_use_id": "t", "is_error": "yes"}])],
     "messages[0].content[0].is_error"),
    ("messages", [user([{"type": "tool_result", "tool_use_id": "t", "content": [
        {"type": "image", "source": {"type": "base64", "data": "A"}}]}])],
     "messages[0].content[0].content[0].source.media_type"),
    ("messages", [user([{"type": "search_result", "title": 1, "source": "s"}])],
     "messages[0].content[0].title"),
    ("messages", [user([{"type": "document", "source": {"type": "text", "data": "d"},
                         "title": 3}])], "messages[0].content[0].title"),
    ("tools", {"name": "f"}, "tools"),
    ("tools", ["f"], "tools[0]"),
    ("tools", [WEATHER, {"description": "d"}], "tools[1].name"),
    ("tools", [{"name": "f", "description": 3}], "tools[0].description"),
    ("tools", [{"name": "f", "input_schema": "object"}], "tools[0].input_schema"),
    ("tools", [{"name": "f", "type": 3}], "tools[0].type"),
    ("tool_choice", "auto", "tool_choice"),
    ("tool_choice", {"type": "function"}, "tool_choice.type"),
    ("tool_choice", {}, "tool_choice.type"),
    ("tool_choice", {"type": "tool"}, "tool_choice.name"),
    ("tool_choice", {"type": "auto", "disable_parallel_tool_use": "true"},
     "tool_choice.disable_parallel_tool_use"),
    ("thinking", True, "thinking"),
    ("thinking", {"budget_tokens": 2000}, "thinking.type"),
    ("thinking", {"type": "on"}, "thinking.type"),
    ("thinking", {"type": "enabled", "budget_tokens": "2000"}, "thinking.budget_tokens"),
    ("output_config", "high", "output_config"),
    ("output_config", {"format": "json"}, "output_config.format"),
    ("output_config", {"format": {"type": "json_object"}}, "output_config.format.type"),
    ("output_config", {"format": {"type": "json_schema"}}, "output_config.format.schema"),
])
def test_wrong_types_are_400_naming_the_field(field, value, path):
    body = dict(BASE, tools=[WEATHER]) if field == "tool_choice" else dict(BASE)
    body[field] = value
    rejected(body, path)


def test_adaptive_effort_out_of_range_is_400():
    rejected(dict(BASE, thinking={"type": "adaptive"}, output_config={"effort": "none"}),
             "output_config.effort")


@pytest.mark.parametrize("body", [None, [], "hi", 5])
def test_body_not_an_object_is_400(body):
    with pytest.raises(ProxyError) as info:
        anthropic.messages_to_chat(body)
    assert info.value.status == 400


GARBAGE = [None, 0, 1.5, True, "x", "", [], [None], ["x"], {}, {"type": None}, {"type": 1},
           {"type": "text"}, [{"type": "text"}], [{}], [{"type": "image", "source": {}}]]
FIELDS = ["model", "max_tokens", "temperature", "top_p", "stream", "stop_sequences", "system",
          "tools", "tool_choice", "thinking", "output_config", "metadata", "top_k"]


@pytest.mark.parametrize("value", GARBAGE, ids=repr)
def test_garbage_anywhere_is_a_400_or_accepted_never_a_crash(value):
    """No value in any field makes the converter raise anything but a ProxyError 400."""
    tool_use = {"type": "tool_use", "id": "t", "name": "f", "input": {}}
    tool_result = {"type": "tool_result", "tool_use_id": "t", "content": "x"}
    shapes = []
    for field in FIELDS:
        shapes.append(dict(BASE, **{field: value}))
    shapes.append(dict(BASE, messages=value))
    shapes.append(dict(BASE, messages=[user(value)]))
    shapes.append(dict(BASE, messages=[assistant(value)]))
    shapes.append(dict(BASE, messages=[user([value])]))
    shapes.append(dict(BASE, messages=[assistant([value])]))
    for key in ("id", "name", "input"):
        shapes.append(dict(BASE, messages=[assistant([dict(tool_use, **{key: value})])]))
    for key in ("tool_use_id", "content", "is_error"):
        shapes.append(dict(BASE, messages=[user([dict(tool_result, **{key: value})])]))
    shapes.append(dict(BASE, messages=[user([{"type": "image", "source": value}])]))
    shapes.append(dict(BASE, messages=[user([{"type": "document", "source": value}])]))
    shapes.append(dict(BASE, tools=[value]))
    shapes.append(dict(BASE, tools=[dict(WEATHER, input_schema=value)]))
    shapes.append(dict(BASE, tools=[WEATHER], tool_choice={"type": "tool", "name": value}))
    shapes.append(dict(BASE, thinking={"type": "adaptive"}, output_config={"effort": value}))
    for body in shapes:
        try:
            anthropic.messages_to_chat(body)
        except ProxyError as err:
            assert err.status == 400 and err.param, (body, err.message)
