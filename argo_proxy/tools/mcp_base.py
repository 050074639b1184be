"""The MCP protocol shared by every transport: initialize, tools/list, tools/call (plain or as
a task), the client features a server may ask for (ping, sampling, roots, elicitation), and
the table of waiters that matches replies to requests by id (so notifications and server
requests may arrive at any point). Transports subclass `BaseClient` and implement its
_transport_* hooks; stdio lives in `mcp_stdio.py`, HTTP in `mcp_http.py`.
Protocol facts: shared/spec/tools-and-mcp.md 3; tasks, sampling, roots and elicitation:
the MCP 2025-11-25 specification (basic/utilities/tasks, client/sampling, client/roots,
client/elicitation).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import pathlib
import threading
import time

from .. import __version__

OFFERED_VERSION = "2025-11-25"
SUPPORTED_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
HANDSHAKE_TIMEOUT = 30.0
LIST_TIMEOUT = 60.0
# mcp 1.x answers transport errors with "id": "server-error", mcp 2.x with "id": null.
TRANSPORT_ERROR_IDS = (None, "server-error")
_SETTLE_LOCK = threading.Lock()   # a reply and a failure may race to settle one waiter

SAMPLING_MAX_TOKENS = 4096     # cap on a server's sampling maxTokens unless sampling_max_tokens says
TASK_POLL_DEFAULT = 1.0        # seconds between tasks/get when the server names no pollInterval
TASK_POLL_MIN = 0.05           # a pollInterval of 0 must not become a busy loop
TASK_TTL_SLACK = 60.0          # the task lifetime asked for: the call's timeout plus this
TASK_CANCEL_TIMEOUT = 5.0      # how long a best-effort tasks/cancel may take
TERMINAL_TASK_STATUSES = ("completed", "failed", "cancelled")
RELATED_TASK = "io.modelcontextprotocol/related-task"
WAIT_SLICE = 0.2               # how often a wait looks at the caller's cancel


class MCPError(Exception):
    """A protocol error or transport failure; str() names the server."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class ConnectionLost(MCPError):
    """The connection a request travelled on closed (or never opened) before its reply came.
    The HTTP transport starts a new session and sends the request once more."""


class RequestTimedOut(MCPError):
    """The request's deadline passed (the server was told with notifications/cancelled)."""


class RequestCancelled(MCPError):
    """The caller cancelled the request (its client went away)."""


class _Waiter:
    """One outstanding request: its reply or error arrives from whichever thread reads it.
    model: the chat model of the call that sent it (answers sampling requests it triggers);
    cancel: the caller's cancellation (a transport reading the reply inline watches it)."""

    __slots__ = ("event", "result", "error", "gen", "what", "model", "cancel")

    def __init__(self, gen, what, model=None, cancel=None):
        self.event = threading.Event()
        self.result = None
        self.error = None
        self.gen = gen
        self.what = what
        self.model = model
        self.cancel = cancel

    def settle(self, result=None, error=None):
        with _SETTLE_LOCK:
            if not self.event.is_set():
                self.result, self.error = result, error
                self.event.set()


class _TaskWatch:
    """A task this client waits for: the triggering model, and an event that a
    notifications/tasks/status for it sets (so the next tasks/get goes out at once)."""

    __slots__ = ("model", "event")

    def __init__(self, model):
        self.model = model
        self.event = threading.Event()


class _Fault(Exception):
    """A JSON-RPC error to answer a server's request with."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class TimedOut(Exception):
    """Raised by a transport that noticed the request's deadline pass (never leaves the client)."""


class _Stop(Exception):
    """A wait ended early: the caller cancelled (or, in a task wait, the deadline passed).
    A transport raises it from _transmit when the caller's cancel stopped the exchange."""


