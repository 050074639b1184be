"""LlamaStack as a tool source, and the detection of its OpenAI chat path. All I/O goes
through the proxy's Upstream client.

What a llama-stack can run depends on its version (shared/spec/tools-and-mcp.md 1), so the
source detects it once (`GET /v1/version`; without a usable answer, whether
`GET /v1beta/connectors` exists) and works in one of two modes:

- "runtime" (0.2.x-0.6.x): `GET /v1/tools` lists the tools (0.2.x Tool shape or 0.3+ ToolDef
  shape) and `POST /v1/tool-runtime/invoke` runs them;
- "connectors" (0.7 and later): the tool runtime routes are gone and its MCP servers are
  read-only connectors (`GET /v1beta/connectors`, each with its `url`). The source speaks MCP
  (Streamable HTTP) to each connector's url itself, through MCP clients made by `mcp_factory`
  (default: `tools.mcp.connect`), and offers their tools. The built-in tools `GET /v1/tools`
  still lists (e.g. web_search) have no route that runs them: they are never offered (one
  warning says so).

An invoke that answers 404 (a server upgraded in place, or a version that could not be read)
switches the source to connectors mode for good: one warning, and from the next listing on
the unrunnable tools are no longer offered.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from concurrent.futures import Future, wait

from ..convert.tool_results import llamastack_result_to_mcp, llamastack_tool_to_mcp, unique_names
from ..errors import ProxyError
from .toolset import ToolSourceError

__all__ = ["LlamaStackSource", "ToolSourceError", "detect_chat_path", "base_url_of",
           "parse_version", "RUNTIME", "CONNECTORS"]

log = logging.getLogger("argo_proxy")

RUNTIME, CONNECTORS = "runtime", "connectors"
FIRST_CONNECTORS_VERSION = (0, 7)
INVOKE, TOOLS, CONNECTORS_PATH, VERSION = (
    "/v1/tool-runtime/invoke", "/v1/tools", "/v1beta/connectors", "/v1/version")
NO_TOOL_RUNTIME = (
    "LlamaStack at %s has no tool runtime (POST /v1/tool-runtime/invoke answered 404, as on "
    "llama-stack 0.7 and later): the tools of its GET /v1/tools are no longer offered; the "
    "MCP servers of its connectors (GET /v1beta/connectors) are used directly instead")
PROBE_TIMEOUT = 10.0
RETRY_PARTIAL = 30.0   # a connector whose listing failed is listed again after this long


def base_url_of(url: str) -> str:
    """The server root: trailing slashes and a trailing /v1 (a common way to give it) dropped."""
    url = url.rstrip("/")
    return url[:-3] if url.endswith("/v1") else url


def parse_version(text):
    """(major, minor, patch) of a version string such as "0.7.3" or "v0.8.0rc1", or None."""
    found = re.match(r"\s*v?(\d+)\.(\d+)(?:\.(\d+))?", text) if isinstance(text, str) else None
    if not found:
        return None
    return tuple(int(part or 0) for part in found.groups())


def _default_factory(name, spec, client=None, log=None):
    from .mcp import connect
    return connect(name, spec, client=client, log=log)


class LlamaStackSource(object):
    """Tools of a LlamaStack server: its tool runtime (<= 0.6, both tool shapes) or the MCP
    servers of its connectors (0.7+). See the module docstring.

    mcp_factory(name, {"url": url}, client=upstream, log=log) -> an MCP client for one
    connector that connects on first use (list_tools(timeout=), call_tool(name, arguments,
    timeout), close(), on_list_changed); default `tools.mcp.connect`.
    """

    def __init__(self, base_url, upstream, timeout=60.0, name="llamastack", headers=None,
                 mcp_factory=None):
        self.name = name
        self.base_url = base_url_of(base_url)
        self.upstream = upstream
        self.timeout = float(timeout)
        self.headers = dict(headers or {})
        self.mcp_factory = mcp_factory or _default_factory
        self.on_list_changed = None   # set by the ToolSet; LlamaStack itself never announces changes
        self.mode = None              # RUNTIME or CONNECTORS once detected
        self.version = None           # the version string /v1/version answered, if any
        self._lock = threading.Lock()
        self._runtime_gone = False    # invoke answered 404: never offer /v1/tools tools again
        self._clients = {}            # connector id -> (url, MCP client)
        self._routes = {}             # exposed tool name -> (connector id, the MCP tool's name)
        self._retry = None            # the Timer that lists again after a connector failed
        self._closed = False
        self._warned = set()

    # -- the ToolSet's interface ----------------------------------------------------------

    def list_tools(self) -> list:
        # no retries here: the ToolSet lists a failed source again later on its own
        if self._detect() == CONNECTORS:
            return self._connector_tools()
        return self._runtime_tools()

    def call_tool(self, name, arguments, timeout) -> dict:
        if self.mode == CONNECTORS:
            return self._connector_call(name, arguments, timeout)
        body = {"tool_name": name, "kwargs": arguments if arguments is not None else {}}
        # no retries: a tool call may have side effects, and a 502 here means its MCP server is down
        status, raw = self._send("POST", INVOKE, body, timeout)
        if status == 404:
            self._runtime_is_gone()
            raise ToolSourceError(NO_TOOL_RUNTIME % self.base_url, 404)
        data = self._json("POST", INVOKE, status, raw)
        if not isinstance(data, dict):
            raise ToolSourceError("LlamaStack at %s: the tool result is not an object" % self.base_url, 502)
        return llamastack_result_to_mcp(data)

    def connectors(self) -> list:
        """[(connector id, url)] of the MCP connectors this source uses ([] before 0.7)."""
        if self._detect() != CONNECTORS:
            return []
        return self._list_connectors()

    def close(self):
        with self._lock:
            self._closed = True
            clients = [client for _, client in self._clients.values()]
            self._clients, self._routes = {}, {}
            if self._retry is not None:
                self._retry.cancel()
                self._retry = None
        for client in clients:
            _close_quietly(client)
        # HTTP connections to LlamaStack itself belong to the shared Upstream pool

    # -- version --------------------------------------------------------------------------

    def _detect(self) -> str:
        """RUNTIME or CONNECTORS, asked of the server once (again only if it could not answer)."""
        mode = self.mode
        if mode is not None:
            return mode
        status, raw = self._send("GET", VERSION, None, PROBE_TIMEOUT)   # raises when unreachable
        version = None
        if status == 200:
            try:
                data = json.loads(raw.decode("utf-8"))
                version = data.get("version") if isinstance(data, dict) else None
            except ValueError:
                pass
        parsed = parse_version(version)
        if self._runtime_gone:
            mode = CONNECTORS
        elif parsed is not None:
            mode = CONNECTORS if parsed[:2] >= FIRST_CONNECTORS_VERSION else RUNTIME
        else:   # no version to go by: a server with connectors is 0.7+
            mode = CONNECTORS if self._send("GET", CONNECTORS_PATH, None, PROBE_TIMEOUT)[0] == 200 \
                else RUNTIME
        self.version = version if isinstance(version, str) else None
        self._once(("detected", self.version, mode), logging.INFO, "tool source %s: LlamaStack %sat "
                   "%s: %s", self.name, self.version + " " if self.version else "", self.base_url,
                   "the tools of its MCP connectors, used directly" if mode == CONNECTORS
                   else "the tools of its tool runtime")
        self.mode = mode
        return mode

    def _runtime_is_gone(self):
        with self._lock:
            first = not self._runtime_gone
            self._runtime_gone = True
            self.mode = CONNECTORS
        if first:
            log.warning("tool source %s: %s", self.name, NO_TOOL_RUNTIME % self.base_url)
            self._notify()

    # -- runtime mode (<= 0.6) --------------------------------------------------------------

    def _runtime_tools(self) -> list:
        status, raw = self._send("GET", TOOLS, None, self.timeout)
        data = self._json("GET", TOOLS, status, raw)
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
        if not tools:
            self._once("empty", logging.INFO, "tool source %s: LlamaStack at %s lists no tools",
                       self.name, self.base_url)
        return tools

    # -- connectors mode (0.7+) -------------------------------------------------------------

    def _connector_tools(self) -> list:
        self._check_builtins()
        connectors = self._list_connectors()
        clients, failures = self._sync_clients(connectors)
        outcomes = self._list_each(clients)
        entries, by_key, labels = [], {}, {}
        for cid, _ in clients:
            outcome = outcomes[cid]
            if isinstance(outcome, Exception):
                failures.append((cid, str(outcome) or type(outcome).__name__))
                continue
            label = _label(cid, labels)   # "mcp::demo" -> "mcp_demo", the prefix of clashing names
            labels[label] = cid
            for tool in outcome:
                if isinstance(tool, dict) and isinstance(tool.get("name"), str) and tool["name"]:
                    by_key.setdefault((cid, tool["name"]), tool)
                    entries.append((label, None, tool["name"]))
        tools, routes = [], {}
        for exposed, (label, name) in unique_names(entries).items():
            tools.append(dict(by_key[(labels[label], name)], name=exposed))
            routes[exposed] = (labels[label], name)
        with self._lock:
            self._routes = routes
        for cid, why in failures:
            log.warning("tool source %s: LlamaStack connector %s: listing its tools failed: %s",
                        self.name, cid, why)
        if failures and len(failures) == len(connectors):
            raise ToolSourceError("LlamaStack at %s: no connector could list its tools (%s)" % (
                self.base_url, "; ".join("%s: %s" % f for f in failures)), 502)
        if failures:
            self._retry_later()
        return tools

    def _list_connectors(self) -> list:
        status, raw = self._send("GET", CONNECTORS_PATH, None, self.timeout)
        if status == 404 and not self._runtime_gone:
            self.mode = None   # not (or no longer) a 0.7+ server: detect again on the next listing
        data = self._json("GET", CONNECTORS_PATH, status, raw)
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ToolSourceError("LlamaStack at %s: GET %s answered without a `data` list"
                                  % (self.base_url, CONNECTORS_PATH), 502)
        out = []
        for item in items:
            item = item if isinstance(item, dict) else {}
            cid, url = item.get("connector_id"), item.get("url")
            kind = item.get("connector_type") or "mcp"
            if kind != "mcp" or not isinstance(cid, str) or not cid or not isinstance(url, str) or not url:
                self._once(("connector", json.dumps(item, sort_keys=True, default=str)), logging.WARNING,
                           "tool source %s: skipping a LlamaStack connector that is not an MCP server "
                           "with a connector_id and a url: %.300s", self.name, json.dumps(item, default=str))
                continue
            if cid not in [c for c, _ in out]:   # an id twice: the first entry counts
                out.append((cid, url))
        if not out:
            self._once("no-connectors", logging.INFO, "tool source %s: LlamaStack at %s has no MCP "
                       "connectors, so it offers no tools", self.name, self.base_url)
        return out

    def _check_builtins(self):
        """Once: say that the built-in tools GET /v1/tools lists cannot be offered."""
        if "builtins" in self._warned:
            return
        self._warned.add("builtins")
        try:
            status, raw = self._send("GET", TOOLS, None, PROBE_TIMEOUT)
            items = json.loads(raw.decode("utf-8")).get("data") if status == 200 else None
        except (ToolSourceError, ValueError, AttributeError):
            return
        names = [str(t.get("name") or t.get("identifier")) for t in items or () if isinstance(t, dict)]
        if names:
            log.warning("tool source %s: LlamaStack %sat %s lists %d built-in tool%s at GET /v1/tools "
                        "(%s); they are not offered, since llama-stack 0.7 removed the route that "
                        "runs them over HTTP (POST /v1/tool-runtime/invoke)", self.name,
                        self.version + " " if self.version else "", self.base_url, len(names),
                        "s" if len(names) != 1 else "", ", ".join(names[:10]))

    def _sync_clients(self, connectors):
        """([(connector id, MCP client)], [(connector id, why)]): clients kept while their url
        stays the same, made for new connectors, closed for connectors that went away."""
        failures = []
        with self._lock:
            if self._closed:
                raise ToolSourceError("tool source %s is closed" % self.name)
            current = {}
            for cid, url in connectors:
                known = self._clients.get(cid)
                if known is not None and known[0] == url:
                    current[cid] = known
                    continue
                try:
                    client = self.mcp_factory(cid, {"url": url}, client=self.upstream, log=log)
                except (ValueError, TypeError) as exc:
                    failures.append((cid, str(exc)))
                    continue
                client.on_list_changed = self._notify
                current[cid] = (url, client)
                log.info("tool source %s: LlamaStack connector %s: MCP server at %s",
                         self.name, cid, url)
            kept = set(id(c) for _, c in current.values())
            stale = [c for _, c in self._clients.values() if id(c) not in kept]
            self._clients = current
            made = [(cid, current[cid][1]) for cid, _ in connectors if cid in current]
        for client in stale:   # closing may send a DELETE: not while holding the lock
            threading.Thread(target=_close_quietly, args=(client,), daemon=True,
                             name="llamastack-close-connector").start()
        return made, failures

    def _list_each(self, clients) -> dict:
        """{connector id: [MCP tool] or the exception}; concurrently, each bounded by timeout."""
        if len(clients) == 1:
            cid, client = clients[0]
            return {cid: _outcome(client.list_tools, self.timeout)}
        futures = {}
        for cid, client in clients:
            futures[cid] = Future()
            threading.Thread(target=lambda c=client, f=futures[cid]: f.set_result(
                _outcome(c.list_tools, self.timeout)), daemon=True,
                name="llamastack-list-%s" % cid).start()
        wait(list(futures.values()), timeout=self.timeout + 5.0)
        return {cid: f.result() if f.done() else ToolSourceError(
            "listing its tools took longer than %g s" % self.timeout, 504)
            for cid, f in futures.items()}

    def _connector_call(self, name, arguments, timeout) -> dict:
        with self._lock:
            cid, tool = self._routes.get(name, (None, None))
            client = self._clients.get(cid, (None, None))[1] if cid else None
        if client is None:
            raise ToolSourceError("LlamaStack at %s: no connector offers a tool named %r (any more)"
                                  % (self.base_url, name), 404)
        return client.call_tool(tool, arguments if arguments is not None else {}, timeout)

    def _notify(self):
        callback = self.on_list_changed
        if callable(callback):
            callback()

    def _retry_later(self):
        """List again after RETRY_PARTIAL seconds (the ToolSet would wait its whole TTL)."""
        with self._lock:
            if self._retry is not None or self._closed:
                return
            self._retry = timer = threading.Timer(RETRY_PARTIAL, self._retry_now)
            timer.daemon = True
        timer.start()

    def _retry_now(self):
        with self._lock:
            self._retry = None
        self._notify()

    # -- HTTP ---------------------------------------------------------------------------------

    def _send(self, method, path, body, timeout):
        """(status, body bytes); raises ToolSourceError only when there is no answer."""
        payload = None if body is None else json.dumps(body).encode("utf-8")
        try:
            resp = self.upstream.request(method, self.base_url + path, body=payload,
                                         headers=self.headers, retries=0, read_timeout=timeout)
            return resp.status, resp.read()
        except ProxyError as err:   # cannot connect (503), timeout (504), garbage (502)
            raise ToolSourceError(err.message, err.status)

    def _json(self, method, path, status, raw):
        if not 200 <= status < 300:
            raise ToolSourceError("LlamaStack %s %s answered HTTP %d: %s" % (
                method, path, status, error_message(raw, status)), status)
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError:
            raise ToolSourceError("LlamaStack %s %s answered with a body that is not JSON: %r"
                                  % (method, path, raw[:200]), 502)

    def _once(self, key, level, message, *args):
        if key not in self._warned:
            self._warned.add(key)
            log.log(level, message, *args)


def _label(connector_id, taken) -> str:
    """A connector id as a name prefix ([A-Za-z0-9_-]), distinct from those already taken."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", connector_id).strip("_")[:32] or "connector"
    label, number = base, 1
    while label in taken:
        number += 1
        label = "%s_%d" % (base, number)
    return label


def _outcome(list_tools, timeout):
    try:
        return list_tools(timeout=timeout)
    except Exception as exc:   # one connector being down must not hide the others
        return exc


def _close_quietly(client):
    try:
        client.close()
    except Exception as exc:
        log.warning("LlamaStack connector %s: close failed: %s", getattr(client, "name", "?"), exc)


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
