"""The Responses streaming event grammar (ResponsesEncoder) and the incremental decoder of
custom-tool input."""

from __future__ import annotations

import json

import pytest

from argo_proxy.convert import responses
from argo_proxy.convert.encoders import encode_chunk, encode_completion
from argo_proxy.errors import ProxyError

TOOLS = [{"type": "function", "name": "shell"},
         {"type": "custom", "name": "apply_patch", "format": {"type": "text"}},
         {"type": "namespace", "name": "collaboration", "description": "",
          "tools": [{"type": "function", "name": "spawn_agent"}]},
         {"type": "local_shell"}]
PATCH = "*** Begin Patch\n*** Add File: a \"q\".txt\n+caf\u00e9 \U0001F600\\n\n*** End Patch\n"


def toolmap():
    return responses.to_chat({"model": "m", "input": "x", "tools": TOOLS})[1]


def encoder(**kw):
    return responses.ResponsesEncoder("gpt-5", {"model": "gpt-5", "tools": TOOLS}, toolmap(),
                                      id="resp_1", created=1, **kw)


def parse(raw):
    out = []
    for block in raw.decode("utf-8").split("\n\n"):
        if block:
            head, data = block.split("\n", 1)
            assert head.startswith("event: ") and data.startswith("data: ")
            out.append((head[len("event: "):], json.loads(data[len("data: "):])))
    return out


def pieces(text, size):
    return [text[i:i + size] for i in range(0, len(text), size)]


def call(ev, index, call_id, name, arguments, size=7):
    parts = pieces(arguments, size) or [""]
    out = ev.tool_call(index, call_id, name, parts[0])
    for part in parts[1:]:
        out += ev.tool_call(index, None, None, part)
    return out


def check_grammar(events):
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    assert all(d["type"] == t for t, d in events)
    assert events[0][0] == "response.created" and events[1][0] == "response.in_progress"
    added = [d["output_index"] for t, d in events if t == "response.output_item.added"]
    done = [d["output_index"] for t, d in events if t == "response.output_item.done"]
    assert added == done == list(range(len(added)))


# --- every kind in one stream -------------------------------------------------------------------

def test_reasoning_text_and_every_call_kind():
    ev = encoder()
    raw = (ev.start() + ev.reasoning("Let me ") + ev.reasoning("think.") + ev.text("On it.")
           + call(ev, 0, "c1", "shell", '{"command": ["ls"]}')
           + call(ev, 1, "c2", "apply_patch", json.dumps({"input": PATCH}), size=3)
           + call(ev, 2, "c3", "collaboration__spawn_agent", '{"message": "go"}')
           + call(ev, 3, "c4", "local_shell", '{"command": ["pwd"], "workdir": "/w"}')
           + ev.finish("tool_calls")
           + ev.usage({"prompt_tokens": 7, "completion_tokens": 3,
                       "completion_tokens_details": {"reasoning_tokens": 2}}) + ev.end())
    events = parse(raw)
    check_grammar(events)
    types = [t for t, _ in events]
    assert types[2:9] == [
        "response.output_item.added", "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done", "response.reasoning_summary_part.done",
        "response.output_item.done"]
    assert types[-1] == "response.completed"
    final = events[-1][1]["response"]
    assert final["status"] == "completed" and final["id"] == "resp_1"
    assert [i["type"] for i in final["output"]] == [
        "reasoning", "message", "function_call", "custom_tool_call", "function_call",
        "local_shell_call"]
    rs, msg, fn, custom, ns, shell = final["output"]
    assert rs["summary"] == [{"type": "summary_text", "text": "Let me think."}]
    assert msg["content"][0]["text"] == "On it."
    assert fn["arguments"] == '{"command": ["ls"]}' and fn["name"] == "shell"
    assert custom["input"] == PATCH and custom["name"] == "apply_patch"
    assert (ns["name"], ns["namespace"]) == ("spawn_agent", "collaboration")
    assert shell["action"]["command"] == ["pwd"] and shell["action"]["working_directory"] == "/w"
    assert [i["call_id"] for i in final["output"][2:]] == ["c1", "c2", "c3", "c4"]
    assert final["usage"]["output_tokens_details"]["reasoning_tokens"] == 2
    assert final["usage"]["total_tokens"] == 10
    items_done = [d["item"] for t, d in events if t == "response.output_item.done"]
    assert items_done == final["output"]


def test_function_call_events():
    ev = encoder()
    events = parse(ev.start() + call(ev, 0, "c1", "collaboration__spawn_agent", '{"a": 1}', 3)
                   + ev.end())
    check_grammar(events)
    added = events[2][1]["item"]
    assert added == {"type": "function_call", "id": added["id"], "call_id": "c1",
                     "name": "spawn_agent", "arguments": "", "status": "in_progress",
                     "namespace": "collaboration"}
    deltas = [d["delta"] for t, d in events if t == "response.function_call_arguments.delta"]
    assert "".join(deltas) == '{"a": 1}' and len(deltas) == 3
    done = [d for t, d in events if t == "response.function_call_arguments.done"][0]
    assert done["arguments"] == '{"a": 1}' and done["item_id"] == added["id"]


