"""The OpenAI Responses API, served through the hub as chat."""

from __future__ import annotations

from .. import hub
from ..convert import responses, validate


def _encoder(call):
    return responses.ResponsesEncoder(call.model, call.request)


def _reply(completion, call):
    return responses.response_from_completion(completion, call.model, call.request)


RESPONSES = hub.Surface("responses", "openai-responses", "responses", _encoder, _reply)


def create_response(req, out):
    request = req.json()
    chat = responses.to_chat(request)
    validate.chat_body(chat)
    chat["model"] = request.get("model")
    call = hub.begin(req, out, chat)
    request["model"] = call.model
    call.request = request
    hub.answer(call, chat, RESPONSES)
