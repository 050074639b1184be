"""Tests for Gemini replies: chat.completion -> GenerateContentResponse, the stream encoder
(SSE and JSON-array forms), the error envelope, countTokens and models.list."""

from __future__ import annotations

import json

import pytest

from argo_proxy.convert import google
from argo_proxy.convert.encoders import encode_chunk, encode_completion
from argo_proxy.errors import ProxyError


def completion(message, finish="stop", usage=None):
    out = {"id": "chatcmpl-1", "object": "chat.completion", "model": "m",
           "choices": [{"index": 0, "message": dict({"role": "assistant"}, **message),
                        "finish_reason": finish}]}
    if usage is not None:
        out["usage"] = usage
    return out


def tool_call(call_id, name, arguments):
    return {"id": call_id, "type": "function",
            "function": {"name": name, "arguments": arguments}}


def candidate(reply):
    assert len(reply["candidates"]) == 1
    return reply["candidates"][0]


# --- chat.completion -> GenerateContentResponse ------------------------------------------

def test_text_reply():
    reply = google.completion_to_generate(completion(
        {"content": "Hello"}, usage={"prompt_tokens": 5, "completion_tokens": 2}), "gemini25pro")
    assert candidate(reply) == {"content": {"role": "model", "parts": [{"text": "Hello"}]},
                                "finishReason": "STOP", "index": 0}
    assert reply["usageMetadata"] == {"promptTokenCount": 5, "candidatesTokenCount": 2,
                                      "totalTokenCount": 7}
    assert reply["modelVersion"] == "gemini25pro"
    assert isinstance(reply["responseId"], str) and reply["responseId"]


def test_reasoning_becomes_a_thought_part_and_its_tokens_are_counted_apart():
    reply = google.completion_to_generate(completion(
        {"content": "42", "reasoning_content": "Let me think."},
        usage={"prompt_tokens": 10, "completion_tokens": 30,
               "completion_tokens_details": {"reasoning_tokens": 20},
               "prompt_tokens_details": {"cached_tokens": 4}}), "m")
    assert candidate(reply)["content"]["parts"] == [
        {"text": "Let me think.", "thought": True}, {"text": "42"}]
    assert reply["usageMetadata"] == {"promptTokenCount": 10, "candidatesTokenCount": 10,
                                      "thoughtsTokenCount": 20, "totalTokenCount": 40,
                                      "cachedContentTokenCount": 4}


def test_thoughts_can_be_left_out():
    reply = google.completion_to_generate(completion(
        {"content": "42", "reasoning_content": "hmm"}), "m", include_thoughts=False)
    assert candidate(reply)["content"]["parts"] == [{"text": "42"}]


def test_tool_calls_become_function_call_parts():
    reply = google.completion_to_generate(completion({"content": None, "tool_calls": [
        tool_call("call_a", "get_weather", '{"city":"Paris"}'),
        tool_call("call_b", "get_time", ""),
        tool_call(None, "broken", "{not json")]}, finish="tool_calls"), "m")
    parts = candidate(reply)["content"]["parts"]
    assert parts[:2] == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_a"}},
        {"functionCall": {"name": "get_time", "args": {}, "id": "call_b"}}]
    assert parts[2]["functionCall"]["args"] == {}
    assert parts[2]["functionCall"]["id"].startswith("call_")
    assert candidate(reply)["finishReason"] == "STOP"


@pytest.mark.parametrize("finish,reason", [
    ("stop", "STOP"), ("length", "MAX_TOKENS"), ("tool_calls", "STOP"),
    ("function_call", "STOP"), ("content_filter", "SAFETY"), (None, "STOP"),
    ("something_new", "OTHER")])
def test_finish_reasons(finish, reason):
    reply = google.completion_to_generate(completion({"content": "x"}, finish=finish), "m")
    assert candidate(reply)["finishReason"] == reason
    assert google.finish_reason(finish) == reason


def test_empty_reply_still_has_a_part():
    reply = google.completion_to_generate(completion({"content": None}), "m")
    assert candidate(reply)["content"]["parts"] == [{"text": ""}]


def test_refusal_and_text_parts_content():
    reply = google.completion_to_generate(completion({"content": None, "refusal": "No."}), "m")
    assert candidate(reply)["content"]["parts"] == [{"text": "No."}]
    reply = google.completion_to_generate(completion(
        {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}), "m")
    assert candidate(reply)["content"]["parts"] == [{"text": "ab"}]


def test_missing_usage_is_estimated():
    reply = google.completion_to_generate(completion(
        {"content": "12345678", "reasoning_content": "abcd"}), "m", prompt_tokens=9)
    assert reply["usageMetadata"] == {"promptTokenCount": 9, "candidatesTokenCount": 2,
                                      "thoughtsTokenCount": 1, "totalTokenCount": 12}


