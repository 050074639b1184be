"""chat.completion -> Responses `response`; stored responses and their input_items list."""

from __future__ import annotations

import json

from argo_proxy.convert import responses

TOOLS = [{"type": "function", "name": "shell"},
         {"type": "custom", "name": "apply_patch", "format": {"type": "text"}},
         {"type": "namespace", "name": "collaboration", "description": "",
          "tools": [{"type": "function", "name": "spawn_agent"},
                    {"type": "custom", "name": "note"}]},
         {"type": "local_shell"}, {"type": "shell"}, {"type": "apply_patch"},
         {"type": "tool_search", "execution": "client"}]
REQUEST = {"model": "gpt-5", "input": "x", "tools": TOOLS, "instructions": "sys",
           "reasoning": {"effort": "high", "summary": "auto"}, "previous_response_id": "resp_0",
           "text": {"verbosity": "low"}, "metadata": {"k": "v"}, "store": False}


def toolmap():
    return responses.to_chat({"model": "m", "input": "x", "tools": TOOLS})[1]


def call(name, arguments, call_id="call_1"):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def completion(message, finish="stop", usage=None):
    return {"id": "chatcmpl-1", "object": "chat.completion", "choices": [
        {"index": 0, "message": dict({"role": "assistant"}, **message), "finish_reason": finish}],
        "usage": usage or {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


def item_of(name, arguments):
    return responses.call_item(call(name, arguments), toolmap())


# --- one call -> one item ------------------------------------------------------------------------

def test_function_call_item():
    item = item_of("shell", '{"command": ["ls"]}')
    assert item["type"] == "function_call" and item["name"] == "shell"
    assert item["call_id"] == "call_1" and item["arguments"] == '{"command": ["ls"]}'
    assert item["id"].startswith("fc_") and item["status"] == "completed"
    assert "namespace" not in item


def test_namespaced_function_call_item():
    item = item_of("collaboration__spawn_agent", '{"message": "go"}')
    assert (item["type"], item["name"], item["namespace"]) == (
        "function_call", "spawn_agent", "collaboration")


def test_custom_tool_call_item_unwraps_input():
    item = item_of("apply_patch", json.dumps({"input": "*** Begin Patch\n*** End Patch\n"}))
    assert item == {"type": "custom_tool_call", "id": item["id"], "call_id": "call_1",
                    "name": "apply_patch", "input": "*** Begin Patch\n*** End Patch\n",
                    "status": "completed"}
    assert item["id"].startswith("ctc_")
    ns = item_of("collaboration__note", '{"input": "hi"}')
    assert (ns["name"], ns["namespace"], ns["input"]) == ("note", "collaboration", "hi")


def test_custom_input_from_odd_arguments():
    assert responses.custom_input('{"input": "a"}') == "a"
    assert responses.custom_input('{"patch": "b"}') == "b"
    assert responses.custom_input('"c"') == "c"
    assert responses.custom_input("*** Begin Patch") == "*** Begin Patch"
    assert responses.custom_input('{"a": "x", "b": "y"}') == '{"a": "x", "b": "y"}'
    assert responses.custom_input("") == ""


def test_local_shell_call_item():
    item = item_of("local_shell", '{"command": ["ls", "-la"], "workdir": "/w", "timeout_ms": 900}')
    assert item["type"] == "local_shell_call" and item["call_id"] == "call_1"
    assert item["id"].startswith("lsh_") and item["status"] == "completed"
    assert item["action"] == {"type": "exec", "command": ["ls", "-la"], "env": {},
                              "timeout_ms": 900, "working_directory": "/w", "user": None}
    string = item_of("local_shell", '{"command": "ls | wc -l"}')
    assert string["action"]["command"] == ["bash", "-lc", "ls | wc -l"]


def test_unusable_builtin_arguments_stay_a_function_call():
    for name, arguments in (("local_shell", "not json"), ("local_shell", '{"command": []}'),
                            ("apply_patch_2", '{"type": "rename_file", "path": "a"}'),
                            ("shell_2", '{"commands": [1]}')):
        item = item_of(name, arguments)
        assert item["type"] == "function_call" and item["arguments"] == arguments, name


def test_shell_apply_patch_and_tool_search_items():
    sh = item_of("shell_2", '{"commands": ["ls"], "timeout_ms": 5}')
    assert sh["type"] == "shell_call" and sh["action"] == {
        "commands": ["ls"], "timeout_ms": 5, "max_output_length": None}
    ap = item_of("apply_patch_2", '{"type": "update_file", "path": "a.py", "diff": "@@"}')
    assert ap["type"] == "apply_patch_call" and ap["operation"] == {
        "type": "update_file", "path": "a.py", "diff": "@@"}
    ts = item_of("tool_search", '{"query": "calendar"}')
    assert ts["type"] == "tool_search_call" and ts["arguments"] == {"query": "calendar"}
    assert ts["execution"] == "client"


def test_unknown_name_stays_a_function_call():
    item = item_of("made_up", "{}")
    assert item["type"] == "function_call" and item["name"] == "made_up"


# --- whole responses --------------------------------------------------------------------------------

def test_response_from_completion_maps_every_kind():
    calls = [call("shell", '{"command": ["ls"]}', "c1"),
             call("apply_patch", '{"input": "P"}', "c2"),
             call("collaboration__spawn_agent", "{}", "c3"),
             call("local_shell", '{"command": ["pwd"]}', "c4")]
    out = responses.response_from_completion(
        completion({"content": "Working.", "tool_calls": calls, "reasoning_content": "hmm"},
                   "tool_calls"), "gpt-5", REQUEST, toolmap())
    assert [i["type"] for i in out["output"]] == [
        "reasoning", "message", "function_call", "custom_tool_call", "function_call",
        "local_shell_call"]
    assert out["output"][0]["summary"] == [{"type": "summary_text", "text": "hmm"}]
    assert out["output"][0]["id"].startswith("rs_") and "encrypted_content" not in out["output"][0]
    assert out["output"][1]["content"][0]["text"] == "Working."
    assert [i["call_id"] for i in out["output"][2:]] == ["c1", "c2", "c3", "c4"]
    assert out["output"][4]["namespace"] == "collaboration"
    assert out["status"] == "completed" and out["incomplete_details"] is None


def test_response_echoes_the_request():
    out = responses.response_from_completion(completion({"content": "hi"}), "gpt-5", REQUEST,
                                             toolmap(), id="resp_9", created=5)
    assert out["id"] == "resp_9" and out["created_at"] == 5 and out["object"] == "response"
    assert out["model"] == "gpt-5" and out["instructions"] == "sys" and out["tools"] == TOOLS
    assert out["reasoning"] == {"effort": "high", "summary": "auto"}
    assert out["text"] == {"verbosity": "low", "format": {"type": "text"}}
    assert out["previous_response_id"] == "resp_0" and out["metadata"] == {"k": "v"}
    assert out["store"] is False and out["error"] is None


def test_length_is_incomplete_with_max_output_tokens():
    out = responses.response_from_completion(completion({"content": "cut"}, "length"), "m", {})
    assert out["status"] == "incomplete"
    assert out["incomplete_details"] == {"reason": "max_output_tokens"}
    assert out["output"][0]["status"] == "incomplete"


def test_usage_with_reasoning_and_cached_tokens():
    u = {"prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140,
         "prompt_tokens_details": {"cached_tokens": 60},
         "completion_tokens_details": {"reasoning_tokens": 25}}
    out = responses.response_from_completion(completion({"content": "x"}, usage=u), "m", {})
    assert out["usage"] == {"input_tokens": 100,
                            "input_tokens_details": {"cached_tokens": 60, "cache_write_tokens": 0},
                            "output_tokens": 40, "output_tokens_details": {"reasoning_tokens": 25},
                            "total_tokens": 140}
    assert responses.usage(None)["total_tokens"] == 0


def test_refusal_and_empty_and_odd_completions():
    out = responses.response_from_completion(completion({"content": None, "refusal": "No."}),
                                             "m", {})
    assert out["output"][0]["content"] == [{"type": "refusal", "refusal": "No."}]
    assert responses.response_from_completion({}, "m", None)["output"] == []
    assert responses.response_from_completion(None, "m", None)["status"] == "completed"


# --- stored responses ----------------------------------------------------------------------------------

def test_stored_keeps_items_to_replay_as_history():
    reply = responses.response_from_completion(
        completion({"content": None, "tool_calls": [call("shell", "{}", "c1")]}, "tool_calls"),
        "m", REQUEST, toolmap())
    record = responses.stored(reply, "list files")
    assert record["id"] == reply["id"] and record["response"] is reply
    assert record["input_items"] == [{"type": "message", "role": "user", "status": "completed",
                                      "content": [{"type": "input_text", "text": "list files"}],
                                      "id": record["input_items"][0]["id"]}]
    assert record["items"] == record["input_items"] + reply["output"]
    follow = {"model": "m", "tools": TOOLS, "previous_response_id": reply["id"],
              "input": [{"type": "function_call_output", "call_id": "c1", "output": "a b"}]}
    chat, _ = responses.to_chat(follow, history=record["items"])
    assert [m["role"] for m in chat["messages"]] == ["user", "assistant", "tool"]
    later = responses.stored({"id": "resp_2", "output": []}, follow["input"],
                             history=record["items"])
    assert later["items"][:2] == record["items"] and len(later["items"]) == 3


def test_stored_input_items_get_ids_and_types():
    items = responses.input_items([
        {"role": "assistant", "content": "hi"},
        {"type": "function_call_output", "call_id": "c", "output": "x"},
        {"type": "message", "id": "msg_keep", "role": "user", "content": []},
        {"type": "item_reference", "id": "msg_0"}], lookup={"msg_0": {
            "type": "message", "id": "msg_0", "role": "user", "content": []}}.get)
    assert items[0]["content"] == [{"type": "output_text", "text": "hi"}]
    assert items[0]["type"] == "message" and items[0]["id"].startswith("msg_")
    assert items[1]["id"].startswith("fco_") and items[2]["id"] == "msg_keep"
    assert items[3]["id"] == "msg_0" and items[3]["type"] == "message"
    assert responses.input_items(None) == []


def test_input_items_list():
    items = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    body = responses.input_items_list(items)
    assert body == {"object": "list", "data": [{"id": "c"}, {"id": "b"}, {"id": "a"}],
                    "first_id": "c", "last_id": "a", "has_more": False}
    asc = responses.input_items_list(items, order="asc", limit=2)
    assert [i["id"] for i in asc["data"]] == ["a", "b"] and asc["has_more"] is True
    after = responses.input_items_list(items, order="asc", after="a")
    assert [i["id"] for i in after["data"]] == ["b", "c"] and after["first_id"] == "b"
    empty = responses.input_items_list([])
    assert empty["data"] == [] and empty["first_id"] is None and empty["has_more"] is False
