"""MCP client: the initialize handshake, tools/list and tools/call over stdio or HTTP.

    client = connect("time", {"command": "mcp-server-time", "args": [...]})   # starts nothing
    tools = client.list_tools()            # connects and initializes on first use
    result = client.call_tool("get_current_time", {"timezone": "UTC"}, timeout=30)
    client.close()

Every transport shares the protocol logic in `BaseClient`: requests are matched to replies
by id through a table of waiters, so unsolicited messages (notifications, server requests)
can arrive at any point. Stdio lives here; HTTP (Streamable HTTP and legacy HTTP+SSE) in
`mcp_http.py`. Protocol facts: shared/spec/tools-and-mcp.md section 3.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import os
import signal
import subprocess
import threading
import time

from .. import __version__

OFFERED_VERSION = "2025-11-25"
SUPPORTED_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
HANDSHAKE_TIMEOUT = 30.0
LIST_TIMEOUT = 60.0
STDERR_LINES = 50          # tail of a stdio server's stderr kept for error messages
STDERR_LINE_CHARS = 1000
STDERR_MESSAGE_CHARS = 4000
STOP_GRACE = 2.0           # seconds a stdio server gets after stdin closes, then after SIGTERM
# mcp 1.x answers transport errors with "id": "server-error", mcp 2.x with "id": null.
TRANSPORT_ERROR_IDS = (None, "server-error")
_SETTLE_LOCK = threading.Lock()   # a reply and a failure may race to settle one waiter


class MCPError(Exception):
    """A protocol error or transport failure; str() names the server."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


def connect(name: str, spec: dict, log=None):
    """A lazy client for one server in the common `mcpServers` shape; nothing starts yet."""
    if not isinstance(spec, dict):
        raise ValueError("MCP server %r: the spec must be a mapping, not %s" % (name, type(spec).__name__))
    if spec.get("command"):
        return StdioClient(name, spec, log)
    if spec.get("url"):
        from .mcp_http import HttpClient  # imported late: mcp_http builds on this module
        return HttpClient(name, spec, log)
    raise ValueError("MCP server %r needs either 'command' (a stdio server) or 'url' (an HTTP server)"
                     % name)


class _Waiter:
    """One outstanding request: its reply or error arrives from whichever thread reads it."""

    __slots__ = ("event", "result", "error", "gen", "what")

    def __init__(self, gen, what):
        self.event = threading.Event()
        self.result = None
        self.error = None
        self.gen = gen
        self.what = what

    def settle(self, result=None, error=None):
        with _SETTLE_LOCK:
            if not self.event.is_set():
                self.result, self.error = result, error
                self.event.set()


class _TimedOut(Exception):
    """Raised by a transport that noticed the request's deadline pass."""


class BaseClient:
    """Protocol logic shared by all transports. Subclasses implement the _transport_* hooks."""

    def __init__(self, name: str, log=None):
        self.name = name
        self.log = log or logging.getLogger("argo_proxy")
        self.on_list_changed = None
        self.protocol_version = None
        self.server_info = None
        self.capabilities = {}
        self._ids = itertools.count(1)
        self._start_lock = threading.RLock()
        self._plock = threading.Lock()   # guards _pending, _gen and _down
        self._pending = {}
        self._gen = 0                    # bumps on every (re)connect; stale readers can't fail new calls
        self._down = None                # MCPError once the current connection died
        self._ready = False
        self._closed = False

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

    def list_tools(self, timeout: float = LIST_TIMEOUT) -> list:
        """Every tool the server offers, following nextCursor; [] without the tools capability."""
        self.start()
        if "tools" not in (self.capabilities or {}):
            return []   # never call tools/list then (mcpo crashed doing so: mcpo #237)
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

    def call_tool(self, name: str, arguments: dict, timeout: float) -> dict:
        """The CallToolResult dict; isError results are returned, protocol errors raise MCPError."""
        self.start()
        params = {"name": name, "arguments": arguments or {}}
        result = self._request("tools/call", params, timeout, what="tools/call %r" % name)
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

    def _transport_close(self):
        self._transport_teardown()

    # ---- protocol ---------------------------------------------------------------------------

    def _handshake(self):
        self.protocol_version = None   # no MCP-Protocol-Version header until negotiated
        params = {"protocolVersion": OFFERED_VERSION, "capabilities": {},
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

    def _request(self, method, params, timeout, what=None):
        what = what or method
        rid = next(self._ids)
        with self._plock:
            if self._down is not None:
                raise MCPError(str(self._down))
            waiter = _Waiter(self._gen, what)
            self._pending[rid] = waiter
        deadline = time.monotonic() + timeout
        try:
            self._transmit({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}, deadline)
            if not waiter.event.wait(max(0.0, deadline - time.monotonic())):
                raise _TimedOut()
        except _TimedOut:
            self._cancel(rid, "timed out after %g s" % timeout)
            raise MCPError("MCP server %r: %s timed out after %g s" % (self.name, what, timeout))
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
                self._answer_server_request(msg["id"], method)
            else:
                self._on_notification(method)
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

    def _answer_server_request(self, rid, method):
        if method == "ping":
            reply = {"jsonrpc": "2.0", "id": rid, "result": {}}
        else:   # sampling, roots, elicitation: capabilities we never declared
            reply = {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "Method not found"}}
            self.log.debug("MCP server %r asked for %r; answered -32601", self.name, method)
        try:
            self._send_oneway(reply)
        except Exception as exc:
            self.log.warning("MCP server %r: could not answer its %r request: %s", self.name, method, exc)

    def _on_notification(self, method):
        if method != "notifications/tools/list_changed":
            return
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


