#!/usr/bin/env python3
"""Fake MCP server for argo-proxy tests (standard library only); see tools-and-mcp.md section 3.

Speaks stdio, Streamable HTTP (SSE or JSON replies, sessions, 404 expiry, DELETE) and legacy
HTTP+SSE. Tools: add(a, b) -> "5" + structuredContent {"result": 5}; echo(text, shout=false);
pixel() -> 1x1 PNG image item; boom() -> isError "Error executing tool boom"; slow(seconds) ->
sleeps, stops early on notifications/cancelled; links() -> resource_link + embedded resource.

Options (FakeMCP/FakeMCPHttp keyword / command-line flag):
  page_size=N / --page-size N: tools/list pages with nextCursor (bad cursor -> -32602)
  send_list_changed_after_init / --list-changed: tools/list_changed right after initialized
  ping_first / --ping-first, ask_sampling / --ask-sampling: before answering tools/list, send
      the client ping / sampling/createMessage and wait for its answer
  task_tools / --task-tools: also offer research(topic, seconds=0.3, ask=false) with
      execution.taskSupport "required" (ask: the task goes input_required and asks the client
      for sampling on the tasks/result stream; topic "fail": the task fails) and
      report(seconds=0) with "optional"; declares tasks {list, cancel, requests.tools.call}
      unless tasks_capability=False / --no-tasks-capability; poll_interval_ms=N /
      --poll-interval-ms N (default 50) is the pollInterval of every task
  client_features / --client-features: also offer sample(prompt, hint?, max_tokens?, system?)
      (asks sampling/createMessage, returns the answer's text, structuredContent = the whole
      result), roots() (asks roots/list, returns the URIs as JSON) and elicit() (asks
      elicitation/create, returns the action)
  protocol_version_override="V" / --protocol-version V; no_tools_capability / --no-tools-capability
  transport_error_id=ID / --transport-error-id ID|null: tools/call answered by an error with that id
  stdio only: --die-after-calls N (exit 3 with a note on stderr on receiving the Nth tools/call;
      with env FAKE_MCP_DIE_ONCE=PATH only while PATH does not exist, which it then creates;
      unanswered), --stderr-noise BYTES (written to stderr before stdin is read)
  HTTP only: json_response / --json-response; expire_always / --expire-always (every request but
      initialize gets 404 "Session not found"; notifications pass); FakeMCPHttp.expire_sessions();
      stale_status=400 / --stale-status 400: an unknown session gets 400 "Bad Request: No valid
      session ID provided" (as the TypeScript SDK answers) instead of 404;
      FakeMCPHttp.restart(): forget sessions and tasks and drop every open connection, as a
      restarted server would; FakeMCPHttp.drop_next(method): the next POST of that method gets
      the SSE headers, then its connection closes without a reply (a crash mid-call)
  Streamable HTTP only: get_stream=True / --get-stream: GET /mcp with a known session opens the
      standalone SSE stream (one per session, 409 for a second one, as the TypeScript SDK does;
      events numbered with `id:`); without it GET /mcp answers 405. FakeMCPHttp.push(msg),
      ask_client(method, params) (a server request on that stream; waits for the answer, which is
      recorded as {"answered"}), wait_get_stream(timeout), drop_get_streams() (end them)

Records of everything received: FakeMCP(Http).records, and JSON lines in --record PATH:
{"event": "start", "pid", "cwd", "env": FAKE_MCP_* vars} (stdio), {"msg"} (stdio),
{"http": "POST"|"GET"|"DELETE", "path", "headers" (lower-case), "msg"?} (HTTP),
{"answered": method, "reply"} (client answered a server request), {"cancelled": id} (slow()),
{"task_cancelled": taskId} (tasks/cancel), {"dropped": id} (drop_next).

  python tests/fakes/fake_mcp.py --stdio [--record PATH] [options]
  python tests/fakes/fake_mcp.py --http --port 0 [--json-response]  # FAKE_MCP_URL=http://127.0.0.1:P/mcp
  python tests/fakes/fake_mcp.py --sse --port 0                      # FAKE_MCP_URL=http://127.0.0.1:P/sse
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import queue
import select
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SUPPORTED = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST = "2025-11-25"
PNG_1X1 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJ"
           "RU5ErkJggg==")
ASK_TIMEOUT = 10.0
_UNSET = object()
NO_REPLY = object()

TOOLS = [
    {"name": "add", "description": "Add two integers.",
     "inputSchema": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                     "required": ["a", "b"]},
     "outputSchema": {"type": "object", "properties": {"result": {"type": "integer"}}, "required": ["result"]}},
    {"name": "echo", "description": "Echo the text back.",
     "inputSchema": {"type": "object", "properties": {"text": {"type": "string"},
                                                      "shout": {"type": "boolean", "default": False}},
                     "required": ["text"]}},
    {"name": "pixel", "description": "Return a 1x1 PNG.", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "boom", "description": "Always fails.", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "slow", "description": "Sleep for a while; stops early when cancelled.",
     "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}}},
    {"name": "links", "description": "Return a resource link and an embedded resource.",
     "inputSchema": {"type": "object", "properties": {}}},
]

TASK_TOOLS = [
    {"name": "research", "description": "Research a topic in the background (always a task).",
     "inputSchema": {"type": "object", "properties": {"topic": {"type": "string"}, "seconds": {"type": "number"},
                                                      "ask": {"type": "boolean"}},
                     "required": ["topic"]},
     "execution": {"taskSupport": "required"}},
    {"name": "report", "description": "Write a report (a task if the client wants).",
     "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}},
     "execution": {"taskSupport": "optional"}},
]

FEATURE_TOOLS = [
    {"name": "sample", "description": "Ask the client's model something (sampling).",
     "inputSchema": {"type": "object", "properties": {"prompt": {"type": "string"}, "hint": {"type": "string"},
                                                      "max_tokens": {"type": "integer"},
                                                      "system": {"type": "string"}}}},
    {"name": "roots", "description": "List the client's roots.", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "elicit", "description": "Ask the user for their name (elicitation).",
     "inputSchema": {"type": "object", "properties": {}}},
]

RELATED_TASK = "io.modelcontextprotocol/related-task"
TERMINAL = ("completed", "failed", "cancelled")

LINK_ITEMS = [
    {"type": "resource_link", "uri": "file:///fake/readme.txt", "name": "readme.txt",
     "description": "A linked file", "mimeType": "text/plain"},
    {"type": "resource", "resource": {"uri": "file:///fake/notes.txt", "mimeType": "text/plain",
                                      "text": "Embedded notes."}},
]


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def is_request(msg):
    return isinstance(msg, dict) and "method" in msg and "id" in msg


class FakeMCP:
    """What the server does, independent of transport."""

    def __init__(self, page_size=0, send_list_changed_after_init=False, ping_first=False,
                 ask_sampling=False, protocol_version_override=None, no_tools_capability=False,
                 transport_error_id=_UNSET, record_path=None, noisy_boom=False, task_tools=False,
                 tasks_capability=True, poll_interval_ms=50, client_features=False):
        self.page_size = page_size
        self.send_list_changed_after_init = send_list_changed_after_init
        self.ping_first = ping_first
        self.ask_sampling = ask_sampling
        self.protocol_version_override = protocol_version_override
        self.no_tools_capability = no_tools_capability
        self.transport_error_id = transport_error_id
        self.record_path = record_path
        self.noisy_boom = noisy_boom
        self.task_tools = task_tools
        self.tasks_capability = task_tools and tasks_capability
        self.poll_interval_ms = poll_interval_ms
        self.tools = TOOLS + (TASK_TOOLS if task_tools else []) + (FEATURE_TOOLS if client_features else [])
        self.tasks = {}   # taskId -> state dict (see _start_task)
        self.records = []
        self._lock = threading.Lock()
        self._cancels = {}
        self._asks = {}
        self._ask_ids = itertools.count(1)
        self._outbox = []

    def record(self, entry):
        with self._lock:
            self.records.append(entry)
            if self.record_path:
                with open(self.record_path, "a") as fh:
                    fh.write(json.dumps(entry) + "\n")

    def stop(self):
        """Release every handler that waits (slow tools, unanswered server requests, tasks)."""
        with self._lock:
            events = list(self._cancels.values()) + [ask[0] for ask in self._asks.values()]
            for state in self.tasks.values():
                events += [state["cancel"], state["channel"]]
        for event in events:
            event.set()

    def reset(self):
        """Forget every task (a restart): their workers stop, their waiters are released."""
        self.stop()
        with self._lock:
            self.tasks = {}
            self._cancels = {}

    def receive(self, msg, send):
        """Handle one incoming message; the reply to a request is returned (None otherwise).

        send(msg) delivers a server-to-client message right now; None means there is no channel
        (notifications then wait in an outbox for the next SSE reply stream).
        """
        if not isinstance(msg, dict):
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid Request"}}
        method = msg.get("method")
        if method is None:
            self._resolve_ask(msg)
            return None
        if "id" not in msg:
            self._notification(method, msg.get("params") or {}, send)
            return None
        return self._request(msg, send)

    def _cancel_event(self, rid):
        with self._lock:
            return self._cancels.setdefault(json.dumps(rid), threading.Event())

    def _notification(self, method, params, send):
        if method == "notifications/cancelled":
            self._cancel_event(params.get("requestId")).set()
        elif method == "notifications/initialized" and self.send_list_changed_after_init:
            note = {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}
            if send is not None:
                send(note)
            else:
                with self._lock:
                    self._outbox.append(note)

    def _request(self, msg, send):
        rid, method, params = msg["id"], msg["method"], msg.get("params") or {}
        if send is not None:
            with self._lock:
                waiting, self._outbox = self._outbox, []
            for note in waiting:
                send(note)
        if method == "tools/call" and self.transport_error_id is not _UNSET:
            return {"jsonrpc": "2.0", "id": self.transport_error_id,
                    "error": {"code": -32600, "message": "Bad Request: fake transport error"}}
        handler = getattr(self, "_m_" + method.replace("/", "_"), None)
        try:
            if handler is None or (method.startswith("tools/") and self.no_tools_capability):
                raise RpcError(-32601, "Method not found")
            result = handler(params, rid, send)
        except RpcError as err:
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": err.code, "message": err.message}}
        if result is NO_REPLY:
            return None
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    def _ask(self, send, method, params):
        """Send a server-to-client request and wait for the client's answer."""
        if send is None:
            return None   # JSON reply mode has no channel for it
        aid = "fake-%s-%d" % (method.split("/")[0], next(self._ask_ids))
        ask = [threading.Event(), None]
        with self._lock:
            self._asks[aid] = ask
        request = {"jsonrpc": "2.0", "id": aid, "method": method}
        if params is not None:
            request["params"] = params
        send(request)
        ask[0].wait(ASK_TIMEOUT)
        self.record({"answered": method, "reply": ask[1]})
        return ask[1]

    def _resolve_ask(self, msg):
        with self._lock:
            ask = self._asks.pop(msg.get("id"), None)
        if ask is not None:
            ask[1] = msg
            ask[0].set()

    # ---- methods ----------------------------------------------------------------------------

    def _m_initialize(self, params, rid, send):
        asked = params.get("protocolVersion")
        version = self.protocol_version_override or (asked if asked in SUPPORTED else LATEST)
        caps = {} if self.no_tools_capability else {"tools": {"listChanged": True}}
        if self.tasks_capability:
            caps["tasks"] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
        return {"protocolVersion": version, "capabilities": caps,
                "serverInfo": {"name": "fake-mcp", "version": "1.0.0"}}

    def _m_ping(self, params, rid, send):
        return {}

    def _m_tools_list(self, params, rid, send):
        if self.ping_first:
            self._ask(send, "ping", None)
        if self.ask_sampling:
            self._ask(send, "sampling/createMessage",
                      {"messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}],
                       "maxTokens": 10})
        start = 0
        cursor = params.get("cursor")
        if cursor is not None:
            if not (isinstance(cursor, str) and cursor.startswith("page:") and cursor[5:].isdigit()):
                raise RpcError(-32602, "Invalid cursor: %r" % (cursor,))
            start = int(cursor[5:])
        size = self.page_size or len(self.tools)
        result = {"tools": self.tools[start:start + size]}
        if start + size < len(self.tools):
            result["nextCursor"] = "page:%d" % (start + size)
        return result

    def _m_tools_call(self, params, rid, send):
        name = params.get("name")
        spec = {t["name"]: t for t in self.tools}.get(name)
        tool = getattr(self, "_t_" + str(name), None) if spec is not None else None
        if tool is None:
            raise RpcError(-32602, "Unknown tool: %s" % name)
        mode = (spec.get("execution") or {}).get("taskSupport", "forbidden")
        as_task = isinstance(params.get("task"), dict) and self.tasks_capability
        if as_task and mode == "forbidden":
            raise RpcError(-32601, "Tool %s does not support task augmentation" % name)
        if not as_task and mode == "required":
            raise RpcError(-32601, "Tool %s requires task augmentation (taskSupport: required)" % name)
        if as_task:
            return self._start_task(name, params.get("arguments") or {}, params["task"])
        return tool(params.get("arguments") or {}, rid, send)

    # ---- tasks ------------------------------------------------------------------------------

    def _start_task(self, name, args, task_params):
        tid = uuid.uuid4().hex
        now = _now()
        ttl = task_params.get("ttl") if isinstance(task_params.get("ttl"), int) else 60000
        task = {"taskId": tid, "status": "working", "createdAt": now, "lastUpdatedAt": now, "ttl": ttl,
                "pollInterval": self.poll_interval_ms}
        state = {"task": task, "done": threading.Event(), "cancel": threading.Event(),
                 "channel": threading.Event(), "send": None, "reply": None}
        with self._lock:
            self.tasks[tid] = state
        threading.Thread(target=self._run_task, args=(name, args, state), daemon=True).start()
        return {"task": dict(task)}

    def _set_status(self, state, status, message=None):
        with self._lock:
            task = state["task"]
            if task["status"] in TERMINAL:
                return False   # cancelled stays cancelled
            task["status"], task["lastUpdatedAt"] = status, _now()
            if message:
                task["statusMessage"] = message
            return True

    def _run_task(self, name, args, state):
        tid = state["task"]["taskId"]
        if state["cancel"].wait(float(args.get("seconds", 0.3 if name == "research" else 0))):
            return state["done"].set()
        text = "%s done" % name
        if name == "research":
            text = "findings on %s" % args.get("topic")
            if args.get("ask"):
                self._set_status(state, "input_required", "needs the client's model")
                state["channel"].wait(ASK_TIMEOUT)
                params = {"messages": [{"role": "user", "content": {"type": "text",
                                                                    "text": "Summarise %s" % args.get("topic")}}],
                          "maxTokens": 50, "_meta": {RELATED_TASK: {"taskId": tid}}}
                reply = self._ask(state["send"], "sampling/createMessage", params) or {}
                text += ": " + str(((reply.get("result") or {}).get("content") or {}).get("text"))
                self._set_status(state, "working")
        if args.get("topic") == "fail":
            state["reply"] = _text("research on fail failed", is_error=True)
            self._set_status(state, "failed", "the tool reported an error")
        else:
            state["reply"] = _text(text)
            self._set_status(state, "completed")
        state["done"].set()

    def _task_state(self, params):
        with self._lock:
            state = self.tasks.get(params.get("taskId"))
        if state is None:
            raise RpcError(-32602, "Failed to retrieve task: Task not found")
        return state

    def _m_tasks_get(self, params, rid, send):
        state = self._task_state(params)
        with self._lock:
            return dict(state["task"])

    def _m_tasks_list(self, params, rid, send):
        with self._lock:
            return {"tasks": [dict(state["task"]) for state in self.tasks.values()]}

    def _m_tasks_result(self, params, rid, send):
        state = self._task_state(params)
        state["send"] = send
        state["channel"].set()   # an input_required task may ask its questions now
        state["done"].wait(60)
        with self._lock:
            status = state["task"]["status"]
        if status == "cancelled":
            raise RpcError(-32603, "Task was cancelled")
        result = dict(state["reply"] or _text("no result", is_error=True))
        result["_meta"] = {RELATED_TASK: {"taskId": state["task"]["taskId"]}}
        return result

    def _m_tasks_cancel(self, params, rid, send):
        state = self._task_state(params)
        if not self._set_status(state, "cancelled", "The task was cancelled by request."):
            raise RpcError(-32602, "Cannot cancel a task in a terminal status")
        state["cancel"].set()
        self.record({"task_cancelled": state["task"]["taskId"]})
        with self._lock:
            return dict(state["task"])

    # ---- tools --------------------------------------------------------------------------------

    def _t_add(self, args, rid, send=None):
        a, b = args.get("a"), args.get("b")
        if not (isinstance(a, int) and isinstance(b, int)):
            return _text("Error executing tool add: a and b must be integers", is_error=True)
        result = _text(str(a + b))
        result["structuredContent"] = {"result": a + b}
        return result

    def _t_echo(self, args, rid, send=None):
        text = str(args.get("text", ""))
        return _text(text.upper() if args.get("shout") else text)

    def _t_pixel(self, args, rid, send=None):
        return {"content": [{"type": "image", "data": PNG_1X1, "mimeType": "image/png"}], "isError": False}

    def _t_boom(self, args, rid, send=None):
        if self.noisy_boom:   # real servers print a traceback while answering cleanly
            sys.stderr.write("Traceback (most recent call last):\n" + "  fake frame\n" * 36
                             + "RuntimeError: boom\n")
            sys.stderr.flush()
        return _text("Error executing tool boom", is_error=True)

    def _t_slow(self, args, rid, send=None):
        seconds = float(args.get("seconds", 1))
        if self._cancel_event(rid).wait(seconds):
            self.record({"cancelled": rid})
            return NO_REPLY   # a cancelled request gets no answer
        return _text("slept %g s" % seconds)

    def _t_links(self, args, rid, send=None):
        return {"content": [dict(item) for item in LINK_ITEMS], "isError": False}

    def _t_research(self, args, rid, send=None):   # only ever runs as a task
        raise RpcError(-32601, "research requires task augmentation")

    def _t_report(self, args, rid, send=None):
        return _text("report done (direct)")

    def _t_sample(self, args, rid, send=None):
        params = {"messages": [{"role": "user", "content": {"type": "text", "text": args.get("prompt", "hi")}}],
                  "maxTokens": args.get("max_tokens", 100)}
        if args.get("system"):
            params["systemPrompt"] = args["system"]
        if args.get("hint"):
            params["modelPreferences"] = {"hints": [{"name": args["hint"]}], "intelligencePriority": 0.5}
        reply = self._ask(send, "sampling/createMessage", params)
        if reply is None:
            return _text("sampling: no answer", is_error=True)
        if "error" in reply:
            return _text("sampling refused: %s" % reply["error"].get("message"), is_error=True)
        result = reply.get("result") or {}
        out = _text(str((result.get("content") or {}).get("text")))
        out["structuredContent"] = result
        return out

    def _t_roots(self, args, rid, send=None):
        reply = self._ask(send, "roots/list", None)
        if reply is None or "error" in reply:
            return _text("roots refused: %s" % ((reply or {}).get("error") or {}).get("message"), is_error=True)
        return _text(json.dumps([r.get("uri") for r in (reply.get("result") or {}).get("roots") or []]))

    def _t_elicit(self, args, rid, send=None):
        reply = self._ask(send, "elicitation/create",
                          {"message": "What is your name?",
                           "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}})
        if reply is None or "error" in reply:
            return _text("elicitation refused: %s" % ((reply or {}).get("error") or {}).get("message"),
                         is_error=True)
        return _text("elicitation: %s" % (reply.get("result") or {}).get("action"))


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _text(text, is_error=False):
    return {"content": [{"type": "text", "text": text}], "isError": is_error}


# ---- stdio ------------------------------------------------------------------------------------

def serve_stdio(logic, die_after_calls=0, stderr_noise=0):
    out = sys.stdout.buffer
    lock = threading.Lock()

    def send(msg):
        data = json.dumps(msg).encode("utf-8") + b"\n"
        with lock:
            try:
                out.write(data)
                out.flush()
            except (OSError, ValueError):
                pass

    def work(msg):
        reply = logic.receive(msg, send)
        if reply is not None:
            send(reply)

    logic.record({"event": "start", "pid": os.getpid(), "cwd": os.getcwd(),
                  "env": {k: v for k, v in os.environ.items() if k.startswith("FAKE_MCP_")}})
    _write_noise(stderr_noise)
    sys.stderr.write("fake_mcp: ready (pid %d)\n" % os.getpid())
    sys.stderr.flush()
    calls = 0
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            msg = json.loads(line.decode("utf-8"))
        except ValueError:
            send({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}})
            continue
        logic.record({"msg": msg})
        if isinstance(msg, dict) and msg.get("method") == "tools/call":
            calls += 1
            once = os.environ.get("FAKE_MCP_DIE_ONCE")  # a marker file: die only the first time
            if die_after_calls and calls >= die_after_calls and not (once and os.path.exists(once)):
                if once:
                    open(once, "w").close()
                sys.stderr.write("fake_mcp: exiting on tools/call #%d (die_after_calls)\n" % calls)
                sys.stderr.flush()
                os._exit(3)
        if is_request(msg):
            threading.Thread(target=work, args=(msg,), daemon=True).start()   # calls run concurrently
        else:
            work(msg)
    logic.stop()


def _write_noise(size):
    """Fill stderr beyond any pipe buffer: a client that doesn't drain it would hang us here."""
    line = "fake_mcp: noise " + "x" * 100 + "\n"
    for _ in range(size // len(line) + (1 if size else 0)):
        sys.stderr.write(line)
    sys.stderr.flush()


# ---- HTTP -------------------------------------------------------------------------------------

class FakeMCPHttp:
    """Streamable HTTP at /mcp, or (legacy=True) HTTP+SSE at /sse + /messages/, on 127.0.0.1."""

    def __init__(self, json_response=False, legacy=False, expire_always=False, port=0, stale_status=404,
                 get_stream=False, **options):
        self.logic = FakeMCP(**options)
        self.json_response = json_response
        self.legacy = legacy
        self.expire_always = expire_always
        self.stale_status = stale_status
        self.port = port
        self.sessions = set()
        self._streams = {}
        self._conns = set()      # sockets of the connections open now (restart() drops them)
        self._drops = {}         # method -> how many of its next POSTs to drop
        self.get_stream = get_stream
        self._get_streams = {}   # session id -> queue of the standalone GET stream open for it
        self._get_event_ids = itertools.count(1)
        self._lock = threading.Lock()
        self._get_changed = threading.Condition(self._lock)   # a GET stream opened or ended
        self._server = None
        self._thread = None

    @property
    def records(self):
        return self.logic.records

    @property
    def url(self):
        return "http://127.0.0.1:%d%s" % (self._server.server_address[1], "/sse" if self.legacy else "/mcp")

    def start(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="fake-mcp-http")
        self._thread.start()
        return self

    def stop(self):
        self.logic.stop()
        with self._lock:
            streams = list(self._streams.values())
        for q in streams:
            q.put(None)
        self.drop_get_streams()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def expire_sessions(self):
        """Forget every session: the next request with an old Mcp-Session-Id gets 404 (or
        stale_status)."""
        with self._lock:
            self.sessions.clear()

    def restart(self):
        """What a restart looks like to a client: every session and task forgotten, every open
        connection (keep-alive or mid-reply) closed; the port stays."""
        with self._lock:
            self.sessions.clear()
            conns, streams = list(self._conns), list(self._streams.values())
        self.logic.reset()
        for q in streams:
            q.put(None)
        self.drop_get_streams()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def drop_next(self, method="tools/call", count=1):
        """The next `count` POSTs of this method get the SSE headers and then a closed connection."""
        with self._lock:
            self._drops[method] = self._drops.get(method, 0) + count

    def push(self, msg, sid=None):
        """Send a message on the standalone GET stream of session sid (None: of every session);
        how many streams it went to."""
        with self._lock:
            queues = [q for key, q in self._get_streams.items() if sid is None or key == sid]
        for q in queues:
            q.put(msg)
        return len(queues)

    def ask_client(self, method, params=None):
        """A server request on the GET stream(s), not linked to any client request: the client's
        answer (None if none came within the fake's ASK_TIMEOUT)."""
        return self.logic._ask(self.push, method, params)

    def wait_get_stream(self, timeout=5.0, count=1):
        """Wait until `count` standalone GET streams are open; are they?"""
        with self._get_changed:
            return self._get_changed.wait_for(lambda: len(self._get_streams) >= count, timeout)

    def drop_get_streams(self):
        """End every standalone GET stream (cleanly, as a server or a proxy in between may)."""
        with self._lock:
            queues = list(self._get_streams.values())
        for q in queues:
            q.put(None)

    def _track(self, conn, add):
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def messages(self, method=None):
        """Received JSON-RPC messages (optionally only those with this method), in order."""
        return [r["msg"] for r in list(self.records) if isinstance(r.get("msg"), dict)
                and (method is None or r["msg"].get("method") == method)]

    def http(self, verb):
        return [r for r in list(self.records) if r.get("http") == verb]

    # ---- Streamable HTTP ----------------------------------------------------------------------

    def streamable_post(self, h):
        msg, headers = _read_json(h)
        self.logic.record({"http": "POST", "path": h.path, "headers": headers, "msg": msg})
        is_init = isinstance(msg, dict) and msg.get("method") == "initialize"
        sid = headers.get("mcp-session-id")
        if is_init:
            sid = uuid.uuid4().hex
            with self._lock:
                self.sessions.add(sid)
        elif not sid:
            return _send_json(h, 400, _transport_error("Bad Request: Missing session ID"))
        else:
            with self._lock:
                known = sid in self.sessions and not (self.expire_always and is_request(msg))
            if not known and self.stale_status == 400:   # the TypeScript SDK's answer
                return _send_json(h, 400, {"jsonrpc": "2.0", "error": {
                    "code": -32000, "message": "Bad Request: No valid session ID provided"}, "id": None})
            if not known:
                return _send_json(h, 404, _transport_error("Session not found"))
        with self._lock:
            method = msg.get("method") if isinstance(msg, dict) else None
            drop = self._drops.get(method, 0) > 0 and is_request(msg)
            if drop:
                self._drops[method] -= 1
        if drop:
            return self._drop(h, msg)
        extra = {"Mcp-Session-Id": sid} if is_init else {}
        if not is_request(msg):
            self.logic.receive(msg, None)
            return _send(h, 202, b"", "application/json", extra)
        if self.json_response:
            reply = self.logic.receive(msg, None)
            if reply is None:
                return _send(h, 202, b"", "application/json", extra)
            return _send_json(h, 200, reply, extra)
        self._sse_reply(h, msg, extra)

    def _sse_reply(self, h, msg, extra):
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Transfer-Encoding", "chunked")
        for key, value in extra.items():
            h.send_header(key, value)
        h.end_headers()
        lock = threading.Lock()

        def send(m):   # CRLF line endings, as the official SDK sends them
            data = ("event: message\r\ndata: %s\r\n\r\n" % json.dumps(m)).encode("utf-8")
            with lock:
                h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                h.wfile.flush()
        try:
            reply = self.logic.receive(msg, send)
            if reply is not None:
                send(reply)
            h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()
        except OSError:
            h.close_connection = True

    def _drop(self, h, msg):
        """Start an SSE reply, then close the connection without answering (a crash mid-call)."""
        self.logic.record({"dropped": msg.get("id")})
        h.close_connection = True
        try:
            h.send_response(200)
            h.send_header("Content-Type", "text/event-stream")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def delete(self, h):
        headers = {k.lower(): v for k, v in h.headers.items()}
        self.logic.record({"http": "DELETE", "path": h.path, "headers": headers})
        sid = headers.get("mcp-session-id")
        with self._lock:
            known = sid in self.sessions
            self.sessions.discard(sid)
        _send(h, 200 if known else 404, b"", "application/json")

    def standalone_stream(self, h):
        """GET /mcp: the session's standalone SSE stream (get_stream=True)."""
        headers = {k.lower(): v for k, v in h.headers.items()}
        sid = headers.get("mcp-session-id")
        if "text/event-stream" not in headers.get("accept", ""):
            return _send_json(h, 406, _transport_error("Not Acceptable: Client must accept text/event-stream"))
        if not sid:
            return _send_json(h, 400, _transport_error("Bad Request: Missing session ID"))
        q = queue.Queue()
        with self._lock:
            known, busy = sid in self.sessions, sid in self._get_streams
            if known and not busy:
                self._get_streams[sid] = q
                self._get_changed.notify_all()
        if not known:
            return _send_json(h, 404, _transport_error("Session not found"))
        if busy:
            return _send_json(h, 409, _transport_error("Conflict: Only one SSE stream is allowed per session"))
        try:
            h.send_response(200)
            h.send_header("Content-Type", "text/event-stream")
            h.send_header("Cache-Control", "no-cache")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            h.wfile.flush()
            while True:
                try:
                    m = q.get(timeout=0.05)
                except queue.Empty:
                    if _peer_closed(h.connection):   # the client closed the stream: end it here too
                        break
                    continue
                if m is None:
                    h.wfile.write(b"0\r\n\r\n")
                    h.wfile.flush()
                    break
                data = ("id: %d\r\nevent: message\r\ndata: %s\r\n\r\n"
                        % (next(self._get_event_ids), json.dumps(m))).encode("utf-8")
                h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                h.wfile.flush()
        except OSError:
            h.close_connection = True
        finally:
            with self._lock:
                if self._get_streams.get(sid) is q:
                    del self._get_streams[sid]
                    self._get_changed.notify_all()

    # ---- legacy HTTP+SSE --------------------------------------------------------------------------

    def legacy_stream(self, h):
        sid = uuid.uuid4().hex
        q = queue.Queue()
        with self._lock:
            self._streams[sid] = q
        h.close_connection = True
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream; charset=utf-8")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Connection", "close")
        h.end_headers()
        try:
            h.wfile.write(("event: endpoint\ndata: /messages/?session_id=%s\n\n" % sid).encode("utf-8"))
            h.wfile.flush()
            while True:
                m = q.get()
                if m is None:
                    break
                h.wfile.write(("event: message\ndata: %s\n\n" % json.dumps(m)).encode("utf-8"))
                h.wfile.flush()
        except OSError:
            pass
        finally:
            with self._lock:
                self._streams.pop(sid, None)

    def legacy_post(self, h):
        msg, headers = _read_json(h)
        self.logic.record({"http": "POST", "path": h.path, "headers": headers, "msg": msg})
        sid = parse_qs(urlsplit(h.path).query).get("session_id", [""])[0]
        with self._lock:
            q = self._streams.get(sid)
        if q is None:
            return _send(h, 404, b"Could not find session", "text/plain")
        _send(h, 202, b"Accepted", "text/plain")

        def work():
            reply = self.logic.receive(msg, q.put)
            if reply is not None:
                q.put(reply)
        if is_request(msg):
            threading.Thread(target=work, daemon=True).start()   # a slow tool must not block the POST
        else:
            work()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        self.server.fake._track(self.connection, True)

    def finish(self):
        self.server.fake._track(self.connection, False)
        try:
            BaseHTTPRequestHandler.finish(self)
        except OSError:
            pass

    def do_POST(self):
        fake, path = self.server.fake, urlsplit(self.path).path
        if fake.legacy and path == "/messages/":
            return fake.legacy_post(self)
        if not fake.legacy and path == "/mcp":
            return fake.streamable_post(self)
        _read_json(self)
        fake.logic.record({"http": "POST", "path": self.path, "headers": {}})
        _send(self, 405 if path in ("/sse", "/mcp") else 404, b"Method Not Allowed", "text/plain")

    def do_GET(self):
        fake = self.server.fake
        fake.logic.record({"http": "GET", "path": self.path,
                           "headers": {k.lower(): v for k, v in self.headers.items()}})
        if fake.legacy and urlsplit(self.path).path == "/sse":
            return fake.legacy_stream(self)
        if fake.get_stream and not fake.legacy and urlsplit(self.path).path == "/mcp":
            return fake.standalone_stream(self)
        _send(self, 405, b"Method Not Allowed", "text/plain")

    def do_DELETE(self):
        fake = self.server.fake
        if fake.legacy:
            return _send(self, 405, b"Method Not Allowed", "text/plain")
        fake.delete(self)


def _read_json(h):
    length = int(h.headers.get("Content-Length") or 0)
    body = h.rfile.read(length) if length else b""
    try:
        msg = json.loads(body.decode("utf-8")) if body else None
    except ValueError:
        msg = None
    return msg, {k.lower(): v for k, v in h.headers.items()}


def _peer_closed(sock):
    """Has the other end closed this (otherwise idle) connection?"""
    try:
        readable = select.select([sock], [], [], 0)[0]
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _transport_error(message):
    return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}


