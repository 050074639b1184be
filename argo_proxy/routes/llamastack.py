"""LlamaStack mode: LlamaStack is the chat upstream and a tool source (the seed proxy's product)."""

from __future__ import annotations

import json
import threading

from ..convert import validate
from .common import OpenAIBackend, relay, run_with_tools

_detect_lock = threading.Lock()


def register(app):
    r = app.router
    r.add("POST", "/v1/chat/completions", chat_completions)
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        r.add(method, "/v1/{rest:path}", passthrough)


def chat_url(app):
    """LlamaStack's chat path differs by version; found once, on first use."""
    from ..tools.llamastack import detect_chat_path
    with _detect_lock:
        if getattr(app, "llamastack_chat_url", None) is None:
            app.llamastack_chat_url = detect_chat_path(app.config.llamastack_url, app.upstream)
    return app.llamastack_chat_url


def chat_completions(req, res):
    body = req.json()  # model ids are LlamaStack's own (provider-prefixed): sent unchanged
    validate.chat_body(body)
    req.model = body.get("model")
    url = chat_url(req.app)
    if run_with_tools(req, res, body, OpenAIBackend(req, res, url)):
        return
    relay(req, res, url, json.dumps(body).encode("utf-8"), streaming=bool(body.get("stream")))


def passthrough(req, res):
    url = req.app.config.llamastack_url + "/v1/" + req.params["rest"]
    if req.query_string:
        url += "?" + req.query_string
    relay(req, res, url, req.body if req.body or req.method != "GET" else None, method=req.method)
