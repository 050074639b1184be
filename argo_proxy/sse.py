"""Server-sent events: encoding, incremental decoding, keep-alive comments."""

from __future__ import annotations

import codecs
import json

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"


def encode(obj) -> bytes:
    """One `data:` event carrying compact JSON."""
    return b"data: " + json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n\n"


def encode_named(event: str, obj) -> bytes:
    """An `event:` + `data:` pair (Anthropic and Responses style)."""
    return ("event: %s\n" % event).encode("ascii") + encode(obj)


class EventSplitter:
    """Cuts a byte stream into whole SSE events, keeping every byte as sent.

    Events end at a blank line (LF or CRLF style). Bytes after the last
    blank line stay buffered until more arrive or `rest()` is called.
    """

    def __init__(self):
        self._buf = b""

    def feed(self, data: bytes) -> list:
        self._buf += data
        events = []
        start = 0
        while True:
            end = _event_end(self._buf, start)
            if end < 0:
                break
            events.append(self._buf[start:end])
            start = end
        self._buf = self._buf[start:]
        return events

    def rest(self) -> bytes:
        left, self._buf = self._buf, b""
        return left


def _event_end(buf: bytes, start: int) -> int:
    """Index just past the first event terminator at or after start, or -1."""
    best = -1
    for sep in (b"\n\n", b"\r\n\r\n", b"\r\r"):
        i = buf.find(sep, start)
        if i >= 0 and (best < 0 or i + len(sep) < best):
            best = i + len(sep)
    return best


def event_data(raw: bytes) -> str | None:
    """The joined `data:` lines of one raw event, or None if it has none."""
    lines = raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    parts = []
    for line in lines:
        if line.startswith("data:"):
            value = line[5:]
            parts.append(value[1:] if value.startswith(" ") else value)
    return "\n".join(parts) if parts else None


def utf8_decoder():
    """Incremental decoder: a character split across reads comes out whole."""
    return codecs.getincrementaldecoder("utf-8")(errors="replace")


def json_events(raw_chunks):
    """OpenAI-style stream → the JSON object of each `data:` event, until [DONE] or the end.
    A malformed event or an in-stream error event raises ProxyError (502 / its status)."""
    from .errors import ProxyError
    splitter = EventSplitter()
    for raw in raw_chunks:
        for event in splitter.feed(raw):
            data = event_data(event)
            if data is None or not data.strip():
                continue
            if data.strip() == "[DONE]":
                return
            try:
                obj = json.loads(data)
            except ValueError:
                raise ProxyError(502, "The upstream stream has a malformed event: %r" % data[:200],
                                 code="upstream_invalid_stream")
            if isinstance(obj, dict) and isinstance(obj.get("error"), dict):
                err = obj["error"]
                raise ProxyError(502, "The upstream stream failed: %s" % (err.get("message") or err),
                                 code=err.get("code") or "upstream_error")
            yield obj
