"""The real Claude Code CLI (``claude -p``) through argo-proxy against the fake Argo, offline.

Each test is one Claude Code run with one tool round: the fake model answers the first request
by calling Claude Code's Bash tool (``fake.tool_name``/``fake.tool_args``), Claude Code runs
``echo <marker>`` itself, sends the output back as a tool_result, and the fake model answers
"Tool said: <result>".  Checked on every run:

* Claude Code exits 0 and prints the final answer (which contains the command's output);
* what reached the fake Argo: two model requests on the endpoint the mode and model call for
  (Claude models: Argo's Anthropic ``/v1/messages``; GPT: ``/v1/chat/completions`` in native
  mode, the legacy ``/api/v1/resource/chat/`` in standard mode), the first offering Bash, the
  second carrying the Bash call and its result (the marker), with the resolved Argo model id
  and our user;
* the proxy's own key (Claude Code's ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN) never reached Argo;
* nothing tried to leave the machine (a refusing egress proxy is every proxy variable).

Skipped when the pinned Claude Code is not installed (tests/run_all.py installs it into
``<repo>/.agents`` with tests.agents.claude_code.install(); or set CLAUDE_CODE_BIN).
"""

from __future__ import annotations

import json
import time

import pytest

from tests.agents import claude_code
from tests.fakes.egress_proxy import EgressProxy

CLAUDE = claude_code.find_claude()

pytestmark = [
    pytest.mark.skipif(
        CLAUDE is None,
        reason=claude_code.missing_reason() if CLAUDE is None else ""),
    pytest.mark.timeout(120),
]

PROXY_KEY = "sk-argo-proxy-cc-test"
MARKER = "tool-said-hi-5821"
BASH_INPUT = {"command": "echo " + MARKER, "description": "say hi"}
FINAL = "Tool said: " + MARKER          # what the fake model answers once the result is back
PROMPT = "Run the echo command and tell me what it printed."

MESSAGES = "/v1/messages"
NATIVE_CHAT = "/v1/chat/completions"
LEGACY_CHAT = "/api/v1/resource/chat/"
MODES = {"native": ("--native-openai",), "standard": ()}


def _start(start_proxy, fake, mode, **config):
    cfg = {"argo_base_url": fake.url, "proxy_api_key": PROXY_KEY}
    cfg.update(config)
    proxy = start_proxy("--user", "tester", *MODES[mode], config=cfg)
    assert proxy.url, "the proxy did not start:\n" + proxy.log()
    return proxy


def _run(proxy, fake, tmp_path, model=None, auth="api_key"):
    """One Claude Code run in which the fake model calls Bash once; returns
    (returncode, stdout, egress attempts, a log of everything for assertion messages)."""
    fake.set_tool_name("Bash")
    fake.set_tool_args(BASH_INPUT)
    # Claude Code's turn 1 is [user, role:system]; chat upstreams get that system message last
    fake.skip_trailing_system = True
    work = tmp_path / "work"
    work.mkdir()
    with EgressProxy() as egress:
        started = time.monotonic()
        rc, out, err = claude_code.run_claude(CLAUDE, proxy.url, PROMPT, str(work), egress.url, model=model,
                                              api_key=PROXY_KEY, auth=auth, timeout=90)
        took = time.monotonic() - started
        attempts = egress.attempts
    log = "rc=%s (%.2f s)\n--- stdout:\n%s\n--- stderr:\n%s\n--- fake Argo saw:\n%s\n--- proxy log:\n%s" % (
        rc, took, out, err, _summary(fake.requests), proxy.log())
    return rc, out, attempts, log


def _summary(records):
    lines = []
    for rec in records:
        body = rec["body"] if isinstance(rec["body"], dict) else {}
        msgs = body.get("messages") or []
        lines.append("%s %s model=%s stream=%s messages=%s" % (
            rec["method"], rec["path"], body.get("model"), body.get("stream"),
            [m.get("role") for m in msgs if isinstance(m, dict)]))
    return "\n".join(lines)


def _model_requests(fake, path):
    return [r for r in fake.requests if r["path"] == path and r["method"] == "POST"]


def _tool_names(body):
    names = []
    for tool in body.get("tools") or []:
        fn = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        names.append(fn.get("name"))
    return names


def _text(content):
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content or [] if isinstance(b, dict))


def _anthropic_round(second):
    """(tool_use block, tool_result block) of the Bash round in an Anthropic request body."""
    msgs = second["messages"]
    for i, msg in enumerate(msgs[:-1]):
        uses = [b for b in msg.get("content") or [] if isinstance(b, dict) and b.get("type") == "tool_use"]
        if msg.get("role") != "assistant" or not uses:
            continue
        nxt = msgs[i + 1]
        results = [b for b in nxt.get("content") or [] if isinstance(b, dict) and b.get("type") == "tool_result"]
        return uses[0], (results[0] if results else None)
    return None, None


