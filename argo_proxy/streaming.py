"""Long-lived responses: chunked event streams and the one thread that watches them all."""

from __future__ import annotations

import json
import logging
import select
import socket
import threading
import time

from .sse import KEEPALIVE

log = logging.getLogger("argo_proxy")


class Stream:
    """A chunked response written event by event; safe to write from two threads."""

    def __init__(self, response, wfile, style, content_type=None):
        self._response = response
        self._wfile = wfile
        self.style = style
        self.content_type = content_type
        self.lock = threading.Lock()
        self.broken = False
        self.closed = False
        self.last_write = time.monotonic()

    @property
    def is_sse(self):
        return (self.content_type or "").startswith("text/event-stream")

    def write(self, data: bytes) -> bool:
        """Send one event (one chunk, flushed). False once the client has gone."""
        if not data:
            return not self.broken
        with self.lock:
            if self.broken or self.closed or self._response.gone:
                return False
            try:
                self._wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.last_write = time.monotonic()
            except OSError:
                self.broken = True
        if self.broken:
            self._response.disconnected()
        return not self.broken

    def fail(self, err):
        """End the stream with an error event that the client's SDK raises."""
        body = json.dumps(err.body(self.style)).encode("utf-8")
        prefix = b"event: error\n" if self.style == "anthropic" else b""
        self.write(prefix + b"data: " + body + b"\n\n")
        self.close()

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
            if self.broken:
                return
            try:
                self._wfile.write(b"0\r\n\r\n")
            except OSError:
                self.broken = True


def client_gone(sock) -> bool:
    """True if the client closed its side of the connection (checked without blocking)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class Monitor:
    """Watches streaming responses: keep-alive comments during silence, disconnect detection,
    and opening held streams whose upstream is slow to answer. One thread for all."""

    def __init__(self, interval):
        self.interval = interval
        self._watched = set()
        self._lock = threading.Lock()
        self._thread = None
        self._stop = threading.Event()

    def watch(self, response):
        with self._lock:
            self._watched.add(response)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="stream-monitor", daemon=True)
                self._thread.start()

    def unwatch(self, response):
        with self._lock:
            self._watched.discard(response)

    def stop(self):
        self._stop.set()

    def _run(self):
        tick = min(0.25, self.interval / 4.0) if self.interval > 0 else 0.25
        while not self._stop.wait(max(tick, 0.02)):
            with self._lock:
                watched = list(self._watched)
            now = time.monotonic()
            for response in watched:
                try:
                    self._check(response, now)
                except Exception:  # never let one response stop the watching of the others
                    log.debug("stream monitor error", exc_info=True)

    def _check(self, response, now):
        stream = response.stream_obj
        if stream is not None and (stream.closed or stream.broken):
            self.unwatch(response)
            return
        if client_gone(response.connection):
            self.unwatch(response)
            response.disconnected()
            return
        if self.interval <= 0:
            return
        if stream is None:
            if response.hold_type and now - response.hold_since >= self.interval:
                response.open_held()
        elif now - stream.last_write >= self.interval and stream.is_sse:
            stream.write(KEEPALIVE)  # a comment line is only harmless inside an event stream
