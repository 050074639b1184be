"""Tests for argo_proxy.convert.legacy (OpenAI <-> Argo legacy API)."""

from __future__ import annotations

import base64
import json
import struct
import sys
from array import array

import pytest

from argo_proxy.convert import legacy
from argo_proxy.convert.quirks import traits
from argo_proxy.errors import ProxyError

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Get weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
CALL = {"id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}


def chat(**extra):
    b = {"model": "gpt4o", "user": "jdoe", "messages": [{"role": "user", "content": "hi"}],
         "temperature": 0.2, "max_tokens": 50}
    b.update(extra)
    return b


# --- chat_request -----------------------------------------------------------------

def test_plain_chat_keeps_fields_and_drops_stream_options():
    body = chat(stream=True, stream_options={"include_usage": True}, n=1)
    argo, mode = legacy.chat_request(body, traits("openai"), False)
    assert mode == "none"
    assert argo == {"model": "gpt4o", "user": "jdoe", "messages": body["messages"],
                    "temperature": 0.2, "max_tokens": 50, "stream": True, "n": 1}
    assert "stream_options" in body                 # the caller's body is untouched


def test_prompt_and_system_lists():
    argo, _ = legacy.chat_request({"model": "gpt4o", "user": "u", "prompt": ["a", "b", "a"],
                                   "system": ["s1", "s1", "s2"]}, traits("openai"), False)
    assert argo["prompt"] == ["a\n\nb\n\na"]
    assert argo["system"] == "s1\n\ns2"
    argo, _ = legacy.chat_request({"model": "gpt4o", "user": "u", "prompt": "one"},
                                  traits("openai"), False)
    assert argo["prompt"] == ["one"]


def test_empty_tools_forwarded_untouched():
    argo, mode = legacy.chat_request(chat(tools=[], tool_choice="auto",
                                          parallel_tool_calls=False), traits("anthropic"), False)
    assert mode == "none"
    assert argo["tools"] == [] and argo["tool_choice"] == "auto"
    assert argo["parallel_tool_calls"] is False


@pytest.mark.parametrize("family", ["openai", "anthropic", "google"])
def test_native_tools_per_family(family):
    argo, mode = legacy.chat_request(chat(tools=TOOLS, parallel_tool_calls=True), traits(family), False)
    assert mode == "native"
    assert "parallel_tool_calls" not in argo
    tool = argo["tools"][0]
    if family == "openai":
        assert tool == TOOLS[0]
    elif family == "anthropic":
        assert tool["input_schema"] == TOOLS[0]["function"]["parameters"]
    else:
        assert tool["parameters"] == TOOLS[0]["function"]["parameters"]


@pytest.mark.parametrize("family,prompting", [("unknown", False), ("anthropic", True)])
def test_prompting_for_unknown_family_or_flag(family, prompting):
    argo, mode = legacy.chat_request(chat(tools=TOOLS, tool_choice="required"), traits(family), prompting)
    assert mode == "prompt"
    assert "tools" not in argo and "tool_choice" not in argo
    assert argo["messages"][0]["role"] == "system"
    assert "MUST call at least one" in argo["messages"][0]["content"]


# --- parse_chat_reply -------------------------------------------------------------------

def test_string_reply_is_plain_text_unless_prompting():
    text = 'See <tool_call>{"name": "get_weather", "arguments": {}}</tool_call>'
    assert legacy.parse_chat_reply({"response": text}, "openai", "native") == (text, [])
    content, calls = legacy.parse_chat_reply({"response": text}, "unknown", "prompt")
    assert content == "See" and calls[0]["function"]["name"] == "get_weather"


def test_dict_reply_per_family():
    content, calls = legacy.parse_chat_reply(
        {"response": {"content": "", "tool_calls": [{"id": None, "args": {"a": 1},
                                                     "name": "f"}]}}, "google", "native")
    assert content is None and calls[0]["function"]["arguments"] == '{"a": 1}'
    content, calls = legacy.parse_chat_reply(
        {"response": {"content": None, "tool_calls": [CALL]}}, "openai", "native")
    assert calls == [CALL]


@pytest.mark.parametrize("payload", [{}, {"response": None}, {"detail": "bad model"},
                                     ["not", "an", "object"], "text"])
def test_no_response_is_502(payload):
    with pytest.raises(ProxyError) as err:
        legacy.parse_chat_reply(payload, "openai", "none")
    assert err.value.status == 502
    assert err.value.code == "upstream_no_response"
    assert "Argo returned no response" in err.value.message


def test_no_response_message_is_truncated():
    with pytest.raises(ProxyError) as err:
        legacy.parse_chat_reply({"detail": "x" * 5000}, "openai", "none")
    assert len(err.value.message) < 600 and err.value.message.endswith("chars)")


def test_number_response_is_502():
    with pytest.raises(ProxyError) as err:
        legacy.parse_chat_reply({"response": 42}, "openai", "none")
    assert err.value.status == 502


def test_auth_notice():
    assert legacy.is_auth_notice("  \nAUTHENTICATION NOTICE FROM ARGO: register first")
    assert legacy.is_auth_notice("Hello " + legacy.AUTH_NOTICE)
    assert not legacy.is_auth_notice("x" * 3000 + legacy.AUTH_NOTICE)
    assert not legacy.is_auth_notice("hello")
    assert not legacy.is_auth_notice(None)


# --- chat_completion ---------------------------------------------------------------

def test_chat_completion_text():
    out = legacy.chat_completion("Hello", [], "gpt4o", 3, 2, id="chatcmpl-x", created=1700)
    assert out["id"] == "chatcmpl-x" and out["object"] == "chat.completion"
    assert out["created"] == 1700 and out["model"] == "gpt4o"
    choice = out["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "Hello", "refusal": None}
    assert choice["finish_reason"] == "stop" and choice["index"] == 0
    assert out["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def test_chat_completion_tool_calls_and_fresh_id():
    out = legacy.chat_completion(None, [CALL], "gpt4o", 1, 1)
    assert out["id"].startswith("chatcmpl-") and len(out["id"]) > 20
    assert isinstance(out["created"], int)
    msg = out["choices"][0]["message"]
    assert msg["content"] is None and msg["tool_calls"] == [CALL]
    assert out["choices"][0]["finish_reason"] == "tool_calls"


# --- ChunkStream / pseudo_stream -----------------------------------------------------

def test_chunk_stream_invariants():
    s = legacy.ChunkStream("gpt4o")
    chunks = [s.start(), s.text("Hel"), s.text("lo")] + s.tool_calls([CALL, CALL]) + [
        s.finish("stop")]
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-")
    assert len({c["created"] for c in chunks}) == 1
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    roles = [c["choices"][0]["delta"].get("role") for c in chunks]
    assert roles[0] == "assistant" and roles[1:] == [None] * (len(chunks) - 1)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * 5 + ["stop"]
    assert chunks[-1]["choices"][0]["delta"] == {}
    calls = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks[3:5]]
    assert [c["index"] for c in calls] == [0, 1]
    assert calls[0] == dict(CALL, index=0)
    assert s.usage(1, 2) is None
    assert all("usage" not in c for c in chunks)


def test_chunk_stream_role_on_first_chunk_without_start():
    s = legacy.ChunkStream("m", id="chatcmpl-fixed", created=5)
    first, second = s.text("a"), s.text("b")
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": "a"}
    assert second["choices"][0]["delta"] == {"content": "b"}
    assert first["id"] == "chatcmpl-fixed" and second["created"] == 5


def test_chunk_stream_usage_only_when_asked():
    s = legacy.ChunkStream("m", include_usage=True)
    first = s.start()
    usage = s.usage(4, 6)
    assert first["usage"] is None
    assert usage["choices"] == [] and usage["id"] == first["id"]
    assert usage["usage"] == {"prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10}


def test_pseudo_stream_with_tool_calls_and_text():
    chunks = legacy.pseudo_stream("abcdefg", [CALL], "m", 1, 2, True, piece=3)
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert deltas[1]["tool_calls"][0]["id"] == "call_1"
    assert [d.get("content") for d in deltas[2:5]] == ["abc", "def", "g"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 3
    assert len({c["id"] for c in chunks}) == 1


def test_pseudo_stream_whole_text_in_one_chunk():
    chunks = legacy.pseudo_stream("Hello there", [], "m", 1, 2, False)
    assert [c["choices"][0]["delta"].get("content") for c in chunks] == ["", "Hello there", None]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_pseudo_stream_empty_reply_is_not_empty():
    chunks = legacy.pseudo_stream("", [], "m", 0, 0, False)
    assert len(chunks) == 2
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[1]["choices"][0]["finish_reason"] == "stop"
    assert len(legacy.pseudo_stream(None, [], "m", 0, 0, False)) == 2


# --- completions ---------------------------------------------------------------------

def test_completion_request():
    argo = legacy.completion_request({"model": "gpt4o", "user": "u", "prompt": ["a", "b"],
                                      "max_tokens": 5, "temperature": 0, "stop": ["\n"],
                                      "echo": True, "logprobs": 2, "suffix": "z",
                                      "best_of": 2, "n": 2})
    assert argo == {"model": "gpt4o", "user": "u", "prompt": ["a\n\nb"], "max_tokens": 5,
                    "temperature": 0, "stop": ["\n"]}
    assert legacy.completion_request({"prompt": "Say hi"})["prompt"] == ["Say hi"]


@pytest.mark.parametrize("prompt", [None, "", [], [1, 2, 3], [[1, 2]]])
def test_completion_request_bad_prompt(prompt):
    with pytest.raises(ProxyError) as err:
        legacy.completion_request({"model": "m", "prompt": prompt})
    assert err.value.status == 400 and err.value.param == "prompt"


def test_text_completion():
    out = legacy.text_completion("hi", "gpt4o", 2, 1, id="cmpl-1", created=9)
    assert out["object"] == "text_completion" and out["id"] == "cmpl-1"
    assert out["choices"] == [{"index": 0, "text": "hi", "logprobs": None, "finish_reason": "stop"}]
    assert out["usage"]["total_tokens"] == 3
    assert legacy.text_completion("x", "m", 0, 0)["id"].startswith("cmpl-")


def test_completion_chunk_stream():
    s = legacy.CompletionChunkStream("gpt4o", include_usage=True)
    chunks = [s.text("a"), s.text("b"), s.finish("stop"), s.usage(1, 1)]
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("cmpl-")
    assert [c["choices"][0]["finish_reason"] for c in chunks[:3]] == [None, None, "stop"]
    assert chunks[3]["choices"] == [] and chunks[3]["usage"]["total_tokens"] == 2
    assert legacy.CompletionChunkStream("m").usage(1, 1) is None


# --- embeddings -----------------------------------------------------------------------

def test_embed_batches_keep_order():
    inputs = ["t%d" % i for i in range(40)]
    batches = legacy.embed_batches(inputs, "v3small", "jdoe")
    assert [len(b["prompt"]) for b in batches] == [16, 16, 8]
    assert [p for b in batches for p in b["prompt"]] == inputs
    assert all(b["model"] == "v3small" and b["user"] == "jdoe" for b in batches)


def test_embeddings_response_floats():
    out = legacy.embeddings_response([[0.1, 0.2], [0.3, 0.4]], "v3small", 7)
    assert out["object"] == "list" and out["model"] == "v3small"
    assert out["data"][1] == {"object": "embedding", "index": 1, "embedding": [0.3, 0.4]}
    assert out["usage"] == {"prompt_tokens": 7, "total_tokens": 7}


def test_embeddings_response_base64_decodes_to_the_floats():
    vectors = [[0.5, -1.25, 3.0], [1e-3, 2.0, -0.0078125]]
    out = legacy.embeddings_response(vectors, "v3small", 1, encoding_format="base64")
    for item, vector in zip(out["data"], vectors):
        raw = base64.b64decode(item["embedding"])
        assert struct.unpack("<%df" % len(vector), raw) == pytest.approx(vector, rel=1e-6)
        decoded = array("f")
        decoded.frombytes(raw)
        if sys.byteorder == "big":
            decoded.byteswap()
        assert list(decoded) == pytest.approx(vector, rel=1e-6)


def test_embedding_inputs():
    assert legacy.embedding_inputs({"input": "one"}) == ["one"]
    assert legacy.embedding_inputs({"input": ["a", "b"]}) == ["a", "b"]
    assert legacy.embedding_inputs({"prompt": ["p"]}) == ["p"]


@pytest.mark.parametrize("body,field,phrase", [
    ({}, "input", "input is required"),
    ({"input": []}, "input", "non-empty"),
    ({"input": [1, 2]}, "input", "token arrays are not supported"),
    ({"input": [[1, 2]]}, "input", "token arrays are not supported"),
    ({"input": ""}, "input", "empty"),
    ({"prompt": []}, "prompt", "non-empty"),
])
def test_embedding_inputs_errors(body, field, phrase):
    with pytest.raises(ProxyError) as err:
        legacy.embedding_inputs(body)
    assert err.value.status == 400 and err.value.param == field
    assert phrase in err.value.message


def test_chunks_are_json_serialisable():
    for chunk in legacy.pseudo_stream("é", [CALL], "m", 1, 1, True):
        assert json.loads(json.dumps(chunk)) == chunk


def test_tool_history_without_tools_is_text_for_claude_and_gemini():
    history = [{"role": "user", "content": "add"},
               {"role": "assistant", "content": "", "tool_calls": [
                   {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}]},
               {"role": "tool", "tool_call_id": "c1", "content": "3"},
               {"role": "user", "content": "thanks"}]
    for family in ("anthropic", "google"):
        argo, mode = legacy.chat_request({"model": "m", "messages": history}, traits(family), False)
        assert mode == "none"
        assert all(m["role"] in ("user", "assistant") and "tool_calls" not in m for m in argo["messages"])
        assert "Result of add" in json.dumps(argo["messages"])
    argo, _ = legacy.chat_request({"model": "m", "messages": history}, traits("openai"), False)
    assert argo["messages"][2]["role"] == "tool"  # OpenAI accepts its own history as is


@pytest.mark.parametrize("call,body,param", [
    (legacy.completion_request, {"prompt": ["a", 5]}, "prompt[1]"),
    (legacy.completion_request, {"prompt": {"text": "x"}}, "prompt"),
    (legacy.embedding_inputs, {"input": ["a", 2.5]}, "input[1]"),
    (legacy.embedding_inputs, {"input": ["a", None]}, "input[1]"),
    (legacy.embedding_inputs, {"input": {"text": "x"}}, "input"),
    (legacy.embedding_inputs, {"prompt": ["a", []]}, "prompt[1]"),
])
def test_a_bad_prompt_or_input_element_is_named(call, body, param):
    with pytest.raises(ProxyError) as err:
        call(dict({"model": "m"}, **body))
    assert err.value.status == 400 and err.value.param == param and param in err.value.message
