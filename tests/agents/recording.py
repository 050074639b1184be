"""What the three recording fakes (recorder.py: Anthropic, recorder_responses.py: Responses,
recorder_gemini.py: Gemini) share: the threaded server, connection tracking, request bodies
(chunked, gzip, deflate), faults, the request log and waiting on it. Each fake adds its API's
routes and answers."""

from __future__ import annotations

import gzip
import itertools
import json
import socket
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


class RecordingHandler(BaseHTTPRequestHandler):
    """Every method goes to `_handle` (the fake's own); the connection is tracked so that
    stop() can close idle keep-alive connections."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        self.conn_id = self.server.owner._track(self.connection)

    def finish(self):
        try:
            BaseHTTPRequestHandler.finish(self)
        finally:
            self.server.owner._untrack(self.conn_id)

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _handle(self):
        owner = self.server.owner
        record = owner._record(self, self._read_body())
        try:
            status = self._route(owner, record)
        except (BrokenPipeError, ConnectionResetError):
            status = "disconnected"
            self.close_connection = True
        except Exception as exc:  # a bug in a responder: tell the client and the test
            status = self._internal_error("fake server error: %r" % (exc,))
            record["exception"] = repr(exc)
        owner._finish(record, status)

    def _write_frames(self, frames):
        """Each frame (bytes) as one chunk, flushed, then the last chunk; the head is sent."""
        for frame in frames:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        return 200

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            raw = b"".join(chunks)
        else:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "").lower()
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        return raw


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client dropping an idle keep-alive connection is normal, not a test failure.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        ThreadingHTTPServer.handle_error(self, request, client_address)


class RecordingFake(object):
    """A recording fake on 127.0.0.1; ``url`` is ``http://127.0.0.1:PORT``. Subclasses set
    ``HANDLER`` (a RecordingHandler) and ``NAME``, and may refine `_fault_matches` and
    `_fields` (what a request record holds beyond the common keys)."""

    HANDLER = RecordingHandler
    NAME = "fake"

    def __init__(self, responder, models, port=0):
        self.responder = responder
        self.models = tuple(models)
        self._port = port
        self._cond = threading.Condition()
        self._requests, self._faults, self._conns = [], [], {}
        self._ids = itertools.count(1)
        self._server = self._thread = None

    # -- lifecycle --

    def start(self):
        if self._server is not None:
            raise RuntimeError("%s already started" % type(self).__name__)
        self._server = _Server(("127.0.0.1", self._port), self.HANDLER)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.NAME, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        server, self._server = self._server, None
        server.shutdown()
        server.server_close()
        with self._cond:
            conns = list(self._conns.values())
        for sock in conns:  # idle keep-alive connections
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)

    def __enter__(self):
        return self.start() if self._server is None else self

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def port(self):
        if self._server is None:
            raise RuntimeError("%s not started" % type(self).__name__)
        return self._server.server_address[1]

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    # -- faults --

    def add_fault(self, path, status, times=None, when=None, headers=None):
        """Answer requests whose path matches ``path`` (see `_fault_matches`) with ``status``.

        ``times`` limits how often (None: always); ``when(request) -> bool`` narrows it further.
        """
        with self._cond:
            self._faults.append({"path": path, "status": status, "times": times, "when": when,
                                 "headers": headers})

    def clear_faults(self):
        with self._cond:
            del self._faults[:]

    def _fault_matches(self, fault, record):
        """The request path (no query) equals the fault's path."""
        return fault["path"] == record["path_only"]

    def _take_fault(self, record):
        with self._cond:
            for fault in self._faults:
                if fault["times"] == 0 or not self._fault_matches(fault, record):
                    continue
                if fault["when"] is not None and not fault["when"](record):
                    continue
                if fault["times"] is not None:
                    fault["times"] -= 1
                record["fault"] = fault["status"]
                return fault
        return None

    # -- recording --

    def _track(self, sock):
        with self._cond:
            conn_id = next(self._ids)
            self._conns[conn_id] = sock
            return conn_id

    def _untrack(self, conn_id):
        with self._cond:
            self._conns.pop(conn_id, None)

    def _fields(self, parts):
        """What a subclass adds to each request record (parts: the split request path)."""
        return {}

    def _record(self, handler, raw):
        parts = urlsplit(handler.path)
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text.strip() else None
        except ValueError:
            parsed = None
        record = {
            "seq": None,
            "time": time.time(),
            "method": handler.command,
            "path": handler.path,                      # with the query string
            "path_only": parts.path,
            "query": dict(parse_qsl(parts.query, keep_blank_values=True)),
            "headers": {k.lower(): v for k, v in handler.headers.items()},
            "header_list": list(handler.headers.items()),
            "body": text,
            "raw": raw,
            "json": parsed,
            "status": None,                            # filled in once answered
            "reply": None,
        }
        record.update(self._fields(parts))
        with self._cond:
            record["seq"] = len(self._requests) + 1
            self._requests.append(record)
            self._cond.notify_all()
        return record

    def _finish(self, record, status):
        with self._cond:
            record["status"] = status
            self._cond.notify_all()

    @property
    def requests(self):
        """Every request so far, in arrival order (dicts; see ``_record``)."""
        with self._cond:
            return list(self._requests)

    def wait_for(self, predicate, timeout=5.0):
        """Block until ``predicate(requests)`` is true; returns bool."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(list(self._requests)), timeout)
