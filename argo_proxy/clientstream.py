"""The client's side of one exchange, with explicit states, and the thread that watches them.

    pending ──hold()──> held ──(monitor: upstream slow)──> open ──close()──> closed
       │                  │                                 │
       ├──send()──────────┴──> closed (a whole response)    └──(write fails)──> broken
       └──open()──────────────> open

Only the server core creates a ClientStream; routes, the hub and the tool loop call its
methods. Everything that writes takes the one lock, so the monitor's keep-alives and the
request thread's events never interleave.
"""

from __future__ import annotations

import json
import logging
import select
import socket
import threading
import time
from email.utils import formatdate

from . import __version__
from .errors import in_context
from .sse import KEEPALIVE

log = logging.getLogger("argo_proxy")

PENDING, HELD, OPEN, CLOSED, BROKEN = "pending", "held", "open", "closed", "broken"
_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
            413: "Payload Too Large", 415: "Unsupported Media Type", 421: "Misdirected Request",
            422: "Unprocessable Entity", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
            499: "Client Closed Request", 500: "Internal Server Error", 501: "Not Implemented",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 529: "Overloaded"}
_SERVER = "Server: argo-proxy/" + __version__


_date = [0, ""]   # [second, "Date: ..." line]: one formatting per second, not per answer


def http_date() -> str:
    now = int(time.time())
    if _date[0] != now:
        _date[1] = "Date: " + formatdate(now, usegmt=True)
        _date[0] = now
    return _date[1]


def default_error_event(style):
    """The in-stream error event of an error style (surfaces may set their own)."""
    def event(err):
        body = json.dumps(err.body(style)).encode("utf-8")
        prefix = b"event: error\n" if style == "anthropic" else b""
        return prefix + b"data: " + body + b"\n\n"
    return event


