"""The reference MCP "everything" server (npm ``@modelcontextprotocol/server-everything``, pinned in
tests/agents/mcp_everything.py) behind a running proxy (native mode, fake Argo), over stdio and over
Streamable HTTP on 127.0.0.1.

The pinned server (2026.8.31, SDK ^1.30) is started as ``node --require <guard> dist/index.js stdio`` by the
proxy, or as ``PORT=<free port> node --require <guard> dist/index.js streamableHttp`` by the test (polled
until its port answers, then ``url: http://127.0.0.1:<port>/mcp``).  The guard (written to the test's tmp
dir) makes the server's ``listen(port)`` bind 127.0.0.1 (the server itself listens on every interface) and
refuses, and records, any socket connection to a host that is not loopback: the server never reaches the
network, whatever a tool would do.  On top of that its tools that read the environment (``get-env``) or
fetch URLs (``gzip-file-as-resource``, ``trigger-url-elicitation``) are denied in the proxy config.

Each test, for both transports, drives one chat through the proxy whose fake model calls one of the
server's tools (``fake.tool_name`` / ``fake.tool_args``) and then answers "Tool said: <result>":

* ``echo``: the answer is ``Tool said: Echo: <marker>`` (non-streamed and streamed), the fake Argo saw the
  tool list without the denied tools and the result as a ``tool`` message;
* sampling (``sampling: true``): ``trigger-sampling-request`` makes the server send
  ``sampling/createMessage``; the proxy answers it through the fake Argo (a chat request without tools,
  carrying the server's prompt and system prompt and its maxTokens, for the chat's model) and the tool result,
  hence the answer, holds the fake model's reply;
* roots (``roots: [<tmp dir>]``): ``get-roots-list`` names the dir's file:// URI.  Over Streamable HTTP the
  server asks ``roots/list`` outside any request (350 ms after initialize, and again from the tool, without a
  related request id), so the SDK sends it on the standalone GET stream; a client that declares ``roots``
  must open that stream to see it (the tool waits for the answer until its own 60 s timeout);
* tasks: ``simulate-research-query`` declares ``execution.taskSupport: "required"``; the proxy runs it as a
  task (tools/call with ``task``, tasks/get at the server's 1 s poll interval, tasks/result), streamed,
  and the answer holds the research report;
* elicitation: the proxy declares no ``elicitation`` capability, so the server registers none of its
  elicitation tools (it checks the client's capabilities) and the SDK would refuse to send
  ``elicitation/create`` anyway: the tools are not offered, so nothing can wait on an answer.

Every test also checks the proxy log has no Traceback, and that the guard recorded no attempt to leave
the machine.  Skipped when the pinned server (or node) is not installed: tests/run_all.py installs it into
``<repo>/.agents/mcp-everything`` with tests.agents.mcp_everything.install(); or set MCP_EVERYTHING_JS.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import pytest

from tests import proxyproc
from tests.agents import mcp_everything

SCRIPT = mcp_everything.find_everything()
NODE = mcp_everything.find_node()

pytestmark = [
    pytest.mark.skipif(SCRIPT is None, reason=mcp_everything.missing_reason() if SCRIPT is None else ""),
    pytest.mark.timeout(120),
]

TRANSPORTS = ["stdio", "http"]
DENY = ["get-env", "gzip-file-as-resource", "trigger-url-elicitation"]
ELICITATION_TOOLS = ("trigger-elicitation-request", "trigger-elicitation-request-async",
                     "trigger-url-elicitation")
NATIVE_CHAT = "/v1/chat/completions"
MODEL = "gpt4o"
START_TIMEOUT = 20.0

# Loaded with `node --require` before the server: loopback only, both ways.
GUARD_JS = r"""
'use strict';
const net = require('net');
const fs = require('fs');
const LOG = process.env.EVERYTHING_GUARD_LOG;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '::ffff:127.0.0.1']);
function note(what) {
  if (LOG) { try { fs.appendFileSync(LOG, what + '\n'); } catch (e) { /* nothing to do */ } }
}
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let opts = args[0];
  if (Array.isArray(opts)) opts = opts[0];          // net.connect() passes its normalized [options, cb]
  let host, path;
  if (opts && typeof opts === 'object') { host = opts.host; path = opts.path; }
  else if (typeof opts === 'string' && isNaN(Number(opts))) { path = opts; }
  else if (typeof args[1] === 'string') { host = args[1]; }
  if (!path && host !== undefined && host !== null && !LOOPBACK.has(String(host))) {
    note('connect ' + host);
    const err = new Error('blocked by the test: the everything server may not reach ' + host);
    err.code = 'ECONNREFUSED';
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return connect.apply(this, args);
};
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const port = args[0];
  if ((typeof port === 'number' || (typeof port === 'string' && /^\d+$/.test(port)))
      && typeof args[1] !== 'string') {
    args.splice(1, 0, '127.0.0.1');                 // listen(port[, backlog][, cb]) -> on loopback only
  }
  return listen.apply(this, args);
};
"""


# ---- the server -------------------------------------------------------------------------------

class Everything:
    """One way to reach the server: ``spec`` is its mcp_servers entry (without the options)."""

    def __init__(self, transport, tmp_path):
        self.transport = transport
        self.dir = tmp_path / ("everything-" + transport)
        self.dir.mkdir()
        self.guard = self.dir / "guard.cjs"
        self.guard.write_text(GUARD_JS)
        self.guard_log = self.dir / "blocked.log"
        self.output = self.dir / "server.log"
        self.proc = None
        self.started_in = None
        self.env = {"EVERYTHING_GUARD_LOG": str(self.guard_log)}
        if transport == "stdio":
            self.spec = {"command": NODE, "args": ["--require", str(self.guard), SCRIPT, "stdio"],
                         "env": self.env}
        else:
            self.port = self._start_http()
            self.spec = {"url": "http://127.0.0.1:%d/mcp" % self.port}

    def _start_http(self):
        with socket.socket() as probe:            # a free port, chosen now
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in proxyproc.PROXY_ENV}
        env.update(self.env, PORT=str(port))
        started = time.monotonic()
        with open(str(self.output), "wb") as out:
            self.proc = subprocess.Popen([NODE, "--require", str(self.guard), SCRIPT, "streamableHttp"],
                                         cwd=str(self.dir), env=env, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT)
        deadline = started + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the everything server exited (%s) before listening:\n%s"
                                   % (self.proc.returncode, self.log()))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                self.started_in = time.monotonic() - started
                return port
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the everything server did not listen on 127.0.0.1:%d within %g s:\n%s"
                           % (port, START_TIMEOUT, self.log()))

    def entry(self, **options):
        spec = dict(self.spec)
        spec.update(options)
        spec.setdefault("deny", DENY)
        return spec

    def log(self):
        try:
            return self.output.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def blocked(self):
        try:
            return self.guard_log.read_text().splitlines()
        except OSError:
            return []

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture(params=TRANSPORTS)
def everything(request, tmp_path):
    server = Everything(request.param, tmp_path)
    yield server
    server.stop()
    assert server.blocked() == [], "the everything server tried to reach the network: %s" % server.blocked()


# ---- helpers ----------------------------------------------------------------------------------

def start(start_proxy, fake, server, tool_timeout=60, **options):
    config = {"argo_base_url": fake.url, "mcp_servers": {"every": server.entry(**options)},
              "tool_timeout": tool_timeout}
    return start_proxy("--user", "t", "--native-openai", "--verbose", config=config)


def chat(proxy, prompt="Use the tool."):
    body = {"model": MODEL, "messages": [{"role": "user", "content": prompt}]}
    started = time.monotonic()
    status, _, reply = proxy.request("POST", NATIVE_CHAT, body, timeout=90)
    took = time.monotonic() - started
    assert status == 200, "%s %r\n--- proxy log:\n%s" % (status, reply, proxy.log())
    return reply["choices"][0]["message"]["content"], took


def stream(proxy, prompt="Use the tool."):
    started = time.monotonic()
    chunks = proxyproc.chat_stream(proxy, {"model": MODEL, "messages": [{"role": "user", "content": prompt}]})
    return proxyproc.visible_text(chunks), time.monotonic() - started


def offered(proxy):
    """The injected tools as the proxy lists them (name -> source)."""
    status, _, body = proxy.request("GET", "/argo/tools")
    assert status == 200, body
    return {t["name"]: t.get("source") for t in body["data"]}


def agent_requests(fake):
    """The chat requests that offered tools (the tool loop's rounds)."""
    return [r for r in fake.requests if r["path"] == NATIVE_CHAT and r["body"].get("tools")]


def sampling_requests(fake):
    """Chat requests without tools: the proxy answering a server's sampling/createMessage."""
    return [r for r in fake.requests if r["path"] == NATIVE_CHAT and not r["body"].get("tools")]


def tool_messages(record):
    return [m for m in record["body"]["messages"] if m.get("role") == "tool"]


def check_log(proxy, server):
    log = proxy.log()
    assert "Traceback" not in log, log
    assert server.blocked() == [], server.blocked()
    return log


def report(name, server, **timings):
    extra = " http-start=%.2fs" % server.started_in if server.started_in is not None else ""
    print("\n[everything %s] %s%s %s" % (server.transport, name, extra,
                                         " ".join("%s=%.2fs" % kv for kv in sorted(timings.items()))))


# ---- tests ------------------------------------------------------------------------------------

def test_guard_keeps_node_off_the_network(tmp_path):
    """The preload refuses connections to non-loopback hosts before any DNS lookup or packet
    (a TEST-NET address and an .invalid name)."""
    guard = tmp_path / "guard.cjs"
    guard.write_text(GUARD_JS)
    blocked = tmp_path / "blocked.log"
    code = ("Promise.allSettled([fetch('http://192.0.2.1/'), fetch('https://example.invalid/')]).then("
            "rs => rs.forEach(r => console.log(r.status === 'fulfilled' ? 'REACHED'"
            " : 'REFUSED ' + (r.reason.cause && r.reason.cause.code))));")
    out = subprocess.run([NODE, "--require", str(guard), "-e", code], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=30,
                         env=dict(os.environ, EVERYTHING_GUARD_LOG=str(blocked)))
    text = out.stdout.decode("utf-8", "replace")
    assert out.returncode == 0 and text.split("\n")[:2] == ["REFUSED ECONNREFUSED"] * 2, text
    assert blocked.read_text().splitlines() == ["connect 192.0.2.1", "connect example.invalid"]


def test_echo_round(start_proxy, fake, everything):
    marker = "everything-echo-5521"
    fake.set_tool_name("echo")
    fake.set_tool_args({"message": marker})
    p = start(start_proxy, fake, everything)
    tools = offered(p)
    assert "echo" in tools and tools["echo"] == "every", tools
    assert not set(DENY) & set(tools), tools
    answer, took = chat(p)
    assert answer == "Tool said: Echo: " + marker, answer
    rounds = agent_requests(fake)
    assert len(rounds) == 2, [r["body"] for r in rounds]
    sent = [t["function"]["name"] for t in rounds[0]["body"]["tools"]]
    assert "echo" in sent and not set(DENY) & set(sent), sent
    assert [m["content"] for m in tool_messages(rounds[1])] == ["Echo: " + marker]
    streamed, took_stream = stream(p)
    assert streamed == "Tool said: Echo: " + marker, streamed
    log = check_log(p, everything)
    assert proxyproc.wait_until(lambda: "tool echo source=every" in p.log()), log
    report("echo", everything, chat=took, stream=took_stream)


def test_sampling_answered_through_argo(start_proxy, fake, everything):
    sampled = "sampled-by-fake-argo-8812"
    prompt = "write a haiku about tides"
    fake.set_reply(sampled)
    fake.set_tool_name("trigger-sampling-request")
    fake.set_tool_args({"prompt": prompt, "maxTokens": 64})
    p = start(start_proxy, fake, everything, sampling=True, sampling_max_tokens=500)
    assert "trigger-sampling-request" in offered(p)
    answer, took = chat(p)
    assert answer.startswith("Tool said: LLM sampling result:"), answer
    assert sampled in answer, answer
    result = json.loads(answer.split("LLM sampling result:", 1)[1])
    assert result["role"] == "assistant" and result["content"] == {"type": "text", "text": sampled}, result
    samples = sampling_requests(fake)
    assert len(samples) == 1, [r["body"] for r in samples]
    body = samples[0]["body"]
    assert body["model"] == agent_requests(fake)[0]["body"]["model"] == "gpt4o", body   # the chat's model
    texts = json.dumps(body["messages"])
    assert "Resource trigger-sampling-request context: " + prompt in texts, body
    assert "You are a helpful test server." in texts, body
    limit = body.get("max_tokens", body.get("max_completion_tokens"))
    assert limit == 64, body                                      # the server's maxTokens, under the cap
    log = check_log(p, everything)
    assert "asks the client: sampling/createMessage" in log, log
    assert "sampling answered by model" in log, log
    report("sampling", everything, chat=took)


def test_roots_are_listed(start_proxy, fake, everything, tmp_path):
    workspace = tmp_path / "work space"                        # a space: the URI must be %-encoded
    workspace.mkdir()
    fake.set_tool_name("get-roots-list")
    fake.set_tool_args({})
    p = start(start_proxy, fake, everything, roots=[str(workspace)], tool_timeout=15)
    assert "get-roots-list" in offered(p)
    answer, took = chat(p)
    assert "Current MCP Roots (1 total)" in answer, "%s\n--- proxy log:\n%s\n--- server output:\n%s" % (
        answer, p.log(), everything.log())
    assert "URI: " + workspace.as_uri() in answer, answer
    assert "1. work space" in answer, answer
    log = check_log(p, everything)
    assert "asks the client: roots/list" in log, log
    report("roots", everything, chat=took)


def test_task_required_tool_runs_as_a_task(start_proxy, fake, everything):
    topic = "tidal-research-4470"
    fake.set_tool_name("simulate-research-query")
    fake.set_tool_args({"topic": topic})
    p = start(start_proxy, fake, everything)
    assert "simulate-research-query" in offered(p)
    answer, took = stream(p)                                   # keep-alives flow while the task runs
    assert answer.startswith("Tool said: # Research Report: " + topic), answer
    assert "Stage 4: Generating report" in answer, answer
    assert took >= 3.0, took                                   # four 1 s stages: it really waited
    log = check_log(p, everything)
    assert "runs as task" in log, log
    assert "tool simulate-research-query source=every" in log and " ok" in log, log
    report("task", everything, stream=took)


def test_elicitation_tools_are_not_offered(start_proxy, fake, everything, tmp_path):
    """The proxy declines elicitation by not declaring it: the server registers no elicitation tool,
    and a task that would ask (simulate-research-query, ambiguous) completes with its default."""
    fake.set_tool_name("simulate-research-query")
    fake.set_tool_args({"topic": "python", "ambiguous": True})
    p = start(start_proxy, fake, everything, sampling=True, roots=[str(tmp_path)])
    tools = offered(p)
    assert not set(ELICITATION_TOOLS) & set(tools), tools
    answer, took = chat(p)
    assert answer.startswith("Tool said: # Research Report: python"), answer
    assert "Clarification" not in answer, answer               # no elicitation was attempted
    log = check_log(p, everything)
    assert "elicitation/create" not in log, log
    report("elicitation", everything, chat=took)
