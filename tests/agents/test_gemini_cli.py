"""The real Gemini CLI (``gemini -p``) through argo-proxy's Google API against the fake Argo, offline.

The CLI talks to ``GOOGLE_GEMINI_BASE_URL=<proxy>`` (``POST /v1beta/models/{model}:
streamGenerateContent?alt=sse``, ``x-goog-api-key``); see tests/agents/gemini_cli.py for the
offline settings (API-key auth, no usage statistics/telemetry/auto-update, ``--approval-mode
yolo`` so the shell tool is offered and run without asking).  Each test is one run with one tool
round: the fake model answers the first request by calling ``run_shell_command`` with
``{"command": "echo <marker>"}``; the CLI runs it itself and sends the output back as a
``functionResponse``, which the proxy turns into a chat ``tool`` message; the fake model then
answers "Tool said: <output>".  Checked on every run, for a Gemini model (``gemini-2.5-pro``) and
a GPT model (``gpt-4o``) in native and standard mode:

* the CLI exits 0 and prints the final answer (with the command's output) on stdout;
* what reached the fake Argo: exactly two chat requests on the endpoint the mode calls for
  (native: ``/v1/chat/completions``, standard: the legacy ``/api/v1/resource/chat/``), nothing
  on Argo's Anthropic endpoint, with the resolved Argo model id and our user; the first offers
  ``run_shell_command`` as a function whose schema has the string argument ``command`` and
  carries the CLI's system instruction as a system message and the prompt as a user message;
  the second carries the assistant's ``run_shell_command`` call (in OpenAI's form, or for a
  Gemini model on the legacy API in Argo's ``{"id", "name", "args"}`` form) and a ``tool``
  message answering it (same id) with the command's output;
* the proxy's key never reached Argo, and nothing tried to leave the machine (a refusing egress
  proxy is every proxy variable).

Skipped when the pinned Gemini CLI or Node.js >= 20 is missing (tests/run_all.py installs the CLI
into ``<repo>/.agents`` with tests.agents.gemini_cli.install(); or set GEMINI_CLI_BIN).
"""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.agents import gemini_cli
from tests.fakes.egress_proxy import EgressProxy

GEMINI = gemini_cli.find_gemini()
NODE = gemini_cli.find_node()


def _missing_reason():
    if GEMINI is None:
        if os.environ.get("GEMINI_CLI_BIN"):
            return "GEMINI_CLI_BIN=%s is not a file" % os.environ["GEMINI_CLI_BIN"]
        found = gemini_cli.installed_version(gemini_cli.DEFAULT_PREFIX)
        return ("Gemini CLI %s is not installed under %s%s (tests/run_all.py installs it with "
                "tests.agents.gemini_cli.install(); or set GEMINI_CLI_BIN)"
                % (gemini_cli.PINNED_VERSION, gemini_cli.DEFAULT_PREFIX,
                   "" if found is None else " (found %s)" % found))
    if NODE is None and GEMINI.endswith(".js"):
        return "the Gemini CLI needs Node.js >= 20 on PATH"
    return ""


SKIP_REASON = _missing_reason()

pytestmark = [
    pytest.mark.skipif(bool(SKIP_REASON), reason=SKIP_REASON),
    pytest.mark.timeout(150),
]

PROXY_KEY = "sk-argo-proxy-gemini-test"
PROMPT = "Run the echo command and tell me what it printed."
SHELL_TOOL = "run_shell_command"     # Gemini CLI 0.61's shell tool (yolo mode): {"command": <string>, ...}

NATIVE_CHAT = "/v1/chat/completions"
LEGACY_CHAT = "/api/v1/resource/chat/"
MESSAGES = "/v1/messages"
MODES = {"native": (("--native-openai",), NATIVE_CHAT), "standard": ((), LEGACY_CHAT)}


def _start(start_proxy, fake, mode):
    args, _ = MODES[mode]
    proxy = start_proxy("--user", "tester", *args, config={"argo_base_url": fake.url, "proxy_api_key": PROXY_KEY})
    assert proxy.url, "the proxy did not start:\n" + proxy.log()
    return proxy


def _tool_names(body):
    names = []
    for tool in body.get("tools") or []:
        fn = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        names.append(fn.get("name"))
    return names


def _tool(body, name):
    for tool in body.get("tools") or []:
        fn = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        if fn.get("name") == name:
            return fn
    return None


def _text(content):
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content or [] if isinstance(b, dict))


