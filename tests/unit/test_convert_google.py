"""Tests for argo_proxy.convert.google: a generateContent request -> chat body."""

from __future__ import annotations

import json

import pytest

from argo_proxy.convert import google
from argo_proxy.errors import ProxyError

PNG = "iVBORw0KGgo="
WEATHER_DECL = {"name": "get_weather", "description": "Weather for a city",
                "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}},
                               "required": ["city"]}}
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}
TIME_DECL = {"name": "get_time"}


def user(*parts):
    return {"role": "user", "parts": list(parts)}


def model(*parts):
    return {"role": "model", "parts": list(parts)}


def text(s):
    return {"text": s}


def call(name, args=None, **extra):
    fc = {"name": name}
    if args is not None:
        fc["args"] = args
    fc.update(extra)
    return {"functionCall": fc}


def response(name, value, **extra):
    fr = {"name": name, "response": value}
    fr.update(extra)
    return {"functionResponse": fr}


def convert(contents, **fields):
    body = {"contents": contents}
    body.update(fields)
    return google.generate_to_chat(body, "gemini25flash")


def chat_messages(contents, **fields):
    return convert(contents, **fields)[0]["messages"]


def rejected(body, path):
    """The ProxyError 400 that body gets; its message and param name `path`."""
    with pytest.raises(ProxyError) as info:
        google.generate_to_chat(body, "m")
    err = info.value
    assert err.status == 400, err.message
    assert path in err.message and err.param == path, (err.message, err.param)
    return err


def rejected_contents(contents, path, **fields):
    body = {"contents": contents}
    body.update(fields)
    return rejected(body, path)


# --- contents: text, roles, system --------------------------------------------------

