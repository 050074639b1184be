#!/usr/bin/env python3
"""Fast fake Argo upstream for the benchmark (standard library only, asyncio).

One event loop, a hand-written HTTP/1.1 parser, keep-alive, TCP_NODELAY. It answers:

  POST /v1/chat/completions          native OpenAI chat: JSON, or SSE when "stream": true
  POST /v1/embeddings                native embeddings (tiny vector)
  GET  /v1/models                    native model list
  GET  /api/v1/models/               legacy model list (new format: display id + internal_id)
  POST /api/v1/resource/chat/        legacy chat      -> {"response": "..."}
  POST /api/v1/resource/streamchat/  legacy stream    -> text/plain, chunked raw text
  POST /api/v1/resource/embed/       legacy embed     -> {"embedding": [[...]]}
  GET  /health                       {"status": "ok"}
  GET  /_bench/stats                 connections accepted, requests served, open streams

Tool rounds: with `"bench_call_tool": "add"` in a non-streaming chat body, the fake model calls the
offered tool whose name ends in "add" (arguments {"a": 2, "b": 3}) unless the last message is a
tool result, in which case it answers with text.

Streams: the number of content events and the time between them come from a marker
`[bench events=N interval_ms=X]` in the messages (gateways may drop or rename body keys; argo-proxy
3.3.3 does), else from `max_tokens` / `max_completion_tokens` and `bench_interval_ms` in the body,
else --events / --interval-ms. Events are sent on a fixed schedule (first one at once, later ones
shifted by a per-stream phase so that concurrent streams do not emit in lock-step).

Big bodies: requests of any size are taken (a coding agent sends megabytes). Bodies over 64 KB are
not parsed as JSON, only scanned for `"stream": true` and the marker, so that the fake stays far
cheaper than any gateway in front of it. Every content
event carries the time it was written, as `[t=SECONDS]` inside its text, where SECONDS is
time.monotonic() (CLOCK_MONOTONIC: comparable across processes on the same machine). A client
computes relay lag as its own time.monotonic() at arrival minus that stamp.

Run: python3 bench/fake_upstream.py --port 0   -> prints FAKE_URL=http://127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import socket
import sys
import time

MODELS = (
    ("gpt4o", "GPT-4o", "openai"),
    ("gpt41", "GPT-4.1", "openai"),
    ("gpt5", "GPT-5", "openai"),
    ("claudesonnet45", "Claude Sonnet 4.5", "anthropic"),
    ("gemini25pro", "Gemini 2.5 Pro", "google"),
    ("v3small", "text-embedding-3-small", "openai"),
    ("v3large", "text-embedding-3-large", "openai"),
)

REPLY_TEXT = "Hello! I am a fake model answering as fast as I can. How can I help you today?"

CHAT_JSON = json.dumps({
    "id": "chatcmpl-bench0001", "object": "chat.completion", "created": 1700000000,
    "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY_TEXT,
                                          "refusal": None, "annotations": []},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 19, "total_tokens": 31},
    "system_fingerprint": "fp_bench",
}, separators=(",", ":")).encode()

LEGACY_JSON = json.dumps({"response": REPLY_TEXT}).encode()


def tool_call_json(name):
    """A chat.completion whose assistant turn calls `name` with {"a": 2, "b": 3}."""
    return json.dumps({
        "id": "chatcmpl-bench0003", "object": "chat.completion", "created": 1700000000,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "refusal": None,
                                              "tool_calls": [{"id": "call_bench1", "type": "function",
                                                              "function": {"name": name,
                                                                           "arguments": "{\"a\":2,\"b\":3}"}}]},
                     "logprobs": None, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52},
    }, separators=(",", ":")).encode()


def wanted_tool(req):
    """Name of the tool to call: with `"bench_call_tool": "add"` in the body, the first offered
    tool whose name ends with that word, unless the conversation already ends with a tool result."""
    want = req.get("bench_call_tool")
    if not isinstance(want, str) or not want:
        return None
    msgs = req.get("messages")
    if isinstance(msgs, list) and msgs and isinstance(msgs[-1], dict) and msgs[-1].get("role") == "tool":
        return None
    for tool in req.get("tools") or []:
        name = ((tool or {}).get("function") or {}).get("name") if isinstance(tool, dict) else None
        if isinstance(name, str) and name.endswith(want):
            return name
    return None
EMBED_LEGACY = json.dumps({"embedding": [[0.0125] * 16]}).encode()
EMBED_NATIVE = json.dumps({"object": "list", "model": "v3small", "usage": {"prompt_tokens": 1, "total_tokens": 1},
                           "data": [{"object": "embedding", "index": 0, "embedding": [0.0125] * 16}]}).encode()
MODELS_JSON = json.dumps({"object": "list", "data": [
    {"id": display, "object": "model", "created": 1700000000, "owned_by": owner, "internal_id": iid}
    for iid, display, owner in MODELS]}).encode()
NOT_FOUND = b'{"detail":"Not Found"}'

SSE_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
TEXT_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n")
SSE_PREFIX = (b'data: {"id":"chatcmpl-bench0002","object":"chat.completion.chunk","created":1700000000,'
              b'"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_bench","choices":[{"index":0,'
              b'"delta":{"content":"')
SSE_SUFFIX = b'"},"logprobs":null,"finish_reason":null}]}\n\n'
SSE_FINAL = (b'data: {"id":"chatcmpl-bench0002","object":"chat.completion.chunk","created":1700000000,'
             b'"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_bench","choices":[{"index":0,'
             b'"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n')

REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found", 405: b"Method Not Allowed"}


class Stats:
    connections = 0
    requests = 0
    open_streams = 0
    peak_streams = 0
    streams_started = 0


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class Conn(asyncio.Protocol):
    def __init__(self, opts):
        self.opts = opts
        self.buf = bytearray()
        self.head = None       # (method, target, body start, length, chunked, close) once parsed
        self.transport = None
        self.busy = False      # a streamed answer is in progress: later requests wait
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        Stats.connections += 1

    def connection_lost(self, exc):
        self.closed = True

    def data_received(self, data):
        self.buf += data
        if not self.busy:
            self._process()

    def _process(self):
        while not self.busy and not self.closed:
            if self.head is None and not self._read_head():
                return
            method, target, start, length, chunked, close = self.head
            if chunked:
                body, consumed = _dechunk(self.buf, start)
                if body is None:
                    return
                del self.buf[:consumed]
            else:
                if len(self.buf) - start < length:
                    return
                body = bytes(self.buf[start:start + length])
                del self.buf[:start + length]
            self.head = None
            Stats.requests += 1
            self._route(method, target, body, close)

    def _read_head(self):
        """Parse the request head once it is complete: True when self.head is set."""
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buf) > 65536:
                self._simple(400, b'{"detail":"header too large"}', close=True)
            return False
        lines = self.buf[:end].decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            self._simple(400, b'{"detail":"bad request line"}', close=True)
            return False
        length, chunked, close = 0, False, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip() or 0)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        self.head = (method, target, end + 4, length, chunked, close)
        return True

    def _simple(self, status, body, ctype=b"application/json", close=False):
        head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n" % (
            status, REASONS.get(status, b"Error"), ctype, len(body))
        if close:
            head += b"Connection: close\r\n"
        self.transport.write(head + b"\r\n" + body)
        if close:
            self.transport.close()
            self.closed = True

    def _route(self, method, target, body, close):
        path = target.split("?", 1)[0]
        if method == "POST":
            if path == "/v1/chat/completions":
                req = _chat_request(body)
                if req.get("stream"):
                    self._stream(req, sse=True, close=close)
                else:
                    tool = wanted_tool(req)
                    self._simple(200, tool_call_json(tool) if tool else CHAT_JSON, close=close)
                return
            if path == "/api/v1/resource/chat/":
                self._simple(200, LEGACY_JSON, close=close)
                return
            if path == "/api/v1/resource/streamchat/":
                self._stream(_json(body), sse=False, close=close)
                return
            if path == "/api/v1/resource/embed/":
                self._simple(200, EMBED_LEGACY, close=close)
                return
            if path == "/v1/embeddings":
                self._simple(200, EMBED_NATIVE, close=close)
                return
        elif method in ("GET", "HEAD"):
            if path in ("/v1/models", "/v1/models/", "/api/v1/models", "/api/v1/models/"):
                self._simple(200, MODELS_JSON, close=close)
                return
            if path == "/health":
                self._simple(200, b'{"status":"ok"}', close=close)
                return
            if path == "/_bench/stats":
                stats = {"connections": Stats.connections, "requests": Stats.requests,
                         "open_streams": Stats.open_streams, "peak_streams": Stats.peak_streams}
                self._simple(200, json.dumps(stats).encode(), close=close)
                return
            if path == "/_bench/reset":
                Stats.connections, Stats.requests, Stats.peak_streams = 0, 0, Stats.open_streams
                self._simple(200, b"{}", close=close)
                return
        self._simple(404, NOT_FOUND, close=close)

    def _stream(self, req, sse, close):
        events, interval = _stream_shape(req, self.opts)
        self.busy = True
        asyncio.get_running_loop().create_task(self._run_stream(events, interval / 1000.0, sse, close))

    async def _run_stream(self, events, interval, sse, close):
        loop = asyncio.get_running_loop()
        Stats.open_streams += 1
        Stats.peak_streams = max(Stats.peak_streams, Stats.open_streams)
        Stats.streams_started += 1
        # Spread streams over the interval (golden-ratio phases) so that streams started together
        # do not emit in lock-step bursts; the first event still goes out at once.
        phase = (Stats.streams_started * 0.6180339887498949) % 1.0 * interval
        try:
            write = self.transport.write
            write(SSE_HEAD if sse else TEXT_HEAD)
            start = loop.time()
            for i in range(events):
                if i:
                    delay = start + phase + i * interval - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                if self.closed:
                    return
                text = b" w%d[t=%.6f]" % (i, time.monotonic())
                write(_chunk(SSE_PREFIX + text + SSE_SUFFIX) if sse else _chunk(text))
            if self.closed:
                return
            write((_chunk(SSE_FINAL) if sse else b"") + b"0\r\n\r\n")
            if close:
                self.transport.close()
                self.closed = True
        finally:
            Stats.open_streams -= 1
            self.busy = False
        if not self.closed and self.buf:
            self._process()


MARKER = re.compile(rb"\[bench events=(\d+)(?: interval_ms=([0-9.]+))?\]")
STREAM_VALUE = re.compile(rb'\s*:\s*true')
LIGHT_PARSE_ABOVE = 65536


def _chat_request(body):
    """The parts of a chat request the fake needs. A big body (a whole agent conversation) is not
    parsed: only `"stream": true` and the marker are looked for, so that the fake stays cheap."""
    if len(body) <= LIGHT_PARSE_ABOVE:
        req = _json(body)
        found = MARKER.search(body)
    else:
        req = {"stream": _stream_key_true(body)}
        found = MARKER.search(body, max(0, len(body) - 8192)) or MARKER.search(body)
    if found:
        req["_bench_events"] = int(found.group(1))
        if found.group(2) is not None:
            req["_bench_interval_ms"] = float(found.group(2))
    return req


def _stream_key_true(body):
    """Whether `"stream": true` is in the body as a key (inside a JSON string its quotes are escaped)."""
    pos = body.find(b'"stream"')
    while pos >= 0:
        if (pos == 0 or body[pos - 1] != 0x5C) and STREAM_VALUE.match(body, pos + 8):
            return True
        pos = body.find(b'"stream"', pos + 8)
    return False


def _stream_shape(req, opts):
    """(events, interval in ms) of a stream: from the marker `[bench events=N interval_ms=X]` in
    the messages, else max_tokens / max_completion_tokens and bench_interval_ms, else the defaults."""
    events = req.get("_bench_events") or req.get("max_tokens") or req.get("max_completion_tokens")
    if not isinstance(events, int) or events <= 0:
        events = opts.events
    interval = req.get("_bench_interval_ms", req.get("bench_interval_ms"))
    if not isinstance(interval, (int, float)) or interval < 0:
        interval = opts.interval_ms
    return events, interval


def _json(body):
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _dechunk(buf, pos):
    """(body, end offset) of a chunked body starting at pos, or (None, 0) if incomplete."""
    parts = []
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None, 0
        size = int(buf[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            end = buf.find(b"\r\n", pos)
            if end < 0:
                return None, 0
            return b"".join(parts), end + 2
        if len(buf) < pos + size + 2:
            return None, 0
        parts.append(buf[pos:pos + size])
        pos += size + 2


async def serve(opts):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Conn(opts), "127.0.0.1", opts.port,
                                      backlog=4096, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    print("FAKE_URL=http://127.0.0.1:%d" % port, flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--events", type=int, default=200, help="content events per stream (default 200)")
    ap.add_argument("--interval-ms", type=float, default=20.0, help="time between events (default 20)")
    opts = ap.parse_args(argv)
    try:
        asyncio.run(serve(opts))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
