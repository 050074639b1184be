"""OpenAI chat completions, completions and embeddings: decode, resolve, route, call, encode."""

from __future__ import annotations

from .. import hub
from ..convert import legacy, usage, validate
from ..convert.encoders import ChatEncoder, CompletionEncoder


def _chat_encoder(call):
    return ChatEncoder(call.model, include_usage=call.include_usage)


def _completion_encoder(call):
    return CompletionEncoder(call.model, include_usage=call.include_usage)


def _text_completion(completion, call):
    choice = (completion.get("choices") or [{}])[0]
    u = completion.get("usage") or {}
    return legacy.text_completion((choice.get("message") or {}).get("content") or "", call.model,
                                  u.get("prompt_tokens") or 0, u.get("completion_tokens") or 0)


CHAT = hub.Surface("chat", "openai-chat", "chat/completions", _chat_encoder,
                   lambda completion, call: completion)
COMPLETIONS = hub.Surface("completions", "openai-completions", "completions", _completion_encoder,
                          _text_completion)


def chat_completions(req, out):
    body = req.json()
    validate.chat_body(body)
    call = hub.begin(req, out, body, required=req.app.config.mode != "llamastack")
    hub.answer(call, body, CHAT)


def completions(req, out):
    body = req.json()
    validate.completions_body(body)     # before any relay: native mode passes the body on
    call = hub.begin(req, out, body)
    adapter = hub.adapter_for(call, "completions")
    if COMPLETIONS.protocol not in adapter.protocols:
        body = legacy.completion_request(body)   # the prompt as Argo's prompt-style chat
    hub.answer(call, body, COMPLETIONS)


def embeddings(req, out):
    body = req.json()
    validate.embeddings_body(body)      # before any relay: native mode passes the body on
    call = hub.begin(req, out, body)
    adapter = hub.adapter_for(call, "embeddings")
    if "openai-embeddings" in adapter.protocols:
        adapter.relay(call, body, "embeddings")
        return
    inputs = legacy.embedding_inputs(body)
    vectors = []
    for batch in legacy.embed_batches(inputs, call.model, call.user):
        vectors.extend(adapter.embed(call, batch))
    ptoks = sum(usage.estimate_tokens(text) for text in inputs)
    out.json(200, legacy.embeddings_response(vectors, call.model, ptoks, body.get("encoding_format")))
