"""The Anthropic Messages API (Claude Code): Claude models are relayed to Argo's Anthropic
endpoint; every other model (and Claude when the proxy runs tools) is translated to the
mode's chat upstream and back."""

from __future__ import annotations

import logging

from .. import hub
from ..convert.anthropic import (MessagesEncoder, completion_to_message, count_tokens_estimate,
                                 messages_to_chat)
from ..convert import validate
from ..errors import ProxyError

log = logging.getLogger("argo_proxy")


def _encoder(call):
    return MessagesEncoder(call.request["model"], input_tokens=call.request["input_tokens"])


def _reply(completion, call):
    return completion_to_message(completion, call.request["model"])


# kind "chat": whichever upstream serves this model's chat, through the hub format
MESSAGES_AS_CHAT = hub.Surface("chat", "anthropic-messages", "messages", _encoder, _reply)


def _body(req, count_tokens=False):
    body = req.json()
    if not isinstance(body.get("model"), str) or not body["model"].strip():
        raise ProxyError(400, "model: a model name is required (GET /v1/models lists them).",
                         param="model")
    validate.messages_body(body, count_tokens=count_tokens)
    return body


def messages(req, out):
    body = _body(req)
    asked = body["model"]
    call = hub.begin(req, out, body)
    adapter = hub.adapter_for(call, "messages")
    if "anthropic-messages" in adapter.protocols and req.app.toolset is None:
        adapter.relay(call, body, "messages")
        return
    call.request = {"model": asked, "input_tokens": count_tokens_estimate(body)}
    chat, notes = messages_to_chat(body)
    for note in notes:
        log.info("messages for %s: %s", call.model, note)
    chat["model"] = call.model
    hub.answer(call, chat, MESSAGES_AS_CHAT)


def count_tokens(req, out):
    body = _body(req, count_tokens=True)
    call = hub.begin(req, out, body)
    adapter = hub.adapter_for(call, "messages")
    if "anthropic-messages" in adapter.protocols:
        adapter.relay(call, body, "messages/count_tokens")
        return
    messages_to_chat(body)   # the same checks as a real request: a bad body is a 400 here too
    out.json(200, {"input_tokens": count_tokens_estimate(body)})
