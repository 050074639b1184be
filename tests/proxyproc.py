"""Start the proxy as a real process (the built .pyz by default) and talk to it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYZ = os.path.join(ROOT, "argo-proxy.pyz")

# Environment variables the proxy reads; tests start from a clean slate.
PROXY_ENV = ("PORT", "VERBOSE", "REAL_STREAM", "TOOL_PROMPT", "USE_NATIVE_OPENAI", "USERNAME_PASSTHROUGH",
             "ARGO_USER", "ARGO_PROXY_API_KEY", "SSL_CERT_FILE", "ARGO_PROXY_CONNECT_TIMEOUT",
             "ARGO_PROXY_READ_TIMEOUT", "ARGO_PROXY_MAX_CONNECTIONS", "HTTP_PROXY", "HTTPS_PROXY",
             "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy", "LLAMASTACK_URL", "PROXY_PORT")


def target():
    """'pyz' (default) or 'source' (python -m argo_proxy from the checkout)."""
    return os.environ.get("ARGO_PROXY_TARGET", "pyz")


def interpreter():
    return os.environ.get("ARGO_PROXY_PYTHON") or sys.executable


def command(python=None, use=None):
    python = python or interpreter()
    if (use or target()) == "source":
        return [python, "-m", "argo_proxy"]
    return [python, PYZ]


def clean_env(home, extra=None):
    env = {k: v for k, v in os.environ.items() if k not in PROXY_ENV and not k.startswith("PYTEST")}
    env["HOME"] = home
    env["PYTHONPATH"] = ROOT if target() == "source" else ""
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


class Proxy:
    """A running proxy process; `url` is its base (http://127.0.0.1:PORT)."""

    def __init__(self, args, workdir, env=None, use=None, python=None):
        self.args = list(args)
        self.workdir = workdir
        self.env = clean_env(workdir, env)
        self.cmd = command(python, use) + self.args
        self.lines = []
        self._listening = threading.Event()
        self.proc = None
        self.url = None
        self.socket_path = None

    def start(self, timeout=20.0):
        self.proc = subprocess.Popen(self.cmd, cwd=self.workdir, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._listening.wait(timeout):
            self.stop()
            raise RuntimeError("proxy did not start:\n" + self.log())
        return self

    def _drain(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            if "Listening on " in line:
                where = line.split("Listening on ", 1)[1].strip()
                if where.startswith("unix:"):
                    self.socket_path = where[5:]
                else:
                    self.url = where
                self._listening.set()
        self._listening.set()

    def log(self):
        return "\n".join(self.lines)

    def stop(self, timeout=15.0):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    @property
    def host_port(self):
        rest = self.url.split("://", 1)[1]
        host, port = rest.rsplit(":", 1)
        return host.strip("[]"), int(port)

    def conn(self, timeout=30.0):
        host, port = self.host_port
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=30.0):
        """(status, headers, parsed-JSON-or-bytes) on a fresh connection."""
        conn = self.conn(timeout)
        try:
            data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
            hdrs = {"Content-Type": "application/json"} if data is not None else {}
            hdrs.update(headers or {})
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            return resp.status, resp.headers, _maybe_json(raw)
        finally:
            conn.close()

    def wait_for_exit(self, timeout=15.0):
        return self.proc.wait(timeout)


def _maybe_json(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def unix_request(path, method, target, timeout=10.0):
    """One HTTP request over a Unix socket; returns (status, body bytes)."""
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(timeout)
    sock.connect(path)
    try:
        sock.sendall(("%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                      % (method, target)).encode())
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    finally:
        sock.close()
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def wait_until(predicate, timeout=10.0, interval=0.02):
    """Poll a condition (for state we cannot be notified of, e.g. a file disappearing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def chat_stream(proxy, body):
    """POST a streaming chat; checks it is one well-formed stream (one id, one [DONE] at the end)
    and returns its chunk objects."""
    conn = proxy.conn()
    conn.request("POST", "/v1/chat/completions", headers={"Content-Type": "application/json"},
                 body=json.dumps(dict(body, stream=True)))
    raw = conn.getresponse().read()
    conn.close()
    events = [e[6:] for e in raw.split(b"\n\n") if e.startswith(b"data: ")]
    assert events[-1] == b"[DONE]" and events.count(b"[DONE]") == 1, raw[-300:]
    chunks = [json.loads(e) for e in events[:-1]]
    assert len({c["id"] for c in chunks}) == 1
    return chunks


def visible_text(chunks):
    """The text a client shows, checking no tool-call fragment reached it."""
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert not any(d.get("tool_calls") for d in deltas)
    return "".join(d.get("content") or "" for d in deltas)
