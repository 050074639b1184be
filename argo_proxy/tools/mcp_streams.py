"""The long-lived event streams of MCP over HTTP (mcp_http.py), each read by its own thread:
Streamable HTTP's optional standalone GET stream (`GetStream`) and the legacy HTTP+SSE
channel (`LegacyChannel`: one GET stream that carries every server message, and POSTs to the
endpoint it names); and the helpers both they and `HttpClient` use to read HTTP replies.
Both streams hand every event to the client's dispatch and do their HTTP through the client's
shared upstream.Upstream. Protocol facts: shared/spec/tools-and-mcp.md 3.4-3.5.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from urllib.parse import urljoin, urlsplit

from ..errors import ProxyError
from ..sse import EventSplitter, event_data
from ..upstream import NO_TIMEOUT, Cancel, describe_error
from .mcp_errors import MCPError, TimedOut

READ_SIZE = 65536
JOIN_GRACE = 2.0           # how long close() waits for a GET stream's reader thread
GET_OPEN_TIMEOUT = 10.0    # how long the standalone GET stream's response headers may take


class SessionLost(Exception):
    """A 4xx naming the session to a request that carried Mcp-Session-Id (404, or e.g. the
    TypeScript SDK's 400 "No valid session ID provided"): the server forgot the session."""

    def __init__(self, status, detail):
        super().__init__("HTTP %d: %s" % (status, detail))
        self.status = status
        self.detail = detail

    def reason(self):
        if self.status == 404:
            return "session not found (HTTP 404)"
        return "session refused (HTTP %d: %s)" % (self.status, self.detail)



class LegacyChannel:
    """Legacy HTTP+SSE: a GET stream read by its own thread, and POSTs to the endpoint it named.

    The stream has no read timeout once set up (calls have their own deadlines); close()
    cancels it, which shuts its socket down and so wakes the reader."""

    def __init__(self, client, deadline, gen):
        self._client = client
        self._closing = False
        self._cancel = Cancel()
        self._splitter = EventSplitter()
        self._reply = self._thread = None
        client._track(self._cancel)   # the client closing meanwhile cancels the set-up too
        try:
            self._reply = self._open_stream(deadline)
            self._chunks = self._reply.iter_raw(READ_SIZE)
            self.endpoint = self._await_endpoint(deadline)
        except BaseException:
            self.close()
            raise
        finally:
            client._untrack(self._cancel)
        self._thread = threading.Thread(target=self._read, args=(gen,), daemon=True,
                                        name="mcp-%s-sse" % client.name)
        self._thread.start()

    def _open_stream(self, deadline):
        c = self._client
        headers = dict(c._headers)
        headers["Accept"] = "text/event-stream"
        try:
            reply = c._http.request("GET", c.url, headers=headers, retries=0, cancel=self._cancel,
                                    read_timeout=max(0.001, deadline - time.monotonic()))
        except ProxyError as err:
            raise self._setup_error("GET %s failed" % c.url, err) from None
        ctype = content_type(reply)
        if reply.status != 200 or ctype != "text/event-stream":
            reply.close()
            raise MCPError("MCP server %r: GET %s answered HTTP %d (%s), not an event stream"
                           % (c.name, c.url, reply.status, ctype or "no content type"))
        return reply

    def _await_endpoint(self, deadline):
        c = self._client
        endpoint = None
        while endpoint is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise MCPError("MCP server %r: no endpoint event on %s: timed out" % (c.name, c.url))
            self._reply.set_timeout(left)
            try:
                chunk = next(self._chunks, b"")
            except ProxyError as err:
                raise self._setup_error("no endpoint event on %s" % c.url, err) from None
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

    def _setup_error(self, what, err):
        c = self._client
        if self._cancel.cancelled:
            return MCPError("MCP server %r: the client was closed" % c.name)
        reason = "timed out" if err.code == "upstream_timeout" else cause_of(err)
        return MCPError("MCP server %r: %s: %s" % (c.name, what, reason))

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
            self._reply.set_timeout(NO_TIMEOUT)   # a quiet stream is fine: calls have their own deadlines
            for chunk in self._chunks:
                for raw in self._splitter.feed(chunk):
                    if _event_name(raw) == "message":
                        c._dispatch_event(event_data(raw), None)
        except ProxyError as err:
            reason = "reading the event stream failed: %s" % cause_of(err)
        if not self._closing:
            c._event_stream_lost(gen, reason)

    def alive(self):
        return not self._closing and self._thread is not None and self._thread.is_alive()

    def post(self, msg, deadline):
        c = self._client
        body = json.dumps(msg, separators=(",", ":")).encode("ascii")
        headers = dict(c._headers)
        headers["Content-Type"] = "application/json"

        def on_reply(reply):
            data = read_all(reply, deadline)
            if names_session(reply.status, data):   # the server forgot the stream's session
                raise SessionLost(reply.status, snippet(data))
            if not 200 <= reply.status < 300:
                raise c._status_error("POST", reply.status, data)
        c._exchange("POST", self.endpoint, body, headers, deadline, on_reply)

    def close(self):
        self._closing = True
        self._cancel.cancel()   # shuts the stream's socket down: wakes the reader blocked on it
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(JOIN_GRACE)
        if self._reply is not None:
            self._reply.close()


class GetStream:
    """Streamable HTTP's standalone GET stream of one session, read by its own daemon thread.

    Every event goes through the client's dispatch (origin None): server requests are answered
    by POSTing the reply, notifications handled. 405 (or any answer that is not an event stream)
    means the server offers none: not asked again (405: for this client's life, else until the
    next session). A stream that drops while its session lives is reopened `reopens` times in a
    row (mcp_http's GET_REOPENS), waiting `backoff` seconds before the first reopen and twice as
    long before each next one (a stream that stayed open `stable` seconds starts the count
    afresh), sending Last-Event-ID when the server numbered its events; 404 (the session is
    gone) stops it: the next request starts a new session, which opens a new stream.
    close() cancels it (which shuts its socket down and wakes every wait) and joins the thread."""

    def __init__(self, client, session_id, gen, reopens, backoff, stable):
        self._client = client
        self._reopens, self._backoff, self._stable = reopens, backoff, stable
        self._session_id = session_id
        self._gen = gen
        self._closing = False
        self._cancel = client._track(Cancel())   # the client closing cancels it too
        self._opened = threading.Event()         # the first attempt is over, opened or not
        self._last_event_id = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="mcp-%s-get" % client.name)
        self._thread.start()

    def wait_open(self, seconds):
        self._opened.wait(seconds)

    def close(self):
        self._closing = True
        self._cancel.cancel()
        if self._thread is not threading.current_thread():
            self._thread.join(JOIN_GRACE)

    def _stopped(self):
        c = self._client
        return self._closing or self._cancel.cancelled or c._closed or c._session_gen != self._gen

    def _run(self):
        c = self._client
        reopens = 0
        try:
            while not self._stopped():
                reply, why = self._open()
                self._opened.set()
                if reply is not None:
                    since = time.monotonic()
                    why = self._read(reply)
                    if time.monotonic() - since >= self._stable:
                        reopens = 0
                if why is None or self._stopped():
                    return
                if reopens >= self._reopens:
                    c.log.info("MCP server %r: the standalone GET event stream %s; not reopened after "
                               "%d tries (server requests now come only on call replies)",
                               c.name, why, reopens)
                    return
                wait = self._backoff * 2 ** reopens
                reopens += 1
                c.log.debug("MCP server %r: the standalone GET event stream %s; reopening in %g s",
                            c.name, why, wait)
                self._cancel.wait(wait)   # close() wakes it
        except Exception:   # a bug here must not take more than this stream down
            if not self._stopped():
                c.log.exception("MCP server %r: the standalone GET event stream failed", c.name)
        finally:
            self._opened.set()
            c._untrack(self._cancel)

    def _open(self):
        """(the reply, None) once open; (None, why) to try again; (None, None) to stop."""
        c = self._client
        headers = dict(c._headers)
        headers["Accept"] = "text/event-stream"
        headers["Mcp-Session-Id"] = self._session_id
        if c.protocol_version:
            headers["MCP-Protocol-Version"] = c.protocol_version
        if self._last_event_id is not None:
            headers["Last-Event-ID"] = self._last_event_id
        try:
            reply = c._http.request("GET", c.url, headers=headers, retries=0, cancel=self._cancel,
                                    read_timeout=GET_OPEN_TIMEOUT)
        except ProxyError as err:
            if self._stopped():
                return None, None
            return None, "could not be opened (%s)" % cause_of(err)
        status, ctype = reply.status, content_type(reply)
        if status == 200 and ctype == "text/event-stream":
            return reply, None
        reply.close()   # unread (it may never end): dropped, not pooled
        if status == 405:
            c._get_refused = True
            c.log.debug("MCP server %r: GET %s answered HTTP 405: the server offers no standalone "
                        "event stream", c.name, c.url)
            return None, None
        if status == 409 or status >= 500:   # 409: it still holds our previous stream
            return None, "could not be opened (HTTP %d)" % status
        if status in (400, 404, 410):
            c.log.debug("MCP server %r: GET %s answered HTTP %d: the session is gone; a new one "
                        "opens a new stream", c.name, c.url, status)
        else:
            c.log.debug("MCP server %r: GET %s answered HTTP %d (%s), not an event stream: no "
                        "standalone stream for this session", c.name, c.url, status,
                        ctype or "no content type")
        return None, None

    def _read(self, reply):
        """Dispatch every event until the stream ends; why it ended (None: it was closed)."""
        c = self._client
        splitter = EventSplitter()
        why = "ended"
        try:
            reply.set_timeout(NO_TIMEOUT)   # a quiet stream is fine: it may stay silent for hours
            c.log.debug("MCP server %r: standalone GET event stream open", c.name)
            for chunk in reply.iter_raw(READ_SIZE):
                for raw in splitter.feed(chunk):
                    if self._stopped():
                        return None
                    event_id = _event_field(raw, "id")
                    if event_id is not None:   # an empty id resets it (the SSE rules)
                        self._last_event_id = event_id or None
                    c._dispatch_event(event_data(raw), None)
        except ProxyError as err:
            why = "broke (%s)" % cause_of(err)
        finally:
            reply.close()
        return None if self._stopped() else why

