"""Native OpenAI mode: Argo's OpenAI-compatible endpoint, with names, user, images and quirks fixed."""

from __future__ import annotations

import json

from .. import images
from ..convert import quirks
from .common import OpenAIBackend, openai_body, relay, run_with_tools


def register(app):
    r = app.router
    r.add("POST", "/v1/chat/completions", chat_completions)
    r.add("POST", "/v1/completions", lambda req, res: _forward_json(req, res, "completions"))
    r.add("POST", "/v1/embeddings", lambda req, res: _forward_json(req, res, "embeddings"))
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        r.add(method, "/v1/{rest:path}", passthrough)


def chat_completions(req, res):
    app = req.app
    body = openai_body(req, chat=True)
    images.inline_images(body, images.Limits(app.config))
    url = app.config.native_openai_base_url + "chat/completions"
    if run_with_tools(req, res, body, OpenAIBackend(req, res, url, fix=lambda b: fix_for_model(app, b))):
        return
    fix_for_model(app, body)
    _send(req, res, "chat/completions", body)


def fix_for_model(app, body):
    if app.config.model_quirks:
        quirks.apply(body, body["model"], app.models.family(body["model"]))


def _forward_json(req, res, endpoint):
    _send(req, res, endpoint, openai_body(req))


def _send(req, res, endpoint, body):
    url = req.app.config.native_openai_base_url + endpoint
    relay(req, res, url, json.dumps(body).encode("utf-8"), streaming=bool(body.get("stream")))


def passthrough(req, res):
    """Any other /v1/... path goes to the same place under the native base, verbatim."""
    url = req.app.config.native_openai_base_url + req.params["rest"]
    if req.query_string:
        url += "?" + req.query_string
    relay(req, res, url, req.body if req.body or req.method != "GET" else None, method=req.method)
