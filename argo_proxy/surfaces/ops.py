"""Operations endpoints: health, version, model list, refresh, the injected tools."""

from __future__ import annotations

import platform

from .. import __version__, build_info
from ..errors import ProxyError


def register(r, llamastack=False):
    r.add("GET", "/", welcome, public=True)
    r.add("GET", "/health", health, public=True)
    r.add("GET", "/version", version)
    r.add("GET", "/argo/tools", list_tools)   # a path of the proxy's own: shadows nothing
    if llamastack:
        return  # /v1/models, /v1/tools and the rest are LlamaStack's own, passed through
    r.add("GET", "/v1/tools", list_tools)     # the earlier path, kept in the Argo modes
    r.add("GET", "/v1/models", list_models)
    r.add("GET", "/v1/models/{model:path}", get_model)
    r.add("POST", "/refresh", refresh)


def welcome(req, res):
    res.json(200, {"message": "argo-proxy %s: an OpenAI-compatible gateway to Argo. "
                              "Point your client at /v1." % __version__})


def health(req, res):
    res.json(200, {"status": "healthy"})


def version(req, res):
    cfg = req.app.config
    build = build_info()   # commit: short hash or "unknown"; dirty: uncommitted changes (None: unknown)
    res.json(200, {"name": "argo-proxy", "version": __version__,
                   "python": platform.python_version(), "mode": cfg.mode,
                   "models": req.app.models.stats(), "commit": build["commit"], "dirty": build["dirty"]})


def list_models(req, res):
    entries = req.app.model_entries()
    if req.header("anthropic-version"):   # an Anthropic client (Claude Code's model picker)
        from ..convert import anthropic
        res.json(200, anthropic.model_list(entries, req.app.models.created))
        return
    if _google_client(req):               # the google-genai SDK asks /v1/models too
        from ..convert import google
        res.json(200, google.model_list(entries))
        return
    res.json(200, {"object": "list", "data": entries})


def get_model(req, res):
    preset = req.app.preset(req.params["model"])
    found = next((e for e in req.app.model_entries() if e["id"] == preset.name), None) if preset \
        else req.app.models.get(req.params["model"])
    if found is None:
        raise ProxyError(404, "The model %r does not exist here; GET /v1/models lists them."
                         % req.params["model"], param="model", code="model_not_found")
    if req.header("anthropic-version"):
        from ..convert import anthropic
        found = anthropic.model_entry(found, req.app.models.created)
    elif _google_client(req):
        from ..convert import google
        found = google.model_entry(dict(found, id=req.params["model"]))
    res.json(200, found)


def refresh(req, res):
    result = req.app.refresh_models()
    if not result.get("ok"):
        raise ProxyError(502, "Could not refresh the model list: %s (the %s table stays in use)"
                         % (result.get("error"), result.get("source")), code="refresh_failed",
                         source="upstream")
    res.json(200, result)


def list_tools(req, res):
    toolset = req.app.toolset
    res.json(200, {"object": "list", "data": toolset.describe() if toolset is not None else []})


def _google_client(req):
    return bool(req.header("x-goog-api-client") or req.header("x-goog-api-key"))
