"""Argo's own formats (POST /v1/chat, /v1/embed): user, model, images, quirks and tools
handled, Argo's answer passed back as it is."""

from __future__ import annotations

from .. import hub
from ..convert import legacy, validate


def chat(req, out):
    body = req.json()
    validate.chat_body(body, require_messages=False)
    call = hub.begin(req, out, body)
    adapter = hub.adapter_for(call, "argo")
    adapter.prepare(call, body)
    adapter.relay(call, body, "chat")


def embed(req, out):
    body = req.json()
    call = hub.begin(req, out, body)
    if "prompt" not in body:
        body["prompt"] = legacy.embedding_inputs(body)
        body.pop("input", None)
    hub.adapter_for(call, "argo").relay(call, body, "embed")