def test_plain_text_turns():
    chat, notes = convert([user(text("hi")), model(text("hello")), user(text("bye"))])
    assert chat == {"model": "gemini25flash", "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "bye"}]}
    assert notes == []


def test_model_argument_is_optional():
    chat, _ = google.generate_to_chat({"contents": [user(text("hi"))]})
    assert "model" not in chat


def test_role_defaults_to_user_and_function_role_is_a_user_turn():
    msgs = chat_messages([{"parts": [text("hi")]},
                          model(call("f", {})),
                          {"role": "function", "parts": [response("f", {"output": "ok"})]}])
    assert msgs[0] == {"role": "user", "content": "hi"}
    assert msgs[2] == {"role": "tool", "tool_call_id": "call_1", "content": "ok"}


def test_several_text_parts_of_a_user_turn_are_joined_by_newlines():
    assert chat_messages([user(text("a"), text("b"))]) == [{"role": "user", "content": "a\nb"}]


def test_model_text_parts_are_pieces_of_one_reply():
    msgs = chat_messages([user(text("q")), model(text("Hel"), text("lo"))])
    assert msgs[1] == {"role": "assistant", "content": "Hello"}


def test_consecutive_model_contents_merge_into_one_assistant_message():
    # The SDKs' chat history keeps a streamed reply chunk by chunk, ending with "".
    msgs = chat_messages([user(text("q")), model({"text": "hm", "thought": True}),
                          model(text("Hel")), model(text("lo")), model(call("f", {"a": 1})),
                          model(text("")), user(text("next"))])
    assert msgs[1]["content"] == "Hello"
    assert [c["function"]["name"] for c in msgs[1]["tool_calls"]] == ["f"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"]


def test_system_instruction_parts_and_string_form():
    chat, _ = convert([user(text("hi"))],
                      systemInstruction={"role": "user", "parts": [text("Be"), text("brief")]})
    assert chat["messages"][0] == {"role": "system", "content": "Be\nbrief"}
    chat, _ = convert([user(text("hi"))], system_instruction="Be brief")
    assert chat["messages"][0] == {"role": "system", "content": "Be brief"}


def test_empty_system_instruction_adds_nothing():
    chat, _ = convert([user(text("hi"))], systemInstruction={"parts": []})
    assert chat["messages"] == [{"role": "user", "content": "hi"}]


def test_thought_parts_in_model_turns_are_dropped_with_a_note():
    chat, notes = convert([user(text("q")),
                           model({"text": "thinking", "thought": True,
                                  "thoughtSignature": "c2ln"}, text("answer"))])
    assert chat["messages"][1] == {"role": "assistant", "content": "answer"}
    assert "thought parts dropped" in notes


def test_model_turn_with_only_thoughts_is_left_out():
    msgs = chat_messages([user(text("q")), model({"text": "t", "thought": True}),
                          user(text("again"))])
    assert [m["role"] for m in msgs] == ["user", "user"]


def test_signature_only_parts_are_skipped():
    msgs = chat_messages([user(text("q")), model({"thoughtSignature": "c2ln"}, text("a"))])
    assert msgs[1] == {"role": "assistant", "content": "a"}


def test_code_execution_parts_become_text():
    msgs = chat_messages([user(text("q")), model(
        {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1\n"}})])
    assert msgs[1]["content"] == "```python\nprint(1)\n```Output:\n1\n"


def test_media_in_model_turns_is_dropped_with_a_note():
    chat, notes = convert([user(text("q")), model(
        {"inlineData": {"mimeType": "image/png", "data": PNG}}, text("here"))])
    assert chat["messages"][1] == {"role": "assistant", "content": "here"}
    assert "media parts in model turns dropped" in notes


# --- images ---------------------------------------------------------------------------

def test_inline_image_becomes_a_data_url():
    msgs = chat_messages([user(text("what is this"),
                               {"inlineData": {"mimeType": "image/png", "data": PNG}})])
    assert msgs == [{"role": "user", "content": [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + PNG}}]}]


def test_inline_image_in_snake_case_as_the_python_sdk_sends_it():
    msgs = chat_messages([user({"inline_data": {"mime_type": "image/jpeg", "data": PNG}})])
    assert msgs[0]["content"][0]["image_url"]["url"] == "data:image/jpeg;base64," + PNG


def test_file_data_with_an_http_image_url():
    msgs = chat_messages([user({"fileData": {"mimeType": "image/png",
                                             "fileUri": "https://example.org/a.png"}})])
    assert msgs[0]["content"] == [{"type": "image_url",
                                   "image_url": {"url": "https://example.org/a.png"}}]
    msgs = chat_messages([user({"file_data": {"file_uri": "http://example.org/b"}})])
    assert msgs[0]["content"][0]["image_url"]["url"] == "http://example.org/b"


def test_non_image_inline_data_is_a_400_naming_the_part():
    err = rejected_contents([user(text("x"), {"inlineData": {"mimeType": "application/pdf",
                                                             "data": "JVBE"}})],
                            "contents[0].parts[1].inlineData")
    assert "application/pdf" in err.message


def test_non_http_file_uri_is_a_400():
    rejected_contents([user({"fileData": {"mimeType": "image/png", "fileUri": "gs://b/a.png"}})],
                      "contents[0].parts[0].fileData.fileUri")


def test_non_image_file_data_is_a_400():
    rejected_contents([user({"fileData": {"mimeType": "video/mp4",
                                          "fileUri": "https://example.org/v.mp4"}})],
                      "contents[0].parts[0].fileData")


@pytest.mark.parametrize("blob,path", [
    ({"mimeType": "image/png"}, "contents[0].parts[0].inlineData.data"),
    ({"data": PNG}, "contents[0].parts[0].inlineData.mimeType"),
    ({"mimeType": 3, "data": PNG}, "contents[0].parts[0].inlineData.mimeType"),
])
def test_inline_data_field_types(blob, path):
    rejected_contents([user({"inlineData": blob})], path)


# --- function calls and responses -----------------------------------------------------

def test_function_calls_get_stable_ids_and_responses_match_by_name_in_order():
    msgs = chat_messages([
        user(text("weather in two cities, and the time")),
        model(call("get_weather", {"city": "Paris"}), call("get_weather", {"city": "Rome"}),
              call("get_time")),
        user(response("get_time", {"output": "noon"}),
             response("get_weather", {"output": "sunny"}),
             response("get_weather", {"output": "rainy"}))])
    calls = msgs[1]["tool_calls"]
    assert [c["id"] for c in calls] == ["call_1", "call_2", "call_3"]
    assert calls[0] == {"id": "call_1", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city":"Paris"}'}}
    assert calls[2]["function"]["arguments"] == "{}"
    assert msgs[1]["content"] == ""
    assert msgs[2:] == [
        {"role": "tool", "tool_call_id": "call_3", "content": "noon"},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "rainy"}]


def test_ids_continue_across_turns():
    msgs = chat_messages([user(text("q")), model(call("f", {})), user(response("f", {})),
                          model(call("f", {})), user(response("f", {}))])
    assert [m.get("tool_call_id") or m.get("tool_calls", [{}])[0].get("id")
            for m in msgs[1:]] == ["call_1", "call_1", "call_2", "call_2"]


def test_client_ids_are_kept():
    msgs = chat_messages([user(text("q")), model(call("f", {}, id="abc"), call("f", {})),
                          user(response("f", {}, id="abc"), response("f", {}))])
    assert [c["id"] for c in msgs[1]["tool_calls"]] == ["abc", "call_1"]
    assert [m["tool_call_id"] for m in msgs[2:]] == ["abc", "call_1"]


def test_response_without_a_matching_call_gets_a_fresh_id():
    msgs = chat_messages([user(response("orphan", {"output": "x"}))])
    assert msgs == [{"role": "tool", "tool_call_id": "call_1", "content": "x"}]


def test_tool_results_come_before_the_rest_of_the_user_turn():
    msgs = chat_messages([user(text("q")), model(call("f", {})),
                          user(text("and now?"), response("f", {"output": "done"}))])
    assert msgs[2:] == [{"role": "tool", "tool_call_id": "call_1", "content": "done"},
                        {"role": "user", "content": "and now?"}]


@pytest.mark.parametrize("value,expected", [
    ({"output": "plain"}, "plain"),
    ({"content": "plain"}, "plain"),
    ({"error": "no such city"}, "Error: no such city"),
    ({"error": "Error: bad"}, "Error: bad"),
    ({"output": "a", "extra": 1}, '{"output":"a","extra":1}'),
    ({"output": {"temp": 20}}, '{"output":{"temp":20}}'),
    ({"result": "ünïcode"}, '{"result":"ünïcode"}'),
    ({}, "{}"),
])
def test_function_response_content(value, expected):
    msgs = chat_messages([user(response("f", value))])
    assert msgs[0]["content"] == expected


def test_function_response_without_response_is_empty_json():
    msgs = chat_messages([user({"functionResponse": {"name": "f"}})])
    assert msgs[0]["content"] == "{}"


def test_function_response_parts_are_dropped_with_a_note():
    _chat, notes = convert([user({"functionResponse": {
        "name": "f", "response": {"output": "x"},
        "parts": [{"inlineData": {"mimeType": "image/png", "data": PNG}}]}})])
    assert "functionResponse parts dropped" in notes


def test_snake_case_function_parts():
    msgs = chat_messages([user(text("q")),
                          model({"function_call": {"name": "f", "args": {"a": 1}}}),
                          user({"function_response": {"name": "f", "response": {"output": "r"}}})])
    assert msgs[1]["tool_calls"][0]["id"] == "call_1"
    assert msgs[2] == {"role": "tool", "tool_call_id": "call_1", "content": "r"}


@pytest.mark.parametrize("contents,path", [
    ([user(call("f", {}))], "contents[0].parts[0].functionCall"),
    ([user(text("q")), model(response("f", {}))], "contents[1].parts[0].functionResponse"),
    ([user(text("q")), model({"functionCall": {"args": {}}})],
     "contents[1].parts[0].functionCall.name"),
    ([user(text("q")), model(call("f", [1]))], "contents[1].parts[0].functionCall.args"),
    ([user(text("q")), model(call("f", {}, id=5))], "contents[1].parts[0].functionCall.id"),
    ([user({"functionResponse": {"response": {}}})],
     "contents[0].parts[0].functionResponse.name"),
    ([user(response("f", "text"))], "contents[0].parts[0].functionResponse.response"),
    ([user({"functionResponse": {"name": "f", "response": {}, "id": 1}})],
     "contents[0].parts[0].functionResponse.id"),
    ([user({"functionCall": "x"})], "contents[0].parts[0].functionCall"),
])
def test_function_part_errors(contents, path):
    rejected_contents(contents, path)


# --- structural errors ----------------------------------------------------------------

@pytest.mark.parametrize("body,path", [
    ({}, "contents"),
    ({"contents": {"role": "user"}}, "contents"),
    ({"contents": []}, "contents"),
    ({"contents": ["hi"]}, "contents[0]"),
    ({"contents": [{"role": "assistant", "parts": [text("x")]}]}, "contents[0].role"),
    ({"contents": [{"role": "user"}]}, "contents[0].parts"),
    ({"contents": [{"role": "user", "parts": []}]}, "contents[0].parts"),
    ({"contents": [{"role": "user", "parts": "hi"}]}, "contents[0].parts"),
    ({"contents": [user("hi")]}, "contents[0].parts[0]"),
    ({"contents": [user({})]}, "contents[0].parts[0]"),
    ({"contents": [user({"unknown": 1})]}, "contents[0].parts[0]"),
    ({"contents": [user({"text": 5})]}, "contents[0].parts[0].text"),
    ({"contents": [user(text("q")), model({"text": "x", "thought": "yes"})]},
     "contents[1].parts[0].thought"),
    ({"contents": [user(text("q")), model({"executableCode": {"code": 1}})]},
     "contents[1].parts[0].executableCode.code"),
    ({"contents": [user(text("hi"))], "systemInstruction": 5}, "systemInstruction"),
    ({"contents": [user(text("hi"))], "systemInstruction": {"parts": "x"}},
     "systemInstruction.parts"),
    ({"contents": [user(text("hi"))], "systemInstruction": {"parts": [
        {"inlineData": {"mimeType": "image/png", "data": PNG}}]}},
     "systemInstruction.parts[0]"),
    ({"contents": [user(text("hi"))], "system_instruction": {"parts": [5]}},
     "system_instruction.parts[0]"),
    ({"contents": [user(text("hi"))], "systemInstruction": {"parts": [{"text": 5}]}},
     "systemInstruction.parts[0].text"),
    ({"contents": [user(text("hi"))], "systemInstruction": {"parts": [{"text": ["x"]}]}},
     "systemInstruction.parts[0].text"),
    ({"contents": [user(text("hi"))], "systemInstruction": {"parts": [{"text": None}]}},
     "systemInstruction.parts[0].text"),
    ({"contents": [user(text("hi"))], "systemInstruction": {"parts": [{}]}},
     "systemInstruction.parts[0].text"),
    ({"contents": [user(text("hi"))], "generationConfig": {"topK": 8.5}}, "generationConfig.topK"),
])
def test_structural_errors_name_the_field(body, path):
    rejected(body, path)


SAFETY = {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}


@pytest.mark.parametrize("settings,path", [
    (5, "safetySettings"), ({}, "safetySettings"), ([True], "safetySettings[0]"),
    ([["x"]], "safetySettings[0]"), ([dict(SAFETY, category=2.5)], "safetySettings[0].category"),
    ([dict(SAFETY, category=None)], "safetySettings[0].category"),
    ([{"threshold": "BLOCK_NONE"}], "safetySettings[0].category"),
    ([SAFETY, dict(SAFETY, threshold={})], "safetySettings[1].threshold"),
    ([{"category": "HARM_CATEGORY_HARASSMENT"}], "safetySettings[0].threshold"),
    ([dict(SAFETY, method=1)], "safetySettings[0].method"),
])
def test_safety_settings_are_checked(settings, path):
    rejected({"contents": [user(text("hi"))], "safetySettings": settings}, path)
    with pytest.raises(ProxyError) as info:     # countTokens reads the same body
        google.count_tokens_estimate({"contents": [user(text("hi"))], "safetySettings": settings})
    assert info.value.param == path


def test_valid_safety_settings_pass_in_either_spelling():
    convert([user(text("hi"))], safetySettings=[SAFETY])
    convert([user(text("hi"))], safety_settings=[{"category": "HARM_CATEGORY_HATE_SPEECH",
                                                  "threshold": "BLOCK_ONLY_HIGH"}])


def test_body_must_be_an_object():
    with pytest.raises(ProxyError) as info:
        google.generate_to_chat(["contents"], "m")
    assert info.value.status == 400


def test_snake_case_paths_are_reported_as_sent():
    rejected({"contents": [user(text("q"))], "generation_config": {"max_output_tokens": "9"}},
             "generation_config.max_output_tokens")


# --- tools -------------------------------------------------------------------------------

def test_function_declarations_become_function_tools():
    chat, notes = convert([user(text("q"))], tools=[{"functionDeclarations": [WEATHER_DECL,
                                                                              TIME_DECL]}])
    assert chat["tools"] == [WEATHER_TOOL, {"type": "function", "function": {
        "name": "get_time", "parameters": {"type": "object", "properties": {}}}}]
    assert "tool_choice" not in chat and notes == []


def test_parameters_json_schema_passes_as_is_in_either_spelling():
    schema = {"type": "object", "properties": {"q": {"type": "string", "minLength": 1}},
              "additionalProperties": False, "$schema": "x"}
    for key in ("parametersJsonSchema", "parameters_json_schema"):
        chat, _ = convert([user(text("q"))], tools=[{"function_declarations": [
            {"name": "search", key: schema}]}])
        assert chat["tools"][0]["function"]["parameters"] == schema


def test_server_side_tools_are_dropped_with_notes():
    chat, notes = convert([user(text("q"))], tools=[
        {"googleSearch": {}}, {"code_execution": {}}, {"urlContext": {}},
        {"googleSearchRetrieval": {}}, {"functionDeclarations": [TIME_DECL]}])
    assert [t["function"]["name"] for t in chat["tools"]] == ["get_time"]
    for kind in ("googleSearch", "codeExecution", "urlContext", "googleSearchRetrieval"):
        assert "%s tool dropped (Google runs it, not this proxy)" % kind in notes


def test_only_server_tools_leave_no_tools_and_drop_tool_config():
    chat, notes = convert([user(text("q"))], tools=[{"googleSearch": {}}],
                          toolConfig={"functionCallingConfig": {"mode": "ANY"}})
    assert "tools" not in chat and "tool_choice" not in chat
    assert "toolConfig dropped: no function tools" in notes


@pytest.mark.parametrize("config,choice", [
    ({"mode": "AUTO"}, "auto"),
    ({"mode": "auto"}, "auto"),
    ({"mode": "NONE"}, "none"),
    ({"mode": "ANY"}, "required"),
    ({"mode": "VALIDATED"}, "auto"),
    ({}, "auto"),
    ({"mode": "ANY", "allowedFunctionNames": ["get_time"]},
     {"type": "function", "function": {"name": "get_time"}}),
    ({"mode": "ANY", "allowed_function_names": ["get_time", "get_time"]},
     {"type": "function", "function": {"name": "get_time"}}),
])
def test_function_calling_config_to_tool_choice(config, choice):
    chat, _ = convert([user(text("q"))], tools=[{"functionDeclarations": [WEATHER_DECL,
                                                                          TIME_DECL]}],
                      toolConfig={"functionCallingConfig": config})
    assert chat["tool_choice"] == choice


def test_mode_unspecified_sets_no_tool_choice():
    chat, _ = convert([user(text("q"))], tools=[{"functionDeclarations": [TIME_DECL]}],
                      tool_config={"function_calling_config": {"mode": "MODE_UNSPECIFIED"}})
    assert "tool_choice" not in chat and len(chat["tools"]) == 1


def test_allowed_names_limit_the_tools_for_any_and_validated():
    decls = [WEATHER_DECL, TIME_DECL, {"name": "other"}]
    for mode, choice in (("ANY", "required"), ("VALIDATED", "auto")):
        chat, notes = convert([user(text("q"))], tools=[{"functionDeclarations": decls}],
                              toolConfig={"functionCallingConfig": {
                                  "mode": mode, "allowedFunctionNames": ["get_time", "other"]}})
        assert [t["function"]["name"] for t in chat["tools"]] == ["get_time", "other"]
        assert chat["tool_choice"] == choice
        assert "tools limited to allowedFunctionNames" in notes


def test_tool_config_without_calling_config_keeps_tools():
    chat, _ = convert([user(text("q"))], tools=[{"functionDeclarations": [TIME_DECL]}],
                      toolConfig={"retrievalConfig": {}})
    assert len(chat["tools"]) == 1 and "tool_choice" not in chat


@pytest.mark.parametrize("fields,path", [
    ({"tools": {"functionDeclarations": []}}, "tools"),
    ({"tools": ["x"]}, "tools[0]"),
    ({"tools": [{"functionDeclarations": {}}]}, "tools[0].functionDeclarations"),
    ({"tools": [{"functionDeclarations": ["f"]}]}, "tools[0].functionDeclarations[0]"),
    ({"tools": [{"functionDeclarations": [{"description": "d"}]}]},
     "tools[0].functionDeclarations[0].name"),
    ({"tools": [{"functionDeclarations": [{"name": "f", "description": 1}]}]},
     "tools[0].functionDeclarations[0].description"),
    ({"tools": [{"functionDeclarations": [{"name": "f", "parameters": "x"}]}]},
     "tools[0].functionDeclarations[0].parameters"),
    ({"tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": []}]}]},
     "tools[0].functionDeclarations[0].parametersJsonSchema"),
    ({"tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "TUPLE"}}]}]},
     "tools[0].functionDeclarations[0].parameters.type"),
    ({"tools": [{"functionDeclarations": [TIME_DECL]}], "toolConfig": []}, "toolConfig"),
    ({"tools": [{"functionDeclarations": [TIME_DECL]}],
      "toolConfig": {"functionCallingConfig": "ANY"}}, "toolConfig.functionCallingConfig"),
    ({"tools": [{"functionDeclarations": [TIME_DECL]}],
      "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}},
     "toolConfig.functionCallingConfig.mode"),
    ({"tools": [{"functionDeclarations": [TIME_DECL]}],
      "toolConfig": {"functionCallingConfig": {"mode": 1}}},
     "toolConfig.functionCallingConfig.mode"),
    ({"tools": [{"functionDeclarations": [TIME_DECL]}],
      "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": "x"}}},
     "toolConfig.functionCallingConfig.allowedFunctionNames"),
    ({"tools": [{"functionDeclarations": [TIME_DECL]}],
      "toolConfig": {"functionCallingConfig": {"mode": "ANY",
                                               "allowedFunctionNames": ["nope"]}}},
     "toolConfig.functionCallingConfig.allowedFunctionNames[0]"),
])
def test_tool_errors_name_the_field(fields, path):
    rejected_contents([user(text("q"))], path, **fields)