def client_options(name, sampling=False, sampling_max_tokens=None, roots=None):
    """(sampling, max tokens, roots as absolute paths) after checking the per-server options;
    ValueError names what is wrong."""
    if not isinstance(sampling, bool):
        raise ValueError("MCP server %r: 'sampling' must be true or false, not %r" % (name, sampling))
    cap = SAMPLING_MAX_TOKENS if sampling_max_tokens is None else sampling_max_tokens
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ValueError("MCP server %r: 'sampling_max_tokens' must be a positive integer, not %r"
                         % (name, sampling_max_tokens))
    if roots is None:
        roots = []
    if not isinstance(roots, (list, tuple)) or not all(isinstance(r, str) and r.strip() for r in roots):
        raise ValueError("MCP server %r: 'roots' must be a list of directory paths" % name)
    paths = [os.path.abspath(os.path.expanduser(r.strip())) for r in roots]
    return sampling, cap, paths


class BaseClient:
    """Protocol logic shared by all transports. Subclasses implement the _transport_* hooks.

    Client features, per server: sampling (declared only when True; answered through
    `on_sampling`, which the ToolSet sets), roots (declared when the list is not empty;
    roots/list answers with their file:// URIs), tasks (use task-augmented tools/call for
    tools that require it, when the server declares tasks.requests.tools.call).
    Elicitation is never declared; a server that asks anyway is declined."""

    def __init__(self, name: str, log=None, sampling=False, sampling_max_tokens=None, roots=None,
                 tasks=True):
        self.name = name
        self.log = log or logging.getLogger("argo_proxy")
        self.sampling, self.sampling_max_tokens, self.roots = client_options(
            name, sampling, sampling_max_tokens, roots)
        self.tasks = bool(tasks)
        self.on_list_changed = None
        # on_sampling(messages, system, max_tokens, hints, triggering_model) -> the sampler's dict
        self.on_sampling = None
        self.protocol_version = None
        self.server_info = None
        self.capabilities = {}
        self._ids = itertools.count(1)
        self._start_lock = threading.RLock()
        self._plock = threading.Lock()   # guards _pending, _gen, _down and _tasks
        self._pending = {}
        self._gen = 0                    # bumps on every (re)connect; stale readers can't fail new calls
        self._down = None                # MCPError once the current connection died
        self._ready = False
        self._closed = False
        self._task_modes = {}            # tool name -> execution.taskSupport, from the latest listing
        self._tasks = {}                 # taskId -> _TaskWatch of the task-augmented calls in flight

    # ---- public API ---------------------------------------------------------------------

    def start(self):
        """Connect and run the initialize handshake now (idempotent; a dead connection is redone)."""
        if self._ready and not self._closed and self._transport_alive():
            return
        with self._start_lock:
            if self._closed:
                raise MCPError("MCP server %r: the client is closed" % self.name)
            if self._ready and self._transport_alive():
                return
            self._reconnect()

    def client_capabilities(self) -> dict:
        """What initialize declares: only the features this server's entry turned on.

        No `tasks` capability: the client one (list, cancel, requests.sampling/elicitation)
        says which task-augmented requests the client accepts as a receiver, and this client
        accepts none; calling a server's tools as tasks needs only the server's capability."""
        caps = {}
        if self.roots:
            caps["roots"] = {"listChanged": False}
        if self.sampling:
            caps["sampling"] = {}
        return caps

    @property
    def supports_tasks(self) -> bool:
        """Can tools that require task augmentation be called on this server (as of the last
        handshake)? Tools with execution.taskSupport "required" are offered only then."""
        return self.tasks and _has(self.capabilities, "tasks", "requests", "tools", "call")

    def list_tools(self, timeout: float = LIST_TIMEOUT) -> list:
        """Every tool the server offers, following nextCursor; [] without the tools capability."""
        self.start()
        if "tools" not in (self.capabilities or {}):
            return []   # never call tools/list then (mcpo crashed doing so: mcpo #237)
        for _ in range(3):   # a cursor is per session: a new session starts the listing over
            epoch = self._session_epoch()
            tools = self._list_pages(timeout)
            if self._session_epoch() == epoch:
                break
        self._task_modes = {t["name"]: task_support(t) for t in tools}
        return tools

    def call_tool(self, name: str, arguments: dict, timeout: float, cancel=None, model=None) -> dict:
        """The CallToolResult dict; isError results are returned, protocol errors raise MCPError.

        cancel: the caller's cancellation (an upstream.Cancel or threading.Event; None: never);
        model: the chat model whose tool call this is (sampling requests it triggers use it).
        A tool that requires tasks (per the latest tools/list) runs as a task when the server
        supports them: tools/call with `task`, tasks/get every pollInterval, tasks/result;
        tasks/cancel when the deadline passes or the caller cancels."""
        self.start()
        params = {"name": name, "arguments": arguments or {}}
        what = "tools/call %r" % name
        if self._task_modes.get(name) == "required" and self.supports_tasks:
            result = self._call_as_task(params, timeout, what, cancel, model)
        else:
            result = self._request("tools/call", params, timeout, what, cancel=cancel, model=model)
        if not isinstance(result, dict):
            raise MCPError("MCP server %r answered tools/call %r with %r" % (self.name, name, result))
        result.setdefault("content", [])
        return result

    def close(self):
        """Clean shutdown (idempotent). Calls in flight fail; later use raises MCPError."""
        if self._closed:
            return
        self._closed = True
        self._fail_pending(None, MCPError("MCP server %r: the client was closed" % self.name))
        self._transport_abort()   # before the lock: a handshake in flight holds it
        with self._start_lock:
            self._ready = False
            self._transport_close()

    # ---- hooks for transports -------------------------------------------------------------

    def _transport_open(self):
        raise NotImplementedError

    def _transport_alive(self) -> bool:
        raise NotImplementedError

    def _transmit(self, msg: dict, deadline: float):
        """Send one request. A transport that reads its reply inline settles the waiter itself."""
        raise NotImplementedError

    def _send_oneway(self, msg: dict):
        """Send a notification or a reply to a server request."""
        raise NotImplementedError

    def _transport_teardown(self):
        raise NotImplementedError

    def _transport_abort(self):
        """close() began: wake reads still blocked on the transport (default: nothing to do)."""

    def _transport_close(self):
        self._transport_teardown()

    def _session_epoch(self):
        """Changes whenever a new session begins (a tools/list cursor dies with its session)."""
        return self._gen

    # ---- protocol ---------------------------------------------------------------------------

    def _reconnect(self):
        """Tear down whatever is there, connect and initialize (the caller holds _start_lock)."""
        self._ready = False
        self._transport_teardown()
        with self._plock:
            self._gen += 1
            self._down = None
        try:
            self._transport_open()
            self._handshake()
        except BaseException:
            self._transport_teardown()   # e.g. an unusable protocol version: disconnect
            raise
        self._ready = True

    def _handshake(self):
        self.protocol_version = None   # no MCP-Protocol-Version header until negotiated
        params = {"protocolVersion": OFFERED_VERSION, "capabilities": self.client_capabilities(),
                  "clientInfo": {"name": "argo-proxy", "version": __version__}}
        result = self._request("initialize", params, HANDSHAKE_TIMEOUT)
        version = result.get("protocolVersion") if isinstance(result, dict) else None
        if version not in SUPPORTED_VERSIONS:
            raise MCPError("MCP server %r answered initialize with protocol version %r, which argo-proxy "
                           "does not speak (it speaks %s)" % (self.name, version, ", ".join(SUPPORTED_VERSIONS)))
        caps = result.get("capabilities")
        self.capabilities = caps if isinstance(caps, dict) else {}
        info = result.get("serverInfo")
        self.server_info = info if isinstance(info, dict) else {}
        self.protocol_version = version
        self._send_oneway({"jsonrpc": "2.0", "method": "notifications/initialized"})
        self.log.debug("MCP server %r: initialized, protocol %s, server %r",
                       self.name, version, self.server_info)

    def _list_pages(self, timeout):
        tools, cursor, seen = [], None, set()
        while True:
            params = {} if cursor is None else {"cursor": cursor}
            result = self._request("tools/list", params, timeout)
            if not isinstance(result, dict):
                raise MCPError("MCP server %r answered tools/list with %r" % (self.name, result))
            tools.extend(t for t in result.get("tools") or [] if isinstance(t, dict) and t.get("name"))
            cursor = result.get("nextCursor")
            if cursor is None or cursor == "":
                return tools
            key = json.dumps(cursor, sort_keys=True)   # opaque: may not even be hashable
            if key in seen:
                raise MCPError("MCP server %r repeats tools/list cursor %r" % (self.name, cursor))
            seen.add(key)

    def _request(self, method, params, timeout, what=None, cancel=None, model=None):
        what = what or method
        if _cancelled(cancel):
            raise RequestCancelled("MCP server %r: %s was cancelled by the client" % (self.name, what))
        rid = next(self._ids)
        with self._plock:
            if self._down is not None:
                down = self._down
                raise (ConnectionLost if isinstance(down, ConnectionLost) else MCPError)(str(down))
            waiter = _Waiter(self._gen, what, model, cancel)
            self._pending[rid] = waiter
        deadline = time.monotonic() + timeout
        try:
            self._transmit({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}, deadline)
            while not waiter.event.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimedOut()
                if _cancelled(cancel):
                    raise _Stop()
                waiter.event.wait(left if cancel is None else min(left, WAIT_SLICE))
        except TimedOut:
            self._cancel(rid, "timed out after %g s" % timeout)
            raise RequestTimedOut("MCP server %r: %s timed out after %g s" % (self.name, what, timeout))
        except _Stop:
            self._cancel(rid, "the client went away")
            raise RequestCancelled("MCP server %r: %s was cancelled by the client" % (self.name, what))
        finally:
            with self._plock:
                self._pending.pop(rid, None)
        if waiter.error is not None:
            raise waiter.error
        return waiter.result

    def _cancel(self, rid, reason):
        """Tell the server to stop work nobody waits for any more (best effort)."""
        msg = {"jsonrpc": "2.0", "method": "notifications/cancelled",
               "params": {"requestId": rid, "reason": reason}}
        try:
            self._send_oneway(msg)
        except Exception as exc:  # the call already failed; the cancel is only a courtesy
            self.log.debug("MCP server %r: could not send cancel for %s: %s", self.name, rid, exc)

    # ---- tasks ------------------------------------------------------------------------------

    def _call_as_task(self, params, timeout, what, cancel, model):
        """tools/call as a task: create it, poll tasks/get, fetch tasks/result; cancel it on
        timeout or when the caller cancels."""
        deadline = time.monotonic() + timeout
        params = dict(params, task={"ttl": int((timeout + TASK_TTL_SLACK) * 1000)})
        created = self._request("tools/call", params, timeout, what, cancel=cancel, model=model)
        task = created.get("task") if isinstance(created, dict) else None
        if not isinstance(task, dict) or not isinstance(task.get("taskId"), str):
            if isinstance(created, dict) and "content" in created:
                return created   # the server ran it without a task (receivers may)
            raise MCPError("MCP server %r answered the task-augmented %s with %r"
                           % (self.name, what, created))
        tid = task["taskId"]
        self.log.debug("MCP server %r: %s runs as task %s", self.name, what, tid)
        with self._plock:
            watch = self._tasks[tid] = _TaskWatch(model)
        try:
            while True:
                status = task.get("status")
                if status in TERMINAL_TASK_STATUSES or status == "input_required":
                    # input_required: tasks/result carries the server's requests until it ends
                    return self._request("tasks/result", {"taskId": tid}, _left(deadline),
                                         "tasks/result of %s" % what, cancel=cancel, model=model)
                self._pause(watch, task.get("pollInterval"), deadline, cancel)
                task = self._request("tasks/get", {"taskId": tid}, _left(deadline),
                                     "tasks/get of %s" % what, cancel=cancel, model=model)
                if not isinstance(task, dict):
                    raise MCPError("MCP server %r answered tasks/get of %s with %r" % (self.name, what, task))
        except (_Stop, RequestTimedOut, RequestCancelled):
            gone = _cancelled(cancel)
            self._cancel_task(tid, what)
            if gone:
                raise RequestCancelled("MCP server %r: %s (task %s) was cancelled by the client"
                                       % (self.name, what, tid)) from None
            raise RequestTimedOut("MCP server %r: %s timed out after %g s (task %s)"
                                  % (self.name, what, timeout, tid)) from None
        finally:
            with self._plock:
                self._tasks.pop(tid, None)

    def _pause(self, watch, poll_ms, deadline, cancel):
        """Wait the server's pollInterval (bounded by the deadline); a status notification for
        the task ends the wait early. _Stop when the deadline passes or the caller cancels."""
        interval = TASK_POLL_DEFAULT
        if isinstance(poll_ms, (int, float)) and not isinstance(poll_ms, bool) and poll_ms >= 0:
            interval = poll_ms / 1000.0
        end = min(time.monotonic() + max(TASK_POLL_MIN, interval), deadline)
        while True:
            if _cancelled(cancel):
                raise _Stop()
            left = end - time.monotonic()
            if left <= 0:
                break
            if watch.event.wait(min(left, WAIT_SLICE)):
                watch.event.clear()
                break
        if time.monotonic() >= deadline:
            raise _Stop()

    def _cancel_task(self, tid, what):
        """Best-effort tasks/cancel (only to a server that declares tasks.cancel)."""
        if not _has(self.capabilities, "tasks", "cancel"):
            self.log.debug("MCP server %r: cannot cancel task %s (no tasks.cancel capability)",
                           self.name, tid)
            return
        try:
            self._request("tasks/cancel", {"taskId": tid}, TASK_CANCEL_TIMEOUT, "tasks/cancel of %s" % what)
            self.log.info("MCP server %r: cancelled task %s of %s", self.name, tid, what)
        except MCPError as exc:
            self.log.debug("MCP server %r: tasks/cancel %s failed: %s", self.name, tid, exc)

    # ---- incoming messages --------------------------------------------------------------------

    def _dispatch(self, data, origin=None):
        """Handle one decoded message or batch. origin: the request id this reply stream belongs to."""
        for msg in data if isinstance(data, list) else [data]:
            if isinstance(msg, dict):
                self._on_message(msg, origin)
            else:
                self.log.debug("MCP server %r sent a non-object message: %r", self.name, msg)

    def _on_message(self, msg, origin):
        method = msg.get("method")
        if isinstance(method, str):
            if "id" in msg:
                self._answer_server_request(msg, origin)
            else:
                self._on_notification(method, msg.get("params"))
            return
        if "result" not in msg and "error" not in msg:
            self.log.debug("MCP server %r sent an unrecognised message: %r", self.name, msg)
            return
        rid = msg.get("id")
        if "error" in msg and rid in TRANSPORT_ERROR_IDS:
            self._on_transport_error(msg["error"], origin)
            return
        with self._plock:
            waiter = self._pending.get(rid)
        if waiter is None:
            self.log.debug("MCP server %r: reply to unknown or abandoned request %r", self.name, rid)
        elif "error" in msg:
            waiter.settle(error=self._rpc_error(waiter.what, msg["error"]))
        else:
            waiter.settle(result=msg["result"])

    def _on_transport_error(self, error, origin):
        err = self._rpc_error("the request", error)
        if origin is not None:
            with self._plock:
                waiter = self._pending.get(origin)
            if waiter is not None:
                waiter.settle(error=err)
                return
        self._fail_pending(None, err)   # no way to tell which request it meant: fail them all

    def _rpc_error(self, what, error):
        if not isinstance(error, dict):
            return MCPError("MCP server %r: %s failed: %r" % (self.name, what, error))
        code = error.get("code")
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        text = error.get("message") or "no message"
        suffix = " (JSON-RPC error %d)" % code if code is not None else ""
        return MCPError("MCP server %r: %s failed: %s%s" % (self.name, what, text, suffix), code=code)

    def _on_notification(self, method, params=None):
        if method == "notifications/tasks/status":
            tid = params.get("taskId") if isinstance(params, dict) else None
            with self._plock:
                watch = self._tasks.get(tid) if isinstance(tid, str) else None
            if watch is not None:
                watch.event.set()   # poll now instead of after the interval
            return
        if method == "notifications/tools/list_changed":
            self._notify_list_changed()

    def _notify_list_changed(self):
        callback = self.on_list_changed
        if callback is None:
            return
        try:
            callback()
        except Exception:
            self.log.exception("MCP server %r: on_list_changed callback failed", self.name)

    def _fail_pending(self, gen, err):
        """Fail the waiters of one connection generation (None: all) and mark it down."""
        with self._plock:
            if gen == self._gen:
                self._down = err   # later requests fail fast until start() reconnects
            stale = [w for w in self._pending.values() if gen is None or w.gen == gen]
        for waiter in stale:
            waiter.settle(error=err)

    # ---- requests from the server ---------------------------------------------------------

    def _answer_server_request(self, msg, origin):
        """Answer ping, roots/list, elicitation/create (declined) and sampling/createMessage
        (in its own thread: a model call must not hold up the reader); -32601 for the rest."""
        rid, method = msg["id"], msg["method"]
        params = msg.get("params") if isinstance(msg.get("params"), dict) else {}
        self.log.info("MCP server %r asks the client: %s", self.name, method)
        if method == "sampling/createMessage" and self.sampling:
            model = self._triggering_model(origin, params)
            threading.Thread(target=self._answer, args=(rid, method, self._sample, params, model),
                             daemon=True, name="mcp-%s-sampling" % self.name).start()
            return
        handler = {"ping": self._ping, "roots/list": self._list_roots,
                   "elicitation/create": self._elicit}.get(method, _not_found)
        self._answer(rid, method, handler, params)

    def _answer(self, rid, method, handler, params, *args):
        try:
            reply = {"jsonrpc": "2.0", "id": rid, "result": handler(params, *args)}
        except _Fault as fault:
            reply = {"jsonrpc": "2.0", "id": rid, "error": {"code": fault.code, "message": fault.message}}
            if fault.code != -32601:
                self.log.warning("MCP server %r: refused its %s request: %s", self.name, method, fault.message)
            else:
                self.log.debug("MCP server %r asked for %r; answered -32601", self.name, method)
        try:
            self._send_oneway(reply)
        except Exception as exc:
            self.log.warning("MCP server %r: could not answer its %r request: %s", self.name, method, exc)

    def _ping(self, params):
        return {}

    def _list_roots(self, params):
        if not self.roots:
            raise _Fault(-32601, "Method not found")
        return {"roots": [{"uri": pathlib.Path(path).as_uri(), "name": os.path.basename(path) or path}
                          for path in self.roots]}

    def _elicit(self, params):
        self.log.info("MCP server %r: declined its elicitation (%s)", self.name,
                      str(params.get("message") or "no message")[:200])
        return {"action": "decline"}

    def _sample(self, params, model):
        messages = sampling_messages(params.get("messages"))
        system = params.get("systemPrompt")
        system = system if isinstance(system, str) and system.strip() else None
        asked = params.get("maxTokens")
        max_tokens = self.sampling_max_tokens
        if isinstance(asked, int) and not isinstance(asked, bool) and 0 < asked < max_tokens:
            max_tokens = asked
        prefs = params.get("modelPreferences") if isinstance(params.get("modelPreferences"), dict) else {}
        hints = [h["name"] for h in prefs.get("hints") or []
                 if isinstance(h, dict) and isinstance(h.get("name"), str) and h["name"].strip()]
        handler = self.on_sampling
        if handler is None:
            raise _Fault(-32603, "argo-proxy has no model caller for sampling (the MCP client is not "
                                 "part of a tool set)")
        try:
            answer = handler(messages, system, max_tokens, hints, model)
        except Exception as exc:
            raise _Fault(-32603, "sampling failed: %s" % (str(exc) or type(exc).__name__)) from None
        result = sampling_result(answer)
        self.log.info("MCP server %r: sampling answered by model %s (%s)", self.name, result["model"],
                      result["stopReason"])
        return result

    def _triggering_model(self, origin, params):
        """The model of the call that made the server ask: the request whose reply stream
        carries the question, else the task it names, else the latest call in flight."""
        meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}
        related = meta.get(RELATED_TASK) if isinstance(meta.get(RELATED_TASK), dict) else {}
        with self._plock:
            waiter = self._pending.get(origin) if origin is not None else None
            if waiter is not None and waiter.model:
                return waiter.model
            watch = self._tasks.get(related.get("taskId")) if isinstance(related.get("taskId"), str) else None
            if watch is not None and watch.model:
                return watch.model
            models = [w.model for w in self._pending.values() if w.model]
        return models[-1] if models else None


