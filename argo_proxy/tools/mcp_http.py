"""MCP over HTTP: Streamable HTTP (2025-03-26 on), falling back to legacy HTTP+SSE (2024-11-05).

Streamable HTTP: every client message is its own POST; a request's reply comes back on that
POST as JSON or as an SSE stream that may carry server requests and notifications first.
A client that declares roots or sampling also opens the optional standalone GET stream after
each handshake: servers send it the requests (and notifications) that belong to no request of
ours, e.g. the TypeScript SDK's roots/list after initialize. A server without one (405, or any
answer that is not an event stream) is simply not asked again.
Legacy HTTP+SSE: one long GET stream carries every server message; client messages are POSTed
to the endpoint the stream names first. Protocol facts: shared/spec/tools-and-mcp.md 3.4-3.5.

All HTTP goes through the proxy's one pooled client (upstream.Upstream, retries=0): each read
waits at most what is left of the call's deadline, and close() cancels every exchange in
flight so that reads blocked on busy connections wake up.
The two long-lived event streams (the standalone GET stream, the legacy channel) and the
reply-reading helpers live in `mcp_streams.py`.
"""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import urlsplit

from ..errors import ProxyError
from ..sse import EventSplitter, event_data
from ..upstream import Cancel, Upstream
from .mcp_base import HANDSHAKE_TIMEOUT, BaseClient
from .mcp_errors import WAIT_SLICE, ConnectionLost, MCPError, RequestTimedOut, Stop, TimedOut, cancelled
from .mcp_streams import (READ_SIZE, GetStream, LegacyChannel, SessionLost, cause_of, content_type,
                          names_session, read_all, snippet)

ONEWAY_TIMEOUT = 10.0      # notifications, replies to server requests, DELETE
DRAIN_GRACE = 1.0          # how long an SSE reply may take to end after its response arrived
FALLBACK_STATUSES = (400, 404, 405)
GET_OPEN_WAIT = 5.0        # how long a handshake waits for that stream to open (it goes on after)
GET_REOPENS = 3            # reopens in a row of a standalone GET stream that dropped
GET_BACKOFF = 0.5          # the wait before the first reopen; doubles for each further one
GET_STABLE = 30.0          # a stream that stayed open this long starts the reopen count afresh


class _NotStreamable(Exception):
    """The initialize POST got 400/404/405: maybe a legacy HTTP+SSE server."""

    def __init__(self, status, detail):
        super().__init__("HTTP %d %s" % (status, detail))
        self.status = status