# --- Gemini schema -> JSON Schema ---------------------------------------------------------

def test_schema_types_are_lowered_recursively():
    schema = {"type": "OBJECT", "description": "args", "properties": {
        "tags": {"type": "ARRAY", "items": {"type": "STRING", "enum": ["a", "b"]},
                 "maxItems": "5", "minItems": 1},
        "nested": {"type": "OBJECT", "properties": {"n": {"type": "INTEGER", "format": "int32",
                                                          "minimum": 0}},
                   "propertyOrdering": ["n"]},
        "either": {"anyOf": [{"type": "NUMBER"}, {"type": "BOOLEAN"}]},
        "TYPE": {"type": "STRING", "example": "x", "default": "y", "pattern": "^x"}},
        "required": ["tags"]}
    assert google.json_schema(schema, "p") == {"type": "object", "description": "args",
                                               "properties": {
        "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]},
                 "maxItems": 5, "minItems": 1},
        "nested": {"type": "object", "properties": {"n": {"type": "integer", "format": "int32",
                                                          "minimum": 0}}},
        "either": {"anyOf": [{"type": "number"}, {"type": "boolean"}]},
        "TYPE": {"type": "string", "examples": ["x"], "default": "y", "pattern": "^x"}},
        "required": ["tags"]}


def test_schema_nullable_adds_null():
    assert google.json_schema({"type": "STRING", "nullable": True}, "p") == {
        "type": ["string", "null"]}
    assert google.json_schema({"type": "STRING", "enum": ["a"], "nullable": True}, "p") == {
        "type": ["string", "null"], "enum": ["a", None]}
    assert google.json_schema({"type": "STRING", "nullable": False}, "p") == {"type": "string"}
    assert google.json_schema({"type": ["STRING", "INTEGER"], "nullable": True}, "p") == {
        "type": ["string", "integer", "null"]}


