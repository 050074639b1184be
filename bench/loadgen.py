#!/usr/bin/env python3
"""Lean load generators for the benchmark (standard library only). Each prints one JSON line.

  stream  N concurrent SSE streams on raw non-blocking sockets, one thread, epoll.
          Per event: relay lag = time.monotonic() when the bytes that complete the event were
          received minus the `[t=...]` stamp the fake upstream wrote into it. Per stream: time to
          first event (from just before connect() to the first stamped event) and completeness
          (all expected events and the final `data: [DONE]`).
  loop    Closed-loop streaming: C clients, each sends a streaming request (a new connection
          each time), reads the stream to its end, sends the next, for D seconds; prints
          throughput, latency to the end of the stream, time to first event, failures.
  http    Fallback non-streaming generator when wrk is missing: C threads, each with one
          kept-alive http.client connection, POSTing the same body for D seconds.

Requests of any size (a --body-file of megabytes) are sent in as many writes as they take.

Examples:
  python3 bench/loadgen.py stream --port 8000 --streams 100 --events 200
  python3 bench/loadgen.py loop --port 8000 --connections 8 --events 20 --body-file big.json
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
    __slots__ = ("sock", "t0", "t_end", "out", "sent", "raw", "head_done", "status", "chunked", "need",
                 "sse", "events", "first", "done", "saw_done", "error", "flowing")

    def __init__(self, request):
        self.out = memoryview(request)
        self.sent = 0
        self.t_end = None
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


class Engine:
    """Streams on non-blocking sockets, one thread, epoll. Each stream: connect, send the request
    (in as many writes as it takes: a body can be megabytes), read the SSE answer to its end."""

    def __init__(self, host, port, request, expected):
        self.host, self.port, self.request, self.expected = host, port, request, expected
        self.sel = selectors.DefaultSelector()
        self.conns, self.lags = [], []
        self.state = {"flowing": 0, "peak": 0}
        self.open_count = 0

    def open(self):
        c = StreamConn(self.request)
        c.t0 = time.monotonic()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        c.sock = s
        self.conns.append(c)
        try:
            s.connect((self.host, self.port))
        except BlockingIOError:
            pass
        except OSError as exc:
            c.error, c.done, c.t_end = "connect: %s" % exc, True, time.monotonic()
            s.close()
            return c
        self.sel.register(s, selectors.EVENT_WRITE, c)
        self.open_count += 1
        return c

    def pump(self, deadline, on_done=None):
        """Serve events until every stream is done or the deadline; on_done(c) after each."""
        while self.open_count and time.monotonic() < deadline:
            for key, mask in self.sel.select(timeout=min(1.0, max(0.01, deadline - time.monotonic()))):
                c = key.data
                if mask & selectors.EVENT_WRITE:
                    self._write(c)
                else:
                    self._read(c)
                if c.done and c.t_end is None:
                    self._close(c, c.error)
                    if on_done is not None:
                        on_done(c)

    def _write(self, c):
        if c.sent == 0:
            err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                c.error, c.done = "connect: %s" % errno.errorcode.get(err, err), True
                return
        try:
            c.sent += c.sock.send(c.out[c.sent:])
        except BlockingIOError:
            return
        except OSError as exc:
            c.error, c.done = "send: %s" % exc, True
            return
        if c.sent >= len(c.out):
            c.out = None
            self.sel.modify(c.sock, selectors.EVENT_READ, c)

    def _read(self, c):
        try:
            data = c.sock.recv(262144)
        except BlockingIOError:
            return
        except OSError as exc:
            c.error, c.done = "recv: %s" % exc, True
            return
        now = time.monotonic()
        if not data:
            if not c.chunked and c.head_done and c.status == 200:
                _consume_sse(c, b"", now, self.lags, self.state, final=True)
            c.error = c.error or (None if c.saw_done else "closed early")
            c.done = True
            return
        _feed(c, data, now, self.lags, self.state)

    def _close(self, c, error):
        c.t_end = time.monotonic()
        self.open_count -= 1
        _finish(self.sel, c, self.state, error)

    def finish(self):
        for c in self.conns:
            if not c.done or c.t_end is None:
                c.done = True
                if c.t_end is None:
                    self._close(c, "timeout")
        self.sel.close()

    def ok(self, c):
        return c.error is None and c.saw_done and c.events == self.expected

    def summary(self, conns):
        ok = [c for c in conns if self.ok(c)]
        errors = {}
        for c in conns:
            if c not in ok:
                why = c.error or ("%d/%d events" % (c.events, self.expected))
                errors[why] = errors.get(why, 0) + 1
        return {"streams": len(conns), "completed": len(ok), "errors": errors,
                "events": sum(c.events for c in conns), "expected_events": self.expected * len(conns),
                "peak_flowing": self.state["peak"], "lag": summary_ms(self.lags),
                "ttfe": summary_ms([c.first - c.t0 for c in conns if c.first is not None])}


def run_streams(host, port, path, body: bytes, streams, expected, timeout):
    """`streams` streams opened at once; every one must bring all `expected` events and [DONE]."""
    eng = Engine(host, port, _request_bytes(host, port, path, body), expected)
    for _ in range(streams):
        eng.open()
    eng.pump(time.monotonic() + timeout)
    eng.finish()
    return eng.summary(eng.conns)


def run_stream_loop(host, port, path, body: bytes, connections, expected, duration, timeout):
    """Closed loop: `connections` clients, each sends a streaming request, reads the whole stream,
    then sends the next, for `duration` seconds. Latency = connect to the end of the stream."""
    eng = Engine(host, port, _request_bytes(host, port, path, body), expected)
    t0 = time.monotonic()
    end = t0 + duration

    def again(c):
        if time.monotonic() < end:
            eng.open()

    for _ in range(connections):
        eng.open()
    eng.pump(end + timeout, again)
    eng.finish()
    res = eng.summary(eng.conns)
    done = [c for c in eng.conns if eng.ok(c)]
    elapsed = max((c.t_end for c in done), default=end) - t0
    latency = summary_ms([c.t_end - c.t0 for c in done])
    res.update({"requests": len(done), "seconds": elapsed, "rps": len(done) / elapsed if elapsed > 0 else 0.0,
                "errors": len(eng.conns) - len(done), "error_kinds": res.pop("errors"),
                "p50_ms": latency.get("p50_ms"), "p99_ms": latency.get("p99_ms"),
                "mean_ms": latency.get("mean_ms")})
    return res


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


def _read_head(c):
    """Parse the response head once it is complete: False while it is not (or not a 200)."""
    end = c.raw.find(b"\r\n\r\n")
    if end < 0:
        return False
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
        return False
    return True


def _feed(c, data, now, lags, state):
    c.raw += data
    if not c.head_done and not _read_head(c):
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


def _common(p):
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/v1/chat/completions")
    p.add_argument("--body-file", help="the request body (default: a small request built here)")


def parse(argv):
    ap = argparse.ArgumentParser(description="benchmark load generators")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("stream", help="N streams at once")
    _common(s)
    s.add_argument("--streams", type=int, default=1)
    s.add_argument("--events", type=int, default=200)
    s.add_argument("--interval-ms", type=float, default=None)
    s.add_argument("--timeout", type=float, default=120.0)
    lp = sub.add_parser("loop", help="N clients streaming one request after another")
    _common(lp)
    lp.add_argument("--connections", type=int, default=1)
    lp.add_argument("--events", type=int, required=True, help="events each answer must bring")
    lp.add_argument("--duration", type=float, default=5.0)
    lp.add_argument("--timeout", type=float, default=60.0)
    h = sub.add_parser("http", help="non-streaming fallback when wrk is missing")
    _common(h)
    h.add_argument("--connections", type=int, default=1)
    h.add_argument("--duration", type=float, default=5.0)
    h.add_argument("--body", help="the request body as text")
    args = ap.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        ap.error("loopback only")
    return args


def request_body(args):
    if args.body_file:
        with open(args.body_file, "rb") as f:
            return f.read()
    if args.cmd == "http":
        return args.body.encode()
    from bodies import stream_body   # bench/bodies.py, next to this file
    return stream_body(args.events, args.interval_ms)


def main(argv=None):
    args = parse(argv)
    body = request_body(args)
    if args.cmd == "stream":
        result = run_streams(args.host, args.port, args.path, body, args.streams, args.events, args.timeout)
    elif args.cmd == "loop":
        result = run_stream_loop(args.host, args.port, args.path, body, args.connections, args.events,
                                 args.duration, args.timeout)
    else:
        result = run_http(args.host, args.port, args.path, body, args.connections, args.duration)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
