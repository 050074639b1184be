"""Server-sent events: encoding, incremental decoding, keep-alive comments."""

from __future__ import annotations

import codecs
import json

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"


def json_bytes(obj) -> bytes:
    """Compact JSON as UTF-8 (a lone surrogate, which UTF-8 cannot carry, is escaped)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, separators=(",", ":")).encode("ascii")


def encode(obj) -> bytes:
    """One `data:` event carrying compact JSON."""
    return b"data: " + json_bytes(obj) + b"\n\n"


def encode_named(event: str, obj) -> bytes:
    """An `event:` + `data:` pair (Anthropic and Responses style)."""
    return ("event: %s\n" % event).encode("ascii") + encode(obj)


_SEPARATORS = (b"\n\n", b"\r\n\r\n", b"\r\r")


class EventSplitter:
    """Cuts a byte stream into whole SSE events, keeping every byte as sent.

    Events end at a blank line (LF, CRLF or CR style). Bytes after the last blank line
    stay buffered until more arrive or `rest()` is called. Linear in the bytes fed: each
    separator is searched once per feed, and bytes already searched are not searched again.
    """

    def __init__(self):
        self._buf = bytearray()
        self._searched = 0  # no separator starts before this offset of the buffer

    def feed(self, data: bytes) -> list:
        buf = self._buf
        buf += data
        events = []
        start = 0
        found = {}
        while True:
            end = self._next_end(buf, start, found)
            if end < 0:
                break
            events.append(bytes(buf[start:end]))
            start = end
        del buf[:start]
        self._searched = max(0, len(buf) - 3)  # a separator may straddle the next read
        return events

    def _next_end(self, buf, start, found):
        best = -1
        for sep in _SEPARATORS:
            at = found.get(sep, -2)
            if at == -2 or (at >= 0 and at < start):
                at = buf.find(sep, max(start, self._searched))
                found[sep] = at
            if at >= 0 and (best < 0 or at + len(sep) < best):
                best = at + len(sep)
        return best

    def rest(self) -> bytes:
        left = bytes(self._buf)
        self._buf = bytearray()
        self._searched = 0
        return left


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
                for _ in raw_chunks:  # read to the end so the connection can be reused
                    pass
                return
            try:
                obj = json.loads(data)
            except ValueError:
                obj = None
            if not isinstance(obj, dict):
                raise ProxyError(502, "The upstream stream has a malformed event: %r" % data[:200],
                                 code="upstream_invalid_stream")
            if isinstance(obj, dict) and isinstance(obj.get("error"), dict):
                err = obj["error"]
                raise ProxyError(502, "The upstream stream failed: %s" % (err.get("message") or err),
                                 code=err.get("code") or "upstream_error")
            yield obj