def _openai_round(second):
    """(tool call, tool message) of the Bash round in an OpenAI chat body."""
    msgs = second["messages"]
    for i, msg in enumerate(msgs[:-1]):
        calls = msg.get("tool_calls") or []
        if msg.get("role") != "assistant" or not calls:
            continue
        result = next((m for m in msgs[i + 1:] if m.get("role") == "tool"), None)
        return calls[0], result
    return None, None


def _check_common(rc, out, attempts, fake, log):
    assert rc == 0, log
    assert FINAL in out, log
    assert attempts == [], "Claude Code tried to leave the machine: %r\n%s" % (attempts, log)
    for rec in fake.requests:           # the proxy's own key is never passed on to Argo
        assert PROXY_KEY not in json.dumps(rec["headers"]), (rec["path"], rec["headers"])


def _check_anthropic(fake, argo_model, log):
    reqs = _model_requests(fake, MESSAGES)
    assert len(reqs) == 2, log
    assert not _model_requests(fake, NATIVE_CHAT) and not _model_requests(fake, LEGACY_CHAT), log
    first, second = reqs[0]["body"], reqs[1]["body"]
    for body in (first, second):
        assert body["model"] == argo_model, log
        assert body["user"] == "tester", log
        assert all(m.get("role") in ("user", "assistant") for m in body["messages"]), log
    assert "Bash" in _tool_names(first), _tool_names(first)
    assert _anthropic_round(first) == (None, None), log
    use, result = _anthropic_round(second)
    assert use is not None and use["name"] == "Bash" and use["input"] == BASH_INPUT, second["messages"]
    assert result is not None and result["tool_use_id"] == use["id"], second["messages"]
    assert not result.get("is_error"), result
    assert MARKER in _text(result.get("content")), result
    return reqs


def _check_chat(fake, path, argo_model, log):
    reqs = _model_requests(fake, path)
    assert len(reqs) == 2, log
    assert not _model_requests(fake, MESSAGES), log
    first, second = reqs[0]["body"], reqs[1]["body"]
    for body in (first, second):
        assert body["model"] == argo_model, log
        assert body["user"] == "tester", log
    assert "Bash" in _tool_names(first), _tool_names(first)
    assert _openai_round(first) == (None, None), log
    call, result = _openai_round(second)
    assert call is not None, second["messages"]
    fn = call.get("function") or {}
    assert fn.get("name") == "Bash" and json.loads(fn.get("arguments") or "null") == BASH_INPUT, call
    assert result is not None and result.get("tool_call_id") == call.get("id"), second["messages"]
    assert MARKER in _text(result.get("content")), result
    return reqs


# The Claude path is the same in both modes (Argo's /v1/messages); each mode gets another model:
# claude-sonnet-4-5 comes with thinking "enabled" + budget_tokens 31999 and max_tokens 32000,
# claude-opus-4-7 with thinking "adaptive", output_config.effort "xhigh" and max_tokens 64000.
@pytest.mark.parametrize("mode,model,argo_model", [("native", "claude-sonnet-4-5", "claudesonnet45"),
                                                   ("standard", "claude-opus-4-7", "claudeopus47")])
def test_claude_model_tool_round(start_proxy, fake, tmp_path, mode, model, argo_model):
    proxy = _start(start_proxy, fake, mode)
    rc, out, attempts, log = _run(proxy, fake, tmp_path, model=model)
    _check_common(rc, out, attempts, fake, log)
    _check_anthropic(fake, argo_model, log)


@pytest.mark.parametrize("mode,path", [("native", NATIVE_CHAT), ("standard", LEGACY_CHAT)])
def test_gpt_model_tool_round(start_proxy, fake, tmp_path, mode, path):
    proxy = _start(start_proxy, fake, mode)
    rc, out, attempts, log = _run(proxy, fake, tmp_path, model="gpt-4o", auth="bearer")
    _check_common(rc, out, attempts, fake, log)
    _check_chat(fake, path, "gpt4o", log)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_default_model_through_alias(start_proxy, fake, tmp_path, mode):
    """No --model: Claude Code asks for its default, claude-opus-5-5, which Argo does not know;
    the proxy's model_aliases maps it to claude-opus-4-7.  This is also Claude Code's fullest
    request shape: a role:system message inside messages (with its own output_config), which the
    fake Argo refuses like the real one unless the proxy moves it to the top-level system."""
    proxy = _start(start_proxy, fake, mode, model_aliases={"claude-opus-5-5": "claude-opus-4-7"})
    rc, out, attempts, log = _run(proxy, fake, tmp_path, model=None, auth="bearer")
    _check_common(rc, out, attempts, fake, log)
    _check_anthropic(fake, "claudeopus47", log)
