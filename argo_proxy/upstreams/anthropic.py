"""Argo's Anthropic Messages API (`{base}messages`): the one path that keeps Claude's
thinking blocks with signatures, prompt caching and tool use intact.

The proxy changes only what Argo needs (the quirk table's "anthropic" rows, `user`, the
model id); everything else passes untouched and answers are relayed byte for byte, except:
a non-streaming request for more output than Argo answers without streaming is streamed
upstream and aggregated into one Message, and Argo's HTTP 200 answers that carry an error
body become that error's status.
"""

from __future__ import annotations

import json

from ..convert import quirks
from ..errors import ProxyError, upstream_message
from ..sse import EventSplitter, event_data
from . import exchange

STREAM_ABOVE = 21000   # Argo refuses non-streaming requests for more output tokens than this


class AnthropicUpstream:
    protocols = ("anthropic-messages",)

    def __init__(self, client, base_url, own_key=None, model_quirks=True):
        self.client = client
        self.base_url = base_url          # ends in "/": {base}messages, {base}messages/count_tokens
        self.own_key = own_key
        self.model_quirks = model_quirks

    def prepare(self, call, body):
        pass

    def fix(self, call, body):
        body["user"] = call.user
        if self.model_quirks:
            quirks.apply(body, call.model, call.family, mode="anthropic")
        return body

    def relay(self, call, body, path="messages"):
        """A Messages (or count_tokens) request relayed; the answer comes back untouched."""
        self.fix(call, body)
        streaming = bool(body.get("stream")) and path == "messages"
        max_tokens = body.get("max_tokens")
        if path == "messages" and not streaming and isinstance(max_tokens, int) \
                and max_tokens > STREAM_ABOVE:
            return self._aggregated(call, body)
        reply = self._post(call, body, path, streaming)
        exchange.relay(call, reply, check=error_in_body)

    def _post(self, call, body, path, streaming):
        headers = exchange.forward_headers(call, self.own_key, streaming, "application/json")
        query = call.req.query_string   # e.g. Claude Code's ?beta=true, passed on as sent
        url = self.base_url + path + ("?" + query if query else "")
        return exchange.send(self.client, call, url, json.dumps(body).encode("utf-8"), headers,
                             hold=streaming)

    def _aggregated(self, call, body):
        """Stream upstream, answer one Message (what the client asked for)."""
        reply = self._post(call, dict(body, stream=True), "messages", True)
        call.out.settle()
        ctype = reply.header("Content-Type") or ""
        if reply.status != 200 or not ctype.startswith("text/event-stream"):
            data = reply.read()
            error_in_body(reply, data)
            if reply.status == 200:
                raise ProxyError(502, "Argo answered a streaming request without a stream: %r"
                                 % data[:200], code="upstream_invalid_response", source="upstream")
            raise exchange.upstream_error(reply, data)
        from ..convert.anthropic_reply import aggregate_stream   # first use only: start-up stays lean
        call.out.json(200, aggregate_stream(_events(reply.iter_raw())))


def _events(raw_chunks):
    """(event name, data object) pairs of an Anthropic SSE stream."""
    splitter = EventSplitter()
    for raw in raw_chunks:
        for event in splitter.feed(raw):
            data = event_data(event)
            if not data or not data.strip():
                continue
            try:
                obj = json.loads(data)
            except ValueError:
                raise ProxyError(502, "Argo's stream has a malformed event: %r" % data[:200],
                                 code="upstream_invalid_stream", source="upstream")
            if isinstance(obj, dict):
                yield obj.get("type"), obj


def error_in_body(reply, data):
    """Argo sometimes answers HTTP 200 with an Anthropic error body: raise it as what it is."""
    if reply.status != 200 or not data.startswith(b"{") or b'"error"' not in data[:200]:
        return
    try:
        obj = json.loads(data)
    except ValueError:
        return
    if not isinstance(obj, dict) or obj.get("type") != "error":
        return
    from ..convert.anthropic_reply import ERROR_STATUS
    kind = (obj.get("error") or {}).get("type") if isinstance(obj.get("error"), dict) else None
    raise ProxyError(ERROR_STATUS.get(kind, 502),
                     "Argo answered HTTP 200 with an error: %s" % upstream_message(200, data),
                     code="upstream_error", source="upstream", upstream_status=200)
