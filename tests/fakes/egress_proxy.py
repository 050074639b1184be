"""A forward HTTP(S) proxy on 127.0.0.1 that refuses everything and records who was asked for.

Point an agent's HTTPS_PROXY / HTTP_PROXY / ALL_PROXY at it (with NO_PROXY covering
127.0.0.1 so that traffic to our own servers goes direct) and assert afterwards that
nothing tried to leave the machine::

    with EgressProxy() as egress:
        env["HTTPS_PROXY"] = env["HTTP_PROXY"] = egress.url
        ...run the agent...
        assert egress.attempts == []

Every request -- ``CONNECT host:port`` or an absolute-URI ``GET http://host/...`` (or a
plain origin-form request, recorded with its Host header) -- is answered
``403 Forbidden`` and the connection closed.  Each attempt is recorded as a dict
``{"method", "host", "port", "target"}`` in arrival order.  Standard library only.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

__all__ = ["EgressProxy"]


def _split_host_port(hostport, default_port):
    """'example.com:443' -> ('example.com', 443); '[::1]:8080' -> ('::1', 8080)."""
    hostport = (hostport or "").strip()
    if hostport.startswith("["):
        end = hostport.find("]")
        host = hostport[1:end] if end > 0 else hostport[1:]
        rest = hostport[end + 1:] if end > 0 else ""
        port = rest[1:] if rest.startswith(":") else ""
    elif hostport.count(":") == 1:
        host, port = hostport.split(":", 1)
    else:
        host, port = hostport, ""
    try:
        return host, int(port) if port else default_port
    except ValueError:
        return host, default_port


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "EgressRefused/1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def _refuse(self):
        method, target = self.command, self.path
        if method == "CONNECT":
            host, port = _split_host_port(target, 443)
        elif "://" in target:
            parts = urlsplit(target)
            default = 443 if parts.scheme == "https" else 80
            host, port = _split_host_port(parts.netloc.rsplit("@", 1)[-1], default)
        else:
            host, port = _split_host_port(self.headers.get("Host", ""), 80)
        self.server.owner._record({"method": method, "host": host, "port": port, "target": target})
        body = b"egress refused by the test harness\n"
        self.close_connection = True
        try:
            self.send_response(403, "Forbidden")
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(body)
        except OSError:
            pass

    def __getattr__(self, name):
        # BaseHTTPRequestHandler dispatches to do_<METHOD>; refuse every method alike.
        if name.startswith("do_"):
            return self._refuse
        raise AttributeError(name)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client dropping an idle keep-alive connection is normal, not a test failure.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        ThreadingHTTPServer.handle_error(self, request, client_address)


class EgressProxy(object):
    """A refusing, recording forward proxy; ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, port=0):
        self._port = port
        self._lock = threading.Condition()
        self._attempts = []
        self._server = self._thread = None

    def start(self):
        if self._server is not None:
            raise RuntimeError("EgressProxy already started")
        self._server = _Server(("127.0.0.1", self._port), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="egress-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        server, self._server = self._server, None
        server.shutdown()
        server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self.start() if self._server is None else self

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def port(self):
        if self._server is None:
            raise RuntimeError("EgressProxy not started")
        return self._server.server_address[1]

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def _record(self, attempt):
        with self._lock:
            self._attempts.append(attempt)
            self._lock.notify_all()

    @property
    def attempts(self):
        """A copy of the attempts so far, oldest first."""
        with self._lock:
            return list(self._attempts)

    def hosts(self):
        """The distinct 'host:port' strings asked for, in first-seen order."""
        seen = []
        for a in self.attempts:
            key = "%s:%d" % (a["host"], a["port"])
            if key not in seen:
                seen.append(key)
        return seen

    def wait_for(self, count=1, timeout=5.0):
        """Block until at least ``count`` attempts were recorded; returns bool."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._attempts) >= count, timeout)

    def clear(self):
        with self._lock:
            del self._attempts[:]


if __name__ == "__main__":  # manual use: python tests/fakes/egress_proxy.py
    import signal

    proxy = EgressProxy(int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print("EGRESS_PROXY_URL=%s" % proxy.url, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    proxy.stop()
    for a in proxy.attempts:
        print("%s %s" % (a["method"], a["target"]), file=sys.stderr)