def test_custom_tool_input_streams_unwrapped():
    ev = encoder()
    arguments = json.dumps({"input": PATCH})
    events = parse(ev.start() + call(ev, 0, "c1", "apply_patch", arguments, size=1) + ev.end())
    check_grammar(events)
    added = events[2][1]["item"]
    assert added["type"] == "custom_tool_call" and added["input"] == ""
    deltas = [d["delta"] for t, d in events if t == "response.custom_tool_call_input.delta"]
    assert len(deltas) > 20 and "".join(deltas) == PATCH
    done = [d for t, d in events if t == "response.custom_tool_call_input.done"][0]
    assert done["input"] == PATCH and done["item_id"] == added["id"]
    assert events[-1][1]["response"]["output"][0]["input"] == PATCH


def test_custom_tool_input_without_the_wrapper_comes_whole_at_close():
    ev = encoder()
    events = parse(ev.start() + call(ev, 0, "c1", "apply_patch", "*** Begin Patch\n", 4)
                   + ev.end())
    deltas = [d["delta"] for t, d in events if t == "response.custom_tool_call_input.delta"]
    assert deltas == ["*** Begin Patch\n"]
    done = [d for t, d in events if t == "response.custom_tool_call_input.done"][0]
    assert done["input"] == "*** Begin Patch\n"


def test_local_shell_with_unusable_arguments_falls_back_to_a_function_call():
    ev = encoder()
    events = parse(ev.start() + call(ev, 0, "c1", "local_shell", "ls -la") + ev.end())
    check_grammar(events)
    types = [t for t, _ in events][2:]
    assert types == ["response.output_item.added", "response.function_call_arguments.delta",
                     "response.function_call_arguments.done", "response.output_item.done",
                     "response.completed"]
    assert events[2][1]["item"]["arguments"] == ""
    assert events[-2][1]["item"]["name"] == "local_shell"


def test_local_shell_call_is_one_added_and_done():
    ev = encoder()
    events = parse(ev.start() + call(ev, 0, "c1", "local_shell", '{"command": ["ls"]}') + ev.end())
    assert [t for t, _ in events][2:] == ["response.output_item.added",
                                          "response.output_item.done", "response.completed"]
    assert events[2][1]["item"]["status"] == "in_progress"
    assert events[3][1]["item"]["status"] == "completed"
    assert events[2][1]["item"]["id"] == events[3][1]["item"]["id"]


def test_text_after_a_call_opens_a_new_message():
    ev = encoder()
    events = parse(ev.start() + ev.text("a") + call(ev, 0, "c1", "shell", "{}") + ev.text("b")
                   + ev.end())
    check_grammar(events)
    final = events[-1][1]["response"]["output"]
    assert [i["type"] for i in final] == ["message", "function_call", "message"]
    assert final[0]["id"] != final[2]["id"]


def test_call_without_arguments_has_empty_object_arguments():
    ev = encoder()
    events = parse(ev.start() + ev.tool_call(0, "c1", "shell", "") + ev.end())
    assert events[-1][1]["response"]["output"][0]["arguments"] == "{}"


def test_late_fragment_of_a_finished_call_is_ignored():
    ev = encoder()
    raw = (ev.start() + ev.tool_call(0, "c1", "shell", "{}") + ev.tool_call(1, "c2", "shell", "{}")
           + ev.tool_call(0, None, None, "junk") + ev.end())
    final = parse(raw)[-1][1]["response"]["output"]
    assert [i["arguments"] for i in final] == ["{}", "{}"]


def test_unknown_tool_name_streams_as_a_function_call():
    ev = encoder()
    events = parse(ev.start() + ev.tool_call(0, "c1", "injected_tool", "{}") + ev.end())
    assert events[2][1]["item"]["name"] == "injected_tool"


def test_no_toolmap_means_plain_function_calls():
    ev = responses.ResponsesEncoder("m", {})
    events = parse(ev.start() + ev.tool_call(0, None, "f", "{}") + ev.end())
    item = events[-1][1]["response"]["output"][0]
    assert item["type"] == "function_call" and item["call_id"].startswith("call_")


# --- endings ---------------------------------------------------------------------------------------

def test_length_ends_incomplete():
    ev = encoder()
    events = parse(ev.start() + ev.text("cut sh") + ev.finish("length") + ev.end())
    check_grammar(events)
    assert events[-1][0] == "response.incomplete"
    final = events[-1][1]["response"]
    assert final["status"] == "incomplete"
    assert final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["output"][0]["status"] == "incomplete"


