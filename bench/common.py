"""Shared constants and small helpers of the benchmark: paths, the run log, loopback HTTP."""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
WORK = os.path.join(BENCH, ".work")
LOGS = os.path.join(WORK, "logs")
HOST = "127.0.0.1"
CHAT_PATH = "/v1/chat/completions"

_LOG = []


def open_log(path):
    _LOG[:] = [open(path, "w")]


def log(msg):
    line = "[%s] %s" % (time.strftime("%H:%M:%S"), msg)
    print(line, flush=True)
    for f in _LOG:
        f.write(line + "\n")
        f.flush()


def logfile(tag):
    return os.path.join(LOGS, "%s.log" % tag)


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def clean_env(**extra):
    """The environment of every process started: no proxy settings, no Argo settings, own HOME."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ARGO_", "USE_NATIVE", "REAL_STREAM", "TOOL_PROMPT", "USERNAME_PASS"))
           and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "config_path", "port", "verbose",
                                 "host", "socket", "dev_mode", "data_dir")}
    env["HOME"] = os.path.join(WORK, "home")
    env.update(extra)
    return env


def http_get(port, path, timeout=2.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def http_post(port, path, body, timeout=10.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("POST", path, body=body if isinstance(body, bytes) else body.encode(),
                     headers={"Content-Type": "application/json", "Authorization": "Bearer bench"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_health(port, proc, timeout, path="/health"):
    """Seconds until GET path answers 200 (polled every 2 ms), or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            return None
        try:
            status, _ = http_get(port, path, timeout=1.0)
            if status == 200:
                return time.monotonic() - t0
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.002)
    return None


def get(tree, *path):
    """tree[p0][p1]... or None when any step is missing."""
    cur = tree
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return cur


def median_of(results, key):
    vals = [r[key] for r in results if isinstance(r, dict) and r.get(key) is not None]
    return statistics.median(vals) if vals else None
