"""Tests for the Anthropic streaming encoder (hub pieces -> Anthropic SSE) and for
aggregate_stream (raw Anthropic SSE events -> one Message), with round trips."""

from __future__ import annotations

import json
import random

import pytest

from argo_proxy.convert import anthropic
from argo_proxy.convert.anthropic import MessagesEncoder, aggregate_stream
from argo_proxy.errors import ProxyError

BLOCK_DELTAS = {"text": ("text_delta", "citations_delta"),
                "thinking": ("thinking_delta", "signature_delta"),
                "tool_use": ("input_json_delta",)}


def parse_sse(raw):
    """Wire bytes -> [(event, data)], checking each event is `event:` + compact `data:`."""
    assert isinstance(raw, bytes)
    if not raw:
        return []
    assert raw.endswith(b"\n\n")
    events = []
    for chunk in raw.decode("utf-8").split("\n\n")[:-1]:
        head, data_line = chunk.split("\n")
        assert head.startswith("event: ") and data_line.startswith("data: ")
        name, text = head[len("event: "):], data_line[len("data: "):]
        data = json.loads(text)
        assert data["type"] == name
        assert text == json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        events.append((name, data))
    return events


def check_grammar(events):
    """Anthropic's stream grammar: message_start, sequential blocks numbered from 0, one
    open at a time, deltas of the block's kind, then message_delta + message_stop; or a
    final error event. Pings may come anywhere after message_start."""
    names = [n for n, _ in events]
    if names and names[-1] == "error":
        assert names.count("error") == 1
        body = [e for e in events[:-1] if e[0] != "ping"]
        if body:
            assert body[0][0] == "message_start"
        _check_blocks(body[1:], allow_open=True)
        return
    assert names[0] == "message_start" and names.count("message_start") == 1
    assert names[-2:] == ["message_delta", "message_stop"]
    assert names.count("message_delta") == 1 and names.count("message_stop") == 1
    assert "ping" not in names[-2:]
    _check_blocks([e for e in events[1:-2] if e[0] != "ping"], allow_open=False)


def _check_blocks(events, allow_open):
    open_block, next_index = None, 0
    for name, data in events:
        if name == "content_block_start":
            assert open_block is None and data["index"] == next_index
            open_block = (data["index"], data["content_block"]["type"])
            next_index += 1
        elif name == "content_block_delta":
            assert open_block is not None and data["index"] == open_block[0]
            assert data["delta"]["type"] in BLOCK_DELTAS[open_block[1]]
        elif name == "content_block_stop":
            assert open_block is not None and data["index"] == open_block[0]
            open_block = None
        else:
            raise AssertionError("unexpected %s inside the message" % name)
    assert allow_open or open_block is None


def run(encoder, *calls):
    """Apply calls [(method, args...)] and return the parsed, grammar-checked events."""
    raw = b"".join(getattr(encoder, c[0])(*c[1:]) for c in calls)
    events = parse_sse(raw)
    check_grammar(events)
    return events


def message_of(events):
    return aggregate_stream(events)


# --- the encoder: wire format --------------------------------------------------------

def test_text_stream_exact_wire_bytes():
    enc = MessagesEncoder("claude-x", input_tokens=12)
    raw = (enc.start() + enc.text("Hé") + enc.text("llo") + enc.finish("stop")
           + enc.usage({"prompt_tokens": 13, "completion_tokens": 2}) + enc.end())
    mid = enc.id
    expected = (
        'event: message_start\ndata: {"type":"message_start","message":{"id":"%s",'
        '"type":"message","role":"assistant","model":"claude-x","content":[],'
        '"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":0,'
        '"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}\n\n'
        'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        '"content_block":{"type":"text","text":""}}\n\n'
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        '"delta":{"type":"text_delta","text":"Hé"}}\n\n'
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        '"delta":{"type":"text_delta","text":"llo"}}\n\n'
        'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
        'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn",'
        '"stop_sequence":null},"usage":{"input_tokens":13,"output_tokens":2}}\n\n'
        'event: message_stop\ndata: {"type":"message_stop"}\n\n') % mid
    assert raw == expected.encode("utf-8")
    assert mid.startswith("msg_")


def test_each_method_returns_bytes():
    enc = MessagesEncoder("m")
    for out in (enc.start(), enc.start(), enc.ping(), enc.text(""), enc.usage({}),
                enc.reasoning(""), enc.finish(None), enc.end(), enc.end(), enc.text("late"),
                enc.error(ProxyError(500, "x")), enc.ping()):
        assert isinstance(out, bytes)


