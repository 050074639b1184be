"""Tests for argo_proxy.convert.anthropic.aggregate_stream: a raw Anthropic event stream
(what Argo's /v1/messages streams) as the one Message it describes."""

from __future__ import annotations

import json

import pytest

from argo_proxy.convert.anthropic import aggregate_stream
from argo_proxy.errors import ProxyError

# --- aggregate_stream over an Anthropic upstream stream -------------------------------

UPSTREAM = [
    ("message_start", {"type": "message_start", "message": {
        "id": "msg_vrtx_01", "type": "message", "role": "assistant", "model": "claude-opus-4-6",
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 25, "output_tokens": 1, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 5}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0,
                             "content_block": {"type": "thinking", "thinking": "",
                                               "signature": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "thinking_delta", "thinking": "Weather "}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "thinking_delta", "thinking": "tool."}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "signature_delta", "signature": "EqQBCg"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("ping", {"type": "ping"}),
    ("content_block_start", {"type": "content_block_start", "index": 1,
                             "content_block": {"type": "text", "text": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1,
                             "delta": {"type": "text_delta", "text": "Let me "}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1,
                             "delta": {"type": "text_delta", "text": "check."}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 1}),
    ("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {
        "type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {}}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 2,
                             "delta": {"type": "input_json_delta", "partial_json": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 2,
                             "delta": {"type": "input_json_delta",
                                       "partial_json": '{"location": "San Fra'}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 2,
                             "delta": {"type": "input_json_delta", "partial_json": 'ncisco"}'}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 2}),
    ("message_delta", {"type": "message_delta",
                       "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                       "usage": {"output_tokens": 89, "input_tokens": 26,
                                 "cache_read_input_tokens": None}}),
    ("message_stop", {"type": "message_stop"}),
]


def test_aggregate_an_upstream_stream():
    message = aggregate_stream(iter(UPSTREAM))
    assert message == {
        "id": "msg_vrtx_01", "type": "message", "role": "assistant", "model": "claude-opus-4-6",
        "content": [{"type": "thinking", "thinking": "Weather tool.", "signature": "EqQBCg"},
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_01", "name": "get_weather",
                     "input": {"location": "San Francisco"}}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 26, "output_tokens": 89, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 5}}


def test_aggregate_does_not_touch_the_input_events():
    before = json.dumps(UPSTREAM)
    aggregate_stream(UPSTREAM)
    assert json.dumps(UPSTREAM) == before


def test_aggregate_stop_sequence_citations_and_unnamed_events():
    events = [
        (None, {"type": "message_start", "message": {"id": "m1", "type": "message",
                                                     "role": "assistant", "model": "c",
                                                     "content": [], "usage": {}}}),
        (None, {"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": "", "citations": None}}),
        (None, {"type": "content_block_delta", "index": 0,
                "delta": {"type": "citations_delta", "citation": {"type": "char_location"}}}),
        (None, {"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": "x"}}),
        (None, {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "stop_sequence", "stop_sequence": "END"},
                           "usage": {"output_tokens": 2}}),
        ("something_new", {"type": "something_new"}),
        ("message_stop", {"type": "message_stop"}),
    ]
    message = aggregate_stream(events)
    assert message["stop_reason"] == "stop_sequence" and message["stop_sequence"] == "END"
    assert message["content"] == [{"type": "text", "text": "x",
                                   "citations": [{"type": "char_location"}]}]
    assert message["usage"] == {"output_tokens": 2}


def test_aggregate_bad_tool_json_gives_empty_input():
    events = [e for e in UPSTREAM if not (e[0] == "content_block_delta"
                                          and e[1]["index"] == 2)]
    events.insert(-3, ("content_block_delta", {"type": "content_block_delta", "index": 2,
                                               "delta": {"type": "input_json_delta",
                                                         "partial_json": '{"a": '}}))
    assert aggregate_stream(events)["content"][2]["input"] == {}


@pytest.mark.parametrize("kind, status", [
    ("overloaded_error", 529), ("rate_limit_error", 429), ("api_error", 502),
    ("invalid_request_error", 400), ("authentication_error", 401),
    ("permission_error", 403), ("not_found_error", 404), ("request_too_large", 413),
    ("timeout_error", 504), ("brand_new_error", 502)])
def test_aggregate_error_event_raises_with_status(kind, status):
    events = UPSTREAM[:3] + [("error", {"type": "error",
                                        "error": {"type": kind, "message": "Overloaded"}})]
    with pytest.raises(ProxyError) as info:
        aggregate_stream(events)
    assert info.value.status == status and info.value.message == "Overloaded"


def test_aggregate_error_event_without_details():
    with pytest.raises(ProxyError) as info:
        aggregate_stream([("error", {"type": "error"})])
    assert info.value.status == 502


@pytest.mark.parametrize("events", [[], UPSTREAM[:-1], UPSTREAM[1:], [("ping", {"type": "ping"})]])
def test_aggregate_incomplete_streams_are_502(events):
    with pytest.raises(ProxyError) as info:
        aggregate_stream(events)
    assert info.value.status == 502
