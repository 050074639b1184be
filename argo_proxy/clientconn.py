"""Reading from a client connection with deadlines, and closing it without losing the answer.

A per-read timeout cannot stop a client that sends its request head one byte a second: the
reader also keeps a deadline for the whole head (armed by its first byte) and for the body
(by its size). A server that answers before reading the body (401, 404, 413...) and then
closes makes the kernel reset the connection, destroying the answer: `linger` reads and drops
what the client still sends, bounded in bytes and time, before the close.
"""

from __future__ import annotations

import io
import socket
import time

MIN_BODY_RATE = 100_000      # bytes/s a request body must at least arrive at
LINGER_BYTES = 64 * 1024 * 1024
LINGER_SECONDS = 2.0


class DeadlineReader(io.RawIOBase):
    """The client socket as a raw stream whose reads respect an idle timeout and a deadline."""

    def __init__(self, sock, idle):
        super().__init__()
        self.sock = sock
        self.idle = idle
        self.deadline = None
        self.expired = False
        self._arm = None     # seconds: the deadline starts with the next byte that arrives

    def readable(self):
        return True

    def arm(self, seconds):
        """A deadline of `seconds` from the first byte of what comes next (a request head)."""
        self.deadline, self._arm, self.expired = None, seconds, False

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
        if self.sock.gettimeout() != timeout:
            self.sock.settimeout(timeout)
        try:
            count = self.sock.recv_into(buf)
        except socket.timeout:
            if self.deadline is not None and time.monotonic() >= self.deadline - 0.01:
                self.expired = True   # the deadline, not the idle timeout, ran out
            raise
        if self._arm is not None and count:
            self.deadline, self._arm = time.monotonic() + self._arm, None
        return count


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