@pytest.mark.parametrize("bad", [None, [], {"choices": []}, {"choices": [5]},
                                 {"choices": [{"message": "x"}]}])
def test_malformed_upstream_reply_is_a_502(bad):
    with pytest.raises(ProxyError) as info:
        google.completion_to_generate(bad, "m")
    assert info.value.status == 502


# --- error envelope ----------------------------------------------------------------------

@pytest.mark.parametrize("status,name", [
    (400, "INVALID_ARGUMENT"), (401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED"),
    (404, "NOT_FOUND"), (413, "INVALID_ARGUMENT"), (429, "RESOURCE_EXHAUSTED"),
    (500, "INTERNAL"), (502, "INTERNAL"), (503, "UNAVAILABLE"), (504, "DEADLINE_EXCEEDED"),
    (418, "INVALID_ARGUMENT"), (599, "INTERNAL")])
def test_error_body(status, name):
    assert google.error_body(status, "boom") == {
        "error": {"code": status, "message": "boom", "status": name}}


# --- the stream: SSE ------------------------------------------------------------------

def sse_events(data):
    """The JSON of each `data:` event; every event is CRLF framed."""
    assert data.endswith(b"\r\n\r\n")
    events = data.split(b"\r\n\r\n")[:-1]
    assert all(e.startswith(b"data: ") for e in events), events
    return [json.loads(e[len(b"data: "):]) for e in events]


def chunk(delta=None, finish=None, usage=None):
    out = {"choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}
    if usage is not None:
        out["usage"] = usage
    return out


def run(encoder, chunks):
    out = encoder.start()
    for c in chunks:
        out += encode_chunk(encoder, c)
    return out + encoder.end()


def parts_of(events):
    return [p for e in events for p in e["candidates"][0]["content"]["parts"]]


def test_sse_text_stream():
    enc = google.GenerateEncoder("gemini25flash", prompt_tokens=3)
    assert enc.content_type == "text/event-stream"
    data = run(enc, [chunk({"role": "assistant", "content": ""}), chunk({"content": "Hel"}),
                     chunk({"content": "lo"}), chunk(finish="stop"),
                     {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2}}])
    events = sse_events(data)
    assert parts_of(events) == [{"text": "Hel"}, {"text": "lo"}, {"text": ""}]
    assert all(e["modelVersion"] == "gemini25flash" for e in events)
    assert len({e["responseId"] for e in events}) == 1
    assert all("finishReason" not in e["candidates"][0] for e in events[:-1])
    assert all("usageMetadata" not in e for e in events[:-1])
    last = events[-1]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert last["usageMetadata"] == {"promptTokenCount": 4, "candidatesTokenCount": 2,
                                     "totalTokenCount": 6}


def test_sse_reasoning_is_a_thought_part_unless_left_out():
    events = sse_events(run(google.GenerateEncoder("m"), [
        chunk({"reasoning_content": "hmm"}), chunk({"content": "ok"}), chunk(finish="stop")]))
    assert parts_of(events)[:2] == [{"text": "hmm", "thought": True}, {"text": "ok"}]
    events = sse_events(run(google.GenerateEncoder("m", include_thoughts=False), [
        chunk({"reasoning_content": "hmm"}), chunk({"content": "ok"}), chunk(finish="stop")]))
    assert parts_of(events) == [{"text": "ok"}, {"text": ""}]
    # ...but their tokens still count when estimated
    assert events[-1]["usageMetadata"]["thoughtsTokenCount"] == 1


def fragments(index, call_id, name, pieces):
    out = [chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                  "function": {"name": name, "arguments": pieces[0]}}]})]
    out += [chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]})
            for p in pieces[1:]]
    return out


def test_function_calls_are_sent_whole_when_complete():
    enc = google.GenerateEncoder("m")
    out = enc.start() + encode_chunk(enc, chunk({"content": "Checking."}))
    for c in fragments(0, "call_a", "get_weather", ["", '{"city":', '"Paris"}']):
        piece = encode_chunk(enc, c)
        assert piece == b""                       # buffered: arguments are not streamed
        out += piece
    second = b"".join(encode_chunk(enc, c) for c in fragments(1, "call_b", "get_time", ["{}"]))
    assert b"get_weather" in second and b"get_time" not in second
    out += second + encode_chunk(enc, chunk(finish="tool_calls")) + enc.end()
    events = sse_events(out)
    assert [p for p in parts_of(events) if "functionCall" in p] == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_a"}},
        {"functionCall": {"name": "get_time", "args": {}, "id": "call_b"}}]
    last = events[-1]["candidates"][0]
    assert last["content"]["parts"] == [
        {"functionCall": {"name": "get_time", "args": {}, "id": "call_b"}}]
    assert last["finishReason"] == "STOP"