def read_all(reply, deadline) -> bytes:
    """The whole body, read within what is left of the deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimedOut()
    reply.set_timeout(left)
    return reply.read()


def names_session(status, body) -> bool:
    """Does a 4xx say the session is gone? 404 always does (the spec's answer to an unknown
    session); a 400 or 410 does when its body speaks of the session."""
    return status == 404 or (status in (400, 410) and b"session" in (body or b"").lower())


def content_type(reply) -> str:
    return (reply.header("Content-Type") or "").split(";")[0].strip().lower()


def cause_of(err) -> str:
    """Why an HTTP exchange failed, in a few words: the socket or HTTP error under the
    ProxyError (whose message speaks of Argo), else the message itself."""
    cause = err.__cause__ or err.__context__
    if isinstance(cause, (OSError, http.client.HTTPException)) and not isinstance(
            cause, ssl.SSLCertVerificationError):   # that message says how to fix it: keep it
        return describe_error(cause)
    return err.message


def _event_name(raw: bytes) -> str:
    """The `event:` field of one raw SSE event ("message" when absent)."""
    name = _event_field(raw, "event")
    return "message" if name is None else name


def _event_field(raw: bytes, field: str):
    """The value of one field (`event`, `id`) of one raw SSE event, or None when absent."""
    prefix = field + ":"
    for line in raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    return None


def snippet(body: bytes) -> str:
    text = body[:300].decode("utf-8", "replace").strip()
    return text or "(empty body)"