def test_empty_stream():
    events = run(MessagesEncoder("m", 4), ("end",))
    assert [n for n, _ in events] == ["message_start", "message_delta", "message_stop"]
    assert events[1][1]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[1][1]["usage"] == {"input_tokens": 4, "output_tokens": 0}


def test_calls_before_start_start_the_message():
    events = run(MessagesEncoder("m"), ("text", "hi"), ("end",))
    assert [n for n, _ in events][:2] == ["message_start", "content_block_start"]
    events = run(MessagesEncoder("m"), ("ping",), ("end",))
    assert [n for n, _ in events] == ["message_start", "ping", "message_delta", "message_stop"]


def test_end_is_idempotent_and_later_calls_send_nothing():
    enc = MessagesEncoder("m")
    assert enc.end()
    for method, args in (("end", ()), ("text", ("x",)), ("reasoning", ("y",)),
                         ("tool_call", (0, "c", "f", "{}")), ("finish", ("stop",)),
                         ("ping", ()), ("start", ()), ("error", (ProxyError(500, "e"),))):
        assert getattr(enc, method)(*args) == b""


def test_empty_text_opens_no_block():
    events = run(MessagesEncoder("m"), ("text", ""), ("text", None), ("end",))
    assert "content_block_start" not in [n for n, _ in events]


def test_thinking_then_text_with_signature():
    events = run(MessagesEncoder("m"), ("reasoning", "Let me "), ("reasoning", "see."),
                 ("reasoning", "", "c2ln"), ("text", "42"), ("end",))
    names = [n for n, _ in events]
    assert names == ["message_start", "content_block_start", "content_block_delta",
                     "content_block_delta", "content_block_delta", "content_block_stop",
                     "content_block_start", "content_block_delta", "content_block_stop",
                     "message_delta", "message_stop"]
    assert events[1][1]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert events[4][1]["delta"] == {"type": "signature_delta", "signature": "c2ln"}
    assert message_of(events)["content"] == [
        {"type": "thinking", "thinking": "Let me see.", "signature": "c2ln"},
        {"type": "text", "text": "42"}]


def test_signature_given_with_text_is_sent_just_before_the_block_closes():
    events = run(MessagesEncoder("m"), ("reasoning", "a", "sig"), ("reasoning", "b"),
                 ("finish", "stop"), ("end",))
    deltas = [d["delta"] for n, d in events if n == "content_block_delta"]
    assert deltas == [{"type": "thinking_delta", "thinking": "a"},
                      {"type": "thinking_delta", "thinking": "b"},
                      {"type": "signature_delta", "signature": "sig"}]


def test_reasoning_after_text_opens_a_new_block():
    events = run(MessagesEncoder("m"), ("text", "a"), ("reasoning", "r"), ("text", "b"), ("end",))
    starts = [d["content_block"]["type"] for n, d in events if n == "content_block_start"]
    assert starts == ["text", "thinking", "text"]


