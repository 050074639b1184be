"""Responses requests as chat bodies: parameters, input items, history, errors."""

from __future__ import annotations

import json

import pytest

from argo_proxy.convert import responses
from argo_proxy.convert.responses_input import NO_RESULT
from argo_proxy.errors import ProxyError

PATCH = {"type": "custom", "name": "apply_patch", "format": {"type": "text"}}
AGENTS = {"type": "namespace", "name": "collaboration", "description": "",
          "tools": [{"type": "function", "name": "spawn_agent"}]}


def chat_of(body, **kw):
    return responses.to_chat(dict({"model": "m"}, **body), **kw)[0]


def msgs(items, tools=None, **kw):
    body = {"input": items}
    if tools:
        body["tools"] = tools
    return chat_of(body, **kw)["messages"]


def user(text):
    return {"role": "user", "content": text}


# --- parameters -----------------------------------------------------------------------------

def test_parameters_mapped():
    chat = chat_of({"input": "x", "reasoning": {"effort": "high", "summary": "auto"},
                    "max_output_tokens": 100, "temperature": 0, "top_p": 1,
                    "text": {"verbosity": "low",
                             "format": {"type": "json_schema", "name": "out", "strict": True,
                                        "schema": {"type": "object"}, "description": "d"}}})
    assert chat["reasoning_effort"] == "high" and chat["max_tokens"] == 100
    assert chat["temperature"] == 0 and chat["top_p"] == 1 and chat["verbosity"] == "low"
    assert chat["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "out", "schema": {"type": "object"}, "strict": True, "description": "d"}}


def test_text_formats():
    assert chat_of({"input": "x", "text": {"format": {"type": "json_object"}}})[
        "response_format"] == {"type": "json_object"}
    assert "response_format" not in chat_of({"input": "x", "text": {"format": {"type": "text"}}})
    unnamed = chat_of({"input": "x", "text": {"format": {"type": "json_schema",
                                                         "schema": {"type": "object"}}}})
    assert unnamed["response_format"]["json_schema"] == {"name": "response",
                                                         "schema": {"type": "object"}}


def test_accepted_fields_are_not_forwarded_nor_noted():
    body = {"input": "x", "store": False, "include": ["reasoning.encrypted_content"],
            "metadata": {}, "prompt_cache_key": "k", "truncation": "auto", "user": "u",
            "service_tier": "auto", "stream_options": {"include_usage": True},
            "background": False, "previous_response_id": "resp_1", "safety_identifier": "s"}
    chat, tools = responses.to_chat(dict(body, model="m"))
    assert set(chat) == {"model", "messages"} and tools.notes == []


def test_unknown_and_unsupported_fields_are_noted():
    chat, tools = responses.to_chat({"model": "m", "input": "x", "frobnicate": 1, "zeta": 2,
                                     "conversation": "conv_1"})
    assert set(chat) == {"model", "messages"}
    assert "conversation is not supported by this proxy; ignored" in tools.notes
    assert "ignored unknown field(s): frobnicate, zeta" in tools.notes


@pytest.mark.parametrize("field, value", [
    ("model", 3), ("stream", "yes"), ("parallel_tool_calls", 1), ("temperature", "hot"),
    ("temperature", True), ("top_p", []), ("max_output_tokens", 1.5),
    ("max_output_tokens", True), ("metadata", []), ("reasoning", "high"), ("text", "json"),
    ("instructions", 5), ("input", 5), ("include", "x"), ("store", "no"),
])
def test_wrong_parameter_types_are_400(field, value):
    with pytest.raises(ProxyError) as err:
        responses.to_chat({"model": "m", "input": "x", field: value})
    assert err.value.status == 400 and err.value.param == field


@pytest.mark.parametrize("body, param", [
    ({"reasoning": {"effort": 3}}, "reasoning.effort"),
    ({"text": {"format": "json"}}, "text.format"),
    ({"text": {"format": {}}}, "text.format.type"),
    ({"text": {"format": {"type": "json_schema"}}}, "text.format.schema"),
    ({"text": {"format": {"type": "json_schema", "schema": {}, "strict": "y"}}},
     "text.format.strict"),
    ({"text": {"format": {"type": "yaml"}}}, "text.format.type"),
    ({"text": {"verbosity": 1}}, "text.verbosity"),
    ({"instructions": ["a", 3]}, "instructions[1]"),
])
def test_wrong_nested_parameter_types_are_400(body, param):
    with pytest.raises(ProxyError) as err:
        responses.to_chat(dict({"model": "m", "input": "x"}, **body))
    assert err.value.status == 400 and err.value.param == param


def test_body_must_be_an_object():
    with pytest.raises(ProxyError):
        responses.to_chat(["x"])


def test_instructions_as_parts():
    chat = chat_of({"input": "x", "instructions": [{"type": "input_text", "text": "a"}, "b"]})
    assert chat["messages"][0] == {"role": "system", "content": "a\n\nb"}


# --- messages -------------------------------------------------------------------------------------

def test_roles_and_part_types():
    out = msgs([
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "d"}]},
        {"role": "system", "content": "s"},
        {"role": "user", "content": [{"type": "input_text", "text": "look"},
                                     {"type": "input_image", "image_url": {"url": "https://x/i.png"}}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "A "},
                                          {"type": "refusal", "refusal": "no"}]},
        "plain string item"])
    assert out == [
        {"role": "developer", "content": "d"}, {"role": "system", "content": "s"},
        {"role": "user", "content": [{"type": "text", "text": "look"},
                                     {"type": "image_url", "image_url": {"url": "https://x/i.png"}}]},
        {"role": "assistant", "content": "A no"}, user("plain string item")]


