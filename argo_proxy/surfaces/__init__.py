"""Client surfaces: one module per client API. Which routes exist in which mode is decided
here and nowhere else.

The Anthropic, Google and Responses surfaces (and their converters) are imported on their
first request: a zipapp compiles every module it imports at each start, and most users of
a proxy use one client API.
"""

from __future__ import annotations

import importlib

from . import ops, openai, passthrough

# Error styles of paths that match no route (so a 404 comes in the client's envelope).
STYLES = (("/v1/messages", "anthropic"), ("/anthropic/", "anthropic"), ("/v1beta/", "google"))


def lazy(module, name):
    """A route handler that imports surfaces.<module> on first use."""
    def handler(req, out):
        return getattr(importlib.import_module(__name__ + "." + module), name)(req, out)
    handler.__name__ = name
    return handler


def register(app):
    r = app.router
    mode = app.config.mode
    ops.register(r, llamastack=mode == "llamastack")
    r.add("POST", "/v1/chat/completions", openai.chat_completions)
    r.add("POST", "/v1/messages", lazy("anthropic", "messages"), style="anthropic")
    r.add("POST", "/v1/messages/count_tokens", lazy("anthropic", "count_tokens"), style="anthropic")
    for base in ("/v1beta/models", "/v1/models"):
        r.add("POST", base + "/{target:path}", lazy("google", "generate"), style="google")
    r.add("GET", "/v1beta/models", lazy("google", "list_models"), style="google")
    r.add("GET", "/v1beta/models/{model:path}", lazy("google", "get_model"), style="google")
    usage = lazy("usage", "summary")
    r.add("GET", "/argo/usage", usage)   # the proxy's own path, in every mode
    if mode == "llamastack":
        passthrough.register_everything(r)   # every path not served above goes to LlamaStack
        return
    r.add("POST", "/v1/completions", openai.completions)
    r.add("POST", "/v1/embeddings", openai.embeddings)
    r.add("POST", "/v1/responses", lazy("responses", "create_response"))
    r.add("GET", "/v1/responses/{id}", lazy("responses", "get_response"))
    r.add("DELETE", "/v1/responses/{id}", lazy("responses", "delete_response"))
    r.add("GET", "/v1/responses/{id}/input_items", lazy("responses", "input_items"))
    r.add("POST", "/v1/chat", lazy("argo", "chat"))
    r.add("POST", "/v1/embed", lazy("argo", "embed"))
    r.add("GET", "/v1/usage", usage)     # LlamaStack mode: /v1/... is LlamaStack's
    if mode == "native-openai":
        passthrough.register(r)