def test_several_tool_calls_with_fragments_then_text():
    events = run(MessagesEncoder("m"),
                 ("text", "Checking."),
                 ("tool_call", 0, "call_a", "get_weather", ""),
                 ("tool_call", 0, None, None, '{"city":'),
                 ("tool_call", 0, None, None, '"Paris"}'),
                 ("tool_call", 1, "call_b", "get_time", '{"tz":"UTC"}'),
                 ("tool_call", 2, None, "no_args", ""),
                 ("finish", "tool_calls"),
                 ("text", "after"),
                 ("end",))
    starts = [d for n, d in events if n == "content_block_start"]
    assert [d["index"] for d in starts] == [0, 1, 2, 3, 4]
    assert starts[1]["content_block"] == {"type": "tool_use", "id": "call_a",
                                          "name": "get_weather", "input": {}}
    json_deltas = [d["delta"]["partial_json"] for n, d in events
                   if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta"]
    assert json_deltas == ['{"city":', '"Paris"}', '{"tz":"UTC"}']   # no empty fragments
    message = message_of(events)
    assert message["stop_reason"] == "tool_use"
    blocks = message["content"]
    assert blocks[0] == {"type": "text", "text": "Checking."}
    assert blocks[1]["input"] == {"city": "Paris"} and blocks[2]["input"] == {"tz": "UTC"}
    assert blocks[3]["name"] == "no_args" and blocks[3]["input"] == {}
    assert blocks[3]["id"].startswith("toolu_")
    assert blocks[4] == {"type": "text", "text": "after"}


def test_fragments_repeating_id_and_name_continue_the_call():
    events = run(MessagesEncoder("m"), ("tool_call", 0, "c1", "f", '{"a"'),
                 ("tool_call", 0, "c1", "f", ":1}"), ("end",))
    assert [n for n, _ in events].count("content_block_start") == 1
    assert message_of(events)["content"][0]["input"] == {"a": 1}


def test_same_index_with_a_new_id_is_a_new_call():
    # Some OpenAI-compatible servers number every call 0.
    events = run(MessagesEncoder("m"), ("tool_call", 0, "c1", "f", "{}"),
                 ("tool_call", 0, "c2", "g", '{"x":2}'), ("end",))
    blocks = message_of(events)["content"]
    assert [(b["id"], b["name"], b["input"]) for b in blocks] == [("c1", "f", {}),
                                                                  ("c2", "g", {"x": 2})]


def test_fragment_for_a_closed_call_is_dropped_and_counted():
    enc = MessagesEncoder("m")
    events = run(enc, ("tool_call", 0, "c1", "f", '{"a":1}'), ("text", "between"),
                 ("tool_call", 0, None, None, "junk"), ("end",))
    assert enc.dropped_fragments == 1
    assert "junk" not in json.dumps(events)


@pytest.mark.parametrize("reason, expected", [
    ("stop", "end_turn"), ("length", "max_tokens"), ("tool_calls", "tool_use"),
    ("content_filter", "refusal"), (None, "end_turn"), ("function_call", "tool_use"),
    ("something_new", "end_turn")])
def test_finish_reason_mapping(reason, expected):
    events = run(MessagesEncoder("m"), ("text", "x"), ("finish", reason), ("end",))
    assert events[-2][1]["delta"]["stop_reason"] == expected


def test_stop_with_tool_calls_is_tool_use():
    events = run(MessagesEncoder("m"), ("tool_call", 0, "c", "f", "{}"), ("finish", "stop"),
                 ("end",))
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_finish_closes_the_open_block_and_sends_nothing_else():
    enc = MessagesEncoder("m")
    enc.start()
    enc.text("x")
    assert [n for n, _ in parse_sse(enc.finish("stop"))] == ["content_block_stop"]
    assert enc.finish("stop") == b""


def test_usage_estimate_when_upstream_reports_none():
    events = run(MessagesEncoder("m", input_tokens=9), ("text", "abcdefgh"), ("text", "é"),
                 ("tool_call", 0, "c", "f", '{"k":1}'), ("end",))
    # ceil(bytes / 4) of everything streamed: 8 + 2 + 7 = 17 bytes -> 5
    assert events[-2][1]["usage"] == {"input_tokens": 9, "output_tokens": 5}


def test_usage_from_upstream_wins():
    events = run(MessagesEncoder("m", input_tokens=9), ("text", "abc"),
                 ("usage", {"prompt_tokens": 30, "completion_tokens": 7, "total_tokens": 37}),
                 ("usage", None), ("end",))
    assert events[-2][1]["usage"] == {"input_tokens": 30, "output_tokens": 7}


@pytest.mark.parametrize("status, kind", [(529, "overloaded_error"), (429, "rate_limit_error"),
                                          (400, "invalid_request_error"), (502, "api_error"),
                                          (504, "timeout_error")])
def test_error_event_ends_the_stream(status, kind):
    enc = MessagesEncoder("m")
    events = run(enc, ("text", "partial"), ("error", ProxyError(status, "it broke")), ("end",))
    assert events[-1] == ("error", {"type": "error",
                                    "error": {"type": kind, "message": "it broke"}})
    assert "message_stop" not in [n for n, _ in events]
    with pytest.raises(ProxyError) as info:
        aggregate_stream(events)
    assert info.value.message == "it broke"


def test_error_from_a_plain_exception_is_an_api_error():
    events = run(MessagesEncoder("m"), ("text", "x"), ("error", RuntimeError("socket closed")))
    assert events[-1][1] == {"type": "error",
                             "error": {"type": "api_error", "message": "socket closed"}}


def test_error_before_anything_is_just_the_error():
    events = run(MessagesEncoder("m"), ("error", ProxyError(503, "no upstream")))
    assert [n for n, _ in events] == ["error"]


# --- the encoder under random call orders ---------------------------------------------

def _random_calls(rnd):
    """A random call sequence and the content it should produce."""
    calls, expected, tool_index = [], [], -1
    for _ in range(rnd.randint(0, 14)):
        pick = rnd.choice(["text", "reasoning", "tool", "tool", "ping", "usage", "finish"])
        if pick == "text":
            s = rnd.choice(["a", "bc", "é", "", "\n"])
            calls.append(("text", s))
            _extend(expected, "text", s)
        elif pick == "reasoning":
            s, sig = rnd.choice(["t", "", "uv"]), rnd.choice([None, "s1"])
            calls.append(("reasoning", s, sig))
            _extend(expected, "thinking", s, sig)
        elif pick == "tool":
            tool_index += 1
            args = {"n": tool_index, "s": "x" * rnd.randint(0, 5)}
            text = json.dumps(args)
            cut = rnd.randint(0, len(text))
            calls.append(("tool_call", tool_index, "call_%d" % tool_index, "f", text[:cut]))
            calls.append(("tool_call", tool_index, None, None, text[cut:]))
            expected.append({"type": "tool_use", "id": "call_%d" % tool_index, "name": "f",
                             "input": args})
        elif pick == "finish":
            calls.append(("finish", rnd.choice(["stop", "length", None])))
            expected.append(None)                       # closes any open block
        else:
            calls.append((pick,) if pick == "ping" else ("usage", {"completion_tokens": 3}))
    calls.append(("end",))
    blocks = [b for b in expected if b is not None]
    finishes = [c[1] for c in calls if c[0] == "finish"]
    if finishes and finishes[-1] == "length":
        stop = "max_tokens"
    else:
        stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    return calls, blocks, stop


def _extend(expected, kind, s, signature=None):
    last = expected[-1] if expected else None
    if not s and not signature:
        return
    if last is None or last["type"] != kind:
        last = {"type": kind, "text": ""} if kind == "text" else \
            {"type": kind, "thinking": "", "signature": ""}
        expected.append(last)
    last["text" if kind == "text" else "thinking"] += s or ""
    if signature:
        last["signature"] = signature


@pytest.mark.parametrize("seed", range(60))
def test_any_call_order_gives_the_grammar_and_the_content(seed):
    rnd = random.Random(seed)
    calls, expected, stop = _random_calls(rnd)
    events = run(MessagesEncoder("m", input_tokens=1), *calls)
    message = message_of(events)
    assert message["content"] == expected and message["stop_reason"] == stop


# --- round trips ------------------------------------------------------------------------

COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "Looking.", "reasoning_content": "Need weather.",
        "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "call_2", "type": "function",
             "function": {"name": "get_time", "arguments": "{}"}}]}}],
    "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52}}


