"""The MCP protocol shared by every transport: initialize, tools/list, tools/call, and the
table of waiters that matches replies to requests by id (so notifications and server requests
may arrive at any point). Transports subclass `BaseClient` and implement its _transport_*
hooks; stdio lives in `mcp_stdio.py`, HTTP in `mcp_http.py`. The client features (tools/call
as a task; answering ping, sampling, roots and elicitation) are the `ClientFeatures` mixin
in `mcp_features.py`; the exceptions live in `mcp_errors.py` (re-exported here).
Protocol facts: shared/spec/tools-and-mcp.md 3.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time

from .. import __version__
from .mcp_errors import (WAIT_SLICE, ConnectionLost, Fault, MCPError, RequestCancelled,
                         RequestTimedOut, Stop, TimedOut, cancelled)
from .mcp_features import (SAMPLING_MAX_TOKENS, ClientFeatures, client_options, sampling_messages,
                           sampling_result, task_support)

__all__ = ["BaseClient", "MCPError", "ConnectionLost", "RequestTimedOut", "RequestCancelled",
           "TimedOut", "Stop", "Fault", "OFFERED_VERSION", "SUPPORTED_VERSIONS",
           "HANDSHAKE_TIMEOUT", "LIST_TIMEOUT", "TRANSPORT_ERROR_IDS", "WAIT_SLICE",
           "SAMPLING_MAX_TOKENS", "client_options", "sampling_messages", "sampling_result",
           "task_support", "cancelled"]

OFFERED_VERSION = "2025-11-25"
SUPPORTED_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
HANDSHAKE_TIMEOUT = 30.0
LIST_TIMEOUT = 60.0
# mcp 1.x answers transport errors with "id": "server-error", mcp 2.x with "id": null.
TRANSPORT_ERROR_IDS = (None, "server-error")
_SETTLE_LOCK = threading.Lock()   # a reply and a failure may race to settle one waiter


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


class BaseClient(ClientFeatures):
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
        if cancelled(cancel):
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
                if cancelled(cancel):
                    raise Stop()
                waiter.event.wait(left if cancel is None else min(left, WAIT_SLICE))
        except TimedOut:
            self._cancel(rid, "timed out after %g s" % timeout)
            raise RequestTimedOut("MCP server %r: %s timed out after %g s" % (self.name, what, timeout))
        except Stop:
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
