"""LlamaStack as a tool source (`GET /v1/tools`, `POST /v1/tool-runtime/invoke`), and the
detection of its OpenAI chat path. All I/O goes through the proxy's Upstream client.

Only llama-stack <= 0.6 can run tools over HTTP: 0.7.0 removed the tool runtime (spec §0.1).
On 0.7+ the tools' MCP servers must be configured as MCP sources directly.
"""

from __future__ import annotations

import json
import logging

from ..convert.tool_results import llamastack_result_to_mcp, llamastack_tool_to_mcp
from ..errors import ProxyError
from .toolset import ToolSourceError

__all__ = ["LlamaStackSource", "ToolSourceError", "detect_chat_path", "base_url_of"]

log = logging.getLogger("argo_proxy")

NO_TOOL_RUNTIME = (
    "LlamaStack at %s has no tool runtime (POST /v1/tool-runtime/invoke answered 404). "
    "LlamaStack 0.7 and later cannot run tools over HTTP: configure the tools' MCP servers "
    "under mcp_servers (or --mcp) instead.")
PROBE_TIMEOUT = 10.0


def base_url_of(url: str) -> str:
    """The server root: trailing slashes and a trailing /v1 (a common way to give it) dropped."""
    url = url.rstrip("/")
    return url[:-3] if url.endswith("/v1") else url


class LlamaStackSource(object):
    """Tools listed and run by a LlamaStack server (0.2.x shapes and 0.3+ shapes)."""

    def __init__(self, base_url, upstream, timeout=60.0, name="llamastack", headers=None):
        self.name = name
        self.base_url = base_url_of(base_url)
        self.upstream = upstream
        self.timeout = float(timeout)
        self.headers = dict(headers or {})
        self.on_list_changed = None   # LlamaStack never announces changes; the TTL covers it
        self._warned_empty = False

    def list_tools(self) -> list:
        # no retries here: the ToolSet lists a failed source again later on its own
        data = self._call("GET", "/v1/tools", None, self.timeout, retries=0)
        items = data.get("data") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ToolSourceError("LlamaStack at %s: GET /v1/tools answered without a `data` list"
                                  % self.base_url, 502)
        tools = []
        for item in items:
            try:
                tools.append(llamastack_tool_to_mcp(item))
            except ValueError as exc:
                log.warning("tool source %s: skipping a tool: %s", self.name, exc)
        if not tools and not self._warned_empty:
            self._warned_empty = True
            log.info("tool source %s: LlamaStack at %s lists no tools (0.7+ lists MCP connectors "
                     "elsewhere and cannot run them; configure MCP servers directly)",
                     self.name, self.base_url)
        return tools

    def call_tool(self, name, arguments, timeout) -> dict:
        body = {"tool_name": name, "kwargs": arguments if arguments is not None else {}}
        # no retries: a tool call may have side effects, and a 502 here means its MCP server is down
        data = self._call("POST", "/v1/tool-runtime/invoke", body, timeout, retries=0)
        if not isinstance(data, dict):
            raise ToolSourceError("LlamaStack at %s: the tool result is not an object" % self.base_url, 502)
        return llamastack_result_to_mcp(data)

    def close(self):
        pass  # connections belong to the shared Upstream pool

    def _call(self, method, path, body, timeout, retries):
        url = self.base_url + path
        payload = None if body is None else json.dumps(body).encode("utf-8")
        try:
            resp = self.upstream.request(method, url, body=payload, headers=self.headers,
                                         retries=retries, read_timeout=timeout)
            raw = resp.read()
        except ProxyError as err:   # cannot connect (503), timeout (504), garbage (502)
            raise ToolSourceError(err.message, err.status)
        if resp.status == 404 and path.endswith("/invoke"):
            raise ToolSourceError(NO_TOOL_RUNTIME % self.base_url, 404)
        if not 200 <= resp.status < 300:
            raise ToolSourceError("LlamaStack %s %s answered HTTP %d: %s" % (
                method, path, resp.status, error_message(raw, resp.status)), resp.status)
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError:
            raise ToolSourceError("LlamaStack %s %s answered with a body that is not JSON: %r"
                                  % (method, path, raw[:200]), 502)


def error_message(raw: bytes, status: int) -> str:
    """The message in any of LlamaStack's error bodies: {"detail": str}, {"error": {"message"}},
    or FastAPI's validation list {"detail": [{"loc", "msg", ...}]}."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:500] or "an empty body"
    if isinstance(data, dict):
        detail, error = data.get("detail"), data.get("error")
        if isinstance(detail, str) and detail:
            return detail
        if isinstance(detail, list) and detail:
            return "; ".join(_validation_item(d) for d in detail)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str) and error:
            return error
        if isinstance(data.get("message"), str):
            return data["message"]
    return text[:500]


def _validation_item(item) -> str:
    if not isinstance(item, dict):
        return str(item)
    where = ".".join(str(p) for p in item.get("loc") or ())
    msg = str(item.get("msg") or item.get("message") or item)
    return "%s: %s" % (where, msg) if where else msg


def detect_chat_path(base_url, upstream) -> str:
    """The OpenAI chat completions URL of a LlamaStack server.

    Probing with POST would run a model, so the models lists tell instead:
    - `GET /v1/models` in OpenAI shape (items with "id") -> 0.3+: `/v1/chat/completions`;
    - else `GET /v1/openai/v1/models` answers 200 -> 0.2.x: `/v1/openai/v1/chat/completions`
      (0.2.x serves LlamaStack resources with "identifier" at /v1/models);
    - neither answers -> `/v1/chat/completions`, the path of every current release.
    """
    base = base_url_of(base_url)
    models = _probe_json(upstream, base + "/v1/models")
    if _openai_model_list(models):
        return base + "/v1/chat/completions"
    if _probe_json(upstream, base + "/v1/openai/v1/models") is not None:
        return base + "/v1/openai/v1/chat/completions"
    return base + "/v1/chat/completions"


def _probe_json(upstream, url):
    """The JSON of a 200 answer to GET url, or None (any failure means "not here")."""
    try:
        resp = upstream.request("GET", url, retries=0, read_timeout=PROBE_TIMEOUT)
        raw = resp.read()
    except ProxyError as err:
        log.debug("LlamaStack probe %s: %s", url, err.message)
        return None
    if resp.status != 200:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        return None


def _openai_model_list(data) -> bool:
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return False
    # an empty list says nothing about the shape (then the second probe decides);
    # "identifier" marks the 0.2.x resource shape
    return bool(items) and all(isinstance(i, dict) and "id" in i and "identifier" not in i for i in items)