def _stream_completion(completion):
    """Stream a completion's pieces through the encoder the way chunks would arrive."""
    msg = completion["choices"][0]["message"]
    enc = MessagesEncoder("claude-x", input_tokens=1)
    out = enc.start() + enc.reasoning(msg["reasoning_content"]) + enc.text(msg["content"])
    for i, call in enumerate(msg["tool_calls"]):
        args = call["function"]["arguments"]
        out += enc.tool_call(i, call["id"], call["function"]["name"], args[:3])
        out += enc.tool_call(i, None, None, args[3:])
    out += enc.finish(completion["choices"][0]["finish_reason"])
    out += enc.usage(completion["usage"]) + enc.end()
    return parse_sse(out)


def test_streamed_and_whole_replies_agree():
    whole = anthropic.completion_to_message(COMPLETION, "claude-x")
    events = _stream_completion(COMPLETION)
    check_grammar(events)
    streamed = aggregate_stream(events)
    for key in ("type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"):
        assert streamed[key] == whole[key], key


def test_reply_goes_back_as_history_unchanged():
    """A Message the proxy produced, sent back by the client as history, gives the
    same tool calls the upstream made."""
    whole = anthropic.completion_to_message(COMPLETION, "claude-x")
    chat, notes = anthropic.messages_to_chat({"messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": whole["content"]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": "noon"}]}]})
    turn = chat["messages"][1]
    assert turn["content"] == "Looking."
    original = COMPLETION["choices"][0]["message"]["tool_calls"]
    assert [c["id"] for c in turn["tool_calls"]] == [c["id"] for c in original]
    assert [json.loads(c["function"]["arguments"]) for c in turn["tool_calls"]] == \
        [json.loads(c["function"]["arguments"]) for c in original]
    assert [m["tool_call_id"] for m in chat["messages"][2:]] == ["call_1", "call_2"]
    assert notes == ["thinking blocks dropped"]
