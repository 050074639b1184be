"""HTTP server core: threads, keep-alive, routing, limits, auth, error and stream writing."""

from __future__ import annotations

import _thread
import hmac
import http.server
import io
import logging
import os
import re
import socket
import socketserver
import stat
import threading
import time
from urllib.parse import parse_qs, urlsplit

from . import __version__, logs, timeouts
from .clientconn import (MIN_BODY_RATE, DeadlineReader, Refusal, body_seconds, check_head, chunk_size,
                         linger)
from .clientstream import ClientStream, Monitor
from .errors import ProxyError, error_bytes
from .headers import read_headers
from .logs import loggable
from .observe import new_id
from .request import Request

log = logging.getLogger("argo_proxy")

_REASONS = http.server.BaseHTTPRequestHandler.responses
_TOKEN_METHOD = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")


def dispatch(app, req, out):
    """Route one request and run its handler; every failure reaches the client in its own
    envelope. The seam tests use to drive a route without a socket."""
    req.app = app
    try:
        if app.guard.check(req, out):
            return   # a CORS preflight, answered
        route, params = app.router.match(req.method, req.path)
        out.style = route.style
        req.route, req.params = route, params
        if not route.public and not key_ok(app.config.proxy_api_key, req.headers, req.query):
            raise unauthorised()
        req.read_body()
        route.handler(req, out)
    except ProxyError as err:
        out.settle()
        if req.unread_body():
            out.close_connection = True   # said in the answer's head, done by the server core
        out.fail(err)
    except (BrokenPipeError, ConnectionResetError):
        out.close_connection = True
    except Exception:
        log.exception("internal error on %s %s", req.method, req.path)
        out.settle()
        out.fail(ProxyError(500, "Internal proxy error; see the proxy log for details.",
                            type="server_error"))
    finally:
        out.settle()
        out.close()
        if out.monitor is not None:
            out.monitor.unwatch(out)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "argo-proxy/" + __version__
    disable_nagle_algorithm = True

    def setup(self):
        self.timeout = self.server.idle_timeout
        self.disable_nagle_algorithm = self.server.address_family != getattr(socket, "AF_UNIX", None)
        super().setup()
        kernel = timeouts.use_kernel(self.connection, self.server.idle_timeout)   # no poll per call
        self.reader = DeadlineReader(self.connection, self.server.idle_timeout, kernel)
        self.rfile = io.BufferedReader(self.reader, 65536)

    def handle_one_request(self):
        """One request; a head that does not arrive within head_timeout gets a 408."""
        self._answered = False
        self.reader.arm(self.server.head_timeout)
        super().handle_one_request()
        if self.reader.expired and not getattr(self, "_answered", False):
            self.close_connection = True
            self.send_error(408, "The request head did not arrive within %g s (head_timeout)."
                            % self.server.head_timeout)

    def address_string(self):
        addr = self.client_address
        return addr[0] if isinstance(addr, tuple) and addr else "unix"

    def log_message(self, fmt, *args):  # the stdlib's own lines go to debug
        log.debug("%s %s", self.address_string(), fmt % args)

    def _client_stream(self, style="openai", request_id=None):
        out = ClientStream(self.wfile, self.connection, self.command, style, self.server.monitor)
        out.request_id = request_id or new_id()
        out.headers["x-request-id"] = out.request_id
        out.upstream_name = self.server.app.observer.upstream_name
        return out

    def send_error(self, code, message=None, explain=None):
        """Errors raised by the stdlib parser (bad request line, huge headers) in the envelope
        of the surface the path names."""
        self.close_connection = True
        if code == 501 and not _TOKEN_METHOD.match(getattr(self, "command", "") or ""):
            code, message = 400, "Malformed method."
        words = (getattr(self, "requestline", "") or "").split()
        path = urlsplit(words[1]).path if len(words) >= 2 else ""
        out = self._client_stream(self.server.app.router.style_for(path, words[0])
                                  if path else "openai")
        out.close_connection = True
        out.fail(ProxyError(code, message or _REASONS.get(code, ("Error",))[0]))

    def parse_request(self):
        """The request line and head, read strictly (headers.read_headers, clientconn.check_head);
        False after an error answer."""
        self.command, self.request_version, self.close_connection = None, "HTTP/0.9", True
        self.requestline = line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = line.split()
        if not words:
            return False
        try:
            if len(words) != 3:
                raise Refusal(400, "Bad request syntax (%r)." % line[:100])
            self.command, self.path, self.request_version = words
            if words[2][:5] == "HTTP/" and words[2][5:6].isdigit() and words[2][5:6] >= "2":
                raise Refusal(505, "HTTP version %r is not supported; use HTTP/1.1." % words[2][:20])
            if self.path.startswith("//"):
                self.path = "/" + self.path.lstrip("/")
            self.headers = read_headers(self.rfile.readline)
            if self.reader.eof:
                raise Refusal(400, "The request head ended before its blank line.")
            self.body_len = check_head(self.command, self.request_version, self.headers)
        except Refusal as refusal:
            self.send_error(refusal.status, refusal.message)
            return False
        return self._connection_options()

    def _connection_options(self):
        """Keep-alive from the version and Connection; Expect: 100-continue answered."""
        connection = (self.headers.get("Connection") or "").lower()
        self.close_connection = self.request_version < "HTTP/1.1" and connection != "keep-alive" \
            or connection == "close"
        if (self.headers.get("Expect") or "").lower() == "100-continue" \
                and self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def handle_expect_100(self):
        """Refuse an oversize or unauthorised upload before the client sends it."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        err = None
        path = urlsplit(self.path).path
        if length > self.server.max_body:
            err = _too_large(self.server.max_body)
        elif not key_ok(self.server.app.config.proxy_api_key, self.headers,
                        parse_qs(urlsplit(self.path).query)) \
                and not self.server.app.router.is_public(path):
            err = unauthorised()
        if err is None:
            return super().handle_expect_100()
        self.close_connection = True
        out = self._client_stream(self.server.app.router.style_for(path, self.command))
        out.close_connection = True
        out.fail(err)
        return False

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET

    def _dispatch(self):
        started = time.monotonic()
        self._answered = True
        server = self.server
        observer = server.app.observer
        req = Request(self.command, self.path, self.headers, self._read_body)
        trace = observer.start(self.command, req.path, self.headers.get("x-request-id"), started)
        out = self._client_stream(server.app.router.style_for(req.path, self.command), trace.id)
        server.request_started()
        try:
            dispatch(server.app, req, out)
        finally:
            self.reader.set_deadline(None)
            unread = req.unread_body()
            if unread or out.close_connection:
                self.close_connection = True  # unread body bytes would corrupt the next request
            try:
                self._access_log(req, out, started, trace.id)
                trace.route = req.route.pattern if req.route is not None else None
                trace.surface, trace.model = out.style, req.model
                observer.finish(trace, out.status, out.error)
            finally:
                server.request_finished()   # last: a draining shutdown waits for the lines above
            if unread and not out.gone:
                self.wfile.flush()
                linger(self.connection, self.rfile, self._declared())

    def _declared(self) -> int:
        """The declared body length (from the checked head); -1 for chunked."""
        length = getattr(self, "body_len", 0)
        return -1 if length is None else length

    def _read_body(self) -> bytes:
        length = self._declared()
        self.reader.set_deadline(body_seconds(self.server.max_body if length < 0 else length,
                                              self.server.head_timeout))
        try:
            body = self._read_body_raw()
        except socket.timeout:
            self.close_connection = True
            raise ProxyError(408, "The request body did not arrive in time (idle_timeout %g s, "
                             "at least %d KB/s)." % (self.server.idle_timeout, MIN_BODY_RATE // 1000),
                             code="request_timeout")
        return body

    def _read_body_raw(self) -> bytes:
        limit = self.server.max_body
        try:
            length = self.body_len
            if length is None:
                return self._read_chunked(limit)
            if length > limit:
                raise _too_large(limit)
            body = self.rfile.read(length) if length > 0 else b""
            if len(body) != length:
                raise Refusal(400, "The request body ended after %d of its %d bytes."
                              % (len(body), length))
            return body
        except (Refusal, ProxyError) as err:
            self.close_connection = True
            if isinstance(err, Refusal):
                raise ProxyError(err.status, err.message, code="bad_request_framing")
            raise

    def _read_chunked(self, limit) -> bytes:
        parts, total = [], 0
        while True:
            size = chunk_size(self.rfile.readline(1024))
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > limit:
                raise _too_large(limit)
            part = self.rfile.read(size)
            if len(part) != size or self.rfile.readline(1024) not in (b"\r\n", b"\n"):
                raise Refusal(400, "Malformed chunked request body.")
            parts.append(part)

    def _access_log(self, req, out, started, request_id):
        logs.access(self.command, req.path, req.model, out.status,
                    (time.monotonic() - started) * 1000, request_id)   # buffered: no write per request
        if log.isEnabledFor(logging.DEBUG) and req.body:
            log.debug("request body: %s", loggable(req.body))


def key_ok(key, headers, query=None) -> bool:
    """No key configured, or the client sent it (Bearer, x-api-key, x-goog-api-key or Google's
    ?key=), compared in constant time."""
    if not key:
        return True
    auth = headers.get("Authorization") or ""
    offered = [headers.get("x-api-key"), headers.get("x-goog-api-key"),
               auth[7:].strip() if auth[:7].lower() == "bearer " else None]
    offered += (query or {}).get("key") or []
    return any(given and hmac.compare_digest(given.encode(), key.encode()) for given in offered)


def unauthorised():
    return ProxyError(401, "Missing or wrong API key for this proxy: send it as "
                      "'Authorization: Bearer <key>' or 'x-api-key: <key>'.", code="invalid_api_key")


def _too_large(limit):
    return ProxyError(413, "Request body is larger than the %d MB limit (max_body_mb)."
                      % (limit // (1024 * 1024)), code="request_too_large")


class ProxyServer(http.server.ThreadingHTTPServer):
    """One thread per connection (measured: a pool of reused workers was slower and bigger)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # a burst of connects must not lose SYNs (clients retry after 1 s)

    def __init__(self, address, app):
        self.app = app
        cfg = app.config
        self.max_body = int(cfg.max_body_mb * 1024 * 1024)
        self.idle_timeout = cfg.idle_timeout
        self.head_timeout = cfg.head_timeout
        self.max_connections = cfg.max_connections
        self.monitor = Monitor(cfg.keepalive_interval)
        self._count_lock = threading.Condition()
        self._open = 0
        self._active = 0
        super().__init__(address, Handler)

    def server_bind(self):
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can stall start-up
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address):
        with self._count_lock:
            full = self._open >= self.max_connections
            if not full:
                self._open += 1
        if full:
            self._refuse(request)
            return
        try:   # a bare thread: threading.Thread.start would wait until it runs (a GIL hand-off
            # the accept loop pays for every connection, and that new streams queue behind)
            _thread.start_new_thread(self.process_request_thread, (request, client_address))
        except Exception:
            self._closed_one()
            self.shutdown_request(request)
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._closed_one()

    def handle_error(self, request, client_address):
        log.debug("connection error from %s", client_address, exc_info=True)  # e.g. a reset

    def _closed_one(self):
        with self._count_lock:
            self._open -= 1

    def _refuse(self, request):
        err = ProxyError(503, "The proxy has too many open connections (max_connections=%d); "
                         "try again shortly." % self.max_connections, code="too_many_connections")
        body = error_bytes(err)
        head = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                "Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
        try:
            request.settimeout(1.0)
            request.sendall(head.encode() + body)
        except OSError:
            pass
        self.shutdown_request(request)

    def request_started(self):
        with self._count_lock:
            self._active += 1

    def request_finished(self):
        with self._count_lock:
            self._active -= 1
            self._count_lock.notify_all()

    def drain(self, grace: float) -> int:
        """Wait up to `grace` seconds for in-flight requests; returns how many remain."""
        deadline = time.monotonic() + grace
        with self._count_lock:
            while self._active > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._count_lock.wait(left)
            return self._active