def test_schema_snake_case_keys_and_json_schema_keywords():
    schema = {"type": "object", "any_of": [{"type": "STRING"}], "max_length": "3",
              "$defs": {"X": {"type": "INTEGER"}}, "$ref": "#/$defs/X",
              "additionalProperties": {"type": "NUMBER"}}
    assert google.json_schema(schema, "p") == {
        "type": "object", "anyOf": [{"type": "string"}], "maxLength": 3,
        "$defs": {"X": {"type": "integer"}}, "$ref": "#/$defs/X",
        "additionalProperties": {"type": "number"}}


def test_schema_default_and_enum_values_are_not_touched():
    schema = {"type": "OBJECT", "default": {"type": "OBJECT"}, "enum": [{"type": "A"}]}
    assert google.json_schema(schema, "p")["default"] == {"type": "OBJECT"}
    assert google.json_schema(schema, "p")["enum"] == [{"type": "A"}]


@pytest.mark.parametrize("schema,path", [
    ("OBJECT", "p"),
    ({"type": 5}, "p.type"),
    ({"type": "OBJECT", "properties": []}, "p.properties"),
    ({"type": "OBJECT", "properties": {"a": "STRING"}}, "p.properties.a"),
    ({"type": "ARRAY", "items": {"type": "BYTES"}}, "p.items.type"),
    ({"anyOf": {"type": "STRING"}}, "p.anyOf"),
    ({"anyOf": [{"type": "STRING"}, 3]}, "p.anyOf[1]"),
    ({"type": "ARRAY", "maxItems": "five"}, "p.maxItems"),
    ({"type": "STRING", "nullable": "yes"}, "p.nullable"),
])
def test_schema_errors_name_the_path(schema, path):
    with pytest.raises(ProxyError) as info:
        google.json_schema(schema, "p")
    assert info.value.status == 400 and info.value.param == path, info.value.message


