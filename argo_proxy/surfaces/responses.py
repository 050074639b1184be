"""The OpenAI Responses API (Codex CLI), any model, every mode: translated to chat through the
hub, with recent responses kept for previous_response_id and GET/DELETE /v1/responses/{id}."""

from __future__ import annotations

import logging

from .. import hub
from ..convert import responses, validate
from ..errors import ProxyError

log = logging.getLogger("argo_proxy")


class _Exchange:
    """What the encoder and reply need to know, and where a finished response is kept."""

    def __init__(self, store, request, tools, history, lookup):
        self.store, self.request, self.tools = store, request, tools
        self.history, self.lookup = history, lookup

    def keep(self, response):
        if self.request.get("store") is False or not isinstance(response, dict):
            return response
        record = responses.stored(response, self.request.get("input"), history=self.history,
                                  lookup=self.lookup)
        self.store.put(response, list(self.history or []) + record["input_items"])
        return response


def _encoder(call):
    ex = call.request
    return _KeepingEncoder(responses.ResponsesEncoder(call.model, ex.request, ex.tools), ex)


def _reply(completion, call):
    ex = call.request
    return ex.keep(responses.response_from_completion(completion, call.model, ex.request, ex.tools))


RESPONSES = hub.Surface("responses", "openai-responses", "responses", _encoder, _reply)


class _KeepingEncoder:
    """The Responses encoder, keeping the finished response (from response.completed)."""

    def __init__(self, encoder, exchange):
        self._encoder = encoder
        self._exchange = exchange
        self.content_type = encoder.content_type

    def __getattr__(self, name):
        return getattr(self._encoder, name)

    def end(self):
        data = self._encoder.end()
        final = getattr(self._encoder, "final", None)
        if final is not None:
            self._exchange.keep(final)
        return data


def create_response(req, out):
    request = req.json()
    store = req.app.responses
    history = _history(store, request.get("previous_response_id"))
    chat, tools = responses.to_chat(request, history=history, lookup=store.item)
    for note in tools.notes:
        log.info("responses: %s", note)
    validate.chat_body(chat)
    chat["model"] = request.get("model")
    call = hub.begin(req, out, chat)
    request["model"] = call.model
    call.request = _Exchange(store, request, tools, history, store.item)
    served = getattr(hub.adapter_for(call, "responses"), "relay_if_served", None)
    if served is not None and not history and served(call, dict(request, model=call.model), "responses"):
        return   # the upstream serves the Responses API itself (Argo may one day): passthrough
    hub.answer(call, chat, RESPONSES)


def _history(store, previous):
    if not previous:
        return None
    if not isinstance(previous, str):
        validate.bad("previous_response_id", "a string")
    items = store.conversation(previous)
    if items is None:
        raise ProxyError(404, "Response %r is not known here (expired, deleted, stored with "
                         "store: false, or made before the proxy started)." % previous,
                         param="previous_response_id", code="response_not_found")
    return items


def _found(req):
    found = req.app.responses.get(req.params["id"])
    if found is None:
        raise ProxyError(404, "Response %r is not known here." % req.params["id"],
                         code="response_not_found")
    return found


def get_response(req, out):
    out.json(200, _found(req)[0])


def input_items(req, out):
    _, items = _found(req)
    order = (req.query.get("order") or ["desc"])[0]
    after = (req.query.get("after") or [None])[0]
    limit = (req.query.get("limit") or [None])[0]
    out.json(200, responses.input_items_list(items, order=order, after=after,
                                             limit=int(limit) if limit and limit.isdigit() else None))


def delete_response(req, out):
    if not req.app.responses.delete(req.params["id"]):
        raise ProxyError(404, "Response %r is not known here." % req.params["id"],
                         code="response_not_found")
    out.json(200, {"id": req.params["id"], "object": "response", "deleted": True})
