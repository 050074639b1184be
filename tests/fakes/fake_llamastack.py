#!/usr/bin/env python3
"""Fake LlamaStack for argo-proxy tests (standard library only).

Serves what the proxy uses of llama-stack (tools-and-mcp.md §1):
- ``GET /v1/tools``: the demo tools add/echo/pixel/boom in the 0.3+ ToolDef shape
  (``shape="new"``, as 0.6.1) or the 0.2.x Tool shape with a ``parameters`` list (``shape="old"``,
  as 0.2.23, lossy: every parameter ``required: true``, ``default: null``);
- ``POST /v1/tool-runtime/invoke``: results as observed (add -> text sum, pixel -> image item,
  but HTTP 500 in the old shape like 0.2.23's bug, boom -> ``error_code: 1``, bad add arguments ->
  ``error_code: 1`` with a validation text), and the three error bodies: unknown tool -> 400
  ``{"detail": str}``, no ``kwargs`` -> 400 ``{"error": {"message"}}``, no ``tool_name`` -> 422
  FastAPI ``{"detail": [...]}``. ``fake.invoke_404 = True`` answers 404 like 0.7+;
- ``GET /v1/models`` / ``GET /v1/openai/v1/models`` and chat at ``chat_path`` as the version
  with that path does: ``/v1/chat/completions`` (0.4+: OpenAI model list at /v1/models, no
  /v1/openai/v1) or ``/v1/openai/v1/chat/completions`` (0.2.x: resources at /v1/models, the
  OpenAI list at /v1/openai/v1/models);
- an OpenAI-compatible fake model at ``chat_path`` (see ``FakeLlamaStack.script``), streaming
  with tool-call arguments in fragments; ``send_done=False`` ends streams without
  ``data: [DONE]`` like 0.7.3;
- ``GET /v1/version``: ``version`` (default 0.6.1, or 0.2.23 with the old chat path).
  ``version="0.7.3"`` (any 0.7+) serves what 0.7 does instead of the tool runtime: no
  ``/v1/tool-runtime/invoke`` and no tool groups (404), ``GET /v1/tools`` lists only the built-in
  tools (``builtin_tools``, default web_search in the ToolDef shape), and the MCP servers are
  read-only connectors: ``GET /v1beta/connectors`` (``{"data": [Connector]}``) and
  ``GET /v1beta/connectors/{id}``, from ``connectors`` ([(id, url)] or dicts; e.g. the url of a
  ``tests.fakes.fake_mcp.FakeMCPHttp``), which tests may change in ``fake.connectors``.

Every request is recorded in ``fake.requests``. Use: ``with FakeLlamaStack() as fake: fake.url``.
"""

from __future__ import annotations

import copy
import itertools
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

MODEL = "openai/fake-model"
WEB_SEARCH = {"toolgroup_id": "builtin::websearch", "name": "web_search",
              "description": "Search the web for information",
              "input_schema": {"type": "object", "properties": {"query": {"type": "string"}},
                               "required": ["query"]},
              "output_schema": None, "metadata": None}
DEFAULT_REPLY = "Hello from fake LlamaStack."
ENDPOINT = {"endpoint": "http://127.0.0.1:8931/mcp"}
PIXEL_PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kg"
             "AAAABJRU5ErkJggg==")
NEW_CHAT, OLD_CHAT = "/v1/chat/completions", "/v1/openai/v1/chat/completions"

_DEMO = (  # name, description, [(param, type, optional default)], output schema
    ("add", "Add two integers.", [("a", "integer", None), ("b", "integer", None)],
     {"properties": {"result": {"title": "Result", "type": "integer"}}, "required": ["result"],
      "type": "object", "title": "addOutput"}),
    ("echo", "Echo the text back, optionally in capitals.",
     [("text", "string", None), ("shout", "boolean", False)], None),
    ("pixel", "Return a 1x1 PNG.", [], None),
    ("boom", "Always fails.", [], None),
)


def tools_new() -> list:
    """ToolDef shape of 0.3+ (observed on 0.6.1): MCP's JSON Schema copied through."""
    out = []
    for name, desc, params, output in _DEMO:
        props, required = {}, []
        for pname, ptype, default in params:
            props[pname] = {"title": pname.capitalize(), "type": ptype}
            if default is None:
                required.append(pname)
            else:
                props[pname] = {"default": default, "title": pname.capitalize(), "type": ptype}
        schema = {"properties": props, "type": "object", "title": name + "Arguments"}
        if required:
            schema["required"] = required
        out.append({"toolgroup_id": "mcp::demo", "name": name, "description": desc,
                    "input_schema": schema, "output_schema": output,
                    "metadata": dict(ENDPOINT)})
    return out


