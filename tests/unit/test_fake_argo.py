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
    body = {"model": "claudesonnet45", "messages": [{"role": "user", "content": "hi"}]}
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
