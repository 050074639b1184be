"""One exception type for every failure the proxy reports, and its client envelopes."""

from __future__ import annotations

import json

# Default OpenAI error "type" for a status; routes may pass their own.
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    502: "upstream_error",
    503: "upstream_unavailable",
    504: "upstream_timeout",
}

_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}

# HTTP status -> google.rpc.Code name, as Google's error envelopes spell it.
_GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 402: "FAILED_PRECONDITION",
                  403: "PERMISSION_DENIED", 404: "NOT_FOUND", 405: "INVALID_ARGUMENT",
                  408: "DEADLINE_EXCEEDED", 409: "ABORTED", 412: "FAILED_PRECONDITION",
                  413: "INVALID_ARGUMENT", 415: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED",
                  499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED", 502: "INTERNAL",
                  503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED", 529: "UNAVAILABLE"}


def google_status(status) -> str:
    """The google.rpc status name for an HTTP status."""
    found = _GOOGLE_STATUS.get(status)
    if found:
        return found
    return "INVALID_ARGUMENT" if isinstance(status, int) and status < 500 else "INTERNAL"


NETWORK_HINT = ("Argo is only reachable from the ANL network, over the VPN, "
                "or through an SSH tunnel.")


# Whose failure it is: the client's request, the proxy itself, Argo (or another upstream
# server), the network between, or a tool the proxy ran.
SOURCES = ("client", "proxy", "upstream", "network", "tool")


class ProxyError(Exception):
    """A failure with an HTTP status, shown to the client in its own error format.

    headers: extra response headers (e.g. Allow, Retry-After); retryable: the upstream
    client may try again (nothing reached the server); source: one of SOURCES.
    """

    def __init__(self, status: int, message: str, type: str | None = None,
                 param: str | None = None, code: str | None = None, source: str | None = None,
                 headers: dict | None = None, retryable: bool = False, upstream_status=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        self.param = param
        self.code = code
        self.source = source or ("client" if status < 500 else "proxy")
        self.headers = headers or {}
        self.retryable = retryable
        self.upstream_status = upstream_status   # the upstream's own status, when it differs

    def openai_body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type,
                          "param": self.param, "code": self.code}}

    def anthropic_body(self) -> dict:
        kind = _ANTHROPIC_TYPES.get(self.status) or (
            "invalid_request_error" if self.status < 500 else "api_error")
        return {"type": "error", "error": {"type": kind, "message": self.message}}

    def google_body(self) -> dict:
        return {"error": {"code": self.status, "message": self.message,
                          "status": google_status(self.status)}}

    def body(self, style: str = "openai") -> dict:
        if style == "anthropic":
            return self.anthropic_body()
        return self.google_body() if style == "google" else self.openai_body()


def attribution(err, upstream_name="Argo") -> str:
    """Whose failure an error is, in words for its message."""
    if err.source == "upstream":
        return "%s answered HTTP %d" % (upstream_name, err.upstream_status or err.status)
    return {"client": "a problem with the request", "network": "a network problem",
            "tool": "a tool failed"}.get(err.source, "a proxy error")


def in_context(err, request_id=None, upstream_name="Argo"):
    """A copy of err whose message ends with the request id and whose failure it is."""
    if not request_id or err.message.endswith(")") and request_id in err.message:
        return err
    told = ProxyError.__new__(type(err))
    told.__dict__.update(err.__dict__)
    told.args = err.args
    told.message = "%s (request %s; %s)" % (err.message, request_id, attribution(err, upstream_name))
    return told


def in_context_body(data: bytes, err, request_id, upstream_name="Argo") -> bytes:
    """An upstream's own JSON error body, relayed, with its message in context (as
    in_context); the body keeps its shape. Bodies without a message string are unchanged."""
    try:
        obj = json.loads(data)
    except ValueError:
        return data
    holder = obj.get("error") if isinstance(obj, dict) and isinstance(obj.get("error"), dict) else obj
    for key in ("message", "detail"):
        if isinstance(holder, dict) and isinstance(holder.get(key), str):
            told = ProxyError(err.status, holder[key], source=err.source,
                              upstream_status=err.upstream_status)
            holder[key] = in_context(told, request_id, upstream_name).message
            return json.dumps(obj).encode("utf-8")
    return data


def error_bytes(err: ProxyError, style: str = "openai") -> bytes:
    return json.dumps(err.body(style)).encode("utf-8")


def upstream_message(status: int, body: bytes) -> str:
    """The upstream's own error message, dug out of the common envelopes."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:500] or "HTTP %d with an empty body" % status
    found = _find_message(data)
    return found if found else text[:500]


def _find_message(data) -> str | None:
    if isinstance(data, str):
        return data
    if not isinstance(data, dict):
        return None
    for key in ("error", "detail", "message"):
        if key in data:
            inner = data[key]
            found = _find_message(inner) if isinstance(inner, dict) else inner
            if isinstance(found, str) and found:
                return found
            if inner is not None and not isinstance(inner, dict):
                return json.dumps(inner)
    return None
