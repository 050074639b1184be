"""The hub driven in-process: routes with scripted upstream adapters, the relay, the
encoders, the routing table and the client stream's states (no sockets)."""

from __future__ import annotations

import io
import json

import pytest

from argo_proxy import upstreams
from argo_proxy.clientstream import CLOSED, HELD, OPEN, PENDING, ClientStream
from argo_proxy.convert.encoders import ChatEncoder, CompletionEncoder, encode_chunk
from argo_proxy.errors import ProxyError
from tests.inproc import ScriptedAdapter, chunks, completion, drive, make_app

CHAT = {"model": "argo:gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}


def chat_events(result):
    assert result.status == 200 and result.headers["content-type"] == "text/event-stream"
    events = [data for _, data in result.events()]
    assert events[-1] == "[DONE]" and events.count("[DONE]") == 1
    return [json.loads(e) for e in events[:-1]]


# -- routing table -----------------------------------------------------------------------

@pytest.mark.parametrize("mode,kind,family,name", [
    ("standard", "chat", "openai", "legacy"),
    ("native-openai", "chat", "anthropic", "native"),
    ("native-openai", "responses", "openai", "native"),
    ("native-openai", "argo", "openai", "legacy"),
    ("llamastack", "chat", "unknown", "llamastack"),
])
def test_routing_table(mode, kind, family, name):
    assert upstreams.choose(mode, kind, family) == name


def test_routing_table_without_a_row_says_so():
    with pytest.raises(LookupError, match="chat requests for openai models in other mode"):
        upstreams.choose("other", "chat", "openai")


# -- routes with a scripted upstream ------------------------------------------------------

def test_chat_non_streaming_reply_comes_from_the_adapter():
    legacy = ScriptedAdapter([completion("Hello there")])
    app = make_app({"legacy": legacy})
    result = drive(app, "POST", "/v1/chat/completions", CHAT)
    assert result.status == 200 and result.json()["choices"][0]["message"]["content"] == "Hello there"
    assert legacy.seen[0]["model"] == "gpt4o"   # resolved before the adapter saw it


def test_chat_stream_is_encoded_from_hub_events():
    legacy = ScriptedAdapter([chunks("Hello there", [CALL])])
    app = make_app({"legacy": legacy})
    result = drive(app, "POST", "/v1/chat/completions",
                   dict(CHAT, stream=True, stream_options={"include_usage": True}))
    out = chat_events(result)
    assert len({c["id"] for c in out}) == 1
    deltas = [c["choices"][0]["delta"] for c in out if c["choices"]]
    assert deltas[0]["role"] == "assistant" and sum("role" in d for d in deltas) == 1
    assert "".join(d.get("content") or "" for d in deltas) == "Hello there"
    frags = [f for d in deltas for f in d.get("tool_calls") or []]
    assert frags[0]["id"] == "call_1" and "".join(f["function"]["arguments"] for f in frags) == '{"a": 1}'
    assert [c["choices"][0]["finish_reason"] for c in out if c["choices"]][-1] == "tool_calls"
    assert out[-1]["choices"] == [] and out[-1]["usage"]["total_tokens"] == 5


def test_same_protocol_is_relayed_not_encoded():
    native = ScriptedAdapter([{"raw": True}], protocols=("openai-chat",))
    app = make_app({"native": native}, use_native_openai=True)
    result = drive(app, "POST", "/v1/chat/completions", CHAT)
    assert result.json() == {"relayed": dict(CHAT, model="gpt4o"), "path": "chat/completions"}


def test_upstream_failure_before_the_stream_is_a_plain_error():
    legacy = ScriptedAdapter([[ProxyError(503, "Cannot connect to argo")]])
    result = drive(make_app({"legacy": legacy}), "POST", "/v1/chat/completions", dict(CHAT, stream=True))
    assert result.status == 503 and result.json()["error"]["message"] == "Cannot connect to argo"


def test_upstream_failure_inside_the_stream_is_a_final_error_event():
    events = chunks("Hello")[:2] + [ProxyError(502, "broke off")]
    result = drive(make_app({"legacy": ScriptedAdapter([events])}), "POST", "/v1/chat/completions",
                   dict(CHAT, stream=True))
    assert result.status == 200 and result.raw.endswith(b"0\r\n\r\n")  # the stream is terminated
    data = [d for _, d in result.events()]
    assert json.loads(data[-1])["error"]["message"] == "broke off" and "[DONE]" not in data


def test_responses_stream_and_reply_through_the_hub():
    legacy = ScriptedAdapter([chunks("Hi you"), completion("Hi you")])
    app = make_app({"legacy": legacy})
    streamed = drive(app, "POST", "/v1/responses", {"model": "gpt4o", "input": "hi", "stream": True})
    kinds = [name for name, _ in streamed.events()]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    done = json.loads(streamed.events()[-1][1])["response"]
    assert done["output"][0]["content"][0]["text"] == "Hi you" and done["usage"]["total_tokens"] == 5
    whole = drive(app, "POST", "/v1/responses", {"model": "gpt4o", "input": "hi"}).json()
    assert whole["object"] == "response" and whole["output"][0]["content"][0]["text"] == "Hi you"


def test_completions_stream_through_the_hub():
    legacy = ScriptedAdapter([chunks("abc")])
    result = drive(make_app({"legacy": legacy}), "POST", "/v1/completions",
                   {"model": "gpt4o", "prompt": "x", "stream": True})
    events = [d for _, d in result.events()]
    texts = [json.loads(e)["choices"][0]["text"] for e in events[:-1]]
    assert "".join(texts) == "abc" and events[-1] == "[DONE]"
    assert legacy.seen[0]["prompt"] == ["x"]   # Argo's prompt style


def test_an_answer_before_the_body_was_read_says_connection_close():
    app = make_app({"legacy": ScriptedAdapter()})
    refused = drive(app, "POST", "/v1/nothing", {"x": 1})
    assert refused.status == 404 and refused.headers.get("connection") == "close"
    served = drive(make_app({"legacy": ScriptedAdapter([completion()])}), "POST",
                   "/v1/chat/completions", CHAT)
    assert served.status == 200 and "connection" not in served.headers


def test_unknown_route_and_bad_json_in_the_envelope():
    app = make_app({"legacy": ScriptedAdapter()})
    assert drive(app, "GET", "/v1/nothing").status == 404
    bad = drive(app, "POST", "/v1/chat/completions", b"{nope")
    assert bad.status == 400 and bad.json()["error"]["code"] == "invalid_json"


# -- encoders ---------------------------------------------------------------------------------

def test_chat_encoder_ends_well_formed_without_a_finish():
    enc = ChatEncoder("m")
    raw = enc.start() + encode_chunk(enc, {"choices": [{"delta": {"content": "x"}}]}) + enc.end()
    events = [e for e in raw.split(b"\n\n") if e]
    assert events[-1] == b"data: [DONE]"
    assert json.loads(events[-2][6:])["choices"][0]["finish_reason"] == "stop"
    assert enc.end() == b""   # idempotent


def test_reasoning_is_carried_as_reasoning_content():
    enc = ChatEncoder("m")
    raw = encode_chunk(enc, {"choices": [{"delta": {"reasoning_content": "hmm"}}]})
    assert json.loads(raw[6:])["choices"][0]["delta"] == {"role": "assistant", "reasoning_content": "hmm"}


def test_completion_encoder_ignores_what_completions_cannot_carry():
    enc = CompletionEncoder("m")
    assert enc.tool_call(0, "id", "f", "{}") == b"" and enc.reasoning("x") == b""


# -- the client stream's states -------------------------------------------------------------

def stream():
    return ClientStream(io.BytesIO())


def test_pending_send_closes():
    out = stream()
    assert out.state == PENDING and out.send(200, b"{}")
    assert out.state == CLOSED and not out.send(200, b"{}")


def test_held_stream_opens_on_tick_with_a_keepalive_and_ends_with_error_event():
    out = stream()
    out.hold()
    assert out.state == HELD
    assert out.tick(out._held_since + 0.5, 1.0) and out.state == HELD
    out.tick(out._held_since + 1.0, 1.0)
    assert out.state == OPEN
    out.fail(ProxyError(502, "late failure"))
    raw = out._wfile.getvalue()
    assert raw.startswith(b"HTTP/1.1 200 OK") and b": keep-alive" in raw
    assert b"late failure" in raw and raw.endswith(b"0\r\n\r\n") and out.state == CLOSED


def test_settle_returns_a_held_stream_to_pending():
    out = stream()
    out.hold()
    assert out.settle() is False and out.state == PENDING


def test_open_is_idempotent_and_write_after_close_is_refused():
    out = stream()
    out.open()
    out.open()
    assert out._wfile.getvalue().count(b"HTTP/1.1") == 1
    assert out.write(b"data: x\n\n")
    out.close()
    assert not out.write(b"data: y\n\n")


def test_broken_pipe_marks_the_client_gone_and_calls_back():
    class Broken(io.BytesIO):
        def write(self, data):
            raise BrokenPipeError()
    out = ClientStream(Broken())
    seen = []
    out.on_disconnect(lambda: seen.append(1))
    out.open()
    assert not out.write(b"x") and out.gone and seen == [1]


class _Reply:
    def __init__(self, *pieces):
        self.pieces = pieces

    def iter_raw(self):
        return iter(self.pieces)

    def close(self):
        pass


@pytest.mark.parametrize("pieces,added", [
    ((b'data: {"a":1}\n\n',), True),                          # LlamaStack: no [DONE]
    ((b'data: {"a":1}\n\ndata: [DONE]\n\n',), False),          # Argo: kept byte-exact
    ((b'data: {"a":1}\n\nda', b'ta: [DONE]\n\n'), False),
])
def test_every_relayed_chat_stream_ends_with_done(pieces, added):
    from argo_proxy.upstreams.exchange import relay_stream
    out = stream()
    out.open()
    relay_stream(_Reply(*pieces), out, done=True)
    out.close()
    from tests.inproc import Result
    body = Result(out._wfile.getvalue()).body
    assert body == b"".join(pieces) + (b"data: [DONE]\n\n" if added else b"")
