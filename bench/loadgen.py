#!/usr/bin/env python3
"""Lean load generators for the benchmark (standard library only). Each prints one JSON line.

  stream  N concurrent SSE streams on raw non-blocking sockets, one thread, epoll.
          Per event: relay lag = time.monotonic() when the bytes that complete the event were
          received minus the `[t=...]` stamp the fake upstream wrote into it. Per stream: time to
          first event (from just before connect() to the first stamped event) and completeness
          (all expected events and the final `data: [DONE]`).
  http    Fallback non-streaming generator when wrk is missing: C threads, each with one
          kept-alive http.client connection, POSTing the same body for D seconds.

Examples:
  python3 bench/loadgen.py stream --port 8000 --streams 100 --events 200
  python3 bench/loadgen.py http --port 8000 --connections 16 --duration 5
"""

from __future__ import annotations

import argparse
import errno
import http.client
import json
import re
import selectors
import socket
import sys
import threading
import time

STAMP = re.compile(rb"\[t=(\d+\.\d+)\]")


def percentile(sorted_values, q):
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(q / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def summary_ms(values):
    values = sorted(values)
    if not values:
        return {"count": 0}
    return {"count": len(values), "p50_ms": percentile(values, 50) * 1000,
            "p90_ms": percentile(values, 90) * 1000, "p99_ms": percentile(values, 99) * 1000,
            "max_ms": values[-1] * 1000, "mean_ms": sum(values) / len(values) * 1000}


# ---------------------------------------------------------------- streaming client

class StreamConn:
    __slots__ = ("sock", "t0", "raw", "head_done", "status", "chunked", "need", "sse", "events",
                 "first", "done", "saw_done", "error", "flowing")

    def __init__(self):
        self.raw = b""
        self.head_done = False
        self.status = None
        self.chunked = False
        self.need = None        # bytes still to read of the current chunk (None: at a size line)
        self.sse = b""
        self.events = 0
        self.first = None
        self.done = False
        self.saw_done = False
        self.error = None
        self.flowing = False


def _request_bytes(host, port, path, body):
    return (("POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
             "Accept: text/event-stream\r\nAuthorization: Bearer bench\r\nContent-Length: %d\r\n"
             "Connection: close\r\n\r\n") % (path, host, port, len(body))).encode() + body


def run_streams(host, port, path, body: bytes, streams, expected, timeout):
    sel = selectors.DefaultSelector()
    conns = []
    lags = []
    request = _request_bytes(host, port, path, body)
    state = {"flowing": 0, "peak": 0}
    deadline = time.monotonic() + timeout
    for _ in range(streams):
        c = StreamConn()
        c.t0 = time.monotonic()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        c.sock = s
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        except OSError as exc:
            c.error = "connect: %s" % exc
            c.done = True
            s.close()
            conns.append(c)
            continue
        sel.register(s, selectors.EVENT_WRITE, c)
        conns.append(c)
    open_count = sum(1 for c in conns if not c.done)
    while open_count and time.monotonic() < deadline:
        for key, mask in sel.select(timeout=min(1.0, max(0.01, deadline - time.monotonic()))):
            c = key.data
            if mask & selectors.EVENT_WRITE:
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    _finish(sel, c, state, "connect: %s" % errno.errorcode.get(err, err))
                    open_count -= 1
                    continue
                try:
                    c.sock.sendall(request)   # small: fits the socket buffer at once
                except OSError as exc:
                    _finish(sel, c, state, "send: %s" % exc)
                    open_count -= 1
                    continue
                sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            try:
                data = c.sock.recv(262144)
            except BlockingIOError:
                continue
            except OSError as exc:
                _finish(sel, c, state, "recv: %s" % exc)
                open_count -= 1
                continue
            now = time.monotonic()
            if not data:
                if not c.chunked and c.head_done and c.status == 200:
                    _consume_sse(c, b"", now, lags, state, final=True)
                _finish(sel, c, state, None if c.saw_done else "closed early")
                open_count -= 1
                continue
            _feed(c, data, now, lags, state)
            if c.done:
                _finish(sel, c, state, c.error)
                open_count -= 1
    for c in conns:
        if not c.done:
            _finish(sel, c, state, "timeout")
    sel.close()
    ok = [c for c in conns if c.error is None and c.saw_done and c.events == expected]
    errors = {}
    for c in conns:
        if c not in ok:
            why = c.error or ("%d/%d events" % (c.events, expected))
            errors[why] = errors.get(why, 0) + 1
    ttfe = [c.first - c.t0 for c in conns if c.first is not None]
    return {"streams": streams, "completed": len(ok), "errors": errors,
            "events": sum(c.events for c in conns), "expected_events": expected * streams,
            "peak_flowing": state["peak"], "lag": summary_ms(lags), "ttfe": summary_ms(ttfe)}


def _finish(sel, c, state, error):
    if c.flowing:
        c.flowing = False
        state["flowing"] -= 1
    if error and not c.error:
        c.error = error
    c.done = True
    try:
        sel.unregister(c.sock)
    except (KeyError, ValueError):
        pass
    c.sock.close()


def _feed(c, data, now, lags, state):
    c.raw += data
    if not c.head_done:
        end = c.raw.find(b"\r\n\r\n")
        if end < 0:
            return
        head = c.raw[:end].decode("latin-1").split("\r\n")
        c.raw = c.raw[end + 4:]
        c.head_done = True
        try:
            c.status = int(head[0].split()[1])
        except (IndexError, ValueError):
            c.status = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
                c.chunked = True
        if c.status != 200:
            c.error = "HTTP %s" % c.status
            c.done = True
            return
    if not c.chunked:
        data, c.raw = c.raw, b""
        _consume_sse(c, data, now, lags, state)
        return
    out = []
    raw = c.raw
    pos = 0
    n = len(raw)
    while pos < n:
        if c.need is None:
            eol = raw.find(b"\r\n", pos)
            if eol < 0:
                break
            size = int(raw[pos:eol].split(b";")[0], 16)
            pos = eol + 2
            if size == 0:
                c.done = True
                break
            c.need = size + 2        # chunk data plus its CRLF
        take = min(c.need, n - pos)
        data_part = min(take, c.need - 2) if c.need > 2 else 0
        if data_part > 0:
            out.append(raw[pos:pos + data_part])
        pos += take
        c.need -= take
        if c.need == 0:
            c.need = None
    c.raw = raw[pos:]
    if out:
        _consume_sse(c, b"".join(out), now, lags, state)
    if c.done and not c.saw_done:
        c.error = c.error or "stream ended without [DONE]"


def _consume_sse(c, data, now, lags, state, final=False):
    c.sse += data
    cut = len(c.sse) if final else c.sse.rfind(b"\n\n")
    if cut < 0:
        return
    complete, c.sse = c.sse[:cut], c.sse[cut:]
    stamps = STAMP.findall(complete)
    if stamps:
        if c.first is None:
            c.first = now
            c.flowing = True
            state["flowing"] += 1
            if state["flowing"] > state["peak"]:
                state["peak"] = state["flowing"]
        c.events += len(stamps)
        for s in stamps:
            lags.append(now - float(s))
    if b"[DONE]" in complete:
        c.saw_done = True


# ---------------------------------------------------------------- non-streaming fallback

def run_http(host, port, path, body: bytes, connections, duration, warmup=0.0):
    latencies = [[] for _ in range(connections)]
    errors = [0] * connections
    start_evt = threading.Event()
    bounds = {}

    def worker(i):
        conn = http.client.HTTPConnection(host, port, timeout=10)
        headers = {"Content-Type": "application/json", "Authorization": "Bearer bench"}
        start_evt.wait()
        end = bounds["end"]
        mine = latencies[i]
        while True:
            t = time.perf_counter()
            if t >= end:
                break
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errors[i] += 1
                    continue
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
                continue
            mine.append(time.perf_counter() - t)
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    bounds["end"] = t0 + duration
    start_evt.set()
    for t in threads:
        t.join(duration + 15)
    elapsed = time.perf_counter() - t0
    flat = sorted(x for lst in latencies for x in lst)
    res = summary_ms(flat)
    return {"requests": len(flat), "errors": sum(errors), "seconds": elapsed,
            "rps": len(flat) / elapsed if elapsed else 0.0,
            "p50_ms": res.get("p50_ms"), "p99_ms": res.get("p99_ms"), "mean_ms": res.get("mean_ms")}


def main(argv=None):
    ap = argparse.ArgumentParser(description="benchmark load generators")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("stream")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--path", default="/v1/chat/completions")
    s.add_argument("--streams", type=int, default=1)
    s.add_argument("--events", type=int, default=200)
    s.add_argument("--interval-ms", type=float, default=None)
    s.add_argument("--model", default="gpt4o")
    s.add_argument("--timeout", type=float, default=120.0)
    h = sub.add_parser("http")
    h.add_argument("--host", default="127.0.0.1")
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--path", default="/v1/chat/completions")
    h.add_argument("--connections", type=int, default=1)
    h.add_argument("--duration", type=float, default=5.0)
    h.add_argument("--body", required=True)
    args = ap.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        ap.error("loopback only")
    if args.cmd == "stream":
        req = {"model": args.model, "messages": [{"role": "user", "content": "Count to 200."}],
               "stream": True, "max_tokens": args.events}
        if args.interval_ms is not None:
            req["bench_interval_ms"] = args.interval_ms
        result = run_streams(args.host, args.port, args.path, json.dumps(req).encode(),
                             args.streams, args.events, args.timeout)
    else:
        result = run_http(args.host, args.port, args.path, args.body.encode(), args.connections,
                          args.duration)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
