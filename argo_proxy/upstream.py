"""Client for Argo and other upstreams: pooled keep-alive connections, TLS, timeouts, retries."""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import os
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

from . import __version__, wire
from .errors import NETWORK_HINT, ProxyError

log = logging.getLogger("argo_proxy")

RETRY_STATUSES = (429, 502, 503)
MAX_RETRY_WAIT = 20.0   # longer Retry-After values are passed to the client instead
IDLE_DROP = 50.0        # pooled connections idle longer than this are closed, not reused
NO_TIMEOUT = float("inf")   # read_timeout for a stream that may stay quiet (calls have deadlines)
STALE_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
          ConnectionAbortedError)


class Cancel:
    """Lets another thread stop an upstream request at any stage (the client went away)."""

    def __init__(self):
        self.cancelled = False
        self._conn = None
        self._event = threading.Event()

    def attach(self, conn):
        self._conn = conn
        if self.cancelled:
            _shutdown(conn)

    def detach(self, conn):
        """The connection goes back to the pool: a later cancel must not touch it."""
        if self._conn is conn:
            self._conn = None

    def cancel(self):
        self.cancelled = True
        self._event.set()
        conn = self._conn
        if conn is not None:
            _shutdown(conn)

    def wait(self, seconds):
        """Sleep before a retry, waking at once if the client goes away."""
        self._event.wait(seconds)

    def check(self):
        if self.cancelled:
            raise ProxyError(499, "The client closed the request.", code="client_closed")


def _shutdown(conn):
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class UpstreamReply:
    """An upstream's answer, its body read in full or as it arrives."""

    def __init__(self, client, key, conn, raw, url, cancel):
        self._client = client
        self._key = key
        self._cancel = cancel
        self._conn = conn
        self._raw = raw
        self.url = url
        self.status = raw.status
        self.reason = raw.reason
        self.headers = raw.headers
        self._done = False

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def set_timeout(self, seconds):
        """The time the next reads may wait (e.g. what is left of a caller's deadline);
        NO_TIMEOUT (or None): wait as long as it takes."""
        if self._conn.sock is not None:
            self._conn.limit(None if seconds is None or seconds == NO_TIMEOUT else max(0.001, seconds))

    def read(self) -> bytes:
        try:
            data = self._raw.read()
        except socket.timeout:
            self.close()
            raise _timeout(self.url, self._client.read_timeout)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise ProxyError(502, "Upstream %s broke off its answer: %s" % (self.url, describe_error(exc)),
                             source="network")
        self._finish()
        return data

    def json(self):
        data = self.read()
        try:
            return json.loads(data)
        except ValueError:
            raise ProxyError(502, "Upstream %s answered HTTP %d with a body that is not JSON: %r"
                             % (self.url, self.status, data[:200]), code="upstream_invalid_json")

    def iter_raw(self, size=65536):
        """Yield body bytes as soon as they arrive. Errors surface as ProxyError."""
        try:
            while True:
                chunk = self._raw.read1(size)
                if not chunk:
                    break
                yield chunk
        except socket.timeout:
            self.close()
            raise _timeout(self.url, self._client.read_timeout)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            self.close()
            raise ProxyError(502, "Upstream %s broke off its stream: %s" % (self.url, describe_error(exc)),
                             code="upstream_disconnected", source="network")
        self._finish()

    def close(self):
        """Drop the response and its connection (it is not reused)."""
        if not self._done:
            self._done = True
            self._raw.close()
            self._conn.close()

    def _finish(self):
        if self._done:
            return
        self._done = True
        self._cancel.detach(self._conn)
        if self._raw.isclosed() and self._conn.sock is not None and not self._raw.will_close:
            self._client._release(self._key, self._conn)
        else:
            self._conn.close()


