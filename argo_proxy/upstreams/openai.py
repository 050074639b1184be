"""Argo's OpenAI-compatible API, and any OpenAI-compatible server (LlamaStack)."""

from __future__ import annotations

import json
import threading

from .. import images
from ..convert import quirks
from ..errors import ProxyError
from ..sse import json_events
from . import exchange


class OpenAIUpstream:
    """An OpenAI-compatible upstream at `base_url` (ending in "/").

    quirk_mode: the quirk table's mode for this upstream ("native"), or None for none;
    sets_user: put the Argo `user` in every body; image_limits: inline http(s) images
    (Argo refuses URLs), or None; chat_url: the chat completions URL, or a zero-argument
    callable that finds it on first use (LlamaStack's path differs by version).
    """

    protocols = ("openai-chat", "openai-completions", "openai-embeddings")

    def __init__(self, client, base_url, own_key=None, quirk_mode=None, sets_user=True,
                 image_limits=None, chat_url=None):
        self.client = client
        self.base_url = base_url
        self.own_key = own_key
        self.quirk_mode = quirk_mode
        self.sets_user = sets_user
        self.image_limits = image_limits
        self._chat_url = chat_url or (base_url + "chat/completions")
        self._lock = threading.Lock()
        self._missing = set()   # paths the upstream answered 404 (e.g. responses on Argo)

    def chat_url(self):
        if callable(self._chat_url):
            with self._lock:
                if callable(self._chat_url):
                    self._chat_url = self._chat_url()
        return self._chat_url

    def prepare(self, call, body):
        if self.image_limits is not None and images.inline_images(body, self.image_limits):
            call.reshaped = True

    def _fix(self, call, body):
        if self.quirk_mode and quirks.apply(body, call.model, call.family, mode=self.quirk_mode):
            call.reshaped = True
        if self.sets_user:
            body["user"] = call.user
        return body

    @staticmethod
    def _encode(call, body) -> bytes:
        """The body to send: the client's own text with `model` and `user` replaced when
        nothing else changed (convert.rawjson), else encoded whole."""
        req = call.req
        if not call.reshaped and req.raw_json is not None and body is req.parsed:
            data = req.raw_json.splice(body, ("model", "user"))
            if data is not None:
                return data
        return json.dumps(body).encode("utf-8")

    def _post(self, call, body, streaming):
        headers = exchange.forward_headers(call, self.own_key, streaming, "application/json")
        data = json.dumps(self._fix(call, body)).encode("utf-8")
        reply = exchange.send(self.client, call, self.chat_url(), data, headers, hold=streaming)
        if reply.status != 200:
            raise exchange.upstream_error(reply, reply.read())
        return reply

    def complete(self, call, body):
        data = self._post(call, dict(body, stream=False), False).read()
        try:
            reply = json.loads(data)
        except ValueError:
            reply = None
        choices = reply.get("choices") if isinstance(reply, dict) else None
        if not (isinstance(choices, list) and choices and isinstance(choices[0], dict)
                and isinstance(choices[0].get("message"), dict)):
            raise ProxyError(502, "The upstream's chat answer is not a chat.completion: %r" % data[:200],
                             code="upstream_invalid_response", source="upstream")
        return reply

    def stream(self, call, body):
        return json_events(self._post(call, dict(body, stream=True), True).iter_raw())

    def relay(self, call, body, path=None):
        """The request as the client sent it (model, user and quirks fixed), answer untouched."""
        url = self.chat_url() if path in (None, "chat/completions") else self.base_url + path
        if path in (None, "chat/completions"):
            self._fix(call, body)
        elif self.sets_user:
            body["user"] = call.user
        streaming = bool(body.get("stream"))
        headers = exchange.forward_headers(call, self.own_key, streaming)
        reply = exchange.send(self.client, call, url, self._encode(call, body), headers, hold=streaming)
        exchange.relay(call, reply, streaming, done=path in (None, "chat/completions"))

    def relay_if_served(self, call, body, path):
        """Relay to {base}path if the upstream serves it; False (nothing sent to the client) if
        it answered 404 now or before: the caller then translates."""
        if path in self._missing:
            return False
        fixed = self._fix(call, dict(body))
        streaming = bool(fixed.get("stream"))
        headers = exchange.forward_headers(call, self.own_key, streaming, "application/json")
        reply = exchange.send(self.client, call, self.base_url + path,
                              json.dumps(fixed).encode("utf-8"), headers, hold=streaming)
        if reply.status == 404:
            reply.read()
            call.out.settle()
            self._missing.add(path)
            return False
        exchange.relay(call, reply, streaming)
        return True

    def forward(self, call, path, query, method, data):
        """Any other path under the base, verbatim (method, query, body, headers)."""
        url = self.base_url + path + ("?" + query if query else "")
        headers = exchange.forward_headers(call, self.own_key)
        reply = exchange.send(self.client, call, url, data if data or method != "GET" else None,
                              headers, method=method)
        exchange.relay(call, reply)