# --- generationConfig --------------------------------------------------------------------

def test_generation_config_renames():
    chat, notes = convert([user(text("q"))], generationConfig={
        "maxOutputTokens": 100, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"],
        "candidateCount": 1, "seed": 7, "presencePenalty": 0.1, "frequencyPenalty": 0.2})
    assert {k: v for k, v in chat.items() if k not in ("model", "messages")} == {
        "max_tokens": 100, "temperature": 0.2, "top_p": 0.9, "stop": ["END"], "seed": 7,
        "presence_penalty": 0.1, "frequency_penalty": 0.2}
    assert notes == []


def test_generation_config_snake_case_and_integral_floats():
    chat, notes = convert([user(text("q"))], generation_config={
        "max_output_tokens": 64.0, "top_p": 1, "top_k": 4.0, "stop_sequences": []})
    assert chat["max_tokens"] == 64 and isinstance(chat["max_tokens"], int)
    assert chat["top_p"] == 1 and "stop" not in chat and "top_k" not in chat
    assert "topK dropped" in notes


def test_ignored_generation_fields_are_noted():
    _chat, notes = convert([user(text("q"))], generationConfig={
        "responseModalities": ["TEXT"], "responseLogprobs": True, "mediaResolution": "LOW"})
    assert {"responseModalities ignored", "responseLogprobs ignored",
            "mediaResolution ignored"} <= set(notes)


