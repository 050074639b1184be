"""Google's Gemini API (generateContent: Gemini CLI, the google-genai SDK), any model, every mode.

    POST /v1beta/models/{model}:generateContent | :streamGenerateContent | :countTokens
    GET  /v1beta/models, /v1beta/models/{model}
and the same under /v1/ (the SDK given a custom base URL uses it; the colon and the method
tell those paths apart from OpenAI's GET /v1/models/{id}).
"""

from __future__ import annotations

import logging

from .. import hub
from ..convert import google, usage
from ..errors import ProxyError

log = logging.getLogger("argo_proxy")
METHODS = ("generateContent", "streamGenerateContent", "countTokens")


def _encoder(call):
    r = call.request
    return google.GenerateEncoder(r["model"], sse=r["sse"], prompt_tokens=r["prompt_tokens"],
                                  include_thoughts=r["thoughts"])


def _reply(completion, call):
    r = call.request
    return google.completion_to_generate(completion, r["model"], include_thoughts=r["thoughts"],
                                         prompt_tokens=r["prompt_tokens"])


GENERATE = hub.Surface("chat", "google-generate", None, _encoder, _reply)


def _target(req):
    model, sep, method = req.params["target"].rpartition(":")
    if not sep or method not in METHODS or not model:
        raise ProxyError(404, "Unknown route: %s %s (expected models/{model}:%s)"
                         % (req.method, req.path, "|".join(METHODS)), code="not_found")
    return model[len("models/"):] if model.startswith("models/") else model, method


def generate(req, out):
    model, method = _target(req)
    body = req.json()
    if method == "countTokens":
        out.json(200, google.count_tokens_estimate(body))
        return
    chat, notes = google.generate_to_chat(body, model)
    for note in notes:
        log.info("generateContent for %s: %s", model, note)
    streaming = method == "streamGenerateContent"
    chat["model"] = model
    chat["stream"] = streaming
    call = hub.begin(req, out, chat)
    call.request = {"model": model, "sse": (req.query.get("alt") or [""])[0] == "sse",
                    "thoughts": google.wants_thoughts(body),
                    "prompt_tokens": usage.prompt_tokens(chat)}
    hub.answer(call, chat, GENERATE)


def list_models(req, out):
    out.json(200, google.model_list(req.app.models.openai_list()))


def get_model(req, out):
    name = req.params["model"]
    name = name[len("models/"):] if name.startswith("models/") else name
    found = req.app.models.get(name)
    if found is None:
        raise ProxyError(404, "models/%s is not found here; GET /v1beta/models lists them." % name,
                         code="not_found")
    out.json(200, google.model_entry(dict(found, id=name)))   # under the name it was asked by
