"""The real opencode CLI (``opencode run``) through argo-proxy against the fake Argo, offline.

opencode speaks OpenAI chat completions: its config (tests/agents/opencode.py) defines a custom
``@ai-sdk/openai-compatible`` provider at ``<proxy>/v1`` with the proxy's key as API key.  Each test is one
opencode run with ``gpt-4o`` and one tool round: the fake model answers the first agent request by calling
opencode's ``bash`` tool (``fake.tool_name``/``fake.tool_args``), opencode runs ``echo <marker>`` itself
(permission: bash may run ``echo *`` only), sends the output back as a ``tool`` message, and the fake model
answers "Tool said: <output>".  Checked on every run:

* opencode exits 0 and prints the final answer (which contains the command's output) on stdout;
* what reached the fake Argo: the two agent requests (the ones offering tools) on the endpoint the mode
  calls for (native: ``/v1/chat/completions``; standard: the legacy ``/api/v1/resource/chat/``), with the
  Argo model id and our user, the first offering ``bash`` (whose schema accepts the arguments the fake
  sends), the second carrying the bash call and its output (the marker) as the tool result.  Besides them
  opencode's small model writes a session title (one request without tools, run concurrently; in standard
  mode it streams, so it goes to ``streamchat``): at most one such request, same model and user;
* the proxy's own key never reached Argo;
* nothing tried to leave the machine (a refusing egress proxy is every proxy variable).  opencode 1.18.33
  would fetch models.opencode.ai and registry.npmjs.org by itself; tests/agents/opencode.py switches both
  off, so no attempt at all is allowed.

Skipped when the pinned opencode is not installed (tests/run_all.py installs it into
``<repo>/.agents/opencode`` with tests.agents.opencode.install(); or set OPENCODE_BIN).
"""

from __future__ import annotations

import json
import time

import pytest

from tests.agents import opencode
from tests.fakes.egress_proxy import EgressProxy

OPENCODE = opencode.find_opencode()

pytestmark = [
    pytest.mark.skipif(
        OPENCODE is None,
        reason=opencode.missing_reason() if OPENCODE is None else ""),
    pytest.mark.timeout(150),
]

PROXY_KEY = "sk-argo-proxy-oc-test"
MARKER = "tool-said-hi-7340"
BASH = opencode.BASH_TOOL
BASH_ARGS = {"command": "echo " + MARKER}   # opencode 1.18.33's bash: {command, timeout?, workdir?}
FINAL = "Tool said: " + MARKER          # what the fake model answers once the result is back
PROMPT = "Run the echo command and tell me what it printed."

NATIVE_CHAT = "/v1/chat/completions"
LEGACY_CHAT = "/api/v1/resource/chat/"
LEGACY_STREAM = "/api/v1/resource/streamchat/"
MODES = {"native": ("--native-openai",), "standard": ()}


def _start(start_proxy, fake, mode):
    proxy = start_proxy("--user", "tester", *MODES[mode],
                        config={"argo_base_url": fake.url, "proxy_api_key": PROXY_KEY})
    assert proxy.url, "the proxy did not start:\n" + proxy.log()
    return proxy


def _run(proxy, fake, tmp_path, model="gpt-4o"):
    """One opencode run in which the fake model calls bash once; returns
    (returncode, stdout, egress attempts, a log of everything for assertion messages)."""
    fake.set_tool_name(BASH)
    fake.set_tool_args(BASH_ARGS)
    work = tmp_path / "work"
    work.mkdir()
    with EgressProxy() as egress:
        started = time.monotonic()
        rc, out, err = opencode.run_opencode(OPENCODE, proxy.url, PROMPT, str(work), egress.url, model=model,
                                             api_key=PROXY_KEY, timeout=100)
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
        lines.append("%s %s model=%s stream=%s messages=%s tools=%s" % (
            rec["method"], rec["path"], body.get("model"), body.get("stream"),
            [m.get("role") for m in msgs if isinstance(m, dict)], len(body.get("tools") or [])))
    return "\n".join(lines)


def _tools(body):
    """{name: function definition} of the tools a chat body offers."""
    found = {}
    for tool in body.get("tools") or []:
        fn = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        found[fn.get("name")] = fn
    return found


def _text(content):
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content or [] if isinstance(b, dict))


def _tool_round(body):
    """(tool call, tool message) of the first tool round in an OpenAI chat body."""
    msgs = body["messages"]
    for i, msg in enumerate(msgs[:-1]):
        calls = msg.get("tool_calls") or []
        if msg.get("role") != "assistant" or not calls:
            continue
        result = next((m for m in msgs[i + 1:] if m.get("role") == "tool"), None)
        return calls[0], result
    return None, None


def _check_run(rc, out, attempts, fake, log):
    assert rc == 0, log
    assert FINAL in out, log
    assert attempts == [], "opencode tried to leave the machine: %r\n%s" % (attempts, log)
    for rec in fake.requests:           # the proxy's own key is never passed on to Argo
        assert PROXY_KEY not in json.dumps(rec["headers"]), (rec["path"], rec["headers"])


def _check_requests(fake, path, title_paths, argo_model, log):
    posts = [r for r in fake.requests if r["method"] == "POST"]
    agent = [r for r in posts if r["body"].get("tools")]
    titles = [r for r in posts if not r["body"].get("tools")]
    assert len(agent) == 2, log
    assert all(r["path"] == path for r in agent), log
    assert len(titles) <= 1 and all(r["path"] in title_paths for r in titles), log
    for rec in posts:
        assert rec["body"]["model"] == argo_model, log
        assert rec["body"]["user"] == "tester", log

    first, second = agent[0]["body"], agent[1]["body"]
    bash = _tools(first).get(BASH)
    assert bash is not None, sorted(_tools(first))
    schema = bash.get("parameters") or {}
    assert set(schema.get("required") or []) <= set(BASH_ARGS) <= set(schema.get("properties") or {}), schema
    assert _tool_round(first) == (None, None), log
    assert PROMPT in _text(first["messages"][-1].get("content")), first["messages"][-1]

    call, result = _tool_round(second)
    assert call is not None, second["messages"]
    fn = call.get("function") or {}
    assert fn.get("name") == BASH and json.loads(fn.get("arguments") or "null") == BASH_ARGS, call
    assert result is not None and result.get("tool_call_id") == call.get("id"), second["messages"]
    assert MARKER in _text(result.get("content")), result
    return agent


@pytest.mark.parametrize("mode,path,title_paths", [
    pytest.param("native", NATIVE_CHAT, (NATIVE_CHAT,), id="native"),
    pytest.param("standard", LEGACY_CHAT, (LEGACY_CHAT, LEGACY_STREAM), id="standard"),
])
def test_gpt4o_tool_round(start_proxy, fake, tmp_path, mode, path, title_paths):
    proxy = _start(start_proxy, fake, mode)
    rc, out, attempts, log = _run(proxy, fake, tmp_path, model="gpt-4o")
    _check_run(rc, out, attempts, fake, log)
    _check_requests(fake, path, title_paths, "gpt4o", log)
