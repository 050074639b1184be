"""MCP sampling: a server's `sampling/createMessage` answered by a model through Argo, the
same way a chat would reach it (the routing table picks the upstream)."""

from __future__ import annotations

import io

from .clientstream import ClientStream
from .convert.completion import first_choice, message_text
from .hub import Call


class _NoClient:
    """The request a sampling call stands in for: no client headers, no body."""

    headers = {}
    query_string = ""

    def __init__(self, app):
        self.app = app

    def header(self, name, default=None):
        return default


def make_sampler(app, default_model="argo:gpt-4o"):
    """sampler(messages, system, max_tokens, model_hint, triggering_model) -> MCP result."""
    def sample(messages, system, max_tokens, model_hint, triggering_model):
        model, family = app.resolve(model_hint or triggering_model or default_model)
        body = {"model": model, "max_tokens": max_tokens, "stream": False,
                "messages": ([{"role": "system", "content": system}] if system else []) + list(messages)}
        call = Call(_NoClient(app), ClientStream(io.BytesIO()), model, family, app.config.user)
        adapter = app.adapter("chat", family)
        adapter.prepare(call, body)
        message, finish = first_choice(adapter.complete(call, body))
        return {"role": "assistant", "content": {"type": "text", "text": message_text(message)},
                "model": model, "stopReason": "maxTokens" if finish == "length" else "endTurn"}
    return sample