class ClientStream:
    """A whole response or a chunked stream to one client; safe to use from two threads."""

    def __init__(self, wfile, sock=None, method="GET", style="openai", monitor=None):
        self._wfile = wfile
        self.sock = sock
        self.head_only = method == "HEAD"
        self.style = style
        self.monitor = monitor
        self.state = PENDING
        self.status = None              # the status sent, once a head went out
        self.content_type = None
        self.close_connection = False   # the server core closes the connection afterwards
        self.gone = False               # the client went away
        self.error_event = None         # err -> bytes for a failure inside the stream
        self.stream_type = "text/event-stream"   # what a held stream opens as (the surface's)
        self.keepalive = KEEPALIVE      # harmless filler for that content type
        self.headers = {}               # sent with every answer (e.g. CORS, x-request-id)
        self.request_id = None          # named in every error message
        self.upstream_name = "Argo"     # named when an error is the upstream's
        self.error = None               # the ProxyError the client was told
        self.lock = threading.RLock()
        self.last_write = time.monotonic()
        self._hold_type = None
        self._held_since = 0.0
        self._callbacks = []

    # -- states --------------------------------------------------------------------------

    @property
    def started(self):
        return self.status is not None

    def watch(self):
        """Have the monitor notice a disconnect while the upstream works (nothing is sent)."""
        if self.monitor is not None:
            self.monitor.watch(self)

    def hold(self, content_type=None):
        """pending -> held: if the upstream is slow to answer, the monitor opens the stream
        (200) and sends keep-alives; a later failure then becomes an in-stream error event."""
        with self.lock:
            if self.state == PENDING:
                self.state = HELD
                self._hold_type = content_type or self.stream_type
                self._held_since = time.monotonic()
        self.watch()

    def settle(self):
        """Stop holding: held -> pending unless the monitor already opened the stream."""
        with self.lock:
            if self.state == HELD:
                self.state = PENDING
            return self.state == OPEN

    def open(self, status=200, content_type="text/event-stream", headers=None):
        """-> open (idempotent: a stream the monitor opened stays as it is)."""
        with self.lock:
            if self.state in (OPEN, CLOSED, BROKEN):
                return self
            lines = self._head(status, content_type, headers)
            lines += ["Transfer-Encoding: chunked", "Cache-Control: no-cache", "X-Accel-Buffering: no"]
            self.content_type = content_type
            self.state = OPEN
            self._raw(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        self.watch()
        return self

    def write(self, data: bytes) -> bool:
        """Send one event (one chunk, flushed). False once the client has gone."""
        if not data:
            return self.state == OPEN and not self.gone
        with self.lock:
            if self.state != OPEN or self.gone:
                return False
            self._raw(b"%x\r\n%s\r\n" % (len(data), data))
            return self.state == OPEN

    def close(self):
        """open -> closed (the terminating chunk); other states are left as they are."""
        with self.lock:
            if self.state == OPEN:
                self.state = CLOSED
                self._raw(b"0\r\n\r\n")
            elif self.state == HELD:
                self.state = PENDING

    def send(self, status, body: bytes, content_type="application/json", headers=None):
        """A whole response: pending/held -> closed. Ignored once a stream has opened."""
        with self.lock:
            if self.state not in (PENDING, HELD):
                return False
            lines = self._head(status, content_type, headers)
            lines.append("Content-Length: %d" % len(body))
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            self.state = CLOSED
            self._raw(head if self.head_only else head + body)
            return True

    def json(self, status, obj, headers=None):
        self.send(status, json.dumps(obj).encode("utf-8"), "application/json", headers)

    def fail(self, err):
        """Report a ProxyError: a whole error response, or an error event ending the stream.
        Its message names the request id and whose failure it is."""
        self.error = err
        err = in_context(err, self.request_id, self.upstream_name)
        with self.lock:
            if self.state == OPEN:
                event = self.error_event or default_error_event(self.style)
                self.write(event(err))
                self.close()
                return
        headers = dict(err.headers)
        body = json.dumps(err.body(self.style)).encode("utf-8")
        if not self.send(err.status, body, "application/json", headers):
            self.close_connection = True   # a head already went out: nothing sane to add

    # -- disconnects -------------------------------------------------------------------------

    def on_disconnect(self, callback):
        """Call `callback()` (from any thread) if the client goes away."""
        self._callbacks.append(callback)
        if self.gone:
            callback()

    def disconnected(self):
        if self.gone:
            return
        self.gone = True
        self.close_connection = True
        for callback in self._callbacks:
            try:
                callback()
            except Exception:  # a failing callback must not hide the disconnect
                log.debug("disconnect callback failed", exc_info=True)

    # -- the monitor's side -------------------------------------------------------------------

    def tick(self, now, interval) -> bool:
        """One look by the monitor; False when the stream needs no more watching."""
        if self.state in (CLOSED, BROKEN) or self.gone:
            return False
        if client_gone(self.sock):
            self.disconnected()
            return False
        if interval <= 0:
            return True
        with self.lock:
            if self.state == HELD and now - self._held_since >= interval:
                self.open(200, self._hold_type)
                self.write(self.keepalive)
            elif self.state == OPEN and now - self.last_write >= interval \
                    and (self.content_type or "").startswith(self.stream_type):
                self.write(self.keepalive)   # only harmless in the stream type it was made for
        return True

    # -- wire -----------------------------------------------------------------------------------

    def _head(self, status, content_type, headers):
        self.status = status
        lines = ["HTTP/1.1 %d %s" % (status, _REASONS.get(status, "")), _SERVER,
                 http_date()]
        if content_type:
            lines.append("Content-Type: " + content_type)
        for name, value in dict(self.headers, **(headers or {})).items():
            lines.append("%s: %s" % (name, value))
        if self.close_connection:
            lines.append("Connection: close")
        return lines

    def _raw(self, data):
        try:
            self._wfile.write(data)
            self.last_write = time.monotonic()
        except OSError:
            self.state = BROKEN
            self.disconnected()


def client_gone(sock) -> bool:
    """True if the client closed its side of the connection (checked without blocking)."""
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class Monitor:
    """Watches client streams: keep-alive comments during silence, disconnect detection, and
    opening held streams whose upstream is slow to answer. One thread for all."""

    def __init__(self, interval):
        self.interval = interval
        self._watched = set()
        self._lock = threading.Lock()
        self._thread = None
        self._stop = threading.Event()

    def watch(self, stream):
        with self._lock:
            self._watched.add(stream)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="stream-monitor", daemon=True)
                self._thread.start()

    def unwatch(self, stream):
        with self._lock:
            self._watched.discard(stream)

    def count(self, state) -> int:
        """How many watched streams are in `state` now (OPEN: the client streams open now)."""
        with self._lock:
            return sum(1 for stream in self._watched if stream.state == state)

    def stop(self):
        self._stop.set()

    def _run(self):
        tick = min(0.25, self.interval / 4.0) if self.interval > 0 else 0.25
        while not self._stop.wait(max(tick, 0.02)):
            with self._lock:
                watched = list(self._watched)
            now = time.monotonic()
            for stream in watched:
                try:
                    keep = stream.tick(now, self.interval)
                except Exception:  # never let one stream stop the watching of the others
                    log.debug("stream monitor error", exc_info=True)
                    keep = True
                if not keep:
                    self.unwatch(stream)
