"""HTTP header fields, read straight from a connection's buffered reader.

One parser for both sides: the client's request head (server.py) and the upstream's answer
head (upstream.py). It replaces the stdlib's email.parser route, which costs tens of
microseconds per head. Strict where the email parser was lenient: a line without a colon, a
folded (obsolete) continuation line or a name that is not a token makes the head malformed.
"""

from __future__ import annotations

import re

MAX_LINE = 65536      # bytes per header line (as http.client)
MAX_FIELDS = 100      # header lines per head (as http.client)

_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")


class Refusal(Exception):
    """A request (or answer) head HTTP itself cannot accept: (status, message); 431 for one
    too large, 400 for one malformed."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Headers:
    """Header fields in order, looked up without regard to case; repeats kept. Offers the
    part of email.message.Message's interface the proxy uses (get, get_all, keys, items)."""

    __slots__ = ("_fields", "_first")

    def __init__(self, fields=()):
        self._fields = list(fields)   # [(name, value)] as received
        first = {}
        for name, value in self._fields:
            first.setdefault(name.lower(), value)
        self._first = first

    def get(self, name, default=None):
        return self._first.get(name.lower(), default)

    def __getitem__(self, name):
        return self._first.get(name.lower())

    def __contains__(self, name):
        return name.lower() in self._first

    def get_all(self, name, default=None):
        if name.lower() not in self._first:
            return default
        lowered = name.lower()
        return [v for n, v in self._fields if n.lower() == lowered]

    def keys(self):
        return [n for n, _ in self._fields]

    def values(self):
        return [v for _, v in self._fields]

    def items(self):
        return list(self._fields)

    def lowered(self):
        """The names, lower-cased (dict keys: each once)."""
        return self._first.keys()

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self._fields)

    def __repr__(self):
        return "Headers(%r)" % (self._fields,)


def read_headers(readline) -> Headers:
    """Header lines up to the blank line, from `readline(limit)` (a buffered reader's).
    Raises Refusal: 431 for a line or count over the limits, 400 for a malformed line."""
    fields = []
    while True:
        line = readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise Refusal(431, "A header line is longer than %d bytes." % MAX_LINE)
        if line in (b"\r\n", b"\n", b""):
            return Headers(fields)
        if len(fields) >= MAX_FIELDS:
            raise Refusal(431, "More than %d header lines." % MAX_FIELDS)
        text = line.decode("latin-1")
        name, colon, value = text.partition(":")
        if not colon or not _NAME.match(name):
            raise Refusal(400, "Malformed header line %r." % text.rstrip("\r\n")[:60])
        fields.append((name, value.strip(" \t\r\n")))
