"""Tests for argo_proxy.convert.anthropic: Messages request -> chat body, token estimate."""

from __future__ import annotations

import base64
import json

import pytest

from argo_proxy.convert import anthropic, usage
from argo_proxy.convert.anthropic_request import IMAGE_PLACEHOLDER
from argo_proxy.errors import ProxyError

WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                            "required": ["city"]}}
FN_WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": WEATHER["input_schema"]}}


def convert(messages, **fields):
    body = {"model": "claudesonnet45", "max_tokens": 100, "messages": messages}
    body.update(fields)
    return anthropic.messages_to_chat(body)


def chat_messages(messages, **fields):
    return convert(messages, **fields)[0]["messages"]


def user(content):
    return {"role": "user", "content": content}


def assistant(content):
    return {"role": "assistant", "content": content}


def rejected(body, path):
    """The ProxyError 400 that body gets; its message and param name `path`."""
    with pytest.raises(ProxyError) as info:
        anthropic.messages_to_chat(body)
    err = info.value
    assert err.status == 400, err.message
    assert path in err.message and err.param == path, (err.message, err.param)
    return err


def rejected_messages(messages, path, **fields):
    body = {"model": "m", "max_tokens": 10, "messages": messages}
    body.update(fields)
    return rejected(body, path)


# --- top-level fields -----------------------------------------------------------------

def test_scalars_pass_and_renames():
    chat, notes = convert([user("hi")], temperature=0.2, top_p=0.9, stream=True,
                          stop_sequences=["END", "STOP"], metadata={"user_id": "u1"})
    assert chat == {"model": "claudesonnet45", "max_tokens": 100, "temperature": 0.2,
                    "top_p": 0.9, "stream": True, "stop": ["END", "STOP"],
                    "messages": [{"role": "user", "content": "hi"}]}
    assert notes == []


def test_empty_stop_sequences_and_missing_optional_fields():
    chat, notes = anthropic.messages_to_chat({"messages": [user("hi")], "stop_sequences": []})
    assert chat == {"messages": [{"role": "user", "content": "hi"}]}
    assert notes == []


def test_top_k_and_server_side_fields_are_dropped_with_notes():
    chat, notes = convert([user("hi")], top_k=5, mcp_servers=[{"type": "url"}],
                          container="c1", service_tier="auto")
    assert "top_k" not in chat and "mcp_servers" not in chat and "container" not in chat
    assert "top_k dropped" in notes and "mcp_servers dropped" in notes
    assert "container dropped" in notes and "service_tier dropped" in notes