def test_a_call_reusing_an_index_with_a_new_id_is_a_new_call():
    enc = google.GenerateEncoder("m")
    chunks = fragments(0, "c1", "f", ['{"a":1}']) + fragments(0, "c2", "g", ['{"b":2}'])
    events = sse_events(run(enc, chunks))
    calls = [p["functionCall"] for p in parts_of(events) if "functionCall" in p]
    assert [(c["id"], c["name"], c["args"]) for c in calls] == [("c1", "f", {"a": 1}),
                                                                ("c2", "g", {"b": 2})]


def test_late_fragments_of_a_sent_call_are_dropped_and_counted():
    enc = google.GenerateEncoder("m")
    chunks = fragments(0, "c1", "f", ["{}"]) + fragments(1, "c2", "g", ["{}"])
    chunks.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": "x"}}]}))
    events = sse_events(run(enc, chunks))
    assert len([p for p in parts_of(events) if "functionCall" in p]) == 2
    assert enc.dropped_fragments == 1


def test_call_without_id_gets_one():
    events = sse_events(run(google.GenerateEncoder("m"), fragments(0, None, "f", ["{}"])))
    assert events[-1]["candidates"][0]["content"]["parts"][0]["functionCall"]["id"].startswith(
        "call_")


@pytest.mark.parametrize("finish,reason", [("length", "MAX_TOKENS"),
                                           ("content_filter", "SAFETY"), (None, "STOP")])
def test_stream_finish_reason(finish, reason):
    chunks = [chunk({"content": "x"})] + ([chunk(finish=finish)] if finish else [])
    events = sse_events(run(google.GenerateEncoder("m"), chunks))
    assert events[-1]["candidates"][0]["finishReason"] == reason


def test_usage_estimated_when_the_upstream_reports_none():
    enc = google.GenerateEncoder("m", prompt_tokens=11)
    events = sse_events(run(enc, [chunk({"content": "12345678"}), chunk(finish="stop")]))
    assert events[-1]["usageMetadata"] == {"promptTokenCount": 11, "candidatesTokenCount": 2,
                                           "totalTokenCount": 13}


def test_sse_error_event_is_googles_envelope_and_ends_the_stream():
    enc = google.GenerateEncoder("m")
    out = enc.start() + enc.text("partial") + enc.error(ProxyError(503, "Argo went away"))
    events = sse_events(out)
    assert events[-1] == {"error": {"code": 503, "message": "Argo went away",
                                    "status": "UNAVAILABLE"}}
    assert list(events[-1]) == ["error"]          # the SDK checks the text starts {"error":
    assert enc.end() == b"" and enc.text("more") == b"" and enc.error(ProxyError(500, "x")) == b""


def test_error_from_a_plain_exception():
    events = sse_events(google.GenerateEncoder("m").error(RuntimeError("kaput")))
    assert events == [{"error": {"code": 500, "message": "kaput", "status": "INTERNAL"}}]


def test_methods_after_end_send_nothing_and_end_is_idempotent():
    enc = google.GenerateEncoder("m")
    first = enc.start() + enc.end()
    assert len(sse_events(first)) == 1
    assert enc.end() == b"" and enc.text("x") == b"" and enc.reasoning("y") == b""
    assert enc.tool_call(0, "c", "f", "{}") == b"" and enc.finish("stop") == b""
    assert enc.start() == b""


def test_empty_pieces_send_nothing():
    enc = google.GenerateEncoder("m")
    assert enc.start() == b""
    assert enc.text("") == b"" and enc.reasoning("") == b"" and enc.reasoning("", "sig") == b""
    assert enc.usage(None) == b"" and enc.usage({"prompt_tokens": 1}) == b""


def test_encode_completion_replays_a_whole_reply():
    enc = google.GenerateEncoder("m")
    data = encode_completion(enc, completion({"content": "hi", "tool_calls": [
        tool_call("c1", "f", '{"x":1}')]}, finish="tool_calls",
        usage={"prompt_tokens": 1, "completion_tokens": 1}))
    events = sse_events(data)
    assert parts_of(events) == [{"text": "hi"},
                                {"functionCall": {"name": "f", "args": {"x": 1}, "id": "c1"}}]


def test_keepalive_bytes_fit_each_form():
    assert google.GenerateEncoder("m").keepalive.startswith(b":")
    assert google.GenerateEncoder("m", sse=False).keepalive.strip() == b""


# --- the stream: JSON array ------------------------------------------------------------

