"""MCP over HTTP: Streamable HTTP (2025-03-26 on), falling back to legacy HTTP+SSE (2024-11-05).

Streamable HTTP: every client message is its own POST; a request's reply comes back on that
POST as JSON or as an SSE stream that may carry server requests and notifications first.
The optional GET stream is never opened (a tools client needs nothing from it).
Legacy HTTP+SSE: one long GET stream carries every server message; client messages are POSTed
to the endpoint the stream names first. Protocol facts: shared/spec/tools-and-mcp.md 3.4-3.5.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from urllib.parse import urljoin, urlsplit

from .. import __version__
from ..sse import EventSplitter, event_data
from ..upstream import _proxy_for, make_ssl_context
from .mcp import HANDSHAKE_TIMEOUT, BaseClient, MCPError, _TimedOut

CONNECT_TIMEOUT = 10.0
ONEWAY_TIMEOUT = 10.0      # notifications, replies to server requests, DELETE
DRAIN_GRACE = 1.0          # how long an SSE reply may take to end after its response arrived
FALLBACK_STATUSES = (400, 404, 405)
MAX_IDLE = 4
READ_SIZE = 65536
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
          ConnectionAbortedError)


class _SessionExpired(Exception):
    """404 to a request that carried Mcp-Session-Id: the server forgot the session."""


class _NotStreamable(Exception):
    """The initialize POST got 400/404/405: maybe a legacy HTTP+SSE server."""

    def __init__(self, status, detail):
        super().__init__("HTTP %d %s" % (status, detail))
        self.status = status


class HttpClient(BaseClient):
    """An MCP server at a URL: Streamable HTTP, or legacy HTTP+SSE when that is all it speaks."""

    def __init__(self, name: str, spec: dict, log=None):
        super().__init__(name, log)
        self.url = str(spec["url"])
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("MCP server %r: url %r must start with http:// or https://" % (name, self.url))
        self._headers = {str(k): str(v) for k, v in (spec.get("headers") or {}).items()}
        self._pool = _Pool(self.url)
        self._session_id = None
        self._session_gen = 0      # bumps per new session; lets one thread renew for all
        self._mode = None          # "streamable" or "legacy" once a handshake worked
        self._legacy = None

    # ---- BaseClient hooks -----------------------------------------------------------------

    def _transport_alive(self):
        if self._mode == "legacy":
            return self._legacy is not None and self._legacy.alive() and self._down is None
        return self._mode == "streamable"

    def _transport_open(self):
        if self._mode == "legacy":   # known from an earlier handshake: skip the probe
            self._legacy = _LegacyChannel(self, time.monotonic() + HANDSHAKE_TIMEOUT)

    def _handshake(self):
        if self._mode is not None:
            BaseClient._handshake(self)
        else:
            try:
                BaseClient._handshake(self)
                self._mode = "streamable"
            except _NotStreamable as first:
                self._fallback_handshake(first)
        self._session_gen += 1

    def _fallback_handshake(self, first):
        self.log.debug("MCP server %r: POST initialize got %s; trying legacy HTTP+SSE", self.name, first)
        try:
            self._legacy = _LegacyChannel(self, time.monotonic() + HANDSHAKE_TIMEOUT)
        except MCPError as second:
            raise MCPError("MCP server %r at %s speaks neither MCP HTTP transport: Streamable HTTP "
                           "(POST initialize) got %s; legacy HTTP+SSE failed too: %s"
                           % (self.name, self.url, first, second)) from None
        BaseClient._handshake(self)   # errors from here on are the legacy server's own
        self._mode = "legacy"

    def _request(self, method, params, timeout, what=None):
        for attempt in (1, 2):
            gen = self._session_gen
            try:
                return BaseClient._request(self, method, params, timeout, what)
            except _SessionExpired:
                if attempt == 2:
                    raise MCPError("MCP server %r at %s: session not found (HTTP 404) even right after "
                                   "a new initialize" % (self.name, self.url)) from None
                self._renew_session(gen)

    def _renew_session(self, gen):
        """Start over with a fresh initialize, once, whichever thread noticed first."""
        with self._start_lock:
            if self._closed:
                raise MCPError("MCP server %r: the client is closed" % self.name)
            if self._session_gen != gen:
                return   # another thread already renewed it
            self.log.info("MCP server %r: session expired (HTTP 404); initializing a new one", self.name)
            self._ready = False
            self._session_id = None
            self._handshake()
            self._ready = True

    def _transmit(self, msg, deadline):
        if self._legacy is not None:
            self._legacy.post(msg, deadline)   # the reply comes on the GET stream
            return
        rid = msg["id"]
        self._post(msg, deadline, origin=rid)
        with self._plock:
            waiter = self._pending.get(rid)
        if waiter is not None and not waiter.event.is_set():
            waiter.settle(error=MCPError("MCP server %r at %s: the HTTP reply to %s ended without a "
                                         "JSON-RPC response" % (self.name, self.url, waiter.what)))

    def _send_oneway(self, msg):
        deadline = time.monotonic() + ONEWAY_TIMEOUT
        try:
            if self._legacy is not None:
                self._legacy.post(msg, deadline)
            else:
                self._post(msg, deadline, origin=None)
        except _TimedOut:
            raise MCPError("MCP server %r at %s: POST timed out after %g s"
                           % (self.name, self.url, ONEWAY_TIMEOUT)) from None
        except _SessionExpired:
            raise MCPError("MCP server %r at %s: session not found (HTTP 404)" % (self.name, self.url)) from None

    def _transport_teardown(self):
        self._delete_session()
        if self._legacy is not None:
            self._legacy.close()
            self._legacy = None
        self._pool.close_idle()

    def _transport_close(self):
        self._transport_teardown()
        self._pool.close()   # also breaks reads still blocked on busy connections

    # ---- HTTP plumbing ---------------------------------------------------------------------

    def _headers_for(self, msg):
        headers = {"User-Agent": "argo-proxy/" + __version__}
        headers.update(self._headers)
        headers["Content-Type"] = "application/json"
        headers["Accept"] = "application/json, text/event-stream"
        if self._session_id and msg.get("method") != "initialize":
            headers["Mcp-Session-Id"] = self._session_id
        if self.protocol_version:
            headers["MCP-Protocol-Version"] = self.protocol_version
        return headers

    def _exchange(self, method, url, body, headers, deadline, on_response):
        """One HTTP request on a pooled connection; on_response(resp, sock) -> fully read?"""
        for attempt in (0, 1):
            conn, reused = self._acquire(url, deadline)
            reusable = False
            try:
                sock = conn.sock
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                conn.request(method, self._pool.target(url), body, headers)
                resp = conn.getresponse()
                reusable = on_response(resp, sock)
                return
            except socket.timeout:
                raise _TimedOut() from None
            except _STALE as exc:
                if reused and attempt == 0:
                    self._pool.close_idle()   # the server dropped idle kept-alive connections: go fresh
                    continue
                raise self._failure(method, url, exc) from None
            except (OSError, http.client.HTTPException) as exc:
                raise self._failure(method, url, exc) from None
            finally:
                self._pool.release(conn, reusable)

    def _acquire(self, url, deadline):
        timeout = max(0.001, min(CONNECT_TIMEOUT, deadline - time.monotonic()))
        try:
            return self._pool.acquire(timeout)
        except (OSError, http.client.HTTPException) as exc:
            raise MCPError("MCP server %r: cannot connect to %s: %s" % (self.name, url, _reason(exc))) from None

    def _failure(self, method, url, exc):
        return MCPError("MCP server %r: %s %s failed: %s" % (self.name, method, url, _reason(exc)))

    def _post(self, msg, deadline, origin):
        body = json.dumps(msg, separators=(",", ":")).encode("ascii")
        headers = self._headers_for(msg)
        sent_session = "Mcp-Session-Id" in headers

        def on_response(resp, sock):
            return self._read_reply(resp, sock, msg, sent_session, deadline, origin)
        self._exchange("POST", self.url, body, headers, deadline, on_response)

    def _read_reply(self, resp, sock, msg, sent_session, deadline, origin):
        status = resp.status
        if msg.get("method") == "initialize" and resp.getheader("Mcp-Session-Id"):
            self._session_id = resp.getheader("Mcp-Session-Id")
        if status == 404 and sent_session:
            resp.read()
            raise _SessionExpired()
        if not 200 <= status < 300:
            body = resp.read()
            if msg.get("method") == "initialize" and self._mode is None and status in FALLBACK_STATUSES:
                raise _NotStreamable(status, _snippet(body))
            raise self._status_error("POST", status, body)
        ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "text/event-stream":
            return self._read_sse_reply(resp, sock, deadline, origin)
        body = resp.read()
        if body.strip():
            try:
                data = json.loads(body.decode("utf-8"))
            except ValueError:
                raise MCPError("MCP server %r at %s answered with a body that is not JSON: %s"
                               % (self.name, self.url, _snippet(body))) from None
            self._dispatch(data, origin)
        return resp.isclosed()

    def _read_sse_reply(self, resp, sock, deadline, origin):
        """Handle every event of a reply stream; give the stream a moment to end after the reply."""
        splitter = EventSplitter()
        with self._plock:
            waiter = self._pending.get(origin) if origin is not None else None
        grace_end = None
        while True:
            if grace_end is None and waiter is not None and waiter.event.is_set():
                grace_end = time.monotonic() + DRAIN_GRACE
            left = (grace_end or deadline) - time.monotonic()
            try:
                if left <= 0:
                    raise socket.timeout()
                sock.settimeout(left)
                chunk = resp.read1(READ_SIZE)
            except socket.timeout:
                if grace_end is not None:
                    return False   # got the reply; the stream lingers, so don't reuse the connection
                raise
            if not chunk:
                return True
            for raw in splitter.feed(chunk):
                self._dispatch_event(event_data(raw), origin)

    def _dispatch_event(self, data, origin):
        if data is None or not data.strip():
            return
        try:
            self._dispatch(json.loads(data), origin)
        except ValueError:
            self.log.debug("MCP server %r sent an SSE event that is not JSON: %r", self.name, data[:200])

    def _status_error(self, method, status, body):
        code, text = None, _snippet(body)
        try:
            error = json.loads(body.decode("utf-8")).get("error") or {}
            code, text = error.get("code"), error.get("message") or text
        except (ValueError, AttributeError):
            pass
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        return MCPError("MCP server %r: %s %s answered HTTP %d: %s" % (self.name, method, self.url, status, text),
                        code=code)

    def _delete_session(self):
        """End the session politely; servers may answer 405, and any failure is ignored."""
        sid, self._session_id = self._session_id, None
        if not sid or self._mode == "legacy":
            return
        headers = {"User-Agent": "argo-proxy/" + __version__}
        headers.update(self._headers)
        headers["Mcp-Session-Id"] = sid
        if self.protocol_version:
            headers["MCP-Protocol-Version"] = self.protocol_version

        def on_response(resp, sock):
            resp.read()
            return resp.isclosed()
        try:
            self._exchange("DELETE", self.url, None, headers, time.monotonic() + ONEWAY_TIMEOUT, on_response)
        except (MCPError, _TimedOut) as exc:
            self.log.debug("MCP server %r: DELETE of the session failed: %s", self.name, exc)


class _LegacyChannel:
    """Legacy HTTP+SSE: a GET stream read by its own thread, and POSTs to the endpoint it named."""

    def __init__(self, client, deadline):
        self._client = client
        self._closing = False
        self._splitter = EventSplitter()
        self._conn, self._sock, self._resp = self._open_stream(deadline)
        try:
            self.endpoint = self._await_endpoint(deadline)
        except BaseException:
            self.close()
            raise
        self._thread = threading.Thread(target=self._read, args=(client._gen,), daemon=True,
                                        name="mcp-%s-sse" % client.name)
        self._thread.start()

    def _open_stream(self, deadline):
        c = self._client
        headers = {"User-Agent": "argo-proxy/" + __version__}
        headers.update(c._headers)
        headers["Accept"] = "text/event-stream"
        try:
            conn = c._pool.new_connection(max(0.001, min(CONNECT_TIMEOUT, deadline - time.monotonic())))
            sock = conn.sock   # kept: http.client drops conn.sock when the response is close-delimited
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            conn.request("GET", c._pool.target(c.url), headers=headers)
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            raise MCPError("MCP server %r: GET %s failed: %s" % (c.name, c.url, _reason(exc))) from None
        ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if resp.status != 200 or ctype != "text/event-stream":
            conn.close()
            raise MCPError("MCP server %r: GET %s answered HTTP %d (%s), not an event stream"
                           % (c.name, c.url, resp.status, ctype or "no content type"))
        return conn, sock, resp

    def _await_endpoint(self, deadline):
        c = self._client
        endpoint = None
        while endpoint is None:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise socket.timeout()
                self._sock.settimeout(left)
                chunk = self._resp.read1(READ_SIZE)
            except (OSError, http.client.HTTPException) as exc:
                raise MCPError("MCP server %r: no endpoint event on %s: %s" % (c.name, c.url, _reason(exc))) from None
            if not chunk:
                raise MCPError("MCP server %r: the event stream %s ended before naming its endpoint"
                               % (c.name, c.url))
            for raw in self._splitter.feed(chunk):
                name, data = _event_name(raw), event_data(raw)
                if name == "endpoint" and endpoint is None and data:
                    endpoint = self._check_endpoint(urljoin(c.url, data.strip()))
                else:
                    c._dispatch_event(data, None)
        return endpoint

    def _check_endpoint(self, endpoint):
        """Only follow an endpoint on the same origin: our auth headers go there."""
        a, b = urlsplit(self._client.url), urlsplit(endpoint)
        if (a.scheme, a.hostname, a.port) != (b.scheme, b.hostname, b.port):
            raise MCPError("MCP server %r: its endpoint %s is not on the origin of %s"
                           % (self._client.name, endpoint, self._client.url))
        return endpoint

    def _read(self, gen):
        c = self._client
        reason = "the event stream ended"
        try:
            self._sock.settimeout(None)   # a quiet stream is fine: calls have their own deadlines
            while True:
                chunk = self._resp.read1(READ_SIZE)
                if not chunk:
                    break
                for raw in self._splitter.feed(chunk):
                    if _event_name(raw) == "message":
                        c._dispatch_event(event_data(raw), None)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            reason = "reading the event stream failed: %s" % _reason(exc)
        if not self._closing:
            c.log.warning("MCP server %r: %s (%s)", c.name, reason, c.url)
            c._fail_pending(gen, MCPError("MCP server %r: %s (%s)" % (c.name, reason, c.url)))

    def alive(self):
        return not self._closing and self._thread.is_alive()

    def post(self, msg, deadline):
        c = self._client
        body = json.dumps(msg, separators=(",", ":")).encode("ascii")
        headers = {"User-Agent": "argo-proxy/" + __version__}
        headers.update(c._headers)
        headers["Content-Type"] = "application/json"

        def on_response(resp, sock):
            data = resp.read()
            if not 200 <= resp.status < 300:
                raise c._status_error("POST", resp.status, data)
            return resp.isclosed()
        c._exchange("POST", self.endpoint, body, headers, deadline, on_response)

    def close(self):
        self._closing = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)   # wakes the reader blocked in read1
        except OSError:
            pass
        thread = getattr(self, "_thread", None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(2.0)
        self._resp.close()
        self._conn.close()


class _Pool:
    """A few kept-alive connections to one origin (never through a proxy for loopback)."""

    def __init__(self, url):
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.proxy = _proxy_for(self.scheme, self.host)
        self._lock = threading.Lock()
        self._idle = []
        self._busy = {}
        self._closed = False
        self._ssl = None

    def target(self, url):
        parts = urlsplit(url)
        if self.proxy and self.scheme == "http":
            return url   # a plain-HTTP proxy wants the absolute URL
        return (parts.path or "/") + ("?" + parts.query if parts.query else "")

    def new_connection(self, timeout):
        if self.scheme == "https" and self._ssl is None:
            self._ssl = make_ssl_context()
        if self.proxy:
            p = urlsplit(self.proxy)
            if self.scheme == "https":
                conn = http.client.HTTPSConnection(p.hostname, p.port or 8080, timeout=timeout, context=self._ssl)
                conn.set_tunnel(self.host, self.port)
            else:
                conn = http.client.HTTPConnection(p.hostname, p.port or 8080, timeout=timeout)
        elif self.scheme == "https":
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.connect()
        except BaseException:
            conn.close()
            raise
        return conn

    def acquire(self, timeout):
        """(connection, reused?) marked busy until release()."""
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if conn.sock is not None:
                    self._busy[conn] = conn.sock
                    return conn, True
                conn.close()
        conn = self.new_connection(timeout)
        with self._lock:
            self._busy[conn] = conn.sock
        return conn, False

    def release(self, conn, reusable):
        with self._lock:
            self._busy.pop(conn, None)
            if reusable and conn.sock is not None and not self._closed and len(self._idle) < MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    def close_idle(self):
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def close(self):
        with self._lock:
            self._closed = True
            busy = list(self._busy.values())
        self.close_idle()
        for sock in busy:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _event_name(raw: bytes) -> str:
    """The `event:` field of one raw SSE event ("message" when absent)."""
    for line in raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.startswith("event:"):
            return line[6:].strip()
    return "message"


def _snippet(body: bytes) -> str:
    text = body[:300].decode("utf-8", "replace").strip()
    return text or "(empty body)"


def _reason(exc) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, socket.gaierror):
        text = "host name not found (%s)" % text
    elif isinstance(exc, socket.timeout):
        text = "timed out"
    return text
