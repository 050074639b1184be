"""Real Claude Code against the recording fake Anthropic API: one tool round, fully offline.

Proves the harness (tests/agents/claude_code.py, recorder.py, tests/fakes/egress_proxy.py) works
before it is pointed at argo-proxy.  Skipped when the pinned Claude Code is not installed
(tests/agents/claude_code.py: install(); or set CLAUDE_CODE_BIN).
"""

from __future__ import annotations

import pytest

from tests.agents import claude_code
from tests.agents.recorder import FakeAnthropic, ToolRound
from tests.fakes.egress_proxy import EgressProxy

CLAUDE = claude_code.find_claude()

pytestmark = pytest.mark.skipif(
    CLAUDE is None,
    reason=claude_code.missing_reason() if CLAUDE is None else "")

API_KEY = "sk-ant-recorder-test"
MARKER = "agent-tool-ran-7311"
FINAL = "The command printed the marker. FINAL-9472"


def _text_of(tool_result):
    content = tool_result.get("content")
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content or [] if isinstance(block, dict))


def test_one_tool_round_offline(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "README.txt").write_text("scratch directory for the agent\n")
    script = ToolRound("Bash", {"command": "echo " + MARKER, "description": "Print a marker"}, final_text=FINAL)

    with EgressProxy() as egress, FakeAnthropic(script) as api:
        rc, out, err = claude_code.run_claude(CLAUDE, api.url, "Run the marker command and tell me what it printed.",
                                              str(work), egress.url, api_key=API_KEY, timeout=90)
        requests = api.requests
        messages = api.messages()
        attempts = egress.attempts
    log = "rc=%s\nstdout:\n%s\nstderr:\n%s\nrequests:\n%s" % (rc, out, err, api.summary())

    assert rc == 0, log
    assert FINAL in out, log

    # Turn 1 offered the Bash tool and was answered with our tool_use; turn 2 brought its result back.
    assert len(messages) >= 2, log
    first, second = messages[0]["json"], messages[1]["json"]
    assert any(tool.get("name") == "Bash" for tool in first.get("tools") or []), log
    assert script.result_for_us(first) is None, log
    result = script.result_for_us(second)
    assert result is not None, "no tool_result for %s in the second request\n%s" % (script.tool_use_id, log)
    assert not result.get("is_error"), result
    assert MARKER in _text_of(result), result
    echoed = [block for msg in second["messages"] if msg.get("role") == "assistant"
              for block in msg.get("content") or [] if isinstance(block, dict)]
    assert any(b.get("type") == "tool_use" and b.get("id") == script.tool_use_id for b in echoed), second["messages"]
    assert script.served_tool_use == 1 and script.served_final >= 1, log

    # Every request came to us, authenticated and versioned like the real API expects.
    for req in requests:
        assert req["headers"].get("x-api-key") == API_KEY, req["headers"]
        assert req["headers"].get("anthropic-version") == "2023-06-01", req["headers"]
    assert all(r["path"] == "/v1/messages?beta=true" for r in messages), log

    # ... and nothing else was tried.
    assert attempts == [], attempts