def test_codex_assistant_message_with_phase_and_ids():
    out = msgs([{"type": "message", "id": "msg_1", "role": "assistant", "phase": "final_answer",
                 "content": [{"type": "output_text", "text": "Done."}]}, user("thanks")])
    assert out == [{"role": "assistant", "content": "Done."}, user("thanks")]


@pytest.mark.parametrize("item, param, words", [
    ({"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]},
     "input[0].content[0].file_id", "file_id"),
    ({"role": "user", "content": [{"type": "input_image"}]}, "input[0].content[0].image_url", ""),
    ({"role": "user", "content": [{"type": "input_file", "file_id": "f"}]},
     "input[0].content[0]", "input_file"),
    ({"role": "user", "content": [{"type": "input_audio"}]}, "input[0].content[0].type",
     "input_audio"),
    ({"role": "user", "content": [{"type": "input_text", "text": 7}]},
     "input[0].content[0].text", ""),
    ({"role": "user", "content": [7]}, "input[0].content[0]", ""),
    ({"role": "user", "content": {"text": "x"}}, "input[0].content", ""),
    ({"role": "robot", "content": "x"}, "input[0].role", ""),
    ({"role": "system", "content": [{"type": "input_image", "image_url": "data:image/png;base64,AA"}]},
     "input[0].content[0]", "user messages"),
    ({"content": "x"}, "input[0].type", ""),
    (5, "input[0]", ""),
    ({"type": "function_call", "call_id": "c", "arguments": "{}"}, "input[0].name", ""),
    ({"type": "function_call", "name": "f", "arguments": {"a": 1}, "call_id": "c"},
     "input[0].arguments", ""),
    ({"type": "function_call", "name": "f"}, "input[0].call_id", ""),
    ({"type": "custom_tool_call", "name": "f", "call_id": "c", "input": 1}, "input[0].input", ""),
    ({"type": "local_shell_call", "call_id": "c", "action": "ls"}, "input[0].action", ""),
    ({"type": "item_reference", "id": "msg_9"}, "input[0].id", "msg_9"),
])
def test_bad_items_are_400_naming_the_path(item, param, words):
    with pytest.raises(ProxyError) as err:
        msgs([item])
    assert err.value.status == 400 and err.value.param == param, err.value.message
    assert words in err.value.message


def test_error_path_counts_items():
    with pytest.raises(ProxyError) as err:
        msgs([user("a"), user("b"), user("c"),
              {"role": "user", "content": [{"type": "input_text", "text": ""},
                                           {"type": "input_text", "text": 1}]}])
    assert err.value.param == "input[3].content[1].text"


@pytest.mark.parametrize("part,param", [
    ({"type": "input_text"}, "input[0].content[0].text"),
    ({"type": "output_text", "text": None}, "input[0].content[0].text"),
    ({"type": "refusal"}, "input[0].content[0].refusal"),
    ({"text": "no type"}, "input[0].content[0].type"),
    ({"type": ["x"], "text": "Hi"}, "input[0].content[0].type"),
    ({"type": "bogus", "text": "Hi"}, "input[0].content[0].type"),
])
def test_content_parts_need_a_type_and_their_text(part, param):
    with pytest.raises(ProxyError) as err:
        msgs([{"role": "user", "content": [part]}])
    assert err.value.status == 400 and err.value.param == param
    assert param in err.value.message


@pytest.mark.parametrize("change,param", [
    ({"metadata": {"k": 5}}, "metadata.k"), ({"metadata": {"a": "ok", "b": ["x"]}}, "metadata.b"),
    ({"include": [{}]}, "include[0]"), ({"include": ["reasoning.encrypted_content", 3]}, "include[1]"),
])
def test_metadata_values_and_include_items_are_strings(change, param):
    with pytest.raises(ProxyError) as err:
        responses.to_chat(dict({"model": "m", "input": "hi"}, **change))
    assert err.value.status == 400 and err.value.param == param and param in err.value.message


def test_missing_or_empty_input_is_400_without_history():
    for value in (None, "", []):
        with pytest.raises(ProxyError) as err:
            responses.to_chat({"model": "m", "input": value})
        assert err.value.param == "input"


# --- tool call items ------------------------------------------------------------------------------

def test_custom_tool_call_and_output():
    out = msgs([user("patch it"),
                {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch",
                 "input": "*** Begin Patch\n*** End Patch"},
                {"type": "custom_tool_call_output", "call_id": "c1", "output": "ok"}], [PATCH])
    call = out[1]["tool_calls"][0]
    assert call["function"]["name"] == "apply_patch"
    assert json.loads(call["function"]["arguments"]) == {"input": "*** Begin Patch\n*** End Patch"}
    assert out[2] == {"role": "tool", "tool_call_id": "c1", "content": "ok"}


def test_namespaced_function_call_uses_the_flattened_name():
    out = msgs([user("go"),
                {"type": "function_call", "call_id": "c1", "name": "spawn_agent",
                 "namespace": "collaboration", "arguments": '{"message": "hi"}'},
                {"type": "function_call_output", "call_id": "c1", "output": "spawned"}], [AGENTS])
    assert out[1]["tool_calls"][0]["function"]["name"] == "collaboration__spawn_agent"


def test_history_call_of_a_tool_no_longer_offered_maps_and_is_remembered():
    chat, tools = responses.to_chat({"model": "m", "input": [
        user("go"), {"type": "function_call", "call_id": "c1", "name": "old", "namespace": "ns",
                     "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "x"}]})
    assert chat["messages"][1]["tool_calls"][0]["function"]["name"] == "ns__old"
    assert "tools" not in chat and tools.ref("ns__old").namespace == "ns"


def test_function_call_item_naming_a_custom_tool_is_wrapped():
    out = msgs([user("x"), {"type": "function_call", "call_id": "c", "name": "apply_patch",
                            "arguments": "raw patch"},
                {"type": "function_call_output", "call_id": "c", "output": "ok"}], [PATCH])
    assert json.loads(out[1]["tool_calls"][0]["function"]["arguments"]) == {"input": "raw patch"}


def test_local_shell_call_and_output():
    out = msgs([user("list"),
                {"type": "local_shell_call", "id": "lsh_1", "call_id": "c1", "status": "completed",
                 "action": {"type": "exec", "command": ["ls", "-la"], "working_directory": "/tmp",
                            "timeout_ms": 500, "env": {}}},
                {"type": "local_shell_call_output", "id": "c1", "output": "total 0"}],
               [{"type": "local_shell"}])
    call = out[1]["tool_calls"][0]
    assert call["id"] == "c1" and call["function"]["name"] == "local_shell"
    assert json.loads(call["function"]["arguments"]) == {
        "command": ["ls", "-la"], "workdir": "/tmp", "timeout_ms": 500}
    assert out[2] == {"role": "tool", "tool_call_id": "c1", "content": "total 0"}


def test_shell_and_apply_patch_builtin_items():
    out = msgs([user("x"),
                {"type": "shell_call", "call_id": "s1", "action": {"commands": ["ls"]}},
                {"type": "apply_patch_call", "call_id": "p1", "status": "completed",
                 "operation": {"type": "delete_file", "path": "a.txt"}},
                {"type": "shell_call_output", "call_id": "s1", "output": [
                    {"stdout": "a.txt\n", "stderr": "", "outcome": {"type": "exit", "exit_code": 0}},
                    {"stdout": "", "stderr": "slow", "outcome": {"type": "timeout"}}]},
                {"type": "apply_patch_call_output", "call_id": "p1", "status": "failed",
                 "output": "no such file"}],
               [{"type": "shell"}, {"type": "apply_patch"}])
    names = [c["function"]["name"] for c in out[1]["tool_calls"]]
    assert names == ["shell", "apply_patch"]
    assert out[2]["content"] == "a.txt\n\n[exit code 0]\n\nstderr:\nslow\n[timed out]"
    assert out[3]["content"] == "[failed]\nno such file"


def test_tool_search_call_and_output_load_tools():
    chat, tools = responses.to_chat({"model": "m", "tools": [
        {"type": "tool_search", "execution": "client"}], "input": [
        user("find a calendar tool"),
        {"type": "tool_search_call", "call_id": "t1", "execution": "client",
         "arguments": {"query": "calendar"}},
        {"type": "tool_search_output", "call_id": "t1", "execution": "client", "tools": [
            {"type": "namespace", "name": "mcp__calendar", "description": "Calendar",
             "tools": [{"type": "function", "name": "create_event", "defer_loading": True}]}]}]})
    assert chat["messages"][1]["tool_calls"][0]["function"] == {
        "name": "tool_search", "arguments": '{"query": "calendar"}'}
    assert chat["messages"][2]["content"] == "Tools now available: mcp__calendar"
    assert [t["function"]["name"] for t in chat["tools"]] == [
        "tool_search", "mcp__calendar__create_event"]


def test_additional_tools_item_offers_its_tools():
    chat, tools = responses.to_chat({"model": "m", "input": [
        {"type": "additional_tools", "role": "developer", "tools": [
            {"type": "namespace", "name": "functions", "description": "", "tools": [
                {"type": "custom", "name": "exec"}, {"type": "function", "name": "wait"}]}]},
        user("hi")]})
    assert chat["messages"] == [user("hi")]
    assert [t["function"]["name"] for t in chat["tools"]] == ["exec", "wait"]
    assert tools.ref("exec").kind == "custom"


def test_tool_output_parts_and_images():
    out = msgs([user("see"),
                {"type": "function_call", "call_id": "c1", "name": "view_image", "arguments": "{}"},
                {"type": "function_call", "call_id": "c2", "name": "view_image", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": [
                    {"type": "input_text", "text": "here"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AA"}]},
                {"type": "function_call_output", "call_id": "c2", "output": {"ok": True}},
                user("and?")])
    assert [m["role"] for m in out] == ["user", "assistant", "tool", "tool", "user", "user"]
    assert out[2]["content"] == "here\n[1 image(s) attached in the next message]"
    assert out[3]["content"] == '{"ok": true}'
    assert out[4]["content"][1] == {"type": "image_url",
                                    "image_url": {"url": "data:image/png;base64,AA"}}


def test_call_without_output_gets_a_placeholder_result():
    chat, tools = responses.to_chat({"model": "m", "input": [
        user("go"), {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        user("never mind")]})
    assert chat["messages"][2] == {"role": "tool", "tool_call_id": "c1", "content": NO_RESULT}
    assert chat["messages"][3] == user("never mind") and "c1" in tools.notes[0]


def test_output_without_a_call_becomes_user_text():
    out = msgs([user("go"), {"type": "function_call_output", "call_id": "zz", "output": "late"}])
    assert out[1] == user("Result of tool call zz:\nlate")


def test_reasoning_items_are_dropped_and_never_forward_encrypted_content():
    chat = chat_of({"input": [
        user("q"), {"type": "reasoning", "id": "rs_1", "encrypted_content": "SECRET",
                    "summary": [{"type": "summary_text", "text": "thinking"}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "a"}]}]})
    assert chat["messages"] == [user("q"), {"role": "assistant", "content": "a"}]
    assert "SECRET" not in json.dumps(chat)


def test_server_side_and_unknown_items_are_dropped_with_notes():
    chat, tools = responses.to_chat({"model": "m", "input": [
        user("q"), {"type": "web_search_call", "id": "ws_1", "status": "completed"},
        {"type": "compaction", "encrypted_content": "X"}, {"type": "teleport"}]})
    assert chat["messages"] == [user("q")]
    assert len(tools.notes) == 3 and "teleport" in tools.notes[2]


# --- item references and history --------------------------------------------------------------------

def test_item_reference_resolved_through_lookup():
    stored = {"msg_1": {"type": "message", "role": "user", "content": "from the store"}}
    out = msgs([{"type": "item_reference", "id": "msg_1"}, user("and more")], lookup=stored.get)
    assert out == [user("from the store"), user("and more")]
    with pytest.raises(ProxyError) as err:
        msgs([{"type": "item_reference", "id": "msg_2"}], lookup=stored.get)
    assert err.value.param == "input[0].id" and "msg_2" in err.value.message


def test_item_reference_to_a_reference_is_400():
    stored = {"a": {"type": "item_reference", "id": "b"}, "b": user("x")}
    with pytest.raises(ProxyError):
        msgs([{"type": "item_reference", "id": "a"}], lookup=stored.get)


def test_history_goes_before_input_after_instructions():
    history = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "1"}]},
               {"type": "reasoning", "id": "rs", "summary": []},
               {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
               {"type": "function_call_output", "call_id": "c", "output": "r"},
               {"type": "message", "role": "assistant", "content": [
                   {"type": "output_text", "text": "2"}]}]
    chat = chat_of({"instructions": "sys", "input": "3"}, history=history)
    assert [(m["role"], m.get("content")) for m in chat["messages"]] == [
        ("system", "sys"), ("user", "1"), ("assistant", ""), ("tool", "r"),
        ("assistant", "2"), ("user", "3")]
    assert chat_of({"input": []}, history=history)["messages"][-1]["content"] == "2"


def test_history_must_be_a_list():
    with pytest.raises(ProxyError) as err:
        responses.to_chat({"model": "m", "input": "x"}, history={"a": 1})
    assert err.value.param == "history"
