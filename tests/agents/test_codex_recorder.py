"""Real Codex CLI against the recording fake Responses API: one tool round, fully offline.

Proves the harness (tests/agents/codex.py, recorder_responses.py, tests/fakes/egress_proxy.py)
works before it is pointed at argo-proxy.  The agent test is skipped when the pinned Codex is not
installed (tests/agents/codex.py: install(); or set CODEX_BIN); the recorder's own tests always run.
"""

from __future__ import annotations

import http.client
import json

import pytest

from tests.agents import codex
from tests.agents.recorder_responses import (FakeResponses, ToolRound, error_reply, find_tool, output_text,
                                             reasoning_item, text_reply)
from tests.fakes.egress_proxy import EgressProxy

CODEX = codex.find_codex()

needs_codex = pytest.mark.skipif(
    CODEX is None,
    reason="Codex %s is not installed under %s (the test runner installs it with "
           "tests.agents.codex.install(); or set CODEX_BIN)" % (codex.PINNED_VERSION, codex.DEFAULT_PREFIX))

API_KEY = "sk-codex-recorder-test"
MARKER = "agent-tool-ran-5821"
FINAL = "The command printed the marker. FINAL-3307"
SHELL_TOOL = "exec_command"      # Codex 0.171's shell tool: a "function" tool, arguments {"cmd": ...}


@needs_codex
def test_one_tool_round_offline(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "README.txt").write_text("scratch directory for the agent\n")
    script = ToolRound(SHELL_TOOL, {"cmd": "echo " + MARKER}, final_text=FINAL)

    with EgressProxy() as egress, FakeResponses(script) as api:
        rc, out, err = codex.run_codex(CODEX, api.base_url, "Run the marker command and tell me what it printed.",
                                       str(work), egress.url, api_key=API_KEY, timeout=120)
        requests = api.requests
        turns = api.responses()
        attempts = egress.attempts
    log = "rc=%s\nstdout:\n%s\nstderr:\n%s\nrequests:\n%s" % (rc, out, err, api.summary())

    assert rc == 0, log
    assert FINAL in out, log

    # Turn 1 offered the shell tool as a function tool and was answered with our function_call ...
    assert len(turns) >= 2, log
    first, second = turns[0]["json"], turns[1]["json"]
    found = find_tool(first, SHELL_TOOL)
    assert found is not None and found[1]["type"] == "function", first.get("tools")
    assert script.served_kind == "function_call", script.served_kind
    assert script.result_for_us(first) is None, log
    # ... and turn 2 brought the command's output back as a function_call_output, after our call.
    result = script.result_for_us(second)
    assert result is not None, "no output for %s in the second request\n%s" % (script.call_id, log)
    assert result["type"] == "function_call_output", result
    assert MARKER in output_text(result), result
    echoed = [item for item in second["input"] if item.get("type") == "function_call"]
    assert any(item.get("call_id") == script.call_id for item in echoed), second["input"]
    assert script.served_tool_call == 1 and script.served_final >= 1, log

    # Every request came to us, streamed and authenticated the way the provider config says.
    for req in requests:
        assert req["headers"].get("authorization") == "Bearer " + API_KEY, req["headers"]
    assert all(r["path"] == "/v1/responses" and r["json"].get("stream") is True for r in turns), log

    # ... and nothing else was tried.
    assert attempts == [], attempts


# ---- the recorder itself (no agent needed) --------------------------------------------------------

def _call(url, method, path, body=None):
    host, port = url[len("http://"):].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                 headers={"Content-Type": "application/json", "Authorization": "Bearer k"})
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


TOOLS = [{"type": "function", "name": SHELL_TOOL, "parameters": {"type": "object"}},
         {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "x"}},
         {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "inner", "parameters": {}}]},
         {"type": "web_search", "external_web_access": False}]
BODY = {"model": "gpt-x", "stream": True, "store": False, "tools": TOOLS,
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}]}