def test_safety_settings_labels_and_cached_content_are_accepted():
    chat, notes = convert([user(text("q"))], safetySettings=[
        {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
        labels={"team": "x"}, cachedContent="cachedContents/abc")
    assert set(chat) == {"model", "messages"}
    assert notes == ["cachedContent ignored (no context cache here)"]


@pytest.mark.parametrize("config,fmt", [
    ({"responseMimeType": "application/json"}, {"type": "json_object"}),
    ({"responseMimeType": "application/json",
      "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}}},
     {"type": "json_schema", "json_schema": {"name": "response", "schema": {
         "type": "object", "properties": {"a": {"type": "string"}}}}}),
    ({"response_mime_type": "application/json",
      "response_json_schema": {"type": "object", "properties": {"A": {"type": "string"}}}},
     {"type": "json_schema", "json_schema": {"name": "response", "schema": {
         "type": "object", "properties": {"A": {"type": "string"}}}}}),
])
def test_response_format(config, fmt):
    chat, _ = convert([user(text("q"))], generationConfig=config)
    assert chat["response_format"] == fmt


def test_text_plain_sets_no_response_format():
    chat, _ = convert([user(text("q"))], generationConfig={"responseMimeType": "text/plain"})
    assert "response_format" not in chat


@pytest.mark.parametrize("thinking,effort", [
    ({"thinkingBudget": 0}, None),
    ({"thinkingBudget": -1}, None),
    ({"thinkingBudget": 1024}, "low"),
    ({"thinkingBudget": 4096}, "medium"),
    ({"thinking_budget": 16384, "include_thoughts": True}, "high"),
    ({"thinkingBudget": 24576.0}, "high"),
    ({"thinkingLevel": "LOW"}, "low"),
    ({"thinkingLevel": "high"}, "high"),
    ({"thinkingLevel": "MEDIUM"}, "medium"),
    ({"thinkingLevel": "MINIMAL"}, "minimal"),
    ({"thinkingLevel": "XHIGH"}, "high"),
    ({"thinking_level": "HIGH", "thinking_budget": 0}, "high"),
    ({"thinkingLevel": "THINKING_LEVEL_UNSPECIFIED"}, None),
    ({"includeThoughts": True}, None),
])
def test_thinking_config_to_reasoning_effort(thinking, effort):
    chat, _ = convert([user(text("q"))], generationConfig={"thinkingConfig": thinking})
    assert chat.get("reasoning_effort") == effort


def test_thinking_budget_zero_is_noted():
    _chat, notes = convert([user(text("q"))],
                           generationConfig={"thinkingConfig": {"thinkingBudget": 0}})
    assert any("thinking off" in n for n in notes)


def test_wants_thoughts():
    assert google.wants_thoughts({"generationConfig": {"thinkingConfig": {
        "includeThoughts": True}}})
    assert google.wants_thoughts({"generation_config": {"thinking_config": {
        "include_thoughts": True}}})
    for body in ({}, None, {"generationConfig": 5}, {"generationConfig": {"thinkingConfig": []}},
                 {"generationConfig": {"thinkingConfig": {"includeThoughts": "yes"}}}):
        assert google.wants_thoughts(body) is False


@pytest.mark.parametrize("config,path", [
    ("x", "generationConfig"),
    ({"maxOutputTokens": "100"}, "generationConfig.maxOutputTokens"),
    ({"maxOutputTokens": 1.5}, "generationConfig.maxOutputTokens"),
    ({"maxOutputTokens": True}, "generationConfig.maxOutputTokens"),
    ({"temperature": "hot"}, "generationConfig.temperature"),
    ({"topP": None, "top_p": "x"}, "generationConfig.top_p"),
    ({"topK": "4"}, "generationConfig.topK"),
    ({"seed": 1.5}, "generationConfig.seed"),
    ({"stopSequences": "END"}, "generationConfig.stopSequences"),
    ({"stopSequences": ["a", 1]}, "generationConfig.stopSequences[1]"),
    ({"candidateCount": 2}, "generationConfig.candidateCount"),
    ({"candidateCount": "1"}, "generationConfig.candidateCount"),
    ({"responseMimeType": 5}, "generationConfig.responseMimeType"),
    ({"responseMimeType": "text/x.enum"}, "generationConfig.responseMimeType"),
    ({"responseSchema": {"type": "STRING"}}, "generationConfig.responseMimeType"),
    ({"responseMimeType": "application/json", "responseSchema": []},
     "generationConfig.responseSchema"),
    ({"responseMimeType": "application/json", "responseJsonSchema": "x"},
     "generationConfig.responseJsonSchema"),
    ({"thinkingConfig": 5}, "generationConfig.thinkingConfig"),
    ({"thinkingConfig": {"thinkingBudget": "1024"}},
     "generationConfig.thinkingConfig.thinkingBudget"),
    ({"thinkingConfig": {"thinkingBudget": -5}},
     "generationConfig.thinkingConfig.thinkingBudget"),
    ({"thinkingConfig": {"thinkingLevel": "EXTREME"}},
     "generationConfig.thinkingConfig.thinkingLevel"),
    ({"thinkingConfig": {"thinkingLevel": 3}}, "generationConfig.thinkingConfig.thinkingLevel"),
    ({"thinkingConfig": {"includeThoughts": "yes"}},
     "generationConfig.thinkingConfig.includeThoughts"),
])
def test_generation_config_errors_name_the_field(config, path):
    rejected_contents([user(text("q"))], path, generationConfig=config)


def test_errors_are_never_python_exceptions():
    bodies = [{"contents": [user(text("q"))], key: value}
              for key in ("systemInstruction", "tools", "toolConfig", "generationConfig")
              for value in (1, "x", [1], {"parts": 1}, {"functionCallingConfig": 1},
                            {"thinkingConfig": 1}, [{"functionDeclarations": [1]}])]
    bodies += [{"contents": value} for value in (1, "x", [1], [{"parts": [1]}], [None])]
    for body in bodies:
        try:
            google.generate_to_chat(body, "m")
        except ProxyError as err:
            assert err.status == 400
        else:
            pass   # some shapes are acceptable (e.g. a list of tools with no declarations)


# --- a request exactly as google-genai 3.6.1 (Python) sends it ---------------------------

SDK_BODY = json.loads("""{
 "contents": [
  {"parts": [{"text": "hi"}, {"inlineData": {"data": "iVBORy4uLi4=", "mime_type": "image/png"}}],
   "role": "user"},
  {"parts": [{"text": "thinking", "thought": true},
             {"functionCall": {"args": {"city": "Paris"}, "name": "get_weather"}}],
   "role": "model"},
  {"parts": [{"functionResponse": {"name": "get_weather", "response": {"output": "sunny"}}}],
   "role": "user"}],
 "systemInstruction": {"parts": [{"text": "be brief"}], "role": "user"},
 "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
 "tools": [{"googleSearch": {}},
           {"functionDeclarations": [
              {"description": "w", "name": "get_weather",
               "parameters": {"properties": {"city": {"type": "STRING"}}, "required": ["city"],
                              "type": "OBJECT"}},
              {"description": "Weather for a city.", "name": "decl_fn",
               "parameters_json_schema": {"type": "object", "properties": {
                  "city": {"type": "string"}, "days": {"type": "integer", "default": 1}},
                  "required": ["city"]},
               "response_json_schema": {"type": "string"}}]}],
 "toolConfig": {"functionCallingConfig": {"allowedFunctionNames": ["get_weather"],
                                          "mode": "ANY"}},
 "generationConfig": {"temperature": 0.3, "topP": 0.9, "topK": 4.0, "candidateCount": 1,
                      "maxOutputTokens": 50, "stopSequences": ["X"],
                      "responseMimeType": "application/json",
                      "responseSchema": {"properties": {"a": {"type": "STRING"}},
                                         "type": "OBJECT"},
                      "thinkingConfig": {"include_thoughts": true, "thinking_budget": 1024}}
}""")


def test_python_sdk_request_converts():
    chat, notes = google.generate_to_chat(SDK_BODY, "gemini25flash")
    assert chat["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [
            {"type": "text", "text": "hi"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORy4uLi4="}}]},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]
    assert chat["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "w", "parameters": {
            "properties": {"city": {"type": "string"}}, "required": ["city"],
            "type": "object"}}}]
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert chat["reasoning_effort"] == "low" and chat["max_tokens"] == 50
    assert chat["response_format"]["json_schema"]["schema"]["properties"]["a"] == {
        "type": "string"}
    assert google.wants_thoughts(SDK_BODY)
    assert set(notes) == {"thought parts dropped", "topK dropped",
                          "googleSearch tool dropped (Google runs it, not this proxy)",
                          "tools limited to allowedFunctionNames"}


def _mutations(node, path=()):
    """Every (path, replacement) that puts a wrong-typed value somewhere in node."""
    wrong = (None, 1, 1.5, True, "s", [], {}, [1], {"x": 1})
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for key, value in items:
        for replacement in wrong:
            yield path + (key,), replacement
        yield from _mutations(value, path + (key,))


def _replaced(body, path, value):
    body = json.loads(json.dumps(body))
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


def test_any_wrong_type_in_a_real_request_is_a_400_or_accepted():
    for path, value in _mutations(SDK_BODY):
        body = _replaced(SDK_BODY, path, value)
        try:
            google.generate_to_chat(body, "m")
            google.count_tokens_estimate(body)
        except ProxyError as err:
            assert err.status == 400 and err.param, (path, value, err.message)
