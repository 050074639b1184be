"""A request's JSON object with the place of each top-level value, so that a body the proxy
only changes at the top (`model`, `user`) is re-sent as the client's own bytes with those
values replaced, instead of being encoded again whole: a coding agent's request carries
its whole conversation, 100 KB to megabytes, and encoding it costs more than the rest of
the request.

Parsing costs what json.loads costs: the top level is walked here, every value is decoded
by the json module's C scanner (the same one json.loads uses).
"""

from __future__ import annotations

import json
import re

_WS = re.compile(r"[ \t\n\r]*")
WORTH_IT = 8192   # bytes: below this, encoding a body again costs less than walking its top level


class Raw:
    """A JSON object's own bytes (UTF-8) and where each top-level value lies in them."""

    __slots__ = ("data", "spans", "brace")

    def __init__(self, data, spans, brace):
        self.data = data
        self.spans = spans      # key -> (start, end): byte offsets of its value in data
        self.brace = brace      # byte offset of the opening brace

    def splice(self, body, changed) -> bytes | None:
        """body encoded as these bytes with the top-level keys `changed` set to body's values
        (added after the brace when new), or None when body has other changes at the top level."""
        if body.keys() - self.spans.keys() - set(changed) or self.spans.keys() - body.keys():
            return None
        added = b"".join(b"%s:%s," % (json.dumps(k).encode(), json.dumps(body[k]).encode())
                         for k in changed if k in body and k not in self.spans)
        edits = [(self.brace + 1, self.brace + 1, added)] if added else []
        edits += [self.spans[k] + (json.dumps(body[k]).encode(),) for k in changed if k in self.spans]
        view, pieces, pos = memoryview(self.data), [], 0
        for start, end, value in sorted(edits):
            pieces += [view[pos:start], value]
            pos = end
        pieces.append(view[pos:])
        return b"".join(pieces)   # one copy of the client's bytes, nothing decoded or encoded


def loads(data: bytes, decoder: json.JSONDecoder):
    """(value, Raw or None) for JSON bytes; ValueError as json.loads raises it. Raw is None
    when the value is not an object, repeats a top-level key (which one counts is the
    reader's choice: never spliced), or is not plain UTF-8."""
    encoding = json.detect_encoding(data)
    text = data.decode(encoding, "surrogatepass")
    try:
        obj, spans, brace = _object(text, decoder.scan_once)
    except (StopIteration, ValueError, IndexError):
        return decoder.decode(text), None   # not an object, or malformed: json's own error
    if encoding != "utf-8":
        return obj, None
    if len(text) != len(data):   # not ASCII: character offsets -> byte offsets
        spans, brace = _byte_offsets(text, spans, brace)
    return obj, Raw(data, spans, brace)


def _byte_offsets(text, spans, brace):
    """The same places counted in UTF-8 bytes (one pass over the text, in C)."""
    marks = sorted({brace} | {i for span in spans.values() for i in span})
    where, chars, count = {}, 0, 0
    for mark in marks:
        count += len(text[chars:mark].encode("utf-8", "surrogatepass"))
        where[mark], chars = count, mark
    return {k: (where[a], where[b]) for k, (a, b) in spans.items()}, where[brace]


def _object(text, scan):
    brace = _WS.match(text).end()
    if text[brace:brace + 1] != "{":
        raise ValueError("not an object")
    obj, spans = {}, {}
    pos = _WS.match(text, brace + 1).end()
    if text[pos:pos + 1] == "}":
        return _end(text, pos, obj, spans, brace)
    while True:
        if text[pos:pos + 1] != '"':
            raise ValueError("expected a key")
        key, pos = scan(text, pos)
        pos = _WS.match(text, pos).end()
        if text[pos:pos + 1] != ":":
            raise ValueError("expected a colon")
        start = _WS.match(text, pos + 1).end()
        obj[key], end = scan(text, start)
        if key in spans:
            raise ValueError("a repeated key")
        spans[key] = (start, end)
        pos = _WS.match(text, end).end()
        sep = text[pos:pos + 1]
        if sep == "}":
            return _end(text, pos, obj, spans, brace)
        if sep != ",":
            raise ValueError("expected a comma")
        pos = _WS.match(text, pos + 1).end()


def _end(text, pos, obj, spans, brace):
    if _WS.match(text, pos + 1).end() != len(text):
        raise ValueError("extra data")
    return obj, spans, brace
