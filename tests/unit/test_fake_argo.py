"""Self-test of the fake Argo gateway (tests/fakes/fake_argo.py)."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.fakes import fake_argo
from tests.fakes.fake_argo import FakeArgo, UTF8_REPLY

pytestmark = pytest.mark.timeout(30)

CHAT = "/api/v1/resource/chat/"
STREAMCHAT = "/api/v1/resource/streamchat/"
EMBED = "/api/v1/resource/embed/"
NATIVE_CHAT = "/v1/chat/completions"
ADD_TOOL = {"type": "function", "function": {
    "name": "add", "description": "Add two numbers",
    "parameters": {"type": "object", "properties": {"a": {"type": "integer"},
                                                    "b": {"type": "integer"}}}}}
SEED_FRAGMENTS = ['{"', 'a', '":', '12', ',"', 'b', '":', '30', '}']


@pytest.fixture
def fake():
    with FakeArgo() as f:
        yield f


class Resp(object):
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw

    def json(self):
        return json.loads(self.raw.decode("utf-8"))


def _port(fake):
    return urlsplit(fake.url).port


def call(fake, method, path, body=None, conn=None, headers=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", _port(fake), timeout=10)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    c.request(method, path, body=data, headers=hdrs)
    r = c.getresponse()
    out = Resp(r.status, r.headers, r.read())
    if conn is None:
        c.close()
    return out


def post(fake, path, body, **kw):
    return call(fake, "POST", path, body, **kw)


def raw_chunks(fake, path, body):
    """POST over a raw socket; return (head, chunks, terminated) of a chunked reply."""
    data = json.dumps(body).encode()
    with socket.create_connection(("127.0.0.1", _port(fake)), timeout=10) as s:
        s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                  % (path.encode(), len(data), data))
        buf = b""
        while True:
            got = s.recv(65536)
            if not got:
                break
            buf += got
    head, _, rest = buf.partition(b"\r\n\r\n")
    chunks = []
    while rest:
        line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            break
        size = int(line, 16)
        if size == 0:
            return head.decode("latin-1"), chunks, True
        chunks.append(rest[:size])
        rest = rest[size + 2:]
    return head.decode("latin-1"), chunks, False


def sse_events(raw):
    events = []
    for block in raw.decode("utf-8").split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data: "):
                payload = line[len("data: "):]
                events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def legacy(model="gpt4o", **extra):
    body = {"user": "jdoe", "model": model,
            "messages": [{"role": "user", "content": "What is 12+30?"}]}
    body.update(extra)
    return body


def native(model="gpt4o", **extra):
    body = {"model": model, "messages": [{"role": "user", "content": "What is 12+30?"}]}
    body.update(extra)
    return body


# ---------------------------------------------------------------- legacy API

def test_legacy_chat_text_and_validation(fake):
    r = post(fake, CHAT, legacy())
    assert r.status == 200 and r.json() == {"response": "Hello from fake Argo."}
    fake.set_reply("Other")
    r = post(fake, CHAT, {"user": "u", "model": "whatever", "system": "s", "prompt": ["hi"]})
    assert r.json() == {"response": "Other"}
    r = post(fake, CHAT, {"model": "gpt4o", "messages": []})
    assert r.status == 400 and r.json() == {"error": "user is required"}
    rec = fake.last(CHAT)
    assert rec["body"] == {"model": "gpt4o", "messages": []} and rec["method"] == "POST"
    assert rec["headers"]["content-type"] == "application/json"


@pytest.mark.parametrize("model", ["gpt4o", "gpto3mini", "claudesonnet45", "gemini25pro"])
def test_legacy_tool_call_shapes(fake, model):
    resp = post(fake, CHAT, legacy(model, tools=[ADD_TOOL])).json()["response"]
    call_ = resp["tool_calls"][0]
    if model.startswith("claude"):
        assert call_["id"].startswith("toolu_vrtx_01") and call_["type"] == "tool_use"
        assert call_["input"] == {"a": 12, "b": 30} and call_["name"] == "add"
    elif model.startswith("gemini"):
        assert call_ == {"id": None, "args": {"a": 12, "b": 30}, "name": "add"}
    else:
        assert call_["id"].startswith("call_") and call_["type"] == "function"
        assert call_["function"]["name"] == "add"
        assert json.loads(call_["function"]["arguments"]) == {"a": 12, "b": 30}


def test_legacy_tool_results(fake):
    msgs = [{"role": "user", "content": "add"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "add", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "42"}]
    resp = post(fake, CHAT, legacy(messages=msgs, tools=[ADD_TOOL])).json()["response"]
    assert resp["content"] == "Tool said: 42" and resp["tool_calls"] == []
    claude_msgs = [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "43"}]}]
    body = legacy("claudesonnet45", messages=claude_msgs, tools=[{"name": "add"}])
    assert post(fake, CHAT, body).json()["response"]["content"] == "Tool said: 43"


def test_legacy_bad_day_variants(fake):
    fake.add_fault(CHAT, times=1, leaked_tool_call=True)
    resp = post(fake, CHAT, legacy("claudesonnet45", tools=[ADD_TOOL])).json()["response"]
    assert resp["tool_calls"] == [] and "{'id': 'toolu_vrtx_01" in resp["content"]
    assert "'input': {'a': 12, 'b': 30}, 'name': 'add', 'type': 'tool_use'}" in resp["content"]
    fake.add_fault(CHAT, times=1, block_array=True)
    resp = post(fake, CHAT, legacy("claudesonnet45", tools=[ADD_TOOL])).json()["response"]
    assert [b["type"] for b in resp["content"]] == ["text", "tool_use"]
    fake.add_fault(CHAT, times=1, auth_notice=True)
    text = post(fake, CHAT, legacy()).json()["response"]
    assert text.startswith("AUTHENTICATION NOTICE FROM ARGO: user is not registered")
    assert text.endswith("Hello from fake Argo.")


def test_streamchat_chunks(fake):
    head, chunks, terminated = raw_chunks(fake, STREAMCHAT, legacy())
    assert "text/plain; charset=utf-8" in head and "chunked" in head.lower()
    assert terminated and len(chunks) >= 4
    assert b"".join(chunks).decode("utf-8") == "Hello from fake Argo."
    r = post(fake, STREAMCHAT, legacy(tools=[ADD_TOOL]))
    assert r.status == 400
    assert r.json() == {"error": "tool calling is currently disabled on the stream endpoint"}


def test_streamchat_split_utf8(fake):
    fake.add_fault(STREAMCHAT, split_utf8=True)
    _, chunks, terminated = raw_chunks(fake, STREAMCHAT, legacy())
    assert terminated
    broken = 0
    for piece in chunks:
        try:
            piece.decode("utf-8")
        except UnicodeDecodeError:
            broken += 1
    assert broken >= 1
    assert UTF8_REPLY in b"".join(chunks).decode("utf-8")


def test_embed(fake):
    body = {"user": "u", "model": "v3small", "prompt": ["p%d" % i for i in range(16)]}
    vecs = post(fake, EMBED, body).json()["embedding"]
    assert len(vecs) == 16 and all(len(v) == 1536 for v in vecs)
    again = post(fake, EMBED, dict(body, prompt=["p0", "p1"])).json()["embedding"]
    assert again == vecs[:2] and vecs[0] != vecs[1]
    r = post(fake, EMBED, dict(body, prompt=["x"] * 17))
    assert r.status == 400 and r.json() == {"error": "Too many prompts: max 16"}
    big = post(fake, EMBED, dict(body, model="v3large", prompt=["x"])).json()["embedding"]
    assert len(big[0]) == 3072


def test_models_formats():
    with FakeArgo() as f:
        data = call(f, "GET", "/api/v1/models/").json()["data"]
        by_internal = dict((m["internal_id"], m) for m in data)
        assert by_internal["claudesonnet45"]["id"] == "Claude Sonnet 4.5"
        assert by_internal["gpt5nano"]["owned_by"] == "openai"
        assert set(m["created"] for m in data) == set([data[0]["created"]])
        assert {"gpt4o", "gpt5", "gpto3mini", "claudeopus47", "claudesonnet46",
                "gemini25pro", "gemini25flash", "v3small"} <= set(by_internal)
        nat = call(f, "GET", "/v1/models").json()
        assert nat["object"] == "list"
        want = {"id": "gemini25pro", "internal_id": "gemini25pro", "name": "Gemini 2.5 Pro",
                "owned_by": "google", "object": "model"}
        assert any(want.items() <= m.items() for m in nat["data"])
    with FakeArgo(model_list_format="old") as f:
        data = call(f, "GET", "/api/v1/models/").json()["data"]
        assert {"id": "gpt4o", "model_name": "GPT-4o"} in data


# ---------------------------------------------------------------- native API

def test_native_chat_non_stream(fake):
    r = post(fake, NATIVE_CHAT, native()).json()
    assert r["object"] == "chat.completion" and r["id"].startswith("chatcmpl-")
    assert r["choices"][0]["message"]["content"] == "Hello from fake Argo."
    assert r["choices"][0]["finish_reason"] == "stop" and r["usage"]["total_tokens"] > 0
    r = post(fake, NATIVE_CHAT, native(tools=[ADD_TOOL])).json()
    choice = r["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    fn = choice["message"]["tool_calls"][0]["function"]
    assert fn["name"] == "add" and json.loads(fn["arguments"]) == {"a": 12, "b": 30}
    msgs = native()["messages"] + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"}]
    r = post(fake, NATIVE_CHAT, native(messages=msgs, tools=[ADD_TOOL])).json()
    assert r["choices"][0]["message"]["content"] == "Tool said: 42"
    r = post(fake, NATIVE_CHAT, {"model": "gpt4o"})
    assert r.status == 400 and "messages" in r.json()["error"]["message"]


def test_native_stream_text(fake):
    r = post(fake, NATIVE_CHAT, native(stream=True, stream_options={"include_usage": True}))
    assert r.headers["Content-Type"].startswith("text/event-stream")
    events = sse_events(r.raw)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert len(set(c["id"] for c in chunks)) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all("role" not in c["choices"][0]["delta"] for c in chunks[1:-1] if c["choices"])
    pieces = [c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]]
    assert len([p for p in pieces if p]) >= 3 and "".join(pieces) == "Hello from fake Argo."
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    plain = sse_events(post(fake, NATIVE_CHAT, native(stream=True)).raw)
    assert all(e == "[DONE]" or "usage" not in e for e in plain)


def test_native_stream_tool_call_matches_seed(fake):
    events = sse_events(post(fake, NATIVE_CHAT, native(stream=True, tools=[ADD_TOOL])).raw)
    assert events[-1] == "[DONE]"
    deltas = [e["choices"][0]["delta"] for e in events[:-1]]
    first = deltas[0]["tool_calls"][0]
    assert list(first) == ["index", "id", "function", "type"]
    assert first["id"].startswith("call_") and first["type"] == "function"
    assert first["function"] == {"arguments": "", "name": "add"}
    frags = [d["tool_calls"][0]["function"]["arguments"] for d in deltas[1:-1]]
    assert frags == SEED_FRAGMENTS
    assert deltas[-1] == {"tool_calls": None}
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"
    name, args = "", ""
    for d in deltas:
        for tc in d.get("tool_calls") or []:
            name += tc["function"].get("name") or ""
            args += tc["function"].get("arguments") or ""
    assert name == "add" and json.loads(args) == {"a": 12, "b": 30}


def _tool_history(model, content=""):
    msgs = [{"role": "user", "content": "add"},
            {"role": "assistant", "content": content, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "42"}]
    return native(model, messages=msgs)


def _parallel_history():
    calls = [{"id": c, "type": "function", "function": {"name": "add", "arguments": "{}"}}
             for c in ("c1", "c2")]
    msgs = [{"role": "user", "content": "add"},
            {"role": "assistant", "content": "", "tool_calls": calls},
            {"role": "tool", "tool_call_id": "c1", "name": "add", "content": "1"},
            {"role": "tool", "tool_call_id": "c2", "name": "add", "content": "2"}]
    return native("gemini25pro", messages=msgs, tools=[ADD_TOOL])


QUIRKS = [
    ("claude_str_tool_choice", native("claudesonnet45", tools=[ADD_TOOL], tool_choice="auto"),
     400, "tool_choice: Input should be a valid dictionary"),
    ("gemini_tool_without_name", dict(_tool_history("gemini25flash"), tools=[ADD_TOOL]),
     500, "'name'"),
    ("gemini_parallel", _parallel_history(), 400, "Parallel tool calls are not supported"),
    ("developer_role", native(messages=[{"role": "developer", "content": "x"},
                                        {"role": "user", "content": "y"}]),
     400, "invalid role 'developer'"),
    ("unanswered_tool_call", native(messages=_tool_history("gpt4o")["messages"][:2]),
     400, "did not have response messages: c1"),
    ("claude_null_content", _tool_history("claudesonnet46", content=None),
     400, "content: Input should be a valid string"),
    ("gpt5_temperature", native("gpt5", temperature=0.5), 400,
     "does not support 0.5 with this model. Only the default (1) value is supported."),
    ("gpt5_top_p", native("gpt5nano", top_p=0.9), 400,
     "Unsupported parameter: 'top_p' is not supported with this model."),
    ("opus47_temperature", native("claudeopus47", temperature=0.2), 400,
     "`temperature` is deprecated for this model."),
    ("opus47_top_p", native("claudeopus47", top_p=0.2), 400,
     "`top_p` is deprecated for this model."),
    ("claude_t_and_p", native("claudesonnet45", temperature=0.2, top_p=0.9), 400,
     "`temperature` and `top_p` cannot both be specified"),
]


@pytest.fixture(scope="module")
def quirky_and_plain():
    with FakeArgo() as q, FakeArgo(quirks=False) as p:
        yield q, p


@pytest.mark.parametrize("name,body,status,text", QUIRKS, ids=[q[0] for q in QUIRKS])
def test_quirks_trigger_and_switch_off(quirky_and_plain, name, body, status, text):
    quirky, plain = quirky_and_plain
    r = post(quirky, NATIVE_CHAT, body)
    assert r.status == status, r.raw
    err = r.json()["error"]
    assert text in err["message"] and err["code"] == "internal_error"
    assert post(plain, NATIVE_CHAT, body).status == 200


def test_quirks_leave_valid_requests_alone(fake):
    ok = [native("gpt5", temperature=1), native("claudesonnet45", temperature=0.2),
          native("claudesonnet45", tools=[ADD_TOOL], tool_choice={"type": "auto"}),
          dict(_tool_history("gpt4o", content=None), tools=[ADD_TOOL])]
    for body in ok:
        assert post(fake, NATIVE_CHAT, body).status == 200, body


def test_native_routes_and_methods():
    with FakeArgo() as f:
        assert post(f, "/v1/completions", {"model": "gpt4o", "prompt": "x"}).json() == \
            {"detail": "Not Found"}
        assert post(f, "/v1/embeddings", {"model": "v3small", "input": "x"}).status == 404
        assert call(f, "GET", NATIVE_CHAT).status == 405
        assert call(f, "GET", "/nope").status == 404
    with FakeArgo(embeddings_native=True) as f:
        r = post(f, "/v1/embeddings", {"model": "v3small", "input": ["a", "b"]}).json()
        assert r["object"] == "list" and [d["index"] for d in r["data"]] == [0, 1]
        assert len(r["data"][0]["embedding"]) == 1536 and r["usage"]["total_tokens"] > 0


def test_native_messages(fake):
    body = {"model": "claudesonnet45", "user": "jdoe",
            "messages": [{"role": "user", "content": "hi"}]}
    r = post(fake, "/v1/messages", body)
    assert r.status == 400 and r.json() == {"type": "error", "error": {
        "type": "invalid_request_error", "message": "max_tokens is required"}}
    msg = post(fake, "/v1/messages", dict(body, max_tokens=64)).json()
    assert msg["type"] == "message" and msg["content"][0]["text"] == "Hello from fake Argo."
    r = post(fake, "/v1/messages", dict(body, max_tokens=64, stream=True))
    names = [line[len("event: "):] for line in r.raw.decode().splitlines()
             if line.startswith("event: ")]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert "content_block_start" in names and "content_block_stop" in names
    assert names.count("content_block_delta") >= 2
    r = post(fake, "/v1/messages", dict(body, model="claudeopus47", max_tokens=9,
                                        temperature=0.5))
    assert r.status == 400 and "deprecated" in r.json()["error"]["message"]


# ------------------------------------------------ native Anthropic (/v1/messages) quirks

MESSAGES = "/v1/messages"
COUNT = "/v1/messages/count_tokens"
ANTH_TOOL = {"name": "add", "description": "Add two numbers",
             "input_schema": {"type": "object", "properties": {"a": {"type": "integer"},
                                                               "b": {"type": "integer"}}}}


def anth(model="claudesonnet45", **extra):
    body = {"model": model, "user": "jdoe", "max_tokens": 64,
            "messages": [{"role": "user", "content": "What is 12+30?"}]}
    body.update(extra)
    return body


def anth_events(raw):
    """[(event name, data)] of an Anthropic SSE body."""
    out = []
    for block in raw.decode("utf-8").split("\n\n"):
        lines = block.splitlines()
        if len(lines) == 2 and lines[0].startswith("event: "):
            out.append((lines[0][len("event: "):], json.loads(lines[1][len("data: "):])))
    return out


def anth_error(r, status=400):
    assert r.status == status, r.raw
    body = r.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    return body["error"]["message"]


def upstream_error(r):
    """The message of an Anthropic error Argo nests as 'Error code: 400 - {...}'."""
    message = anth_error(r)
    assert message.startswith("Error code: 400 - {'type': 'error', 'error': {")
    assert "'request_id': 'req_vrtx_" in message
    return message


def test_messages_require_user(quirky_and_plain):
    quirky, plain = quirky_and_plain
    body = anth()
    del body["user"]
    r = post(quirky, MESSAGES, body)
    assert r.status == 400 and r.json() == {"type": "error", "error": {
        "type": "invalid_request_error", "message": "Missing required field: user"}}
    assert post(plain, MESSAGES, body).status == 200


@pytest.mark.parametrize("model,hint", [
    ("claude-sonnet-4-5-20250929", "claudesonnet45"),
    ("claude-opus-4-7", "claudeopus47"),
    ("argo:claude-sonnet-4.5", "claudesonnet45"),
    ("gpt4o", "claudesonnet45"),
    ("claudesonnet99", "claudesonnet45"),
])
def test_messages_model_must_be_argo_anthropic_id(quirky_and_plain, model, hint):
    quirky, plain = quirky_and_plain
    message = anth_error(post(quirky, MESSAGES, anth(model)))
    assert message == fake_argo.INVALID_MODEL_MSG % ('"%s"' % model, hint)
    reply = post(plain, MESSAGES, anth(model)).json()
    assert reply["type"] == "message" and reply["model"] == model


def test_vendor_names_cover_the_anthropic_models():
    anthropic = set(iid for iid, _, owner in fake_argo.MODELS if owner == "anthropic")
    assert anthropic == set(fake_argo.ANTHROPIC_VENDOR_NAMES)
    assert ("claudeopus41", "Claude Opus 4.1", "anthropic") in fake_argo.MODELS


@pytest.mark.parametrize("model", sorted(set(fake_argo.ANTHROPIC_VENDOR_NAMES)
                                         - fake_argo.ERROR_200_MODELS))
def test_messages_echo_vendor_model_name(quirky_and_plain, model):
    quirky, plain = quirky_and_plain
    vendor = fake_argo.ANTHROPIC_VENDOR_NAMES[model]
    msg = post(quirky, MESSAGES, anth(model)).json()
    assert msg["model"] == vendor and msg["id"].startswith("msg_vrtx_01")
    assert msg["usage"]["cache_creation"] == {"ephemeral_1h_input_tokens": 0,
                                              "ephemeral_5m_input_tokens": 0}
    assert msg["usage"]["cache_read_input_tokens"] == 0 and msg["usage"]["input_tokens"] > 0
    events = anth_events(post(quirky, MESSAGES, anth(model, stream=True)).raw)
    assert events[0][1]["message"]["model"] == vendor
    assert post(plain, MESSAGES, anth(model)).json()["model"] == model


def test_messages_roles(quirky_and_plain):
    quirky, plain = quirky_and_plain
    body = anth(messages=[{"role": "user", "content": "hi"},
                          {"role": "system", "content": "be brief"}])
    message = upstream_error(post(quirky, MESSAGES, body))
    assert "messages.1.role: Input should be 'user' or 'assistant'" in message
    assert post(plain, MESSAGES, body).status == 200
    ok = anth(messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hi"},
                        {"role": "user", "content": "again"}])
    assert post(quirky, MESSAGES, ok).status == 200


ENABLED = {"type": "enabled", "budget_tokens": 1024}
ADAPTIVE = {"type": "adaptive"}
ADAPTIVE_BUDGET = {"type": "adaptive", "budget_tokens": 1024}
OLD_TAGS = "Input tag 'adaptive' found using 'type' does not match any of the expected " \
           "tags: 'disabled', 'enabled'"
BUDGET = "`max_tokens` must be greater than `thinking.budget_tokens`"
OPUS47_ENABLED = '"thinking.type.enabled" is not supported for this model. Use ' \
                 '"thinking.type.adaptive" and "output_config.effort"'
EFFORT = "Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"
T_AND_P = "`temperature` and `top_p` cannot both be specified for this model"

# (model, extra body fields, None = accepted | text of the 400)  -- argo-reference.md 2.4
MATRIX = [
    ("claudeopus47", dict(thinking=ENABLED, max_tokens=4096), OPUS47_ENABLED),
    ("claudeopus47", dict(thinking=ADAPTIVE), None),
    ("claudeopus47", dict(thinking=ADAPTIVE_BUDGET), fake_argo.ADAPTIVE_BUDGET_MSG),
    ("claudeopus47", dict(thinking={"type": "disabled"}), None),
    ("claudeopus47", dict(output_config={"effort": "low"}), None),
    ("claudeopus47", dict(output_config={"effort": "xhigh"}), None),
    ("claudeopus47", dict(output_config={"effort": "max"}), None),
    ("claudeopus47", dict(output_config={"effort": "none"}), EFFORT),
    ("claudeopus47", dict(output_config={"effort": "minimal"}), EFFORT),
    ("claudeopus47", dict(thinking=ADAPTIVE, output_config={"effort": "high"}), None),
    ("claudeopus47", dict(temperature=0.5), "`temperature` is deprecated for this model."),
    ("claudeopus47", dict(top_p=0.9), "`top_p` is deprecated for this model."),
    ("claudeopus47", dict(temperature=0.5, top_p=0.9), "`temperature` is deprecated"),
    ("claudeopus46", dict(thinking=ENABLED), BUDGET),
    ("claudeopus46", dict(thinking=ENABLED, max_tokens=1024), BUDGET),
    ("claudeopus46", dict(thinking=ENABLED, max_tokens=4096), None),
    ("claudeopus46", dict(thinking=ADAPTIVE), None),
    ("claudeopus46", dict(thinking=ADAPTIVE_BUDGET), fake_argo.ADAPTIVE_BUDGET_MSG),
    ("claudeopus46", dict(output_config={"effort": "minimal"}), None),
    ("claudeopus46", dict(temperature=0.5), None),
    ("claudeopus46", dict(top_p=0.9), None),
    ("claudeopus46", dict(temperature=0.5, top_p=0.9), T_AND_P),
    ("claudesonnet46", dict(thinking=ENABLED), BUDGET),
    ("claudesonnet46", dict(thinking=ADAPTIVE), None),
    ("claudesonnet46", dict(thinking=ADAPTIVE_BUDGET), fake_argo.ADAPTIVE_BUDGET_MSG),
    ("claudesonnet46", dict(temperature=0.5, top_p=0.9), T_AND_P),
    ("claudesonnet45", dict(thinking=ENABLED), BUDGET),
    ("claudesonnet45", dict(thinking=ENABLED, max_tokens=4096), None),
    ("claudesonnet45", dict(thinking={"type": "enabled", "budget_tokens": 1023},
                            max_tokens=4096), fake_argo.THINKING_BUDGET_MIN_MSG),
    ("claudesonnet45", dict(thinking={"type": "enabled"}, max_tokens=4096),
     "thinking.enabled.budget_tokens: Field required"),
    ("claudesonnet45", dict(thinking={"type": "sometimes"}),
     "Input tag 'sometimes' found using 'type'"),
    ("claudesonnet45", dict(thinking=ADAPTIVE), OLD_TAGS),
    ("claudesonnet45", dict(thinking=ADAPTIVE_BUDGET), OLD_TAGS),
    ("claudesonnet45", dict(thinking=ADAPTIVE, output_config={"effort": "low"}), OLD_TAGS),
    ("claudesonnet45", dict(thinking={"type": "disabled"}), None),
    ("claudesonnet45", dict(output_config={"effort": "none"}), None),
    ("claudesonnet45", dict(temperature=0.5, top_p=0.9), T_AND_P),
    ("claudeopus45", dict(thinking=ADAPTIVE), OLD_TAGS),
    ("claudeopus45", dict(temperature=0.5, top_p=0.9), T_AND_P),
    ("claudehaiku45", dict(thinking=ADAPTIVE), OLD_TAGS),
    ("claudehaiku45", dict(temperature=0.5), None),
    ("claudehaiku45", dict(temperature=0.5, top_p=0.9), T_AND_P),
    ("claudeopus41", dict(thinking=ENABLED), BUDGET),
    ("claudeopus41", dict(thinking=ADAPTIVE), OLD_TAGS),
    ("claudeopus41", dict(temperature=0.5, top_p=0.9), T_AND_P),
]


@pytest.mark.parametrize("model,extra,text", MATRIX,
                         ids=["%s-%s" % (m, "-".join(sorted(e))) for m, e, _ in MATRIX])
def test_messages_probe_matrix(quirky_and_plain, model, extra, text):
    quirky, plain = quirky_and_plain
    body = anth(model, **extra)
    r = post(quirky, MESSAGES, body)
    if text is None:
        assert r.status == 200 and r.json()["type"] == "message", r.raw
    else:
        assert text in upstream_error(r)
    plain_r = post(plain, MESSAGES, body)
    assert plain_r.status == 200 and plain_r.json()["type"] == "message"


def test_messages_large_max_tokens_need_streaming(quirky_and_plain):
    quirky, plain = quirky_and_plain
    limit = fake_argo.MAX_NONSTREAM_TOKENS
    assert limit == 21000
    message = anth_error(post(quirky, MESSAGES, anth(max_tokens=limit + 1)))
    assert message == fake_argo.STREAMING_REQUIRED_MSG % (limit, limit + 1)
    assert message.startswith("Streaming is strongly recommended for operations that may take "
                              "longer than 10 minutes")
    assert post(quirky, MESSAGES, anth(max_tokens=limit)).status == 200
    r = post(quirky, MESSAGES, anth(max_tokens=64000, stream=True))
    assert r.status == 200 and anth_events(r.raw)[-1][0] == "message_stop"
    assert post(plain, MESSAGES, anth(max_tokens=limit + 1)).status == 200


def _signature_ok(sig):
    import base64
    return len(sig) >= 64 and base64.b64decode(sig, validate=True)


@pytest.mark.parametrize("model,thinking", [("claudesonnet45", ENABLED),
                                            ("claudeopus47", ADAPTIVE),
                                            ("claudesonnet46", ADAPTIVE)])
def test_messages_thinking_block_first(fake, model, thinking):
    msg = post(fake, MESSAGES, anth(model, thinking=thinking, max_tokens=4096)).json()
    assert [b["type"] for b in msg["content"]] == ["thinking", "text"]
    assert msg["content"][0]["thinking"] == fake_argo.THINKING_TEXT
    assert _signature_ok(msg["content"][0]["signature"])
    assert msg["content"][1]["text"] == "Hello from fake Argo."
    assert msg["stop_reason"] == "end_turn"
    msg = post(fake, MESSAGES, anth(model, thinking=thinking, max_tokens=4096,
                                    tools=[ANTH_TOOL])).json()
    assert [b["type"] for b in msg["content"]] == ["thinking", "tool_use"]
    assert msg["content"][1]["input"] == {"a": 12, "b": 30} and msg["stop_reason"] == "tool_use"
    plain = post(fake, MESSAGES, anth(model, thinking={"type": "disabled"})).json()
    assert [b["type"] for b in plain["content"]] == ["text"]


def test_messages_no_thinking_block_without_quirks():
    with FakeArgo(quirks=False) as f:
        msg = post(f, MESSAGES, anth(thinking=ENABLED, max_tokens=4096)).json()
        assert [b["type"] for b in msg["content"]] == ["text"]
        assert msg["usage"] == {"input_tokens": msg["usage"]["input_tokens"],
                                "output_tokens": msg["usage"]["output_tokens"]}


@pytest.mark.parametrize("tools,second", [(None, "text"), ([ANTH_TOOL], "tool_use")])
def test_messages_thinking_stream(fake, tools, second):
    body = anth("claudeopus47", thinking=ADAPTIVE, stream=True)
    if tools:
        body["tools"] = tools
    events = anth_events(post(fake, MESSAGES, body).raw)
    names = [n for n, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    assert events[0][1]["message"]["content"] == []
    starts = [d for n, d in events if n == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == \
        [(0, "thinking"), (1, second)]
    assert starts[0]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    stops = [d["index"] for n, d in events if n == "content_block_stop"]
    assert stops == [0, 1]
    by_index = {0: [], 1: []}
    for n, d in events:
        if n == "content_block_delta":
            by_index[d["index"]].append(d["delta"])
    thinking = by_index[0]
    assert [d["type"] for d in thinking[:-1]] == ["thinking_delta"] * (len(thinking) - 1)
    assert "".join(d["thinking"] for d in thinking[:-1]) == fake_argo.THINKING_TEXT
    assert thinking[-1]["type"] == "signature_delta" and _signature_ok(thinking[-1]["signature"])
    # the thinking block closes before the next one opens
    assert names.index("content_block_stop") < names.index("content_block_start", 2)
    if second == "text":
        assert "".join(d["text"] for d in by_index[1]) == "Hello from fake Argo."
        assert events[-2][1]["delta"]["stop_reason"] == "end_turn"
    else:
        assert json.loads("".join(d["partial_json"] for d in by_index[1])) == {"a": 12, "b": 30}
        assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_messages_stream_without_thinking_unchanged(fake):
    events = anth_events(post(fake, MESSAGES, anth(stream=True)).raw)
    names = [n for n, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names.count("content_block_start") == 1 and names.count("content_block_stop") == 1
    assert all(d.get("index", 0) == 0 for _, d in events)


def test_opus41_answers_200_with_error_body():
    with FakeArgo() as f:
        for body in (anth("claudeopus41"), anth("claudeopus41", stream=True),
                     anth("claudeopus41", thinking={"type": "disabled"})):
            r = post(f, MESSAGES, body)
            assert r.status == 200 and r.headers["Content-Type"] == "application/json"
            assert r.json() == fake_argo.ERROR_200_BODY
        assert r.json()["error"]["message"] == (
            "{'type': 'error', 'error': {'details': None, 'type': 'api_error', "
            "'message': 'Internal server error'}}")
        no_max = anth("claudeopus41")
        del no_max["max_tokens"]
        assert anth_error(post(f, MESSAGES, no_max)) == "max_tokens is required"
        f.error_200_models.discard("claudeopus41")
        msg = post(f, MESSAGES, anth("claudeopus41")).json()
        assert msg["type"] == "message" and msg["model"] == "claude-opus-4-1-20250805"
    with FakeArgo(quirks=False) as f:
        assert post(f, MESSAGES, anth("claudeopus41")).json()["type"] == "message"


def test_error_200_fault_any_model(fake):
    fake.add_fault(MESSAGES, times=1, error_200=True)
    r = post(fake, MESSAGES, anth("claudesonnet46", stream=True))
    assert (r.status, r.json()) == (200, fake_argo.ERROR_200_BODY)
    assert post(fake, MESSAGES, anth("claudesonnet46")).json()["type"] == "message"
    assert post(fake, "/_fake/fault", {"path": MESSAGES, "times": 1, "error_200": True}).status \
        == 200
    assert post(fake, MESSAGES, anth()).json() == fake_argo.ERROR_200_BODY
    with FakeArgo(quirks=False) as plain:
        plain.add_fault(MESSAGES, error_200=True)
        assert post(plain, MESSAGES, anth()).json() == fake_argo.ERROR_200_BODY


def test_anthropic_headers_recorded(fake):
    post(fake, MESSAGES, anth(), headers={
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "interleaved-thinking-2025-05-14, context-1m-2025-08-07",
        "x-api-key": "jdoe", "Authorization": "Bearer jdoe"})
    rec = fake.last(MESSAGES)
    assert rec["anthropic_headers"] == {
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "interleaved-thinking-2025-05-14, context-1m-2025-08-07",
        "x-api-key": "jdoe", "authorization": "Bearer jdoe"}
    assert rec["anthropic_betas"] == ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"]
    assert rec["headers"]["x-api-key"] == "jdoe"              # still in the full header map
    post(fake, COUNT, anth())
    rec = fake.last(COUNT)
    assert rec["anthropic_headers"] == dict((k, None) for k in fake_argo.ANTHROPIC_HEADERS)
    assert rec["anthropic_betas"] == []
    recs = call(fake, "GET", "/_fake/requests").json()
    assert recs[0]["anthropic_headers"]["anthropic-version"] == "2023-06-01"


def _tool_turns(result_id="toolu_1", result_content="42"):
    return [{"role": "user", "content": "add 12 and 30"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "I'll add."},
                {"type": "tool_use", "id": "toolu_1", "name": "add",
                 "input": {"a": 12, "b": 30}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": result_id, "content": result_content}]}]


TOOL_QUIRKS = [
    ("result_without_tools", anth(messages=_tool_turns()), fake_argo.TOOLS_REQUIRED_MSG),
    ("use_without_tools", anth(messages=_tool_turns()[:2] + [{"role": "user", "content": "ok"}]),
     fake_argo.TOOLS_REQUIRED_MSG),
    ("unknown_tool_use_id", anth(messages=_tool_turns("toolu_9"), tools=[ANTH_TOOL]),
     "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9."),
    ("result_not_after_use", anth(tools=[ANTH_TOOL], messages=[
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                      "content": "42"}]}]),
     "messages.0.content.0: unexpected `tool_use_id`"),
    ("use_not_answered", anth(tools=[ANTH_TOOL], messages=_tool_turns()[:2] + [
        {"role": "user", "content": "never mind"}]),
     "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: "
     "toolu_1."),
]


@pytest.mark.parametrize("name,body,text", TOOL_QUIRKS, ids=[q[0] for q in TOOL_QUIRKS])
def test_messages_tool_pairing(quirky_and_plain, name, body, text):
    quirky, plain = quirky_and_plain
    assert text in upstream_error(post(quirky, MESSAGES, body))
    assert post(plain, MESSAGES, body).status == 200


@pytest.mark.parametrize("content", ["42", [{"type": "text", "text": "42"}]])
def test_messages_tool_loop_answers_text_after_result(fake, content):
    first = post(fake, MESSAGES, anth(tools=[ANTH_TOOL])).json()
    use = first["content"][0]
    assert use["type"] == "tool_use" and first["stop_reason"] == "tool_use"
    msgs = anth()["messages"] + [
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"],
                                      "content": content}]}]
    second = post(fake, MESSAGES, anth(tools=[ANTH_TOOL], messages=msgs)).json()
    assert second["content"] == [{"type": "text", "text": "Tool said: 42"}]
    assert second["stop_reason"] == "end_turn"


def test_answer_understands_both_shapes(fake):
    answer = fake_argo._answer
    blocks = [{"role": "user", "content": [{"type": "text", "text": "add"}]}]
    assert answer(fake, {"messages": blocks, "tools": [ANTH_TOOL]}) == ("tool", "add")
    assert answer(fake, {"messages": blocks, "tools": [ANTH_TOOL],
                         "tool_choice": {"type": "none"}}) == ("text", "Hello from fake Argo.")
    assert answer(fake, {"messages": blocks}) == ("text", "Hello from fake Argo.")
    result = _tool_turns(result_content=[{"type": "text", "text": "4"},
                                         {"type": "text", "text": "2"}])
    assert answer(fake, {"messages": result, "tools": [ANTH_TOOL]}) == ("text", "Tool said: 42")
    openai_result = [{"role": "user", "content": "add"},
                     {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]},
                     {"role": "tool", "tool_call_id": "c1", "content": "42"}]
    assert answer(fake, {"messages": openai_result, "tools": [ADD_TOOL]}) == \
        ("text", "Tool said: 42")
    assert answer(fake, {"messages": openai_result[:1], "tools": [ADD_TOOL]}) == ("tool", "add")


def test_count_tokens(quirky_and_plain):
    quirky, plain = quirky_and_plain
    body = anth()
    del body["max_tokens"]
    r = post(quirky, COUNT, body)
    n = r.json()["input_tokens"]
    assert r.status == 200 and r.json() == {"input_tokens": n} and n > 0
    assert n == post(quirky, MESSAGES, anth()).json()["usage"]["input_tokens"]
    no_user = dict(body)
    del no_user["user"]
    assert anth_error(post(quirky, COUNT, no_user)) == "Missing required field: user"
    message = anth_error(post(quirky, COUNT, dict(body, model="claude-opus-4-7")))
    assert '"claude-opus-4-7"' in message and "claudeopus47" in message
    assert anth_error(post(quirky, COUNT, {"model": "claudeopus47", "user": "u"})) == \
        "messages: Field required"
    assert anth_error(post(quirky, COUNT, {"messages": []})) == "model: Field required"
    assert post(plain, COUNT, dict(no_user, model="claude-opus-4-7")).status == 200


# ---------------------------------------------------------------- faults

def test_fault_status_retry_after_and_times(fake):
    fake.add_fault(NATIVE_CHAT, times=1, status=429, retry_after=1)
    r = post(fake, NATIVE_CHAT, native())
    assert r.status == 429 and r.headers["Retry-After"] == "1"
    assert r.json()["error"]["message"] == "injected"
    assert post(fake, NATIVE_CHAT, native()).status == 200
    fake.add_fault("/chat/", status=503, body="busy", headers={"X-Test": "1"})
    for _ in range(2):
        r = post(fake, CHAT, legacy())
        assert (r.status, r.raw, r.headers["X-Test"]) == (503, b"busy", "1")
    assert post(fake, STREAMCHAT, legacy()).status == 200      # "/chat/" != streamchat
    fake.clear()
    assert post(fake, CHAT, legacy()).status == 200 and len(fake.requests) == 1


def test_fault_invalid_json_and_delay(fake):
    fake.add_fault(CHAT, times=1, invalid_json=True)
    r = post(fake, CHAT, legacy())
    assert r.status == 200 and r.raw == b"<html>oops</html>"
    assert r.headers["Content-Type"].startswith("text/html")
    fake.add_fault(CHAT, times=1, delay=0.2)
    start = time.monotonic()
    assert post(fake, CHAT, legacy()).status == 200
    assert time.monotonic() - start >= 0.2


@pytest.mark.parametrize("fault", [{"delay": 60}, {"hang": True}])
def test_waiting_faults_released_by_stop(fault):
    f = FakeArgo().start()
    f.add_fault(CHAT, **fault)
    outcome = {}

    def client():
        try:
            outcome["resp"] = post(f, CHAT, legacy())
        except Exception as exc:  # the connection is dropped on stop
            outcome["err"] = exc

    t = threading.Thread(target=client, daemon=True)
    t.start()
    assert f.wait_for(1, CHAT)
    f.stop()
    t.join(10)
    assert not t.is_alive()
    assert isinstance(outcome.get("err"), (ConnectionError, http.client.HTTPException))
    f.stop()                                                   # idempotent


def test_reset_after_streamchat(fake):
    fake.add_fault(STREAMCHAT, reset_after=2)
    _, chunks, terminated = raw_chunks(fake, STREAMCHAT, legacy())
    assert len(chunks) == 2 and not terminated


def test_reset_after_native_sse(fake):
    fake.add_fault(NATIVE_CHAT, times=1, reset_after=3)
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        post(fake, NATIVE_CHAT, native(stream=True))
    assert post(fake, NATIVE_CHAT, native(stream=True)).status == 200


def test_fault_validation(fake):
    with pytest.raises(TypeError):
        fake.add_fault(CHAT, stauts=500)
    with pytest.raises(ValueError):
        fake.add_fault(CHAT, times=0, status=500)


# ---------------------------------------------------------------- plumbing

def test_keep_alive_connection_ids(fake):
    conn = http.client.HTTPConnection("127.0.0.1", _port(fake), timeout=10)
    post(fake, CHAT, legacy(), conn=conn)
    call(fake, "GET", "/v1/models", conn=conn)
    conn.close()
    post(fake, CHAT, legacy())
    ids = [r["conn"] for r in fake.requests]
    assert ids[0] == ids[1] and ids[2] != ids[0]


def test_http_control_surface(fake):
    r = post(fake, "/_fake/fault", {"path": CHAT, "times": 1, "status": 502})
    assert r.json() == {"ok": True}
    assert post(fake, CHAT, legacy()).status == 502
    assert post(fake, CHAT, legacy()).status == 200
    recs = call(fake, "GET", "/_fake/requests").json()
    assert [r["path"] for r in recs] == [CHAT, CHAT] and "raw" not in recs[0]
    assert recs[0]["body"]["user"] == "jdoe"
    assert post(fake, "/_fake/fault", {"path": CHAT, "bogus": 1}).status == 400
    post(fake, "/_fake/reply", {"text": "via control"})
    assert post(fake, CHAT, legacy()).json() == {"response": "via control"}
    post(fake, "/_fake/clear", {})
    assert call(fake, "GET", "/_fake/requests").json() == []


def test_standalone_cli():
    script = os.path.abspath(fake_argo.__file__)
    proc = subprocess.Popen([sys.executable, script, "--port", "0"],
                            stdout=subprocess.PIPE, universal_newlines=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("FAKE_ARGO_URL=http://127.0.0.1:")
        port = urlsplit(line.split("=", 1)[1]).port
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/v1/models")
        assert c.getresponse().status == 200
        c.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()


# ---------------------------------------------------------------- tool_name / skip_trailing_system

SUB_TOOL = {"type": "function", "function": {
    "name": "sub", "description": "Subtract", "parameters": {"type": "object", "properties": {}}}}
ANTH_SUB = {"name": "sub", "description": "Subtract",
            "input_schema": {"type": "object", "properties": {}}}


def test_tool_name_picks_the_named_tool_in_both_shapes(fake):
    answer = fake_argo._answer
    user = [{"role": "user", "content": "hi"}]
    assert fake.tool_name is None
    assert answer(fake, {"messages": user, "tools": [ADD_TOOL, SUB_TOOL]}) == ("tool", "add")
    fake.set_tool_name("sub")
    assert answer(fake, {"messages": user, "tools": [ADD_TOOL, SUB_TOOL]}) == ("tool", "sub")
    assert answer(fake, {"messages": user, "tools": [ANTH_TOOL, ANTH_SUB]}) == ("tool", "sub")
    assert answer(fake, {"prompt": ["hi"], "tools": [ADD_TOOL, SUB_TOOL]}) == ("tool", "sub")
    # not offered: the first tool, as without tool_name
    assert answer(fake, {"messages": user, "tools": [ANTH_TOOL]}) == ("tool", "add")
    # a tool result still gets the text answer; tool_choice none still wins
    result = [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
                                            "content": "7"}]}]
    assert answer(fake, {"messages": result, "tools": [ANTH_SUB]}) == ("text", "Tool said: 7")
    assert answer(fake, {"messages": user, "tools": [ADD_TOOL, SUB_TOOL],
                         "tool_choice": "none"}) == ("text", "Hello from fake Argo.")
    fake.set_tool_name(None)
    assert answer(fake, {"messages": user, "tools": [ADD_TOOL, SUB_TOOL]}) == ("tool", "add")


def test_tool_name_on_every_endpoint(fake):
    fake.set_tool_name("sub")
    fake.set_tool_args({"x": 1})
    resp = post(fake, CHAT, legacy(tools=[ADD_TOOL, SUB_TOOL])).json()["response"]
    assert resp["tool_calls"][0]["function"]["name"] == "sub"
    resp = post(fake, CHAT, legacy("claudesonnet45", tools=[ANTH_TOOL, ANTH_SUB])).json()
    assert resp["response"]["tool_calls"][0]["name"] == "sub"
    msg = post(fake, NATIVE_CHAT, native(tools=[ADD_TOOL, SUB_TOOL])).json()["choices"][0]["message"]
    assert msg["tool_calls"][0]["function"] == {"name": "sub", "arguments": '{"x":1}'}
    chunks = sse_events(post(fake, NATIVE_CHAT, native(tools=[ADD_TOOL, SUB_TOOL], stream=True)).raw)
    assert chunks[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "sub"
    content = post(fake, MESSAGES, anth(tools=[ANTH_TOOL, ANTH_SUB])).json()["content"]
    assert [(b["type"], b["name"], b["input"]) for b in content] == [("tool_use", "sub", {"x": 1})]
    events = anth_events(post(fake, MESSAGES, anth(tools=[ANTH_TOOL, ANTH_SUB], stream=True)).raw)
    starts = [d["content_block"] for name, d in events if name == "content_block_start"]
    assert [(b["type"], b["name"]) for b in starts] == [("tool_use", "sub")]


def test_tool_name_control_surface(fake):
    assert post(fake, "/_fake/tool_name", {"name": "sub"}).json() == {"ok": True}
    assert fake.tool_name == "sub"
    assert post(fake, NATIVE_CHAT, native(tools=[ADD_TOOL, SUB_TOOL])).json()[
        "choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "sub"
    assert post(fake, "/_fake/tool_name", {"name": None}).json() == {"ok": True}
    assert fake.tool_name is None
    assert post(fake, "/_fake/tool_name", {}).status == 400


def test_skip_trailing_system(fake):
    answer = fake_argo._answer
    user_then_system = [{"role": "user", "content": "hi"},
                        {"role": "system", "content": "# Environment"},
                        {"role": "developer", "content": "be brief"}]
    # off (the default): the last message decides, as always
    assert fake.skip_trailing_system is False
    assert answer(fake, {"messages": user_then_system, "tools": [ADD_TOOL]}) == \
        ("text", "Hello from fake Argo.")
    fake.skip_trailing_system = True
    assert answer(fake, {"messages": user_then_system, "tools": [ADD_TOOL]}) == ("tool", "add")
    after_result = user_then_system[:2] + [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
        {"role": "system", "content": "reminder"}]
    assert answer(fake, {"messages": after_result, "tools": [ADD_TOOL]}) == ("text", "Tool said: 42")
    only_system = [{"role": "system", "content": "s"}]
    assert answer(fake, {"messages": only_system, "tools": [ADD_TOOL]}) == \
        ("text", "Hello from fake Argo.")
    assert answer(fake, {"messages": [{"role": "assistant", "content": "x"}] + only_system,
                         "tools": [ADD_TOOL]}) == ("text", "Hello from fake Argo.")
    r = post(fake, NATIVE_CHAT, native(messages=user_then_system[:2], tools=[ADD_TOOL]))
    assert r.json()["choices"][0]["finish_reason"] == "tool_calls"