def _send_json(h, status, obj, extra=None):
    _send(h, status, json.dumps(obj).encode("utf-8"), "application/json", extra)


def _send(h, status, body, ctype, extra=None):
    try:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()
    except OSError:
        h.close_connection = True


# ---- command line -------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake MCP server for tests.")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--stdio", action="store_true")
    mode.add_argument("--http", action="store_true", help="Streamable HTTP at /mcp")
    mode.add_argument("--sse", action="store_true", help="legacy HTTP+SSE at /sse")
    for flag in ("--port", "--page-size", "--die-after-calls", "--stderr-noise"):
        ap.add_argument(flag, type=int, default=0)
    ap.add_argument("--poll-interval-ms", type=int, default=50)
    ap.add_argument("--stale-status", type=int, default=404, choices=(400, 404))
    for flag in ("--record", "--protocol-version", "--transport-error-id"):
        ap.add_argument(flag)
    for flag in ("--list-changed", "--ping-first", "--ask-sampling", "--no-tools-capability",
                 "--json-response", "--expire-always", "--task-tools", "--no-tasks-capability",
                 "--client-features", "--get-stream"):
        ap.add_argument(flag, action="store_true")
    args = ap.parse_args(argv)
    error_id = _UNSET
    if args.transport_error_id is not None:
        error_id = None if args.transport_error_id == "null" else args.transport_error_id
    options = dict(page_size=args.page_size, send_list_changed_after_init=args.list_changed,
                   ping_first=args.ping_first, ask_sampling=args.ask_sampling,
                   protocol_version_override=args.protocol_version,
                   no_tools_capability=args.no_tools_capability, transport_error_id=error_id,
                   record_path=args.record, task_tools=args.task_tools,
                   tasks_capability=not args.no_tasks_capability, poll_interval_ms=args.poll_interval_ms,
                   client_features=args.client_features)
    if args.stdio:
        serve_stdio(FakeMCP(noisy_boom=True, **options), args.die_after_calls, args.stderr_noise)
        return 0
    fake = FakeMCPHttp(json_response=args.json_response, legacy=args.sse, expire_always=args.expire_always,
                       port=args.port, stale_status=args.stale_status, get_stream=args.get_stream,
                       **options).start()
    print("FAKE_MCP_URL=%s" % fake.url, flush=True)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    while not done.wait(1.0):
        pass
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
