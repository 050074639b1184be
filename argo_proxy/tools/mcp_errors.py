"""The MCP client's exceptions, and the caller's cancellation that its waits watch.
It imports no other module of the package, so every mcp_*.py module may import it.
"""

from __future__ import annotations

WAIT_SLICE = 0.2               # how often a wait looks at the caller's cancel


class MCPError(Exception):
    """A protocol error or transport failure; str() names the server."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class ConnectionLost(MCPError):
    """The connection a request travelled on closed (or never opened) before its reply came.
    The HTTP transport starts a new session and sends the request once more."""


class RequestTimedOut(MCPError):
    """The request's deadline passed (the server was told with notifications/cancelled)."""


class RequestCancelled(MCPError):
    """The caller cancelled the request (its client went away)."""


class Fault(Exception):
    """A JSON-RPC error to answer a server's request with."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class TimedOut(Exception):
    """Raised by a transport that noticed the request's deadline pass (never leaves the client)."""


class Stop(Exception):
    """A wait ended early: the caller cancelled (or, in a task wait, the deadline passed).
    A transport raises it from _transmit when the caller's cancel stopped the exchange."""


def cancelled(cancel) -> bool:
    """Has the caller cancelled? (an upstream.Cancel, a threading.Event, or None)."""
    if cancel is None:
        return False
    flag = getattr(cancel, "cancelled", None)
    if flag is not None:
        return bool(flag)
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set()) if callable(is_set) else False

