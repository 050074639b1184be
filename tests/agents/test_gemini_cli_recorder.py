"""Real Gemini CLI against the recording fake Gemini API: one tool round, fully offline.

Proves the harness (tests/agents/gemini_cli.py, recorder_gemini.py, tests/fakes/egress_proxy.py)
works before it is pointed at argo-proxy.  The agent test is skipped when the pinned Gemini CLI
(or Node.js >= 20) is not installed (tests/agents/gemini_cli.py: install(); or set GEMINI_CLI_BIN);
the recorder's own tests always run.
"""

from __future__ import annotations

import http.client
import json

import pytest

from tests.agents import gemini_cli
from tests.agents.recorder_gemini import (FakeGemini, ToolRound, declared_functions, error_reply,
                                          function_responses, json_for_schema, text_reply)
from tests.fakes.egress_proxy import EgressProxy

GEMINI = gemini_cli.find_gemini()
NODE = gemini_cli.find_node()

needs_gemini = pytest.mark.skipif(
    GEMINI is None or (GEMINI.endswith(".js") and NODE is None),
    reason="Gemini CLI %s is not installed under %s, or Node.js >= 20 is missing (the test runner installs it "
           "with tests.agents.gemini_cli.install(); or set GEMINI_CLI_BIN)"
           % (gemini_cli.PINNED_VERSION, gemini_cli.DEFAULT_PREFIX))

API_KEY = "gemini-recorder-test-key"
MARKER = "agent-tool-ran-6150"
FINAL = "The command printed the marker. FINAL-4418"
SHELL_TOOL = "run_shell_command"


@needs_gemini
def test_one_tool_round_offline(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "README.txt").write_text("scratch directory for the agent\n")
    script = ToolRound(SHELL_TOOL, {"command": "echo " + MARKER, "description": "Print a marker"},
                       final_text=FINAL)

    with EgressProxy() as egress, FakeGemini(script) as api:
        rc, out, err = gemini_cli.run_gemini(GEMINI, api.url, "Run the marker command and tell me what it printed.",
                                             str(work), egress.url, api_key=API_KEY, timeout=150)
        requests = api.requests
        turns = api.generate_calls()
        attempts = egress.attempts
    log = "rc=%s\nstdout:\n%s\nstderr:\n%s\nrequests:\n%s" % (rc, out, err, api.summary())

    assert rc == 0, log
    assert FINAL in out, log

    # Turn 1 declared the shell tool and was answered with our functionCall ...
    assert len(turns) >= 2, log
    first, second = turns[0], turns[1]
    assert any(d.get("name") == SHELL_TOOL for d in declared_functions(first["json"])), log
    assert script.result_for_us(first["json"]) is None, log
    # ... and turn 2 brought the command's output back as a functionResponse, after our call.
    result = script.result_for_us(second["json"])
    assert result is not None, "no functionResponse from %s in the second request\n%s" % (SHELL_TOOL, log)
    assert MARKER in json.dumps(result.get("response")), result
    model_parts = [p for c in second["json"]["contents"] if c.get("role") == "model" for p in c.get("parts", [])]
    assert any((p.get("functionCall") or {}).get("name") == SHELL_TOOL for p in model_parts), model_parts
    assert script.served_tool_call == 1 and script.served_final >= 1, log

    # Every request came to us, streamed over SSE for the chosen model, with the API key header.
    for req in requests:
        assert req["headers"].get("x-goog-api-key") == API_KEY, req["headers"]
    assert all(r["path"] == "/v1beta/models/%s:streamGenerateContent?alt=sse" % gemini_cli.DEFAULT_MODEL
               for r in turns), log

    # ... and nothing else was tried.
    assert attempts == [], attempts


# ---- the recorder itself (no agent needed) --------------------------------------------------------

def _call(url, method, path, body=None):
    host, port = url[len("http://"):].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                 headers={"Content-Type": "application/json", "x-goog-api-key": "k"})
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), raw


BODY = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [{"functionDeclarations": [{"name": SHELL_TOOL, "parametersJsonSchema": {"type": "object"}}]}]}