def test_array_form_is_one_json_array_written_piece_by_piece():
    enc = google.GenerateEncoder("m", sse=False)
    assert enc.content_type == "application/json"
    pieces = [enc.start(), enc.text("a"), enc.text("b"), enc.finish("stop"), enc.end()]
    assert pieces[0] == b"["
    assert pieces[1].startswith(b"{") and pieces[2].startswith(b",")
    assert pieces[3] == b"" and pieces[4].endswith(b"]")
    doc = json.loads(b"".join(pieces))
    assert [e["candidates"][0]["content"]["parts"] for e in doc] == [
        [{"text": "a"}], [{"text": "b"}], [{"text": ""}]]
    assert doc[-1]["candidates"][0]["finishReason"] == "STOP" and "usageMetadata" in doc[-1]


def test_array_form_with_calls():
    enc = google.GenerateEncoder("m", sse=False)
    doc = json.loads(run(enc, fragments(0, "c1", "f", ['{"a"', ":1}"]) + [chunk(finish="stop")]))
    assert doc[-1]["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"name": "f", "args": {"a": 1}, "id": "c1"}}]


def test_array_form_error_closes_the_array():
    enc = google.GenerateEncoder("m", sse=False)
    doc = json.loads(enc.start() + enc.text("x") + enc.error(ProxyError(429, "slow down")))
    assert doc[-1] == {"error": {"code": 429, "message": "slow down",
                                 "status": "RESOURCE_EXHAUSTED"}}
    assert enc.end() == b""


def test_array_form_error_before_anything_else():
    enc = google.GenerateEncoder("m", sse=False)
    assert json.loads(enc.error(ProxyError(504, "late"))) == [
        {"error": {"code": 504, "message": "late", "status": "DEADLINE_EXCEEDED"}}]


def test_array_form_without_start_call_is_still_valid():
    enc = google.GenerateEncoder("m", sse=False)
    assert json.loads(enc.text("x") + enc.end())[0]["candidates"][0]["content"]["parts"] == [
        {"text": "x"}]


# --- countTokens ----------------------------------------------------------------------

def test_count_tokens_counts_contents_system_and_tools():
    body = {"contents": [{"role": "user", "parts": [{"text": "12345678"}]}]}
    assert google.count_tokens_estimate(body) == {"totalTokens": 2}
    body["systemInstruction"] = {"parts": [{"text": "abcd"}]}
    assert google.count_tokens_estimate(body) == {"totalTokens": 3}
    body["tools"] = [{"functionDeclarations": [{"name": "f"}]}]
    assert google.count_tokens_estimate(body)["totalTokens"] > 3


def test_count_tokens_reads_a_nested_generate_content_request():
    inner = {"model": "models/x", "contents": [{"role": "user", "parts": [{"text": "12345678"}]}]}
    assert google.count_tokens_estimate({"generateContentRequest": inner}) == {"totalTokens": 2}
    assert google.count_tokens_estimate({"generate_content_request": inner}) == {
        "totalTokens": 2}


def test_count_tokens_errors_name_the_nested_path():
    with pytest.raises(ProxyError) as info:
        google.count_tokens_estimate({"generateContentRequest": {"contents": [{"parts": 5}]}})
    assert info.value.param == "generateContentRequest.contents[0].parts"
    for bad in (None, [], {"generateContentRequest": "x"}, {}):
        with pytest.raises(ProxyError) as info:
            google.count_tokens_estimate(bad)
        assert info.value.status == 400


# --- models ------------------------------------------------------------------------------

def test_model_entry_and_list():
    entries = [{"id": "argo:gpt-4o", "owned_by": "openai", "internal_name": "gpt4o"},
               {"id": "claudeopus45", "owned_by": "anthropic"},
               {"id": "gemini25pro", "owned_by": "google"},
               {"id": "mystery"}]
    listing = google.model_list(entries)
    models = listing["models"]
    assert [m["name"] for m in models] == ["models/argo:gpt-4o", "models/claudeopus45",
                                           "models/gemini25pro", "models/mystery"]
    first = models[0]
    assert first["baseModelId"] == "argo:gpt-4o" and first["displayName"] == "argo:gpt-4o"
    assert "gpt4o" in first["description"] and first["version"]
    assert first["supportedGenerationMethods"] == ["generateContent", "streamGenerateContent",
                                                   "countTokens"]
    for m in models:
        assert 0 < m["outputTokenLimit"] < m["inputTokenLimit"]
    assert models[1]["inputTokenLimit"] == 200000
    assert models[2]["inputTokenLimit"] > models[1]["inputTokenLimit"]
    assert google.model_list([]) == {"models": []}
