"""Socket timeouts the kernel enforces (Linux), instead of Python's.

A Python-level timeout (sock.settimeout(x)) makes the socket non-blocking and puts a poll()
before every recv and send: a second system call and a second release of the GIL each time,
which at a few dozen concurrent requests costs more than the call itself. On Linux the same
limit can be left to the kernel (SO_RCVTIMEO / SO_SNDTIMEO on a blocking socket); a read that
runs out of time then fails with EAGAIN, which `RawReader` turns back into socket.timeout.
Elsewhere (macOS, TLS sockets) Python's timeouts stay in use.
"""

from __future__ import annotations

import errno
import io
import socket
import struct
import sys

KERNEL = sys.platform.startswith("linux") and hasattr(socket, "SO_RCVTIMEO")
_AGAIN = (errno.EAGAIN, errno.EWOULDBLOCK)


def _timeval(seconds) -> bytes:
    if seconds is None:
        return struct.pack("ll", 0, 0)   # 0: no limit
    seconds = max(seconds, 0.001)
    return struct.pack("ll", int(seconds), int((seconds % 1) * 1e6))


def use_kernel(sock, seconds) -> bool:
    """Let the kernel time this socket's reads and writes out after `seconds` (None: never).
    False (nothing changed) where that is not possible: the caller keeps settimeout."""
    if not KERNEL or not isinstance(sock, socket.socket) or hasattr(sock, "cipher"):
        return False
    sock.settimeout(None)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(seconds))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(seconds))
    return True


def set_read(sock, seconds):
    """A new read limit on a socket use_kernel() switched (one system call, no GIL release)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(seconds))


def timed_out(exc) -> bool:
    """Is this exception a read or write that ran out of time (either kind of timeout)?"""
    return isinstance(exc, socket.timeout) or (isinstance(exc, OSError) and exc.errno in _AGAIN)


class RawReader(io.RawIOBase):
    """A socket as a raw stream for io.BufferedReader, with EAGAIN raised as socket.timeout
    (socket.makefile's reader would report it as the end of the stream)."""

    def __init__(self, sock):
        super().__init__()
        self.sock = sock

    def readable(self):
        return True

    def readinto(self, buf):
        try:
            return self.sock.recv_into(buf)
        except OSError as exc:
            if exc.errno in _AGAIN:
                raise socket.timeout("timed out") from None
            raise