class HttpClient(BaseClient):
    """An MCP server at a URL: Streamable HTTP, or legacy HTTP+SSE when that is all it speaks.

    client: the shared upstream.Upstream (None: make one, closed with this client);
    features: BaseClient's keyword options (sampling, sampling_max_tokens, roots, tasks).

    A request whose session the server forgot (a 4xx naming it), or whose connection closed
    before its reply, starts a new session and is sent once more."""

    def __init__(self, name: str, spec: dict, log=None, client=None, **features):
        super().__init__(name, log, **features)
        self.url = str(spec["url"])
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("MCP server %r: url %r must start with http:// or https://" % (name, self.url))
        self._headers = {str(k): str(v) for k, v in (spec.get("headers") or {}).items()}
        self._http = client if client is not None else Upstream()
        self._owns_http = client is None
        self._session_id = None
        self._session_gen = 0      # bumps per new session; lets one thread renew for all
        self._mode = None          # "streamable" or "legacy" once a handshake worked
        self._legacy = None
        self._get = None           # the standalone GET stream (GetStream) of this session
        self._get_refused = False  # the server answered that GET with 405: never ask again
        self._inflight = set()     # the Cancel of every exchange in flight
        self._inflight_lock = threading.Lock()
        self._aborted = False      # closed: exchanges are cancelled as they start

    # ---- BaseClient hooks -----------------------------------------------------------------

    def _transport_alive(self):
        if self._mode == "legacy":
            return self._legacy is not None and self._legacy.alive() and self._down is None
        return self._mode == "streamable"

    def _transport_open(self):
        if self._mode == "legacy":   # known from an earlier handshake: skip the probe
            self._legacy = LegacyChannel(self, time.monotonic() + HANDSHAKE_TIMEOUT, self._gen)

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
        if self._mode == "streamable" and self._wants_get_stream():
            self._open_get_stream()

    def _fallback_handshake(self, first):
        self.log.debug("MCP server %r: POST initialize got %s; trying legacy HTTP+SSE", self.name, first)
        try:
            self._legacy = LegacyChannel(self, time.monotonic() + HANDSHAKE_TIMEOUT, self._gen)
        except MCPError as second:
            raise MCPError("MCP server %r at %s speaks neither MCP HTTP transport: Streamable HTTP "
                           "(POST initialize) got %s; legacy HTTP+SSE failed too: %s"
                           % (self.name, self.url, first, second)) from None
        BaseClient._handshake(self)   # errors from here on are the legacy server's own
        self._mode = "legacy"

    def _session_epoch(self):
        return self._session_gen

    def _request(self, method, params, timeout, what=None, cancel=None, model=None):
        deadline = time.monotonic() + timeout
        for attempt in (1, 2):
            gen = self._session_gen
            left = timeout if attempt == 1 else deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimedOut()
                return BaseClient._request(self, method, params, left, what, cancel, model)
            except TimedOut:   # only when the retry had no time left
                raise RequestTimedOut("MCP server %r: %s timed out after %g s" % (self.name, what or method,
                                                                         timeout)) from None
            except (SessionLost, ConnectionLost) as lost:
                if method == "initialize":
                    if isinstance(lost, SessionLost):
                        raise MCPError("MCP server %r at %s: initialize answered %s"
                                       % (self.name, self.url, lost)) from None
                    raise
                if attempt == 2:
                    if isinstance(lost, SessionLost):
                        raise MCPError("MCP server %r at %s: %s even right after a new initialize"
                                       % (self.name, self.url, lost.reason())) from None
                    raise
                self._renew_session(gen, lost, what or method)
                if method != "tools/list":
                    self._notify_list_changed()   # a restarted server may offer other tools

    def _renew_session(self, gen, lost, what):
        """Start over with a fresh session, once, whichever thread noticed first."""
        with self._start_lock:
            if self._closed:
                raise MCPError("MCP server %r: the client is closed" % self.name)
            if self._session_gen != gen:
                return   # another thread already renewed it
            if isinstance(lost, SessionLost):
                why = lost.reason()
                self._session_id = None   # gone: no DELETE for it
            else:
                why = "the connection closed (%s)" % lost
            self.log.info("MCP server %r: %s; starting a new session and sending %s again",
                          self.name, why, what)
            if self._legacy is not None:   # its replies came on the stream being replaced
                self._fail_pending(self._gen, ConnectionLost("MCP server %r: the event stream was "
                                                             "replaced by a new session" % self.name))
            self._reconnect()

    def _transmit(self, msg, deadline):
        if self._legacy is not None:
            self._legacy.post(msg, deadline)   # the reply comes on the GET stream
            return
        rid = msg["id"]
        with self._plock:
            waiter = self._pending.get(rid)
        self._post(msg, deadline, origin=rid, link=waiter.cancel if waiter is not None else None)
        if waiter is not None and not waiter.event.is_set():
            waiter.settle(error=ConnectionLost("MCP server %r at %s: the HTTP reply to %s ended without "
                                               "a JSON-RPC response" % (self.name, self.url, waiter.what)))

    def _send_oneway(self, msg):
        deadline = time.monotonic() + ONEWAY_TIMEOUT
        try:
            if self._legacy is not None:
                self._legacy.post(msg, deadline)
            else:
                self._post(msg, deadline, origin=None)
        except TimedOut:
            raise MCPError("MCP server %r at %s: POST timed out after %g s"
                           % (self.name, self.url, ONEWAY_TIMEOUT)) from None
        except SessionLost as lost:
            raise MCPError("MCP server %r at %s: %s" % (self.name, self.url, lost.reason())) from None

    def _transport_teardown(self):
        self._close_get_stream()   # first: the DELETE ending it is no drop to reopen after
        self._delete_session()
        if self._legacy is not None:
            self._legacy.close()
            self._legacy = None

    def _transport_abort(self):
        self._cancel_inflight(final=False)

    def _transport_close(self):
        self._transport_teardown()
        self._cancel_inflight(final=True)
        if self._owns_http:
            self._http.close()

    # ---- HTTP plumbing ---------------------------------------------------------------------

    def _exchange(self, method, url, body, headers, deadline, on_reply, link=None):
        """One HTTP request through the shared client; on_reply(reply) reads the answer.
        A reply left unread (an error, a lingering stream) is closed, never pooled.
        link: the caller's cancel; once set, the exchange is cut off (Stop)."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimedOut()
        cancel = self._track(Cancel())
        done = threading.Event()
        if link is not None:
            threading.Thread(target=_follow, args=(link, cancel, done), daemon=True,
                             name="mcp-%s-cancel" % self.name).start()
        try:
            reply = self._http.request(method, url, body=body, headers=headers, retries=0,
                                       read_timeout=left, cancel=cancel)
            try:
                return on_reply(reply)
            finally:
                reply.close()   # a no-op once the body was read to its end
        except ProxyError as err:
            raise self._failure(method, url, err, cancel, link) from None
        finally:
            done.set()
            self._untrack(cancel)

    def _failure(self, method, url, err, cancel, link=None):
        """What a ProxyError from the HTTP client means here: TimedOut, Stop (the caller
        cancelled), or an MCPError naming the URL."""
        if cancel.cancelled and cancelled(link):
            return Stop()
        if cancel.cancelled:
            return MCPError("MCP server %r: the client was closed" % self.name)
        if err.code == "upstream_timeout":
            return TimedOut()
        if err.status == 503:
            return ConnectionLost("MCP server %r: cannot connect to %s: %s" % (self.name, url, cause_of(err)))
        if err.code == "upstream_disconnected" or err.source == "network":
            return ConnectionLost("MCP server %r: %s %s failed: %s" % (self.name, method, url, cause_of(err)))
        return MCPError("MCP server %r: %s %s failed: %s" % (self.name, method, url, cause_of(err)))

    def _track(self, cancel):
        with self._inflight_lock:
            self._inflight.add(cancel)
            aborted = self._aborted
        if aborted:
            cancel.cancel()
        return cancel

    def _untrack(self, cancel):
        with self._inflight_lock:
            self._inflight.discard(cancel)

    def _cancel_inflight(self, final):
        """Cancel every exchange in flight (final: and every later one)."""
        with self._inflight_lock:
            self._aborted = self._aborted or final
            busy = list(self._inflight)
        for cancel in busy:
            cancel.cancel()

    def _headers_for(self, msg):
        headers = dict(self._headers)
        headers["Content-Type"] = "application/json"
        headers["Accept"] = "application/json, text/event-stream"
        if self._session_id and msg.get("method") != "initialize":
            headers["Mcp-Session-Id"] = self._session_id
        if self.protocol_version:
            headers["MCP-Protocol-Version"] = self.protocol_version
        return headers

    def _post(self, msg, deadline, origin, link=None):
        body = json.dumps(msg, separators=(",", ":")).encode("ascii")
        headers = self._headers_for(msg)
        sent_session = "Mcp-Session-Id" in headers

        def on_reply(reply):
            self._read_reply(reply, msg, sent_session, deadline, origin)
        self._exchange("POST", self.url, body, headers, deadline, on_reply, link)

    def _read_reply(self, reply, msg, sent_session, deadline, origin):
        initialize = msg.get("method") == "initialize"
        if initialize and reply.header("Mcp-Session-Id"):
            self._session_id = reply.header("Mcp-Session-Id")
        if not 200 <= reply.status < 300:
            body = read_all(reply, deadline)
            if sent_session and names_session(reply.status, body):
                raise SessionLost(reply.status, snippet(body))
            if initialize and self._mode is None and reply.status in FALLBACK_STATUSES:
                raise _NotStreamable(reply.status, snippet(body))
            raise self._status_error("POST", reply.status, body)
        if content_type(reply) == "text/event-stream":
            self._read_sse_reply(reply, deadline, origin)
            return
        body = read_all(reply, deadline)
        if body.strip():
            try:
                data = json.loads(body.decode("utf-8"))
            except ValueError:
                raise MCPError("MCP server %r at %s answered with a body that is not JSON: %s"
                               % (self.name, self.url, snippet(body))) from None
            self._dispatch(data, origin)

    def _read_sse_reply(self, reply, deadline, origin):
        """Handle every event of a reply stream; give the stream a moment to end after the reply.
        One that lingers (or breaks) past that is dropped: _exchange closes it, unpooled."""
        splitter = EventSplitter()
        chunks = reply.iter_raw(READ_SIZE)
        with self._plock:
            waiter = self._pending.get(origin) if origin is not None else None
        grace_end = None
        while True:
            if grace_end is None and waiter is not None and waiter.event.is_set():
                grace_end = time.monotonic() + DRAIN_GRACE
            left = (grace_end or deadline) - time.monotonic()
            try:
                if left <= 0:
                    raise TimedOut()
                reply.set_timeout(left)
                chunk = next(chunks, b"")
            except (TimedOut, ProxyError):
                if grace_end is not None:
                    return   # the JSON-RPC reply is in; the rest of the stream does not matter
                raise
            if not chunk:
                return
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
        code, text = None, snippet(body)
        try:
            error = json.loads(body.decode("utf-8")).get("error") or {}
            code, text = error.get("code"), error.get("message") or text
        except (ValueError, AttributeError):
            pass
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        return MCPError("MCP server %r: %s %s answered HTTP %d: %s" % (self.name, method, self.url, status, text),
                        code=code)

    # ---- the standalone GET stream -------------------------------------------------------------

    def _wants_get_stream(self):
        """Open the GET stream only when the server may need it to reach us: the client declared
        roots or sampling (a server asks for them outside our requests, e.g. roots/list right
        after initialize). Others would hold a socket open for nothing a tools client needs."""
        return bool(self.roots or self.sampling)

    def _open_get_stream(self):
        """After a Streamable HTTP handshake: open the session's GET stream on its own thread and
        wait a moment for it (so a server request sent right away finds it). Never raises."""
        if self._get_refused:
            return
        if not self._session_id:   # without a session the server cannot tie the stream to us
            self.log.debug("MCP server %r: no session id; no standalone GET stream", self.name)
            return
        self._get = GetStream(self, self._session_id, self._session_gen, GET_REOPENS, GET_BACKOFF,
                              GET_STABLE)
        self._get.wait_open(GET_OPEN_WAIT)

    def _close_get_stream(self):
        get, self._get = self._get, None
        if get is not None:
            get.close()

    def _event_stream_lost(self, gen, reason):
        """The legacy GET stream ended or broke: fail the calls of that connection."""
        self.log.warning("MCP server %r: %s (%s)", self.name, reason, self.url)
        self._fail_pending(gen, ConnectionLost("MCP server %r: %s (%s)" % (self.name, reason, self.url)))

    def _delete_session(self):
        """End the session politely; servers may answer 405, and any failure is ignored."""
        sid, self._session_id = self._session_id, None
        if not sid or self._mode == "legacy":
            return
        headers = dict(self._headers)
        headers["Mcp-Session-Id"] = sid
        if self.protocol_version:
            headers["MCP-Protocol-Version"] = self.protocol_version
        deadline = time.monotonic() + ONEWAY_TIMEOUT
        try:
            self._exchange("DELETE", self.url, None, headers, deadline, lambda reply: read_all(reply, deadline))
        except (MCPError, TimedOut) as exc:
            self.log.debug("MCP server %r: DELETE of the session failed: %s", self.name, exc)


def _follow(link, cancel, done):
    """Cancel an exchange once the caller's cancel is set (until the exchange is done)."""
    while not done.wait(WAIT_SLICE):
        if cancelled(link):
            cancel.cancel()   # shuts the socket down: the blocked read wakes up
            return

