"""Reading from a client connection with deadlines, and closing it without losing the answer.

A per-read timeout cannot stop a client that sends its request head one byte a second: the
reader also keeps a deadline for the whole head (armed by its first byte) and for the body
(by its size). A server that answers before reading the body (401, 404, 413...) and then
closes makes the kernel reset the connection, destroying the answer: `linger` reads and drops
what the client still sends, bounded in bytes and time, before the close.
"""

from __future__ import annotations

import io
import re
import socket
import time

from . import timeouts
from .headers import Refusal

MIN_BODY_RATE = 100_000      # bytes/s a request body must at least arrive at
LINGER_BYTES = 64 * 1024 * 1024
LINGER_SECONDS = 2.0


class DeadlineReader(io.RawIOBase):
    """The client socket as a raw stream whose reads respect an idle timeout and a deadline."""

    def __init__(self, sock, idle, kernel=False):
        super().__init__()
        self.sock = sock
        self.idle = idle
        self.kernel = kernel   # the kernel times reads out (timeouts.use_kernel was called)
        self._limit = idle
        self.deadline = None
        self.expired = False
        self.eof = False     # the client closed its side (a head cut short, if while parsing)
        self._arm = None     # seconds: the deadline starts with the next byte that arrives

    def readable(self):
        return True

    def arm(self, seconds):
        """A deadline of `seconds` from the first byte of what comes next (a request head)."""
        self.deadline, self._arm, self.expired, self.eof = None, seconds, False, False

    def set_deadline(self, seconds):
        self.deadline, self._arm = (None if seconds is None else time.monotonic() + seconds), None

    def readinto(self, buf):
        timeout = self.idle
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.expired = True
                raise socket.timeout("the request did not arrive in time")
            timeout = min(timeout, left)
        self._set_limit(timeout)
        try:
            count = self.sock.recv_into(buf)
        except OSError as exc:
            if not timeouts.timed_out(exc):
                raise
            if self.deadline is not None and time.monotonic() >= self.deadline - 0.01:
                self.expired = True   # the deadline, not the idle timeout, ran out
            raise socket.timeout("timed out") from None
        if self._arm is not None and count:
            self.deadline, self._arm = time.monotonic() + self._arm, None
        self.eof = self.eof or not count
        return count


    def _set_limit(self, timeout):
        if self.kernel:
            if timeout != self._limit:   # a system call, but no GIL release and no poll per read
                timeouts.set_read(self.sock, timeout)
                self._limit = timeout
        elif self.sock.gettimeout() != timeout:
            self.sock.settimeout(timeout)


def body_seconds(length, head_timeout):
    """How long a body of `length` bytes may take to arrive."""
    return head_timeout + max(0, length) / MIN_BODY_RATE


def linger(sock, rfile, expected=LINGER_BYTES):
    """After an answer given before the body was read: stop sending, then read and drop what
    the client still sends (at most `expected` bytes or LINGER_SECONDS) so the close does not
    reset the connection before the client has read the answer."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return
    deadline = time.monotonic() + LINGER_SECONDS
    left = min(max(expected, 0), LINGER_BYTES) + 65536
    try:
        while left > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            sock.settimeout(remaining)
            data = rfile.read1(min(65536, left))
            if not data:
                return
            left -= len(data)
    except (OSError, ValueError):
        return


# -- what a request head and body must look like (RFC 9110/9112, strictly) ---------------

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_VERSION = re.compile(r"HTTP/\d\.\d\Z")
_DIGITS = re.compile(r"[0-9]{1,19}\Z")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}\Z")


def check_head(command, version, headers):
    """Raise Refusal for a head that is malformed or ambiguous (a smuggling risk)."""
    if not _TOKEN.match(command or ""):
        raise Refusal(400, "Malformed method %r." % (command or "")[:40])
    if not _VERSION.match(version or "") or version < "HTTP/1.0":   # HTTP/0.9 has no head at all
        raise Refusal(400, "Malformed or unsupported HTTP version %r." % (version or "")[:40])
    names = [name.lower() for name in headers.keys()]   # each a token (headers.read_headers)
    hosts = names.count("host")
    if hosts > 1 or (version == "HTTP/1.1" and not hosts):
        raise Refusal(400, "An HTTP/1.1 request needs exactly one Host header.")
    return body_length(headers, names)


def body_length(headers, names=None):
    """The body's length, None when chunked, 0 when there is none; Refusal when the framing
    is malformed, contradictory or a transfer coding other than chunked. names: the lowered
    header names, when the caller has them."""
    names = names if names is not None else [name.lower() for name in headers.keys()]
    codings = headers.get_all("Transfer-Encoding") or [] if "transfer-encoding" in names else []
    lengths = headers.get_all("Content-Length") or [] if "content-length" in names else []
    if codings:
        if [c.strip().lower() for c in ",".join(codings).split(",")] != ["chunked"]:
            raise Refusal(501, "Only the chunked transfer coding is supported, got %r."
                          % ",".join(codings)[:60])
        if lengths:
            raise Refusal(400, "Content-Length together with Transfer-Encoding is refused.")
        return None
    values = {v.strip() for v in lengths}
    if len(values) > 1:
        raise Refusal(400, "Conflicting Content-Length headers.")
    if not values:
        return 0
    value = values.pop()
    if not _DIGITS.match(value):
        raise Refusal(400, "Bad Content-Length header: %r" % value[:40])
    return int(value)


def chunk_size(line):
    """The size of the next chunk from its size line (extensions ignored); Refusal if bad."""
    token = line.split(b";", 1)[0].strip()
    if not line.endswith(b"\n") or not _CHUNK_SIZE.match(token):
        raise Refusal(400, "Malformed chunked request body.")
    return int(token, 16)
