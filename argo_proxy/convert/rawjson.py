"""A request's JSON object with the place of each top-level value, so that a body the proxy
only changes at the top (`model`, `user`) is re-sent as the client's own text with those
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


class Raw:
    """The text of a JSON object and where each top-level value lies in it."""

    __slots__ = ("text", "spans", "brace")

    def __init__(self, text, spans, brace):
        self.text = text
        self.spans = spans      # key -> (start, end) of its value in text
        self.brace = brace      # index of the opening brace

    def splice(self, body, changed) -> bytes | None:
        """body encoded as this text with the top-level keys `changed` set to body's values
        (added when new), or None when body has other changes at the top level."""
        if body.keys() - self.spans.keys() - set(changed) or self.spans.keys() - body.keys():
            return None
        pieces, pos, added = [], 0, []
        for key in sorted((k for k in changed if k in body), key=lambda k: self.spans.get(k, (-1,))[0]):
            value = json.dumps(body[key])
            if key not in self.spans:
                added.append("%s:%s," % (json.dumps(key), value))
                continue
            start, end = self.spans[key]
            pieces += [self.text[pos:start], value]
            pos = end
        pieces.append(self.text[pos:])
        text = "".join(pieces)
        if added:   # spliced before the values above, so every span still held
            text = text[:self.brace + 1] + "".join(added) + text[self.brace + 1:]
        return text.encode("utf-8")


def loads(data: bytes, decoder: json.JSONDecoder):
    """(value, Raw or None) for JSON bytes; ValueError as json.loads raises it. Raw is None
    when the value is not an object or repeats a top-level key (which one counts is the
    reader's choice: never spliced)."""
    text = data.decode(json.detect_encoding(data), "surrogatepass") if isinstance(data, bytes) else data
    try:
        return _object(text, decoder.scan_once)
    except (StopIteration, ValueError, IndexError):
        return decoder.decode(text), None   # not an object, or malformed: json's own error


def _object(text, scan):
    brace = _WS.match(text).end()
    if text[brace:brace + 1] != "{":
        raise ValueError("not an object")
    obj, spans = {}, {}
    pos = _WS.match(text, brace + 1).end()
    if text[pos:pos + 1] == "}":
        return _end(text, pos, obj, Raw(text, spans, brace))
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
            return _end(text, pos, obj, Raw(text, spans, brace))
        if sep != ",":
            raise ValueError("expected a comma")
        pos = _WS.match(text, pos + 1).end()


def _end(text, pos, obj, raw):
    if _WS.match(text, pos + 1).end() != len(text):
        raise ValueError("extra data")
    return obj, raw
