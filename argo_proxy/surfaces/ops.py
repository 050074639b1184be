"""Operations endpoints: health, version, metrics, the status page, model list, refresh, the
injected tools."""

from __future__ import annotations

import platform

from .. import __version__, build_info, metrics, status_page
from ..errors import ProxyError
from ..server import key_ok, unauthorised


def register(r, llamastack=False):
    r.add("GET", "/", welcome, public=True)
    r.add("GET", "/health", health, public=True)
    r.add("GET", "/version", version)
    r.add("GET", "/metrics", prometheus)
    r.add("GET", "/argo/tools", list_tools)   # a path of the proxy's own: shadows nothing
    if llamastack:
        return  # /v1/models, /v1/tools and the rest are LlamaStack's own, passed through
    r.add("GET", "/v1/tools", list_tools)     # the earlier path, kept in the Argo modes
    r.add("GET", "/v1/models", list_models)
    r.add("GET", "/v1/models/{model:path}", get_model)
    r.add("POST", "/refresh", refresh)


def welcome(req, res):
    """The status page for a browser (which must bring the key when one is set: the route is
    public for the JSON welcome only); a one-line JSON welcome for everyone else."""
    if "text/html" in (req.header("Accept") or "").lower():
        status_page_or_login(req, res)
        return
    res.json(200, {"message": "argo-proxy %s: an OpenAI-compatible gateway to Argo. "
                              "Point your client at /v1." % __version__},
             headers={"Vary": "Accept"})


def status_page_or_login(req, res):
    app = req.app
    if not key_ok(app.config.proxy_api_key, req.headers, req.query):
        res.error = unauthorised()   # counted as the failure it is, answered as a page
        res.send(401, status_page.login_page().encode("utf-8"), status_page.CONTENT_TYPE,
                 status_page.HEADERS)
        return
    gauges = metrics.gauges(app, res)
    view = status_page.view(app, app.observer.stats.snapshot(), gauges, _listening(app, res))
    res.send(200, status_page.page(view).encode("utf-8"), status_page.CONTENT_TYPE,
             status_page.HEADERS)


def prometheus(req, res):
    app = req.app
    text = metrics.render(app.observer.stats.snapshot(), metrics.gauges(app, res),
                          per_user=app.observer.stats.per_user)
    res.send(200, text.encode("utf-8"), metrics.CONTENT_TYPE)


def _listening(app, res):
    """Where this connection came in: the Unix socket, or the address and real port."""
    cfg = app.config
    if cfg.socket:
        return "unix:" + cfg.socket
    try:
        port = res.sock.getsockname()[1]
    except (AttributeError, OSError, IndexError, TypeError):
        port = cfg.port
    host = cfg.host.strip("[]")
    return "http://%s:%s" % ("[%s]" % host if ":" in host else host, port)


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