def _check_grammar(events):
    names = [name for name, _ in events]
    assert names[:2] == ["response.created", "response.in_progress"] and names[-1] == "response.completed"
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    assert all(data["type"] == name for name, data in events)
    added = [d["output_index"] for n, d in events if n == "response.output_item.added"]
    done = [d["output_index"] for n, d in events if n == "response.output_item.done"]
    assert added == done == list(range(len(added)))
    final = events[-1][1]["response"]
    assert final["status"] == "completed" and final["output"] == [d["item"] for n, d in events
                                                                  if n == "response.output_item.done"]
    assert final["usage"]["total_tokens"] == final["usage"]["input_tokens"] + final["usage"]["output_tokens"]
    return final["output"]


def test_recorder_stream_grammar_for_each_item_type():
    script = ToolRound(SHELL_TOOL, {"cmd": "echo hi"}, final_text="done", call_id="call_1",
                       reasoning=reasoning_item("plan", "enc"))
    with FakeResponses(script) as api:
        status, headers, raw = _call(api.url, "POST", "/v1/responses", BODY)
        assert status == 200 and headers["content-type"].startswith("text/event-stream")
        events = _sse(raw)
        output = _check_grammar(events)
        assert [i["type"] for i in output] == ["reasoning", "function_call"]
        assert output[0]["encrypted_content"] == "enc" and output[1]["call_id"] == "call_1"
        assert json.loads(output[1]["arguments"]) == {"cmd": "echo hi"}
        deltas = "".join(d["delta"] for n, d in events if n == "response.function_call_arguments.delta")
        assert deltas == output[1]["arguments"]
        assert "response.reasoning_summary_text.delta" in [n for n, _ in events]

        second = dict(BODY, input=BODY["input"] + output + [
            {"type": "function_call_output", "call_id": "call_1", "output": "hi\n"}])
        output = _check_grammar(_sse(_call(api.url, "POST", "/v1/responses", second)[2]))
        assert output[0]["type"] == "message" and output[0]["content"][0]["text"] == "done"
        assert script.served_tool_call == 1 and script.served_final == 1 and script.served_kind == "function_call"

    for name, kind, field in (("apply_patch", "custom_tool_call", "input"), ("inner", "function_call", "namespace")):
        script = ToolRound(name, {"command": "*** Begin Patch"}, call_id="c2")
        with FakeResponses(script) as api:
            output = _check_grammar(_sse(_call(api.url, "POST", "/v1/responses", BODY)[2]))
        assert output[0]["type"] == kind and field in output[0], output
    assert find_tool(BODY, "inner") == ("ns", TOOLS[2]["tools"][0]) and find_tool(BODY, "nope") is None


def test_recorder_other_endpoints_and_faults():
    with FakeResponses(lambda r: text_reply("plain")) as api:
        status, _, raw = _call(api.url, "POST", "/v1/responses", dict(BODY, stream=False))
        answer = json.loads(raw)
        assert status == 200 and answer["object"] == "response" and answer["status"] == "completed"
        assert answer["output"][0]["content"][0]["text"] == "plain"
        status, _, raw = _call(api.url, "GET", "/v1/models")
        assert status == 200 and json.loads(raw)["data"][0]["object"] == "model"
        assert _call(api.url, "GET", "/v1/models/nope")[0] == 404
        assert _call(api.url, "POST", "/v1/responses", {"model": "m"})[0] == 400
        api.add_fault("/v1/responses", 500, times=1)
        status, _, raw = _call(api.url, "POST", "/v1/responses", BODY)
        assert status == 500 and json.loads(raw)["error"]["message"] == "injected fault"
        assert _call(api.url, "POST", "/v1/responses", BODY)[0] == 200
        api.responder = lambda r: error_reply(429, code="rate_limit_exceeded")
        status, _, raw = _call(api.url, "POST", "/v1/responses", BODY)
        assert status == 429 and json.loads(raw)["error"]["code"] == "rate_limit_exceeded"
        assert api.wait_for(lambda reqs: all(r["status"] is not None for r in reqs))   # set after the reply
        assert [r["status"] for r in api.requests] == [200, 200, 404, 400, 500, 200, 429]
        assert len(api.responses()) == 5 and api.requests[0]["headers"]["authorization"] == "Bearer k"
