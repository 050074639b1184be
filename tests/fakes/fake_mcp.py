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
  protocol_version_override="V" / --protocol-version V; no_tools_capability / --no-tools-capability
  transport_error_id=ID / --transport-error-id ID|null: tools/call answered by an error with that id
  stdio only: --die-after-calls N (exit 3 with a note on stderr on receiving the Nth tools/call;
      with env FAKE_MCP_DIE_ONCE=PATH only while PATH does not exist, which it then creates;
      unanswered), --stderr-noise BYTES (written to stderr before stdin is read)
  HTTP only: json_response / --json-response; expire_always / --expire-always (every request but
      initialize gets 404 "Session not found"; notifications pass); FakeMCPHttp.expire_sessions()

Records of everything received: FakeMCP(Http).records, and JSON lines in --record PATH:
{"event": "start", "pid", "cwd", "env": FAKE_MCP_* vars} (stdio), {"msg"} (stdio),
{"http": "POST"|"GET"|"DELETE", "path", "headers" (lower-case), "msg"?} (HTTP),
{"answered": method, "reply"} (client answered a server request), {"cancelled": id} (slow()).

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
import signal
import sys
import threading
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
                 transport_error_id=_UNSET, record_path=None, noisy_boom=False):
        self.page_size = page_size
        self.send_list_changed_after_init = send_list_changed_after_init
        self.ping_first = ping_first
        self.ask_sampling = ask_sampling
        self.protocol_version_override = protocol_version_override
        self.no_tools_capability = no_tools_capability
        self.transport_error_id = transport_error_id
        self.record_path = record_path
        self.noisy_boom = noisy_boom
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
        """Release every handler that waits (slow tools, unanswered server requests)."""
        with self._lock:
            events = list(self._cancels.values()) + [ask[0] for ask in self._asks.values()]
        for event in events:
            event.set()

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
        size = self.page_size or len(TOOLS)
        result = {"tools": TOOLS[start:start + size]}
        if start + size < len(TOOLS):
            result["nextCursor"] = "page:%d" % (start + size)
        return result

    def _m_tools_call(self, params, rid, send):
        name = params.get("name")
        tool = getattr(self, "_t_" + str(name), None) if name in [t["name"] for t in TOOLS] else None
        if tool is None:
            raise RpcError(-32602, "Unknown tool: %s" % name)
        return tool(params.get("arguments") or {}, rid)

    # ---- tools --------------------------------------------------------------------------------

    def _t_add(self, args, rid):
        a, b = args.get("a"), args.get("b")
        if not (isinstance(a, int) and isinstance(b, int)):
            return _text("Error executing tool add: a and b must be integers", is_error=True)
        result = _text(str(a + b))
        result["structuredContent"] = {"result": a + b}
        return result

    def _t_echo(self, args, rid):
        text = str(args.get("text", ""))
        return _text(text.upper() if args.get("shout") else text)

    def _t_pixel(self, args, rid):
        return {"content": [{"type": "image", "data": PNG_1X1, "mimeType": "image/png"}], "isError": False}

    def _t_boom(self, args, rid):
        if self.noisy_boom:   # real servers print a traceback while answering cleanly
            sys.stderr.write("Traceback (most recent call last):\n" + "  fake frame\n" * 36
                             + "RuntimeError: boom\n")
            sys.stderr.flush()
        return _text("Error executing tool boom", is_error=True)

    def _t_slow(self, args, rid):
        seconds = float(args.get("seconds", 1))
        if self._cancel_event(rid).wait(seconds):
            self.record({"cancelled": rid})
            return NO_REPLY   # a cancelled request gets no answer
        return _text("slept %g s" % seconds)

    def _t_links(self, args, rid):
        return {"content": [dict(item) for item in LINK_ITEMS], "isError": False}


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

    def __init__(self, json_response=False, legacy=False, expire_always=False, port=0, **options):
        self.logic = FakeMCP(**options)
        self.json_response = json_response
        self.legacy = legacy
        self.expire_always = expire_always
        self.port = port
        self.sessions = set()
        self._streams = {}
        self._lock = threading.Lock()
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
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def expire_sessions(self):
        """Forget every session: the next request with an old Mcp-Session-Id gets 404."""
        with self._lock:
            self.sessions.clear()

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
            if not known:
                return _send_json(h, 404, _transport_error("Session not found"))
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

    def delete(self, h):
        headers = {k.lower(): v for k, v in h.headers.items()}
        self.logic.record({"http": "DELETE", "path": h.path, "headers": headers})
        sid = headers.get("mcp-session-id")
        with self._lock:
            known = sid in self.sessions
            self.sessions.discard(sid)
        _send(h, 200 if known else 404, b"", "application/json")

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
    for flag in ("--record", "--protocol-version", "--transport-error-id"):
        ap.add_argument(flag)
    for flag in ("--list-changed", "--ping-first", "--ask-sampling", "--no-tools-capability",
                 "--json-response", "--expire-always"):
        ap.add_argument(flag, action="store_true")
    args = ap.parse_args(argv)
    error_id = _UNSET
    if args.transport_error_id is not None:
        error_id = None if args.transport_error_id == "null" else args.transport_error_id
    options = dict(page_size=args.page_size, send_list_changed_after_init=args.list_changed,
                   ping_first=args.ping_first, ask_sampling=args.ask_sampling,
                   protocol_version_override=args.protocol_version,
                   no_tools_capability=args.no_tools_capability, transport_error_id=error_id,
                   record_path=args.record)
    if args.stdio:
        serve_stdio(FakeMCP(noisy_boom=True, **options), args.die_after_calls, args.stderr_noise)
        return 0
    fake = FakeMCPHttp(json_response=args.json_response, legacy=args.sse, expire_always=args.expire_always,
                       port=args.port, **options).start()
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
