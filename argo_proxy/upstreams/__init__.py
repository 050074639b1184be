"""Upstream adapters, one per wire protocol, and THE routing table that picks one.

Every adapter serves hub requests (OpenAI chat bodies) with the same interface:

    protocols                      the wire protocols it speaks ("openai-chat", "argo-legacy", ...)
    prepare(call, body)            once per client request (e.g. inline images)
    complete(call, body) -> dict   an OpenAI chat.completion
    stream(call, body) -> iter     OpenAI chat.completion.chunk dicts (the hub events)
    relay(call, body, path)        byte-exact passthrough, when the surface speaks one of them
"""

from __future__ import annotations

# (mode, kind, family) -> adapter name; the first matching row wins, "*" matches anything.
# kind is what the surface asks for: chat, completions, embeddings, responses, argo (Argo's
# own /v1/chat and /v1/embed formats), messages (Anthropic Messages).
ROUTES = (
    ("llamastack", "*", "*", "llamastack"),
    ("*", "messages", "anthropic", "anthropic"),   # Claude keeps thinking, caching, tool use
    ("*", "passthrough", "*", "native"),           # other /v1/... paths (native mode only)
    ("*", "argo", "*", "legacy"),
    ("native-openai", "*", "*", "native"),
    ("standard", "*", "*", "legacy"),
)


def choose(mode, kind, family, routes=ROUTES) -> str:
    """The name of the adapter that serves `kind` requests for a model `family` in `mode`."""
    for row_mode, row_kind, row_family, name in routes:
        if row_mode in ("*", mode) and row_kind in ("*", kind) and row_family in ("*", family):
            return name
    raise LookupError("no upstream serves %s requests for %s models in %s mode" % (kind, family, mode))
