"""The agent-test fakes themselves: the recording fake Anthropic API and the refusing egress proxy."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request

from tests.proxyproc import wait_until

from tests.agents.recorder import FakeAnthropic, ToolRound, error_reply, text_reply
from tests.fakes.egress_proxy import EgressProxy


def _call(url, method, path, body=None, headers=None):
    host, port = url[len("http://"):].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers=dict({"Content-Type": "application/json"}, **(headers or {})))
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), raw


def _sse(raw):
    events = []
    for frame in raw.decode().split("\n\n"):
        if frame.strip():
            lines = dict(line.split(": ", 1) for line in frame.split("\n"))
            events.append((lines["event"], json.loads(lines["data"])))
    return events


BASIC = {"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def test_recorder_endpoints_and_recording():
    with FakeAnthropic(lambda r: text_reply("hello there")) as api:
        status, _, raw = _call(api.url, "POST", "/v1/messages?beta=true", BASIC, {"x-api-key": "k"})
        assert status == 200
        msg = json.loads(raw)
        assert msg["type"] == "message" and msg["role"] == "assistant" and msg["model"] == "claude-x"
        assert msg["content"] == [{"type": "text", "text": "hello there"}] and msg["stop_reason"] == "end_turn"

        status, _, raw = _call(api.url, "POST", "/v1/messages/count_tokens", BASIC)
        assert status == 200 and json.loads(raw)["input_tokens"] > 0

        status, _, raw = _call(api.url, "GET", "/v1/models?limit=1000")
        listing = json.loads(raw)
        assert status == 200 and listing["has_more"] is False and listing["data"][0]["type"] == "model"
        assert _call(api.url, "GET", "/v1/models/" + listing["data"][0]["id"])[0] == 200

        assert _call(api.url, "HEAD", "/")[0] == 200
        assert _call(api.url, "GET", "/")[0] == 200
        status, _, raw = _call(api.url, "POST", "/v1/complete", BASIC)
        assert status == 404 and json.loads(raw)["error"]["type"] == "not_found_error"

        reqs = api.requests
        assert [r["path"] for r in reqs][:2] == ["/v1/messages?beta=true", "/v1/messages/count_tokens"]
        assert reqs[0]["query"] == {"beta": "true"} and reqs[0]["headers"]["x-api-key"] == "k"
        assert reqs[0]["json"] == BASIC and reqs[0]["status"] == 200
        assert len(api.messages()) == 1


def test_recorder_stream_grammar_for_tool_round():
    script = ToolRound("Bash", {"command": "echo hi"}, final_text="done", tool_use_id="toolu_1")
    body = dict(BASIC, stream=True, tools=[{"name": "Bash", "input_schema": {"type": "object"}}])
    with FakeAnthropic(script) as api:
        status, headers, raw = _call(api.url, "POST", "/v1/messages", body)
        assert status == 200 and headers["content-type"].startswith("text/event-stream")
        events = _sse(raw)
        names = [e for e, _ in events]
        assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
        assert all(data["type"] == name for name, data in events)
        start = [d for e, d in events if e == "content_block_start"]
        assert start == [{"type": "content_block_start", "index": 0,
                          "content_block": {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}}]
        partial = "".join(d["delta"]["partial_json"] for e, d in events if e == "content_block_delta")
        assert json.loads(partial) == {"command": "echo hi"}
        assert events[-2][1]["delta"]["stop_reason"] == "tool_use"

        second = dict(body, messages=body["messages"] + [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "hi"}]}])
        events = _sse(_call(api.url, "POST", "/v1/messages", second)[2])
        text = "".join(d["delta"]["text"] for e, d in events if e == "content_block_delta")
        assert text == "done" and events[-2][1]["delta"]["stop_reason"] == "end_turn"
        assert script.served_tool_use == 1 and script.served_final == 1


def test_recorder_faults_and_error_replies():
    with FakeAnthropic(lambda r: error_reply(529)) as api:
        api.add_fault("/v1/messages", 500, times=1)
        status, _, raw = _call(api.url, "POST", "/v1/messages", BASIC)
        assert status == 500 and json.loads(raw)["type"] == "error"
        status, _, raw = _call(api.url, "POST", "/v1/messages", BASIC)
        assert status == 529 and json.loads(raw)["error"]["type"] == "overloaded_error"
        assert _call(api.url, "POST", "/v1/messages", {"messages": []})[0] == 400
        # the recorder files a status once its handler has finished writing: wait for that
        assert wait_until(lambda: [r["status"] for r in api.requests] == [500, 529, 400])


def test_egress_proxy_refuses_and_records():
    with EgressProxy() as egress:
        conn = http.client.HTTPConnection("127.0.0.1", egress.port, timeout=10)
        conn.request("CONNECT", "api.example.invalid:443")
        assert conn.getresponse().status == 403
        conn.close()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": egress.url}))
        try:
            opener.open("http://telemetry.example.invalid:8080/v1/events", timeout=10)
            raise AssertionError("the proxy let a request through")
        except urllib.error.HTTPError as exc:
            assert exc.code == 403
        assert egress.wait_for(2)
        assert [(a["method"], a["host"], a["port"]) for a in egress.attempts] == [
            ("CONNECT", "api.example.invalid", 443), ("GET", "telemetry.example.invalid", 8080)]
        assert egress.hosts() == ["api.example.invalid:443", "telemetry.example.invalid:8080"]