def test_system_string_leads():
    msgs = chat_messages([user("hi")], system="Be brief.")
    assert msgs == [{"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "hi"}]


def test_system_blocks_joined_and_cache_control_dropped():
    system = [{"type": "text", "text": "You are Claude Code."},
              {"type": "text", "text": "Rules.", "cache_control": {"type": "ephemeral"}}]
    chat, notes = convert([user("hi")], system=system)
    assert chat["messages"][0] == {"role": "system", "content": "You are Claude Code.\n\nRules."}
    assert "cache_control" not in json.dumps(chat) and notes == []


def test_empty_system_adds_nothing():
    assert chat_messages([user("hi")], system="") == [{"role": "user", "content": "hi"}]
    assert chat_messages([user("hi")], system=[]) == [{"role": "user", "content": "hi"}]


def test_system_role_inside_messages_keeps_its_position():
    msgs = chat_messages([user("a"), {"role": "system", "content": "mid"}, assistant("b"),
                          {"role": "system", "content": [{"type": "text", "text": "x"},
                                                         {"type": "text", "text": "y"}]}],
                         system="top")
    assert [m["role"] for m in msgs] == ["system", "user", "system", "assistant", "system"]
    assert msgs[2]["content"] == "mid" and msgs[4]["content"] == "x\n\ny"


# --- user turns -------------------------------------------------------------------------

def test_user_text_blocks_collapse_to_a_string():
    msgs = chat_messages([user([{"type": "text", "text": "<reminder>"},
                                {"type": "text", "text": "Do it", "cache_control": {}}])])
    assert msgs == [{"role": "user", "content": "<reminder>\n\nDo it"}]


def test_user_empty_block_list_is_an_empty_message():
    assert chat_messages([user([])]) == [{"role": "user", "content": ""}]


def test_images_base64_and_url():
    msgs = chat_messages([user([
        {"type": "text", "text": "Compare"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.org/cat.jpg"}}])])
    assert msgs == [{"role": "user", "content": [
        {"type": "text", "text": "Compare"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
        {"type": "image_url", "image_url": {"url": "https://example.org/cat.jpg"}}]}]


def test_document_plain_text_base64_and_text_and_content_sources():
    data = base64.b64encode("héllo doc".encode("utf-8")).decode("ascii")
    msgs = chat_messages([user([
        {"type": "document", "source": {"type": "base64", "media_type": "text/plain",
                                        "data": data}},
        {"type": "document", "title": "Notes",
         "source": {"type": "text", "media_type": "text/plain", "data": "plain"}},
        {"type": "document", "source": {"type": "content", "content": [
            {"type": "text", "text": "c1"}, {"type": "text", "text": "c2"}]}},
        {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}])])
    parts = msgs[0]["content"]
    assert parts[:3] == [{"type": "text", "text": "héllo doc"},
                         {"type": "text", "text": "Notes\n\nplain"},
                         {"type": "text", "text": "c1\n\nc2"}]


def test_documents_only_collapse_to_string():
    msgs = chat_messages([user([{"type": "document",
                                 "source": {"type": "text", "data": "D"}},
                                {"type": "text", "text": "summarise"}])])
    assert msgs == [{"role": "user", "content": "D\n\nsummarise"}]


def test_search_result_block_becomes_text():
    msgs = chat_messages([user([{"type": "search_result", "source": "https://s", "title": "T",
                                 "content": [{"type": "text", "text": "body"}]}])])
    assert msgs == [{"role": "user", "content": "T - https://s\n\nbody"}]


@pytest.mark.parametrize("source, path", [
    ({"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
     "messages[0].content[0].source"),
    ({"type": "url", "url": "https://example.org/a.pdf"}, "messages[0].content[0]"),
    ({"type": "file", "file_id": "file_1"}, "messages[0].content[0].source.type"),
    ({"type": "base64", "media_type": "text/plain", "data": "%%%not base64"},
     "messages[0].content[0].source.data"),
    ({"type": "base64", "media_type": "text/plain",
      "data": base64.b64encode(b"\xff\xfe").decode()}, "messages[0].content[0].source.data"),
    ({"type": "text", "data": 5}, "messages[0].content[0].source.data"),
    ("nope", "messages[0].content[0].source"),
])
def test_document_errors_name_the_block(source, path):
    err = rejected_messages([user([{"type": "document", "source": source}])], path)
    if source == {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}:
        assert "application/pdf" in err.message
    if isinstance(source, dict) and source.get("type") == "url":
        assert "not fetched" in err.message


@pytest.mark.parametrize("source, path", [
    (None, "messages[0].content[1].source"),
    ({"type": "base64", "data": "AAAA"}, "messages[0].content[1].source.media_type"),
    ({"type": "base64", "media_type": "image/png"}, "messages[0].content[1].source.data"),
    ({"type": "url", "url": 3}, "messages[0].content[1].source.url"),
    ({"type": "file", "file_id": "f"}, "messages[0].content[1].source.type"),
])
def test_image_errors_name_the_field(source, path):
    rejected_messages([user([{"type": "text", "text": "x"}, {"type": "image", "source": source}])],
                      path)


# --- assistant turns and tools in history ------------------------------------------------

def test_assistant_tool_use_becomes_tool_calls_and_results_follow():
    msgs = chat_messages([
        user("Weather in Paris and Oslo?"),
        assistant([{"type": "text", "text": "Checking."},
                   {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                    "input": {"city": "Paris", "note": "é"}},
                   {"type": "tool_use", "id": "toolu_2", "name": "get_weather",
                    "input": {"city": "Oslo"}}]),
        user([{"type": "text", "text": "here you go"},
              {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
              {"type": "tool_result", "tool_use_id": "toolu_2",
               "content": [{"type": "text", "text": "4C"}, {"type": "text", "text": "rain"}]}])])
    assert msgs == [
        {"role": "user", "content": "Weather in Paris and Oslo?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {
                "name": "get_weather", "arguments": '{"city":"Paris","note":"é"}'}},
            {"id": "toolu_2", "type": "function", "function": {
                "name": "get_weather", "arguments": '{"city":"Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "4C\nrain"},
        {"role": "user", "content": "here you go"}]


def test_tool_use_only_turn_has_empty_content_and_missing_input_is_empty_object():
    msgs = chat_messages([user("go"), assistant([{"type": "tool_use", "id": "t1", "name": "f"}])])
    assert msgs[1] == {"role": "assistant", "content": "", "tool_calls": [
        {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}


def test_user_turn_of_only_tool_results_has_no_user_message():
    msgs = chat_messages([assistant([{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]),
                          user([{"type": "tool_result", "tool_use_id": "t1"}])])
    assert msgs[1:] == [{"role": "tool", "tool_call_id": "t1", "content": ""}]


def test_images_after_tool_results_go_in_the_user_message():
    msgs = chat_messages([user([
        {"type": "tool_result", "tool_use_id": "t1", "content": "ok"},
        {"type": "image", "source": {"type": "url", "url": "https://x/i.png"}}])])
    assert msgs == [{"role": "tool", "tool_call_id": "t1", "content": "ok"},
                    {"role": "user", "content": [
                        {"type": "image_url", "image_url": {"url": "https://x/i.png"}}]}]


@pytest.mark.parametrize("content, expected", [
    ("file not found", "Error: file not found"),
    ("Error: already", "Error: already"),
    ("error 42", "error 42"),
    ("ERROR!", "ERROR!"),
    ("", "Error"),
    (None, "Error"),
    ([{"type": "text", "text": "boom"}], "Error: boom"),
])
def test_tool_result_is_error_prefix(content, expected):
    block = {"type": "tool_result", "tool_use_id": "t", "is_error": True}
    if content is not None:
        block["content"] = content
    assert chat_messages([user([block])])[0]["content"] == expected


def test_tool_result_is_error_false_keeps_content():
    block = {"type": "tool_result", "tool_use_id": "t", "is_error": False, "content": "fine"}
    assert chat_messages([user([block])])[0]["content"] == "fine"


def test_tool_result_images_and_documents_become_text():
    block = {"type": "tool_result", "tool_use_id": "t", "content": [
        {"type": "text", "text": "screenshot:"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}},
        {"type": "document", "source": {"type": "text", "data": "doc"}},
        {"type": "search_result", "source": "s", "title": "t", "content": []}]}
    assert chat_messages([user([block])])[0]["content"] == \
        "screenshot:\n%s\ndoc\nt - s\n\n" % IMAGE_PLACEHOLDER


def test_thinking_blocks_are_dropped_with_a_note():
    chat, notes = convert([user("q"), assistant([
        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "redacted_thinking", "data": "xyz"},
        {"type": "text", "text": "answer"}]), user("more")])
    assert chat["messages"][1] == {"role": "assistant", "content": "answer"}
    assert notes == ["thinking blocks dropped"]


def test_assistant_turn_of_only_thinking_is_left_out():
    chat, notes = convert([user("q"), assistant([{"type": "thinking", "thinking": "t",
                                                  "signature": "s"}]), user("again")])
    assert [m["role"] for m in chat["messages"]] == ["user", "user"]
    assert "thinking blocks dropped" in notes
    assert any("assistant turn" in n for n in notes)


def test_assistant_text_pieces_join_as_one_reply():
    msgs = chat_messages([user("q"), assistant([{"type": "text", "text": "Paris is ",
                                                 "citations": [{"type": "x"}]},
                                                {"type": "text", "text": "in France."}])])
    assert msgs[1] == {"role": "assistant", "content": "Paris is in France."}


def test_assistant_string_and_empty_list():
    msgs = chat_messages([user("q"), assistant("prefill"), user("r"), assistant([])])
    assert msgs[1] == {"role": "assistant", "content": "prefill"}
    assert msgs[3] == {"role": "assistant", "content": ""}


def test_server_tool_history_blocks_are_dropped():
    chat, notes = convert([user("q"), assistant([
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
        {"type": "text", "text": "Found it."}])])
    assert chat["messages"][1] == {"role": "assistant", "content": "Found it."}
    assert "server tool blocks dropped" in notes


@pytest.mark.parametrize("messages, path", [
    ([user([{"type": "tool_use", "id": "t", "name": "f", "input": {}}])],
     "messages[0].content[0].type"),
    ([assistant([{"type": "tool_result", "tool_use_id": "t"}])], "messages[0].content[0].type"),
    ([assistant([{"type": "image", "source": {"type": "url", "url": "u"}}])],
     "messages[0].content[0].type"),
    ([user([{"type": "text", "text": "a"}, {"type": "video"}])], "messages[0].content[1].type"),
    ([user([{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "audio"}]}])],
     "messages[0].content[0].content[0].type"),
])
def test_blocks_in_the_wrong_place_are_400(messages, path):
    rejected_messages(messages, path)


# --- tools, tool_choice -----------------------------------------------------------------

def test_tools_become_function_tools():
    chat, notes = convert([user("q")], tools=[
        WEATHER, {"name": "noop", "input_schema": {"type": "object"}, "type": "custom",
                  "cache_control": {"type": "ephemeral"}},
        {"name": "bare"}])
    assert chat["tools"] == [
        FN_WEATHER,
        {"type": "function", "function": {"name": "noop", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "bare", "parameters": {
            "type": "object", "properties": {}}}}]
    assert notes == []


def test_server_tools_are_dropped_with_notes():
    chat, notes = convert([user("q")], tools=[
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
        WEATHER,
        {"type": "bash_20250124", "name": "bash"},
        {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"}])
    assert chat["tools"] == [FN_WEATHER]
    assert notes == ["server tool web_search (web_search_20250305) dropped",
                     "server tool bash (bash_20250124) dropped",
                     "server tool str_replace_based_edit_tool (text_editor_20250728) dropped"]


@pytest.mark.parametrize("choice, expected", [
    ({"type": "auto"}, "auto"),
    ({"type": "any"}, "required"),
    ({"type": "none"}, "none"),
    ({"type": "tool", "name": "get_weather"},
     {"type": "function", "function": {"name": "get_weather"}}),
])
def test_tool_choice(choice, expected):
    chat = convert([user("q")], tools=[WEATHER], tool_choice=choice)[0]
    assert chat["tool_choice"] == expected and "parallel_tool_calls" not in chat


@pytest.mark.parametrize("kind", ["auto", "any", "tool"])
def test_disable_parallel_tool_use(kind):
    choice = {"type": kind, "disable_parallel_tool_use": True}
    if kind == "tool":
        choice["name"] = "get_weather"
    chat = convert([user("q")], tools=[WEATHER], tool_choice=choice)[0]
    assert chat["parallel_tool_calls"] is False


def test_disable_parallel_false_sets_nothing():
    chat = convert([user("q")], tools=[WEATHER],
                   tool_choice={"type": "auto", "disable_parallel_tool_use": False})[0]
    assert "parallel_tool_calls" not in chat


def test_tool_choice_without_function_tools_is_dropped():
    chat, notes = convert([user("q")], tool_choice={"type": "any"})
    assert "tool_choice" not in chat and notes == []
    chat, notes = convert([user("q")], tools=[{"type": "web_search_20250305", "name": "ws"}],
                          tool_choice={"type": "tool", "name": "ws"})
    assert "tool_choice" not in chat and "tools" not in chat
    assert "tool_choice dropped: no function tools left" in notes


def test_tool_choice_naming_an_unknown_tool_is_400():
    rejected_messages([user("q")], "tool_choice.name", tools=[WEATHER],
                      tool_choice={"type": "tool", "name": "nope"})


# --- thinking, effort, output format ----------------------------------------------------

@pytest.mark.parametrize("budget, effort", [
    (1024, "low"), (4095, "low"), (4096, "medium"), (16383, "medium"), (16384, "high"),
    (64000, "high")])
def test_thinking_enabled_budget_to_effort(budget, effort):
    chat = convert([user("q")], thinking={"type": "enabled", "budget_tokens": budget})[0]
    assert chat["reasoning_effort"] == effort


@pytest.mark.parametrize("config, effort", [
    (None, "medium"), ({}, "medium"), ({"effort": "low"}, "low"), ({"effort": "high"}, "high"),
    ({"effort": "xhigh"}, "high"), ({"effort": "max"}, "high")])
def test_thinking_adaptive_uses_output_config_effort(config, effort):
    fields = {"thinking": {"type": "adaptive"}}
    if config is not None:
        fields["output_config"] = config
    assert convert([user("q")], **fields)[0]["reasoning_effort"] == effort


def test_thinking_disabled_or_absent_sets_nothing():
    assert "reasoning_effort" not in convert([user("q")], thinking={"type": "disabled"})[0]
    assert "reasoning_effort" not in convert([user("q")], output_config={"effort": "low"})[0]


def test_output_config_format_becomes_response_format():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    chat = convert([user("q")], output_config={"format": {"type": "json_schema",
                                                          "schema": schema}})[0]
    assert chat["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "output", "schema": schema}}


# --- count_tokens_estimate --------------------------------------------------------------

BASE = {"model": "m", "max_tokens": 10, "messages": [user("hi")]}


def test_count_tokens_estimate_uses_the_chat_estimator():
    body = dict(BASE, system="You are terse.", tools=[WEATHER],
                messages=[user("What is the weather in Paris?"),
                          assistant([{"type": "tool_use", "id": "t", "name": "get_weather",
                                      "input": {"city": "Paris"}}]),
                          user([{"type": "tool_result", "tool_use_id": "t", "content": "18C"}])])
    chat, _ = anthropic.messages_to_chat(body)
    assert anthropic.count_tokens_estimate(body) == usage.prompt_tokens(chat)
    bare = dict(BASE, messages=body["messages"])
    assert anthropic.count_tokens_estimate(body) > anthropic.count_tokens_estimate(bare) > 0


def test_count_tokens_counts_system_and_tools():
    assert anthropic.count_tokens_estimate(dict(BASE, messages=[user("")])) == 0
    assert anthropic.count_tokens_estimate(dict(BASE, messages=[user("")],
                                                system="x" * 40)) == 10
    with_tool = anthropic.count_tokens_estimate(dict(BASE, messages=[user("")], tools=[WEATHER]))
    assert with_tool == usage.estimate_tokens(json.dumps([FN_WEATHER], sort_keys=True))


def test_count_tokens_rejects_bad_bodies():
    with pytest.raises(ProxyError) as info:
        anthropic.count_tokens_estimate({"messages": "x"})
    assert info.value.status == 400 and info.value.param == "messages"