class Upstream:
    """Thread-safe HTTP(S) client with one pool of idle connections per origin."""

    def __init__(self, connect_timeout=10.0, read_timeout=600.0, ca_bundle=None, max_idle=32):
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.ca_bundle = ca_bundle
        self.max_idle = max_idle
        self._pools = {}
        self._routes = {}   # url -> _where(url)
        self._lock = threading.Lock()
        self._ssl = None
        self.opened = 0  # connections opened so far (tests use it to prove reuse)

    # -- public ------------------------------------------------------------------

    def request(self, method, url, body=None, headers=None, retries=2, read_timeout=None, cancel=None):
        """Send a request; retry connection failures and 429/502/503 (before anything is relayed)."""
        cancel = cancel or Cancel()
        attempt = 0
        while True:
            cancel.check()
            try:
                resp = self._send_once(method, url, body, headers or {}, read_timeout, cancel)
            except ProxyError as err:
                cancel.check()
                if attempt >= retries or not err.retryable:
                    raise
                wait = _backoff(attempt)
            else:
                if resp.status not in RETRY_STATUSES or attempt >= retries:
                    return resp
                wait = _retry_after(resp.header("Retry-After"), attempt)
                if wait is None:
                    return resp
                resp.read()
            attempt += 1
            log.info("upstream %s: retry %d in %.1fs", url, attempt, wait)
            cancel.wait(wait)

    def get_json(self, url, headers=None, read_timeout=30.0):
        resp = self.request("GET", url, headers=headers, read_timeout=read_timeout)
        if resp.status != 200:
            body = resp.read()
            raise ProxyError(502, "GET %s answered HTTP %d: %r" % (url, resp.status, body[:200]),
                             source="upstream")
        return resp.json()

    def close(self):
        with self._lock:
            pools, self._pools = self._pools, {}
        for pool in pools.values():
            for conn, _ in pool:
                conn.close()

    # -- internals ---------------------------------------------------------------

    def _send_once(self, method, url, body, headers, read_timeout, cancel):
        parts, key, target, host = self._where(url)
        headers = _with_defaults(headers, body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        for _ in range(3):  # a pooled connection may have been closed by the server meanwhile
            conn, reused = self._acquire(key, parts)
            cancel.attach(conn)
            try:
                self._connect(conn, url, read_timeout)
                raw = _exchange(conn, method, target, host, headers, body)
            except STALE_ERRORS as exc:
                conn.close()
                cancel.check()
                if reused:
                    continue
                raise ProxyError(502, "Upstream %s closed the connection without answering (%s)"
                                 % (url, describe_error(exc)), code="upstream_disconnected", source="network")
            except (socket.timeout, BlockingIOError):   # BlockingIOError: the kernel's timeout
                conn.close()
                raise _timeout(url, read_timeout or self.read_timeout)
            except ProxyError:
                conn.close()
                raise
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                cancel.check()
                raise ProxyError(502, "Upstream %s sent an invalid HTTP response: %s" % (url, describe_error(exc)),
                                 code="upstream_invalid_response", source="upstream")
            return UpstreamReply(self, key, conn, raw, url, cancel)
        raise ProxyError(502, "Upstream %s keeps closing connections" % url, source="network")

    def _where(self, url):
        """(parts, pool key, request target, Host) for a URL, worked out once per URL."""
        found = self._routes.get(url)
        if found is None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ProxyError(500, "Bad upstream URL %r: it must start with http:// or https://"
                                 % url, source="proxy")
            key, target = self._route(parts)
            found = (parts, key, target, wire.host_header(parts.hostname, key[2],
                                                          443 if key[0] == "https" else 80))
            if len(self._routes) >= 1024:
                self._routes.clear()
            self._routes[url] = found
        return found

    def _route(self, parts):
        """Pool key (scheme, host, port, proxy) and the request target for a URL."""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        proxy = proxy_for(parts.scheme, parts.hostname)
        key = (parts.scheme, parts.hostname, port, proxy)
        absolute = proxy and parts.scheme == "http"   # a plain-HTTP proxy wants the whole URL
        target = parts.geturl() if absolute else _path(parts)
        return key, target

    def _acquire(self, key, parts):
        now = time.monotonic()
        with self._lock:
            pool = self._pools.get(key) or []
            while pool:
                conn, idle_since = pool.pop()
                if now - idle_since < IDLE_DROP and conn.sock is not None:
                    return conn, True
                conn.close()
        return self._new_conn(key), False

    def _release(self, key, conn):
        with self._lock:
            pool = self._pools.setdefault(key, [])
            if len(pool) < self.max_idle:
                pool.append((conn, time.monotonic()))
                return
        conn.close()

    def _new_conn(self, key):
        scheme, host, port, proxy = key
        if proxy:
            p = urlsplit(proxy)
            phost, pport = p.hostname, p.port or 8080
            if scheme == "https":
                conn = wire.TLSConnection(phost, pport, context=self._ssl_context())
                conn.set_tunnel(host, port)
                return conn
            return wire.Connection(phost, pport)
        if scheme == "https":
            return wire.TLSConnection(host, port, context=self._ssl_context())
        return wire.Connection(host, port)

    def _connect(self, conn, url, read_timeout):
        if conn.sock is None:
            conn.timeout = self.connect_timeout
            try:
                conn.connect()
            except ssl.SSLCertVerificationError as exc:
                raise ProxyError(503, "TLS certificate check failed for %s: %s. Point ca_bundle (or "
                                 "SSL_CERT_FILE) at your CA bundle." % (url, exc.verify_message),
                                 source="network")
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise ProxyError(503, "Cannot connect to %s: %s. %s" % (url, describe_error(exc), NETWORK_HINT),
                                 code="upstream_unreachable", source="network", retryable=True)
            self.opened += 1
            if conn.sock is not None and conn.sock.family != getattr(socket, "AF_UNIX", None):
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        timeout = read_timeout or self.read_timeout
        conn.limit(None if timeout == NO_TIMEOUT else timeout)

    def _ssl_context(self):
        if self._ssl is None:
            self._ssl = make_ssl_context(self.ca_bundle)
        return self._ssl


def make_ssl_context(ca_bundle=None):
    """ca_bundle > SSL_CERT_FILE > certifi (if installed) > the system's default store."""
    cafile = ca_bundle or os.environ.get("SSL_CERT_FILE")
    if not cafile:
        try:
            import certifi  # optional: fixes macOS Pythons without system CAs
            cafile = certifi.where()
        except ImportError:
            cafile = None
    return ssl.create_default_context(cafile=cafile)


def proxy_for(scheme, host):
    """The proxy from HTTPS_PROXY/HTTP_PROXY/ALL_PROXY (either case) unless NO_PROXY exempts host."""
    if host in ("localhost", "127.0.0.1", "::1") or host.startswith("127."):
        return None  # loopback (SSH tunnels) never goes through a site proxy
    proxy = _env("%s_proxy" % scheme) or _env("all_proxy")
    if not proxy or _no_proxy(host):
        return None
    return proxy if "://" in proxy else "http://" + proxy


def _env(name):
    return os.environ.get(name.lower()) or os.environ.get(name.upper()) or ""


def _no_proxy(host):
    host = host.lower().strip("[]")
    for entry in _env("no_proxy").replace(" ", "").split(","):
        entry = entry.lower()
        if entry.count(":") == 1 or entry.startswith("["):  # drop a port, keep a bare IPv6
            entry = entry.rsplit(":", 1)[0] if not entry.startswith("[") else entry[1:entry.find("]")]
        entry = entry.lstrip(".")
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return True
    return False


def _exchange(conn, method, target, host, headers, body):
    """Write the request on the connection and read the answer's head."""
    try:
        head = wire.request_head(method, target, host, headers, body)
    except (ValueError, UnicodeError) as exc:
        raise ProxyError(500, "Cannot send the request upstream: %s" % exc, source="proxy")
    wire.send(conn, head, body)
    raw = conn.answer(method)
    try:
        raw.begin()
    except BaseException:
        raw.close()
        raise
    return raw


def _path(parts):
    path = parts.path or "/"
    return path + ("?" + parts.query if parts.query else "")


def _with_defaults(headers, body):
    out = {"User-Agent": "argo-proxy/" + __version__, "Accept-Encoding": "identity"}
    if body is not None:
        out["Content-Type"] = "application/json"
    out.update(headers)
    return out


def _backoff(attempt):
    return 0.5 * (2 ** attempt)


def _retry_after(value, attempt):
    """Seconds to wait before retrying, or None when the server asks for too long."""
    if not value:
        return _backoff(attempt)
    try:
        wait = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return _backoff(attempt)
        wait = when - time.time()
    wait = max(0.0, wait)
    return wait if wait <= MAX_RETRY_WAIT else None


def _timeout(url, seconds):
    return ProxyError(504, "Upstream %s did not answer within %g s (read_timeout)." % (url, seconds),
                      code="upstream_timeout", source="network")


def describe_error(exc):
    """A short, readable reason for a socket or HTTP failure."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, socket.gaierror):
        text = "host name not found (%s)" % text
    elif isinstance(exc, socket.timeout):
        text = "timed out"
    return text