class UnixProxyServer(ProxyServer):
    address_family = socket.AF_UNIX

    def server_bind(self):
        path = self.server_address
        _remove_stale_socket(path)
        old = os.umask(0o177)  # created 0600: only this user may connect
        try:
            socketserver.TCPServer.server_bind(self)
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        self.server_name = "localhost"
        self.server_port = 0

    def get_request(self):
        conn, _ = self.socket.accept()
        return conn, ("unix", 0)

    def server_close(self):
        super().server_close()
        try:
            if stat.S_ISSOCK(os.stat(self.server_address).st_mode):
                os.unlink(self.server_address)
        except OSError:
            pass


def _remove_stale_socket(path):
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError("%s exists and is not a socket; refusing to replace it" % path)
    probe = socket.socket(socket.AF_UNIX)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)  # nobody listens: a leftover from a crashed run
        return
    finally:
        probe.close()
    raise OSError("another server is already listening on %s" % path)


class ProxyServer6(ProxyServer):
    address_family = socket.AF_INET6


def make_server(app):
    cfg = app.config
    if cfg.socket:
        return UnixProxyServer(os.path.abspath(os.path.expanduser(cfg.socket)), app)
    host = cfg.host.strip("[]")
    cls = ProxyServer6 if ":" in host else ProxyServer
    return cls((host, cfg.port), app)