def task_support(tool) -> str:
    """A tool's execution.taskSupport: "required", "optional" or "forbidden" (the default)."""
    execution = tool.get("execution") if isinstance(tool, dict) else None
    mode = execution.get("taskSupport") if isinstance(execution, dict) else None
    return mode if mode in ("required", "optional") else "forbidden"


def sampling_messages(raw) -> list:
    """MCP SamplingMessages -> OpenAI chat messages (text as strings; images as image_url
    data URLs; audio as input_audio). _Fault(-32602) for a malformed list."""
    if not isinstance(raw, list) or not raw:
        raise _Fault(-32602, "sampling/createMessage needs a non-empty messages list")
    out = []
    for msg in raw:
        role = msg.get("role") if isinstance(msg, dict) else None
        if role not in ("user", "assistant"):
            raise _Fault(-32602, "sampling message role must be user or assistant, not %r" % (role,))
        blocks = msg.get("content")
        blocks = blocks if isinstance(blocks, list) else [blocks]
        parts = [_openai_part(block, role) for block in blocks]
        if all(p["type"] == "text" for p in parts):
            out.append({"role": role, "content": "\n".join(p["text"] for p in parts)})
        else:
            out.append({"role": role, "content": parts})
    return out


def _openai_part(block, role):
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "text" and isinstance(block.get("text"), str):
        return {"type": "text", "text": block["text"]}
    if kind == "image" and role == "user" and block.get("data"):
        mime = block.get("mimeType") or "image/png"
        return {"type": "image_url", "image_url": {"url": "data:%s;base64,%s" % (mime, block["data"])}}
    if kind == "audio" and role == "user" and block.get("data"):
        fmt = str(block.get("mimeType") or "audio/wav").split("/")[-1].replace("mpeg", "mp3")
        return {"type": "input_audio", "input_audio": {"data": block["data"], "format": fmt}}
    if kind in ("image", "audio", "tool_use", "tool_result"):
        return {"type": "text", "text": "[%s content]" % kind}
    raise _Fault(-32602, "unsupported sampling content %r" % (block,))


