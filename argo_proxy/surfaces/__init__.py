"""Client surfaces: one module per client API. Which routes exist in which mode is decided
here and nowhere else."""

from __future__ import annotations

from . import anthropic, argo, google, ops, openai, passthrough, responses

# Error styles of paths that match no route (so a 404 comes in the client's envelope).
STYLES = (("/v1/messages", "anthropic"), ("/anthropic/", "anthropic"), ("/v1beta/", "google"))


def register(app):
    r = app.router
    mode = app.config.mode
    ops.register(r, models=mode != "llamastack")
    r.add("POST", "/v1/chat/completions", openai.chat_completions)
    r.add("POST", "/v1/messages", anthropic.messages, style="anthropic")
    r.add("POST", "/v1/messages/count_tokens", anthropic.count_tokens, style="anthropic")
    google.register(r)
    if mode == "llamastack":
        passthrough.register(r)
        return
    r.add("POST", "/v1/completions", openai.completions)
    r.add("POST", "/v1/embeddings", openai.embeddings)
    responses.register(r)
    r.add("POST", "/v1/chat", argo.chat)
    r.add("POST", "/v1/embed", argo.embed)
    if mode == "native-openai":
        passthrough.register(r)
