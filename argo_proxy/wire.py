"""The upstream client's wire: the request head written in one pass, the answer head read
straight from the socket's buffer (headers.read_headers), the body by http.client.

http.client's connection classes are kept for what they do well (connecting, TLS, proxy
tunnels); its request builder and its email-based response parser are not used: together
they cost more CPU than the rest of a proxied request.
"""

from __future__ import annotations

import http.client
import io

from . import timeouts
from .headers import Refusal, read_headers

_UNSAFE = frozenset("\r\n\0")


class _Wire:
    """One buffered reader per connection, kept across its answers (http.client makes one
    per answer); closed with the connection."""

    reader = None
    kernel = None        # True: the kernel times reads out (timeouts.py); None: not decided yet
    read_limit = -1.0    # the read timeout in force (None: none)

    def write(self, data):
        self.sock.sendall(data)

    def limit(self, seconds):
        """Reads time out after `seconds` (None: never); the socket is touched only on change."""
        if seconds == self.read_limit:
            return
        if self.kernel is None:
            self.kernel = timeouts.use_kernel(self.sock, seconds)
        elif self.kernel:
            timeouts.set_read(self.sock, seconds)
        if not self.kernel:
            self.sock.settimeout(seconds)
        self.read_limit = seconds

    def answer(self, method) -> "Response":
        if self.reader is None:
            self.reader = io.BufferedReader(timeouts.RawReader(self.sock), 65536)
        return Response(_Source(self.reader), method=method)

    def close(self):
        reader, self.reader = self.reader, None
        self.kernel, self.read_limit = None, -1.0
        if reader is not None:
            reader.close()
        super().close()


class _Source:
    """What http.client's response asks of a socket: a reader (the connection's own)."""

    __slots__ = ("reader",)

    def __init__(self, reader):
        self.reader = reader

    def makefile(self, mode):
        return self.reader


class Connection(_Wire, http.client.HTTPConnection):
    """A plain TCP connection to one origin (or to a proxy)."""


class TLSConnection(_Wire, http.client.HTTPSConnection):
    """A TLS connection to one origin (or tunnelled through a proxy with CONNECT)."""


class Response(http.client.HTTPResponse):
    """http.client's response (body framing, chunked decoding, keep-alive) with a lean head
    parser: the status line by http.client, the header fields by headers.read_headers."""

    def begin(self):
        if self.headers is not None:
            return
        while True:
            version, status, reason = self._read_status()
            if status != 100:
                break
            self._fields()   # an interim answer's head: skipped
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = self._fields()
        self._framing(status)

    def _close_conn(self):
        self.fp = None   # the reader is the connection's: it stays open for the next answer

    def _fields(self):
        try:
            return read_headers(self.fp.readline)
        except Refusal as exc:
            raise http.client.HTTPException(exc.message)

    def _framing(self, status):
        """chunked, length and will_close, as RFC 9112 section 6.3 orders them."""
        coding = self.headers.get("Transfer-Encoding")
        self.chunked = bool(coding) and coding.strip().lower() == "chunked"
        self.chunk_left = None
        self.will_close = self._check_close()
        self.length = None
        length = self.headers.get("Content-Length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            if self.length is not None and self.length < 0:
                self.length = None
        if status in (204, 304) or 100 <= status < 200 or self._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True


def request_head(method, target, host, headers, body) -> bytes:
    """The request's head as bytes: request line, Host (unless given), the headers, and
    Content-Length for a body (or an empty POST/PUT/PATCH). ValueError for a header that
    would break the head (CR, LF or NUL) or is not Latin-1."""
    lines = ["%s %s HTTP/1.1" % (method, target)]
    given = set()
    for name, value in headers.items():
        value = str(value)
        if _UNSAFE.intersection(name) or _UNSAFE.intersection(value):
            raise ValueError("header %r has a line break or NUL in it" % name)
        given.add(name.lower())
        lines.append("%s: %s" % (name, value))
    if "host" not in given:
        lines.insert(1, "Host: " + host)
    if "content-length" not in given and (body is not None or method in ("POST", "PUT", "PATCH")):
        lines.append("Content-Length: %d" % (len(body) if body is not None else 0))
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1")


def host_header(host, port, default_port) -> str:
    text = "[%s]" % host if ":" in host and not host.startswith("[") else host
    return text if port == default_port else "%s:%d" % (text, port)


def send(conn, head, body):
    """Head and body in one write when small (one packet), two when large (no copy)."""
    if body is None:
        conn.write(head)
    elif len(body) < 65536:
        conn.write(head + body)
    else:
        conn.write(head)
        conn.write(body)