def tools_old() -> list:
    """Tool resource shape of 0.2.x (observed on 0.2.23), lossy as llama-stack made it."""
    return [{"identifier": name, "provider_resource_id": None,
             "provider_id": "model-context-protocol", "type": "tool", "toolgroup_id": "mcp::demo",
             "description": desc,
             "parameters": [{"name": p, "parameter_type": t, "description": "", "required": True,
                             "default": None} for p, t, _ in params],
             "metadata": dict(ENDPOINT)} for name, desc, params, _ in _DEMO]


def _result(text, code=0, content=None):
    return {"content": content if content is not None else [{"type": "text", "text": text}],
            "error_message": None, "error_code": code, "metadata": None}


def _int_error(kwargs):
    bad = [k for k in ("a", "b") if type(kwargs.get(k)) is not int]
    if not bad:
        return None
    lines = ["%d validation error%s for addArguments" % (len(bad), "s" if len(bad) > 1 else "")]
    for key in bad:
        lines += [key, "  Input should be a valid integer [type=int_type, input_value=%r]"
                  % (kwargs.get(key),)]
    return "\n".join(lines)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeLlamaStack/1.0"

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        # headers and body go out in separate writes: without this, Nagle adds 40 ms per answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._track(self.connection, True)

    def finish(self):
        try:
            BaseHTTPRequestHandler.finish(self)
        finally:
            self.server.fake._track(self.connection, False)

    def do_GET(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = None
        path = urlsplit(self.path).path
        fake = self.server.fake
        fake._record(self, path, body)
        try:
            fake._handle(self, path, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_POST = do_DELETE = do_GET

    def send_json(self, status, obj):
        data = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class FakeLlamaStack(object):
    """See the module docstring. Attributes tests may set: invoke_404, send_done, connectors."""

    def __init__(self, shape="new", chat_path=NEW_CHAT, send_done=True, strict_models=False,
                 version=None, connectors=(), builtin_tools=None):
        if shape not in ("new", "old") or chat_path not in (NEW_CHAT, OLD_CHAT):
            raise ValueError("shape must be new|old and chat_path one of %s, %s" % (NEW_CHAT, OLD_CHAT))
        self.shape, self.chat_path = shape, chat_path
        self.version = version or ("0.2.23" if chat_path == OLD_CHAT else "0.6.1")
        numbers = tuple(int(n) for n in self.version.split(".")[:2])
        self.has_connectors = numbers >= (0, 7)   # 0.7+: connectors, no tool runtime
        if self.has_connectors and (shape, chat_path) != ("new", NEW_CHAT):
            raise ValueError("llama-stack 0.7+ has the new tool shape and chat path only")
        self.connectors = [dict(c) if isinstance(c, dict) else {"connector_id": c[0], "url": c[1]}
                           for c in connectors]
        self.builtin_tools = copy.deepcopy(builtin_tools if builtin_tools is not None else [WEB_SEARCH])
        self.send_done = send_done
        self.strict_models = strict_models
        self.invoke_404 = False
        self._lock = threading.Lock()
        self._requests, self._script, self._faults, self._conns = [], [], [], set()
        self._ids = itertools.count(1)
        self._server = self._thread = None

    # -- lifecycle ----------------------------------------------------------------

    def start(self):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05}, name="fake-llamastack")
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns = list(self._conns)
        for sock in conns:  # idle keep-alive connections would keep handler threads alive
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    # -- control ------------------------------------------------------------------

    @property
    def requests(self):
        with self._lock:
            return list(self._requests)

    def script(self, replies):
        """Queue chat replies: {"content": str} or {"tool_calls": [{"name", "arguments"}]}
        (arguments a dict, or a string sent as is). Without a script the model calls the first
        tool named like *add* with {"a": 2, "b": 3} when a user asks with tools, answers
        "Tool said: <last tool message>" after a tool message, and DEFAULT_REPLY otherwise."""
        with self._lock:
            self._script.extend(copy.deepcopy(list(replies)))

    def fail(self, path, status, body, times=1):
        """The next `times` requests to `path` get `status` with the JSON `body`."""
        with self._lock:
            self._faults.extend([(path, status, body)] * times)

    # -- serving ------------------------------------------------------------------

    def _track(self, sock, opened):
        with self._lock:
            (self._conns.add if opened else self._conns.discard)(sock)

    def _record(self, handler, path, body):
        rec = {"method": handler.command, "path": path, "body": body,
               "query": dict(parse_qsl(urlsplit(handler.path).query)),
               "headers": dict((k.lower(), v) for k, v in handler.headers.items())}
        with self._lock:
            self._requests.append(rec)

    def _take_fault(self, path):
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault[0] == path:
                    return self._faults.pop(i)
        return None

    def _handle(self, h, path, body):
        fault = self._take_fault(path)
        if fault:
            return h.send_json(fault[1], fault[2])
        old = self.chat_path == OLD_CHAT
        if self.has_connectors:
            return self._handle_07(h, path, body)
        routes = {
            ("GET", "/v1/tools"): lambda: h.send_json(
                200, {"data": tools_new() if self.shape == "new" else tools_old()}),
            ("POST", "/v1/tool-runtime/invoke"): lambda: self._invoke(h, body),
            ("GET", "/v1/models"): lambda: h.send_json(200, self._models(resources=old)),
            ("GET", "/v1/health"): lambda: h.send_json(200, {"status": "OK"}),
            ("GET", "/v1/version"): lambda: h.send_json(200, {"version": self.version}),
            ("POST", self.chat_path): lambda: self._chat(h, body),
        }
        if old:
            routes[("GET", "/v1/openai/v1/models")] = lambda: h.send_json(200, self._models(False))
        route = routes.get((h.command, path))
        if route is None:
            return h.send_json(404, {"detail": "Not Found"})
        route()

    def _handle_07(self, h, path, body):
        """llama-stack 0.7+: connectors instead of the tool runtime and tool groups."""
        routes = {
            ("GET", "/v1/tools"): lambda: h.send_json(200, {"data": copy.deepcopy(self.builtin_tools)}),
            ("GET", "/v1/models"): lambda: h.send_json(200, self._models(False)),
            ("GET", "/v1/health"): lambda: h.send_json(200, {"status": "OK"}),
            ("GET", "/v1/version"): lambda: h.send_json(200, {"version": self.version}),
            ("GET", "/v1beta/connectors"): lambda: h.send_json(
                200, {"data": [self._connector(c) for c in list(self.connectors)]}),
            ("POST", NEW_CHAT): lambda: self._chat(h, body),
        }
        route = routes.get((h.command, path))
        if route is not None:
            return route()
        prefix = "/v1beta/connectors/"
        if h.command == "GET" and path.startswith(prefix) and "/" not in path[len(prefix):]:
            wanted = unquote(path[len(prefix):])
            for c in list(self.connectors):
                if c.get("connector_id") == wanted:
                    return h.send_json(200, self._connector(c))
            return h.send_json(404, {"detail": "Connector '%s' not found" % wanted})
        h.send_json(404, {"detail": "Not Found"})

    def _connector(self, c):
        out = {"connector_type": "mcp", "connector_id": None, "url": None, "server_label": None,
               "server_name": None, "server_description": None, "server_version": None}
        out.update(c)
        return out

    def _models(self, resources):
        if resources:  # 0.2.x /v1/models: llama-stack resources, not the OpenAI shape
            return {"data": [{"identifier": "fake-model", "provider_resource_id": "fake-model",
                              "provider_id": "openai", "type": "model", "metadata": {},
                              "model_type": "llm"}]}
        return {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 1700000000,
                                            "owned_by": "llama_stack"}]}

    # -- tool runtime -------------------------------------------------------------

    def _invoke(self, h, body):
        if self.invoke_404:
            return h.send_json(404, {"detail": "Not Found"})
        if not isinstance(body, dict) or not isinstance(body.get("tool_name"), str):
            return h.send_json(422, {"detail": [{"loc": ["body", "tool_name"],
                                                 "msg": "Field required", "type": "missing"}]})
        if "kwargs" not in body:
            return h.send_json(400, {"error": {"message": "{'errors': [{'loc': ['body', 'kwargs'], "
                                                          "'msg': 'Field required', 'type': 'missing'}]}"}})
        name, kwargs = body["tool_name"], body.get("kwargs") or {}
        if name not in [t[0] for t in _DEMO]:
            text = ("Tool_group `%s` not served by provider: `model-context-protocol`. Make sure "
                    "there is an ToolGroups provider serving this tool_group." % name)
            return h.send_json(400, {"detail": ("Invalid value: " if self.shape == "old" else "") + text})
        if name == "pixel" and self.shape == "old":  # 0.2.23 bug: base64 put in the URL slot
            return h.send_json(500, {"detail": "Internal server error: An unexpected error occurred."})
        h.send_json(200, self._run_tool(name, kwargs))

    def _run_tool(self, name, kwargs):
        if name == "add":
            problem = _int_error(kwargs)
            return _result(problem, 1) if problem else _result(str(kwargs["a"] + kwargs["b"]))
        if name == "echo":
            text = str(kwargs.get("text", ""))
            return _result(text.upper() if kwargs.get("shout") else text)
        if name == "pixel":
            return _result(None, content=[{"type": "image", "image": {"url": None, "data": PIXEL_PNG}}])
        return _result("Error executing tool boom", 1)

    # -- chat ---------------------------------------------------------------------

    def _chat(self, h, body):
        body = body if isinstance(body, dict) else {}
        model = body.get("model")
        if self.strict_models and model not in (MODEL, "fake-model" if self.shape == "old" else MODEL):
            return h.send_json(404, {"error": {"message": "Model '%s' not found. Use "
                                               "'client.models.list()' to list available Models." % model}})
        content, calls = self._reply(body)
        cid = "chatcmpl-fake%d" % next(self._ids)
        finish = "tool_calls" if calls else "stop"
        if body.get("stream"):
            return self._stream(h, cid, model, content, calls, finish, body)
        message = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = [{"id": c["id"], "type": "function", "function": {
                "name": c["name"], "arguments": c["arguments"]}} for c in calls]
        h.send_json(200, {"id": cid, "object": "chat.completion", "created": int(time.time()),
                          "model": model, "choices": [{"index": 0, "message": message,
                                                       "finish_reason": finish, "logprobs": None}],
                          "usage": _usage()})

    def _reply(self, body):
        """(content or None, [{"id", "name", "arguments": str}])."""
        with self._lock:
            scripted = self._script.pop(0) if self._script else None
        if scripted is None:
            scripted = _default_reply(body)
        calls = []
        for call in scripted.get("tool_calls") or []:
            args = call.get("arguments", {})
            calls.append({"id": "call_fake%d" % next(self._ids), "name": call["name"],
                          "arguments": args if isinstance(args, str) else json.dumps(args)})
        return scripted.get("content"), calls

    def _stream(self, h, cid, model, content, calls, finish, body):
        def event(delta, finish_reason=None, **extra):
            chunk = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
                     "model": model, "choices": [{"index": 0, "delta": delta,
                                                  "finish_reason": finish_reason}]}
            chunk.update(extra)
            h.chunk(b"data: " + json.dumps(chunk).encode("utf-8") + b"\n\n")

        h.start_stream()
        event({"role": "assistant", "content": ""})
        for piece in _pieces(content or ""):
            event({"content": piece})
        for index, call in enumerate(calls):  # like OpenAI: id+name first, then argument fragments
            event({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                   "function": {"name": call["name"], "arguments": ""}}]})
            for piece in _pieces(call["arguments"]):
                event({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        event({}, finish)
        if (body.get("stream_options") or {}).get("include_usage"):
            h.chunk(b"data: " + json.dumps({"id": cid, "object": "chat.completion.chunk",
                                            "model": model, "choices": [],
                                            "usage": _usage()}).encode("utf-8") + b"\n\n")
        if self.send_done:
            h.chunk(b"data: [DONE]\n\n")
        h.end_stream()


def _default_reply(body):
    messages = body.get("messages") or []
    last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    if last.get("role") == "tool":
        return {"content": "Tool said: " + _text(last.get("content"))}
    if last.get("role") == "user" and body.get("tools"):
        for tool in body["tools"]:
            name = (tool.get("function") or {}).get("name") or ""
            if "add" in name:
                return {"tool_calls": [{"name": name, "arguments": {"a": 2, "b": 3}}]}
    return {"content": DEFAULT_REPLY}


def _text(content):
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _pieces(text, count=3):
    """text in up to `count` fragments (as streamed by real servers)."""
    if not text:
        return []
    size = max(1, -(-len(text) // count))
    return [text[i:i + size] for i in range(0, len(text), size)]


def _usage():
    return {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