def _summary(records):
    lines = []
    for rec in records:
        body = rec["body"] if isinstance(rec["body"], dict) else {}
        msgs = body.get("messages") or []
        lines.append("%s %s model=%s stream=%s tools=%d messages=%s" % (
            rec["method"], rec["path"], body.get("model"), body.get("stream"), len(body.get("tools") or []),
            [m.get("role") for m in msgs if isinstance(m, dict)]))
    return "\n".join(lines)


def _run(proxy, fake, tmp_path, model, marker):
    """One Gemini CLI run in which the fake model calls run_shell_command once; returns
    (returncode, stdout, egress attempts, a log of everything for assertion messages)."""
    fake.set_tool_name(SHELL_TOOL)
    fake.set_tool_args({"command": "echo " + marker})
    work = tmp_path / "work"
    work.mkdir()
    with EgressProxy() as egress:
        started = time.monotonic()
        rc, out, err = gemini_cli.run_gemini(GEMINI, proxy.url, PROMPT, str(work), egress.url, model=model,
                                             api_key=PROXY_KEY, timeout=120)
        took = time.monotonic() - started
        attempts = egress.attempts
    log = "rc=%s (%.2f s)\n--- stdout:\n%s\n--- stderr:\n%s\n--- fake Argo saw:\n%s\n--- proxy log:\n%s" % (
        rc, took, out, err, _summary(fake.requests), proxy.log())
    return rc, out, attempts, log


def _openai_round(body):
    """(tool call, tool message answering it) of the first tool round in a chat body."""
    msgs = body["messages"]
    for i, msg in enumerate(msgs[:-1]):
        calls = msg.get("tool_calls") or []
        if msg.get("role") != "assistant" or not calls:
            continue
        result = next((m for m in msgs[i + 1:] if m.get("role") == "tool"), None)
        return calls[0], result
    return None, None


def _name_args(call):
    """(name, parsed arguments) of an assistant tool call in a chat body: OpenAI's form
    ``{"id", "type", "function": {"name", "arguments": <JSON string>}}``, or the form Argo's legacy
    API takes for Gemini models ``{"id", "name", "args": <object>}``."""
    if isinstance(call.get("function"), dict):
        fn = call["function"]
        return fn.get("name"), json.loads(fn.get("arguments") or "null")
    return call.get("name"), call.get("args")


@pytest.mark.parametrize("mode,model,argo_model,n", [("native", "gemini-2.5-pro", "gemini25pro", 2501),
                                                     ("standard", "gemini-2.5-pro", "gemini25pro", 2502),
                                                     ("native", "gpt-4o", "gpt4o", 4001),
                                                     ("standard", "gpt-4o", "gpt4o", 4002)])
def test_shell_tool_round(start_proxy, fake, tmp_path, mode, model, argo_model, n):
    marker = "tool-said-hi-%d" % n
    path = MODES[mode][1]
    proxy = _start(start_proxy, fake, mode)
    rc, out, attempts, log = _run(proxy, fake, tmp_path, model, marker)

    assert rc == 0, log
    assert "Tool said:" in out and marker in out, log
    assert attempts == [], "the Gemini CLI tried to leave the machine: %r\n%s" % (attempts, log)
    for rec in fake.requests:            # the proxy's own key is never passed on to Argo
        assert PROXY_KEY not in json.dumps(rec["headers"]), (rec["path"], rec["headers"])

    reqs = [r for r in fake.requests if r["method"] == "POST" and r["path"] == path]
    others = [r["path"] for r in fake.requests
              if r["method"] == "POST" and r["path"] != path and not r["path"].endswith("/models")]
    assert len(reqs) == 2 and not others, log
    first, second = reqs[0]["body"], reqs[1]["body"]
    for body in (first, second):
        assert body["model"] == argo_model, log
        assert body["user"] == "tester", log

    # turn 1: the CLI's system instruction, the prompt, and the shell tool with its "command" argument
    shell = _tool(first, SHELL_TOOL)
    assert shell is not None, _tool_names(first)
    params = shell.get("parameters") or {}
    assert params.get("properties", {}).get("command", {}).get("type") == "string", params
    assert "command" in (params.get("required") or []), params
    assert any(m.get("role") == "system" and "CLI agent" in _text(m.get("content")) for m in first["messages"]), \
        [m.get("role") for m in first["messages"]]
    assert any(m.get("role") == "user" and PROMPT in _text(m.get("content")) for m in first["messages"]), log
    assert _openai_round(first) == (None, None), log

    # turn 2: the call, and the command's output in a tool message answering it
    call, result = _openai_round(second)
    assert call is not None, second["messages"]
    assert _name_args(call) == (SHELL_TOOL, {"command": "echo " + marker}), call
    assert result is not None and result.get("tool_call_id") == call.get("id"), second["messages"]
    assert marker in _text(result.get("content")), result
