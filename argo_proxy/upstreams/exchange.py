"""What every adapter does on the wire: send with the client's disconnect wired to a cancel,
hold the client's stream open while waiting, and relay an answer byte for byte."""

from __future__ import annotations

from .. import observe
from ..convert import usage
from ..errors import ProxyError, in_context_body, upstream_message
from ..sse import DONE, EventSplitter

# Client headers worth passing on to an OpenAI/Anthropic-compatible upstream.
FORWARDED = ("Accept", "OpenAI-Beta", "anthropic-version", "anthropic-beta")
# Upstream answer headers worth passing back, under the name the client sees (x-request-id is
# the proxy's own: the upstream's goes back as x-upstream-request-id).
RETURNED = (("Retry-After", "Retry-After"), ("x-request-id", "x-upstream-request-id"),
            ("openai-processing-ms", "openai-processing-ms"), ("request-id", "request-id"))


def forward_headers(call, own_key, streaming=False, content_type=None) -> dict:
    """The client's forwardable headers, an Authorization that is never this proxy's own key."""
    headers = {}
    for name in FORWARDED:
        value = call.req.header(name)
        if value and not (own_key and own_key in value):   # the proxy's key never leaves it
            headers[name] = value
    if streaming:
        headers["Accept"] = "text/event-stream"
    auth = call.req.header("Authorization") or ""
    if not auth or (own_key and own_key in auth):   # the proxy's key, in any scheme
        auth = "Bearer " + call.user
    headers["Authorization"] = auth
    ctype = content_type or call.req.header("Content-Type")
    if ctype:
        headers["Content-Type"] = ctype
    return headers


def send(client, call, url, body, headers, method="POST", hold=False):
    """One upstream request; a client disconnect cancels it at any stage. With hold=True (the
    client waits on a stream) the client stream may open early and carry keep-alives."""
    if hold:
        call.out.hold()
    else:
        call.out.watch()
    observe.note_sent(url, body)
    reply = client.request(method, url, body=body, headers=headers, cancel=call.cancel)
    observe.note_upstream_answer()
    return reply


def upstream_error(reply, data: bytes) -> ProxyError:
    """The upstream's failure, with its status and its own message."""
    observe.note_failed_answer(reply.status, data)
    return ProxyError(reply.status, upstream_message(reply.status, data), code="upstream_error",
                      source="upstream")


def relay(call, reply, streaming=False, check=None, done=False):
    """The upstream's status, content type and body reach the client unchanged. A whole
    answer is first given to check(reply, data), which may raise instead. done: an OpenAI
    chat stream, which ends with `data: [DONE]` even if the upstream (LlamaStack) leaves it out."""
    out = call.out
    ctype = reply.header("Content-Type") or ""
    if reply.status == 200 and (streaming or ctype.startswith("text/event-stream")):
        relay_stream(reply, out.open(200, ctype or None), done)
        return
    data = reply.read()
    if check is not None:
        check(reply, data)
    if reply.status == 200:
        _note_usage(usage.scan(data))
    elif reply.status >= 400:   # the upstream's own error, observed and put in context
        out.error = upstream_error(reply, data)
        data = in_context_body(data, out.error, out.request_id, out.upstream_name)
    extra = {theirs: reply.header(ours) for ours, theirs in RETURNED if reply.header(ours)}
    if not out.send(reply.status, data, ctype or None, extra):
        raise upstream_error(reply, data)   # keep-alives already went out with 200: say it in-stream


def relay_stream(reply, out, done=False):
    """Byte-exact relay: SSE one event per write, other streams one read per write."""
    splitter = EventSplitter()
    sse = (out.content_type or "").startswith("text/event-stream")
    last, counts = b"", {}
    for chunk in reply.iter_raw():
        if b"_tokens" in chunk:   # a usage report (OpenAI or Anthropic names)
            counts.update(usage.scan(chunk))
        for piece in (splitter.feed(chunk) if sse else (chunk,)):
            if not out.write(piece):
                reply.close()
                return
            last = piece if piece.strip() else last
    _note_usage(counts)
    rest = splitter.rest()
    out.write(rest)
    last = rest if rest.strip() else last
    if done and sse and last.strip() != DONE.strip():
        out.write(DONE)


def _note_usage(counts):
    if counts:
        observe.note_usage(counts.get("in"), counts.get("out"))