class StdioClient(BaseClient):
    """A server run as a subprocess speaking newline-delimited JSON-RPC on stdin/stdout."""

    def __init__(self, name: str, spec: dict, log=None):
        super().__init__(name, log)
        args = spec.get("args") or []
        if not isinstance(args, (list, tuple)):
            raise ValueError("MCP server %r: 'args' must be a list" % name)
        self._argv = [str(spec["command"])] + [str(a) for a in args]
        self._env = {str(k): str(v) for k, v in (spec.get("env") or {}).items()}
        self._cwd = spec.get("cwd") or None
        self._proc = None
        self._stderr = collections.deque(maxlen=STDERR_LINES)
        self._wlock = threading.Lock()
        self._threads = []

    @property
    def process(self):
        """The running subprocess.Popen, or None."""
        return self._proc

    def stderr_tail(self) -> list:
        return list(self._stderr)

    def _transport_alive(self):
        return self._proc is not None and self._proc.poll() is None and self._down is None

    def _transport_open(self):
        env = dict(os.environ)
        env.update(self._env)
        try:
            proc = subprocess.Popen(self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env, cwd=self._cwd,
                                    start_new_session=(os.name == "posix"))  # our Ctrl-C is not its
        except FileNotFoundError as exc:
            if self._cwd and not os.path.isdir(self._cwd):
                raise MCPError("MCP server %r: working directory %r does not exist" % (self.name, self._cwd))
            raise MCPError("MCP server %r: command not found: %r (is it installed and on PATH?)"
                           % (self.name, self._argv[0])) from exc
        except OSError as exc:
            raise MCPError("MCP server %r: cannot run %r: %s" % (self.name, self._argv[0], exc)) from exc
        self._proc = proc
        self._stderr = collections.deque(maxlen=STDERR_LINES)   # per process: a restart starts afresh
        drain = threading.Thread(target=self._read_stderr, args=(proc, self._stderr), daemon=True,
                                 name="mcp-%s-stderr" % self.name)
        reader = threading.Thread(target=self._read_stdout, args=(proc, self._gen, drain, self._stderr),
                                  daemon=True,
                                  name="mcp-%s-reader" % self.name)
        self._threads = [drain, reader]
        for thread in self._threads:
            thread.start()
        self.log.debug("MCP server %r: started %r (pid %d)", self.name, self._argv, proc.pid)

    def _read_stderr(self, proc, tail):
        """Drain stderr (a full pipe would block the server); keep the tail for error messages."""
        try:
            for raw in iter(proc.stderr.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()[:STDERR_LINE_CHARS]
                tail.append(line)
                self.log.debug("MCP server %r stderr: %s", self.name, line)
        except (OSError, ValueError):
            pass   # pipe closed under us at shutdown

    def _read_stdout(self, proc, gen, drain, tail):
        try:
            for raw in iter(proc.stdout.readline, b""):
                line = raw.strip()
                if not line:
                    continue
                try:
                    data = json.loads(line.decode("utf-8"))
                except ValueError:
                    self.log.debug("MCP server %r printed a non-JSON line: %r", self.name, line[:200])
                    continue
                self._dispatch(data)
        except (OSError, ValueError):
            pass
        self._on_exit(proc, gen, drain, tail)

    def _on_exit(self, proc, gen, drain, tail):
        try:
            code = proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            code = None
        drain.join(STOP_GRACE)   # its last stderr lines explain the exit
        if self._closed:
            err = MCPError("MCP server %r: the client was closed" % self.name)
        else:
            err = MCPError(self._exit_message(code, tail))
            self.log.warning("%s", err)
        self._fail_pending(gen, err)

    def _exit_message(self, code, tail):
        if code is None:
            head = "MCP server %r closed its stdout" % self.name
        else:
            head = "MCP server %r exited with code %s" % (self.name, code)
        text = "\n".join(tail)[-STDERR_MESSAGE_CHARS:]
        if not text:
            return head + " (no stderr output)"
        return head + "; the end of its stderr:\n" + text

    def _transmit(self, msg, deadline):
        self._write(msg)

    def _send_oneway(self, msg):
        self._write(msg)

    def _write(self, msg):
        # ASCII JSON: never a raw newline, and lone surrogates from model output can't break encoding
        data = json.dumps(msg, separators=(",", ":")).encode("ascii") + b"\n"
        proc = self._proc
        try:
            with self._wlock:
                proc.stdin.write(data)
                proc.stdin.flush()
        except (OSError, ValueError, AttributeError) as exc:
            # The server is gone; let the reader record why (exit code, stderr) first.
            reader = self._threads[1] if len(self._threads) > 1 and proc is self._proc else None
            if reader is not None and reader is not threading.current_thread():
                reader.join(STOP_GRACE)
            down = self._down
            raise MCPError(str(down) if down is not None else
                           "MCP server %r: cannot write to its stdin: %s" % (self.name, exc)) from exc

    def _transport_teardown(self):
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()   # the polite way to ask a stdio server to exit
        except (OSError, ValueError):
            pass
        _stop_process(proc)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(STOP_GRACE)
        for pipe in (proc.stdout, proc.stderr):
            try:
                pipe.close()
            except (OSError, ValueError):
                pass
        self._threads = []


def _stop_process(proc):
    """Wait for a voluntary exit, then SIGTERM, then SIGKILL (its process group on POSIX)."""
    for sig in (None, signal.SIGTERM, getattr(signal, "SIGKILL", None)):
        if sig is not None:
            _signal(proc, sig)
        try:
            proc.wait(timeout=STOP_GRACE)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


def _signal(proc, sig):
    if proc.poll() is not None:
        return   # already reaped: its pid may belong to someone else now
    try:
        if os.name == "posix":
            os.killpg(proc.pid, sig)   # start_new_session made it a group leader: children go too
        elif sig == signal.SIGTERM:
            proc.terminate()
        else:
            proc.kill()
    except OSError:
        pass