def test_recorder_stream_grammar_and_tool_round():
    script = ToolRound(SHELL_TOOL, {"command": "echo hi"}, final_text="done", call_id="c1",
                       thought_signature="c2ln")
    with FakeGemini(script) as api:
        status, headers, raw = _call(api.url, "POST", "/v1beta/models/gemini-x:streamGenerateContent?alt=sse", BODY)
        assert status == 200 and headers["content-type"].startswith("text/event-stream")
        frames = [f for f in raw.decode().split("\r\n\r\n") if f]
        chunks = [json.loads(f[len("data: "):]) for f in frames]
        assert all(f.startswith("data: ") for f in frames)
        part = chunks[-1]["candidates"][0]["content"]["parts"][0]
        assert part == {"functionCall": {"name": SHELL_TOOL, "args": {"command": "echo hi"}, "id": "c1"},
                        "thoughtSignature": "c2ln"}
        assert chunks[-1]["candidates"][0]["finishReason"] == "STOP" and chunks[-1]["modelVersion"] == "gemini-x"

        second = dict(BODY, contents=BODY["contents"] + [
            {"role": "model", "parts": [part]},
            {"role": "user", "parts": [{"functionResponse": {"id": "c1", "name": SHELL_TOOL,
                                                             "response": {"output": "hi"}}}]}])
        assert function_responses(second)[0]["response"] == {"output": "hi"}
        status, _, raw = _call(api.url, "POST", "/v1beta/models/gemini-x:generateContent", second)
        answer = json.loads(raw)
        assert status == 200 and answer["candidates"][0]["content"] == {"role": "model", "parts": [{"text": "done"}]}
        assert answer["usageMetadata"]["totalTokenCount"] > 0

        # a side call asking for JSON gets JSON that fits its schema
        side = {"contents": BODY["contents"], "generationConfig": {
            "responseMimeType": "application/json",
            "responseJsonSchema": {"type": "OBJECT", "properties": {"score": {"type": "INTEGER"},
                                                                    "why": {"type": "STRING"}}}}}
        raw = _call(api.url, "POST", "/v1beta/models/gemini-lite:generateContent", side)[2]
        assert json.loads(json.loads(raw)["candidates"][0]["content"]["parts"][0]["text"]) == {"score": 1, "why": "ok"}
        assert script.served_tool_call == 1 and script.served_final == 1 and script.served_side == 1

        reqs = api.requests
        assert [(r["model"], r["rpc"]) for r in reqs] == [("gemini-x", "streamGenerateContent"),
                                                          ("gemini-x", "generateContent"),
                                                          ("gemini-lite", "generateContent")]
        assert reqs[0]["query"] == {"alt": "sse"} and reqs[0]["headers"]["x-goog-api-key"] == "k"


def test_recorder_other_endpoints_and_faults():
    with FakeGemini(lambda r: error_reply(429)) as api:
        status, _, raw = _call(api.url, "GET", "/v1beta/models")
        assert status == 200 and json.loads(raw)["models"][0]["name"].startswith("models/")
        assert _call(api.url, "GET", "/v1beta/models/gemini-2.5-pro")[0] == 200
        status, _, raw = _call(api.url, "POST", "/v1beta/models/gemini-2.5-pro:countTokens", BODY)
        assert status == 200 and json.loads(raw)["totalTokens"] > 0
        status, _, raw = _call(api.url, "POST", "/v1beta/models/gemini-2.5-pro:generateContent", BODY)
        assert status == 429 and json.loads(raw)["error"]["status"] == "RESOURCE_EXHAUSTED"
        api.add_fault(":countTokens", 503, times=1)
        assert _call(api.url, "POST", "/v1beta/models/m:countTokens", BODY)[0] == 503
        assert _call(api.url, "POST", "/v1beta/models/m:countTokens", BODY)[0] == 200
        assert _call(api.url, "POST", "/v1beta/models/m:generateContent", {"x": 1})[0] == 400
        assert _call(api.url, "GET", "/nope")[0] == 404
        api.responder = lambda r: text_reply("abcdefghi", thought="hmm")
        raw = _call(api.url, "POST", "/v1beta/models/m:streamGenerateContent", BODY)[2]   # no alt=sse: JSON array
        parts = [c["candidates"][0]["content"]["parts"][0] for c in json.loads(raw)]
        assert "".join(p["text"] for p in parts if p.get("thought")) == "hmm"
        assert "".join(p["text"] for p in parts if not p.get("thought")) == "abcdefghi"
    assert json_for_schema({"type": "array", "minItems": 2, "items": {"type": "string", "enum": ["a"]}}) == ["a", "a"]