def test_error_is_response_failed_and_drops_the_open_call():
    ev = encoder()
    raw = ev.start() + ev.text("hi") + ev.tool_call(0, "c1", "shell", '{"comm')
    failed = ev.error(ProxyError(502, "upstream went away"))
    events = parse(raw + failed)
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    assert events[-1][0] == "response.failed"
    resp = events[-1][1]["response"]
    assert resp["status"] == "failed"
    assert resp["error"] == {"code": "server_error", "message": "upstream went away"}
    assert [i["type"] for i in resp["output"]] == ["message"]
    assert not any(t == "response.output_item.done" and d["item"]["type"] == "function_call"
                   for t, d in events)
    assert ev.end() == b"" and ev.error(ProxyError(500, "again")) == b""
    assert ev.text("more") == b"" and ev.tool_call(0, "c", "shell", "{}") == b""


@pytest.mark.parametrize("err, code", [
    (ProxyError(429, "slow down"), "rate_limit_exceeded"),
    (ProxyError(400, "maximum context length exceeded"), "context_length_exceeded"),
    (ProxyError(502, "bad gateway", code="argo_down"), "argo_down"),
    (ProxyError(400, "bad"), "invalid_request_error"),
])
def test_error_codes(err, code):
    ev = encoder()
    ev.start()
    assert parse(ev.error(err))[0][1]["response"]["error"]["code"] == code


def test_end_is_idempotent_and_finish_closes_once():
    ev = encoder()
    raw = ev.start() + ev.text("x") + ev.finish("stop") + ev.finish("stop")
    first = ev.end()
    assert ev.end() == b"" and ev.error(ProxyError(500, "late")) == b""
    events = parse(raw + first)
    assert [t for t, _ in events].count("response.output_item.done") == 1
    assert events[-1][0] == "response.completed"


def test_reasoning_signature_alone_and_empty_text_emit_nothing():
    ev = encoder()
    ev.start()
    assert ev.reasoning("", "sig") == b"" and ev.text("") == b""


def test_output_text_helper():
    ev = encoder()
    ev.start()
    ev.text("a")
    ev.tool_call(0, "c", "shell", "{}")
    ev.text("b")
    assert ev.output_text() == "ab"


# --- driven by the hub's chunk driver -------------------------------------------------------------

def test_driven_by_encode_chunk_and_encode_completion():
    ev = encoder()
    chunks = [{"choices": [{"index": 0, "delta": {"reasoning_content": "r"}}]},
              {"choices": [{"index": 0, "delta": {"content": "t"}}]},
              {"choices": [{"index": 0, "delta": {"tool_calls": [
                  {"index": 0, "id": "c1", "type": "function",
                   "function": {"name": "apply_patch", "arguments": '{"inp'}}]}}]},
              {"choices": [{"index": 0, "delta": {"tool_calls": [
                  {"index": 0, "function": {"arguments": 'ut": "P"}'}}]}}]},
              {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
               "usage": {"prompt_tokens": 1, "completion_tokens": 2}}]
    raw = ev.start() + b"".join(encode_chunk(ev, c) for c in chunks) + ev.end()
    final = parse(raw)[-1][1]["response"]
    assert [i["type"] for i in final["output"]] == ["reasoning", "message", "custom_tool_call"]
    assert final["output"][2]["input"] == "P" and final["usage"]["total_tokens"] == 3
    whole = {"choices": [{"message": {"content": "hi", "tool_calls": [
        {"id": "c9", "type": "function", "function": {"name": "local_shell",
                                                     "arguments": '{"command": ["ls"]}'}}]},
        "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 1, "completion_tokens": 1}}
    events = parse(encode_completion(encoder(), whole))
    check_grammar(events)
    assert [i["type"] for i in events[-1][1]["response"]["output"]] == [
        "message", "local_shell_call"]


# --- the incremental decoder ---------------------------------------------------------------------

@pytest.mark.parametrize("text", [PATCH, "", "plain", "\\", '"', "\u2028\t/", "\U0001F600" * 3])
@pytest.mark.parametrize("size", [1, 2, 5, 1000])
def test_input_decoder_matches_json(text, size):
    for arguments in (json.dumps({"input": text}), json.dumps({"input": text}, ensure_ascii=False),
                      ' { "input" :%s , "x": 1}' % json.dumps(text)):
        dec = responses.InputDecoder()
        got = "".join(dec.feed(p) for p in pieces(arguments, size))
        assert got == text and dec.state == "done" and dec.text == text


@pytest.mark.parametrize("arguments", ['{"other": "x", "input": "y"}', "raw text", '["input"]',
                                       '{"input": 5}', '{"input": "a\\qb"}'])
def test_input_decoder_fails_on_other_shapes(arguments):
    dec = responses.InputDecoder()
    for part in pieces(arguments, 2):
        dec.feed(part)
    assert dec.state == "failed" or dec.text == "a"
    assert dec.state != "done"


def test_input_decoder_lone_surrogate_is_replaced():
    dec = responses.InputDecoder()
    assert dec.feed('{"input": "a\\ud800b"}') == "a\ufffdb"
