"""Every other /v1/... path goes to the same place under the upstream's base, verbatim."""

from __future__ import annotations

from .. import hub


def register(r):
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        r.add(method, "/v1/{rest:path}", forward)


def forward(req, out):
    call = hub.Call(req, out, None, "unknown", req.app.user_for(req.headers))
    adapter = hub.adapter_for(call, "passthrough")
    adapter.forward(call, req.params["rest"], req.query_string, req.method, req.body)