def sampling_result(answer) -> dict:
    """The sampler's answer as a CreateMessageResult (a bare string is taken as the text)."""
    if isinstance(answer, str):
        answer = {"content": {"type": "text", "text": answer}}
    if not isinstance(answer, dict):
        raise _Fault(-32603, "the model caller returned %s, not a message" % type(answer).__name__)
    content = answer.get("content")
    if isinstance(content, str):
        content = {"type": "text", "text": content}
    if not isinstance(content, dict) or not content.get("type"):
        raise _Fault(-32603, "the model caller returned no content")
    return {"role": "assistant", "content": content, "model": str(answer.get("model") or "unknown"),
            "stopReason": answer.get("stopReason") or "endTurn"}


def _not_found(params):
    raise _Fault(-32601, "Method not found")


def _has(mapping, *path) -> bool:
    """Is there an object (or any value) at this key path of a capabilities dict?"""
    node = mapping
    for key in path:
        if not isinstance(node, dict) or key not in node or node[key] is None:
            return False
        node = node[key]
    return node is not False


def _cancelled(cancel) -> bool:
    """Has the caller cancelled? (an upstream.Cancel, a threading.Event, or None)."""
    if cancel is None:
        return False
    flag = getattr(cancel, "cancelled", None)
    if flag is not None:
        return bool(flag)
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set()) if callable(is_set) else False


def _left(deadline) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Stop()
    return left
