"""Paths the proxy does not serve itself, to the same place upstream, verbatim.

Native OpenAI mode: every other /v1/... path, under the upstream's base. LlamaStack mode:
every other path at all (its /v1/..., /v1beta/connectors, /v1alpha/..., ...), at the same
path on LlamaStack; the proxy's own paths (/, /health, /version, /argo/...) and the surfaces it
serves (POST /v1/chat/completions, /v1/messages, Gemini's) are the only ones it keeps.
"""

from __future__ import annotations

from .. import hub
from ..router import canonical_path
from ..upstreams import exchange

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def register(r):
    for method in METHODS:
        r.add(method, "/v1/{rest:path}", forward)


def register_everything(r):
    """LlamaStack mode: any path and method no other route serves."""
    for method in METHODS:
        r.add(method, "/{path:path}", forward_any)
    # llama-stack lists its stored chat completions here; the proxy serves only the POST
    r.add("GET", "/v1/chat/completions", forward_any)


def forward(req, out):
    call = hub.Call(req, out, None, "unknown", req.app.user_for(req.headers))
    adapter = hub.adapter_for(call, "passthrough")
    adapter.forward(call, req.params["rest"], req.query_string, req.method, req.body)


def forward_any(req, out):
    """The same path (canonical: /openai/v1/x is /v1/x) on LlamaStack."""
    path = req.params.get("path") or canonical_path(req.path).lstrip("/")
    call = hub.Call(req, out, None, "unknown", req.app.user_for(req.headers))
    adapter = hub.adapter_for(call, "passthrough")
    if path.startswith("v1/"):   # the adapter's base is LlamaStack's /v1/
        adapter.forward(call, path[3:], req.query_string, req.method, req.body)
        return
    from ..tools.llamastack import base_url_of
    url = base_url_of(req.app.config.llamastack_url) + "/" + path
    if req.query_string:
        url += "?" + req.query_string
    headers = exchange.forward_headers(call, req.app.config.proxy_api_key)
    reply = exchange.send(req.app.upstream, call, url, req.body if req.body or req.method != "GET" else None,
                          headers, method=req.method)
    exchange.relay(call, reply)
