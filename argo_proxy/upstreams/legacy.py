"""Argo's legacy API: `/chat/` (JSON), `/streamchat/` (raw text), `/embed/`.

Hub requests are converted by convert.legacy; answers come back as hub events. A plain
stream uses `/streamchat/`; a request with tools (which that endpoint refuses), or any stream
with real_stream off, is asked of `/chat/` and replayed as events ("pseudo stream").
"""

from __future__ import annotations

import json

from .. import images
from ..convert import legacy, quirks, usage
from ..errors import ProxyError
from ..sse import utf8_decoder
from . import exchange

PLAIN_HEADERS = {"Accept": "text/plain", "Content-Type": "application/json"}
JSON_HEADERS = {"Content-Type": "application/json"}


def _dump(obj):
    return json.dumps(obj).encode("utf-8")


class LegacyUpstream:
    protocols = ("argo-legacy",)
    estimates_usage = True   # Argo's legacy API reports no usage: the counts are the proxy's

    def __init__(self, client, chat_url, stream_url, embed_url, real_stream=True,
                 tool_prompting=False, model_quirks=True, image_limits=None):
        self.client = client
        self.chat_url = chat_url
        self.stream_url = stream_url
        self.embed_url = embed_url
        self.real_stream = real_stream
        self.tool_prompting = tool_prompting
        self.model_quirks = model_quirks
        self.image_limits = image_limits

    # -- the hub interface -------------------------------------------------------------------

    def prepare(self, call, body):
        if self.image_limits is not None:
            images.inline_images(body, self.image_limits)

    def argo_body(self, call, body):
        """(Argo body, tool mode, prompt-token estimate) for an OpenAI chat body."""
        if self.model_quirks:
            quirks.apply(body, call.model, call.family, mode="standard")
        prompt_tokens = usage.prompt_tokens(body)
        body = dict(body, user=call.user)
        argo, tool_mode = legacy.chat_request(body, quirks.traits(call.family), self.tool_prompting)
        return argo, tool_mode, prompt_tokens

    def complete(self, call, body):
        argo, tool_mode, ptoks = self.argo_body(call, body)
        content, calls = self.ask(call, argo, call.family, tool_mode, hold=False)
        return legacy.chat_completion(content, calls, body["model"], ptoks,
                                      usage.completion_tokens(content, calls))

    def stream(self, call, body):
        argo, tool_mode, ptoks = self.argo_body(call, body)
        if self.real_stream and tool_mode == "none":
            return self._text_events(call, argo, ptoks)
        content, calls = self.ask(call, argo, call.family, tool_mode, hold=True)
        return iter(legacy.pseudo_stream(content, calls, body["model"], ptoks,
                                         usage.completion_tokens(content, calls), True))

    def _text_events(self, call, argo, ptoks):
        pieces = self.stream_text(call, argo)
        text = [next(pieces)]   # the call and the authentication-notice check happen here
        yield {"choices": [{"index": 0, "delta": {"content": text[0]}}]}   # the stream may open
        for piece in pieces:
            if piece:
                text.append(piece)
                yield {"choices": [{"index": 0, "delta": {"content": piece}}]}
        ctoks = usage.completion_tokens("".join(text), [])
        yield {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
               "usage": {"prompt_tokens": ptoks, "completion_tokens": ctoks,
                         "total_tokens": ptoks + ctoks}}

    # -- the two ways of asking Argo ---------------------------------------------------------

    def ask(self, call, argo_body, family, tool_mode, hold):
        """One /chat/ call -> (content, tool_calls). hold: the client is waiting on a stream."""
        argo_body = dict(argo_body, stream=False)
        reply = exchange.send(self.client, call, self.chat_url, _dump(argo_body), JSON_HEADERS, hold=hold)
        data = reply.read()
        if reply.status != 200:
            raise exchange.upstream_error(reply, data)
        try:
            payload = json.loads(data)
        except ValueError:
            raise ProxyError(502, "Argo answered with something that is not JSON: %r" % data[:200],
                             code="upstream_invalid_json", source="upstream")
        content, calls = legacy.parse_chat_reply(payload, family, tool_mode)
        if isinstance(content, str) and legacy.is_auth_notice(content):
            raise _auth_error(call)
        return content, calls

    def stream_text(self, call, argo_body):
        """Text pieces from /streamchat/ as they arrive (whole characters), after Argo's start
        has been checked for its authentication notice. The first piece may be ""."""
        argo_body = dict(argo_body, stream=True)
        reply = exchange.send(self.client, call, self.stream_url, _dump(argo_body), PLAIN_HEADERS,
                              hold=True)
        if reply.status != 200:
            raise exchange.upstream_error(reply, reply.read())
        decoder = utf8_decoder()
        pieces = reply.iter_raw()
        head = ""
        for raw in pieces:  # look at the start of the reply before committing to a status
            head += decoder.decode(raw)
            probe = head.lstrip()
            if len(probe) >= len(legacy.AUTH_NOTICE) or not legacy.AUTH_NOTICE.startswith(probe):
                break
        if legacy.is_auth_notice(head):
            reply.close()
            raise _auth_error(call)
        yield head
        for raw in pieces:
            text = decoder.decode(raw)
            if text:
                yield text
        tail = decoder.decode(b"", True)
        if tail:
            yield tail

    # -- embeddings and Argo's own formats ---------------------------------------------------------

    def embed(self, call, batch):
        """One /embed/ call -> its vectors, checked against the inputs."""
        reply = exchange.send(self.client, call, self.embed_url, _dump(batch), JSON_HEADERS)
        data = reply.read()
        if reply.status != 200:
            raise exchange.upstream_error(reply, data)
        try:
            vectors = json.loads(data)["embedding"]
        except (ValueError, KeyError, TypeError):
            raise ProxyError(502, "Argo's embedding answer has no `embedding` list: %r" % data[:200],
                             code="upstream_invalid_response", source="upstream")
        if not isinstance(vectors, list) or len(vectors) != len(batch["prompt"]):
            raise ProxyError(502, "Argo returned %s vectors for %d inputs"
                             % (len(vectors) if isinstance(vectors, list) else "no", len(batch["prompt"])),
                             code="upstream_invalid_response", source="upstream")
        return vectors

    def relay(self, call, body, path=None):
        """Argo's own formats (POST /v1/chat, /v1/embed), answers passed back unchanged."""
        if path == "embed":
            reply = exchange.send(self.client, call, self.embed_url, _dump(dict(body, user=call.user)),
                                  dict(JSON_HEADERS))
            return exchange.relay(call, reply)
        argo, tool_mode, _ = self.argo_body(call, body)
        if body.get("stream") and self.real_stream and tool_mode == "none":
            reply = exchange.send(self.client, call, self.stream_url, _dump(argo), dict(PLAIN_HEADERS))
            return exchange.relay(call, reply, streaming=True)
        reply = exchange.send(self.client, call, self.chat_url, _dump(dict(argo, stream=False)),
                              dict(JSON_HEADERS))
        exchange.relay(call, reply)


def _auth_error(call):
    return ProxyError(403, "Argo does not recognise the user %r (it answered with its "
                      "AUTHENTICATION NOTICE). Register at Argo or fix `user` (--user, ARGO_USER, "
                      "or the config file)." % call.user, code="argo_auth_warning", source="upstream")
