"""Drive the proxy in-process, without sockets: a route with a scripted upstream adapter
(like httpx's MockTransport), and the raw bytes a client would have received."""

from __future__ import annotations

import email.message
import io
import json

from argo_proxy import config as configmod
from argo_proxy.app import App
from argo_proxy.clientstream import ClientStream
from argo_proxy.server import Request, dispatch


class Headers(email.message.Message):
    """Case-insensitive request headers, as the server core sees them."""

    def __init__(self, items=None):
        super().__init__()
        for name, value in (items or {}).items():
            self[name] = value


def make_app(adapters=None, **settings):
    """An App from a frozen config (user "tester" unless given) with these adapters."""
    cli = {"user": "tester"}
    cli.update(settings)
    cfg = configmod.load(explicit_path=None, environ={}, cli=cli, search=False)
    cfg.freeze()
    return App(cfg, adapters=adapters)


class Result:
    def __init__(self, raw):
        self.raw = raw
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ")[1])
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.chunks = None
        if self.headers.get("transfer-encoding") == "chunked":
            self.chunks = dechunk(rest)
            self.body = b"".join(self.chunks)
        else:
            self.body = rest

    def json(self):
        return json.loads(self.body)

    def events(self):
        """SSE events as (event name or None, data string)."""
        out = []
        for raw in self.body.split(b"\n\n"):
            if not raw.strip() or raw.startswith(b":"):
                continue
            name, data = None, []
            for line in raw.decode("utf-8").split("\n"):
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
            out.append((name, "\n".join(data)))
        return out


def dechunk(data):
    chunks = []
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        chunks.append(data[:size])
        data = data[size + 2:]
    return chunks


def drive(app, method, target, body=None, headers=None):
    """One request through routing, auth, the route and the hub; returns a Result."""
    wfile = io.BytesIO()
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json", "Content-Length": str(len(data))} if data is not None else {}
    hdrs.update(headers or {})
    out = ClientStream(wfile, None, method)
    req = Request(method, target, Headers(hdrs), lambda: data or b"")
    dispatch(app, req, out)
    return Result(wfile.getvalue())


class ScriptedAdapter:
    """An upstream adapter that answers from a script and records what it was asked.

    replies: a list of chat.completion dicts (complete) or chunk lists (stream), used in order;
    an Exception instance in the list is raised instead.
    """

    def __init__(self, replies=(), protocols=("scripted",)):
        self.replies = list(replies)
        self.protocols = protocols
        self.seen = []

    def prepare(self, call, body):
        pass

    def _next(self, body):
        self.seen.append(json.loads(json.dumps(body)))
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def complete(self, call, body):
        return self._next(body)

    def stream(self, call, body):
        for chunk in self._next(body):
            if isinstance(chunk, Exception):
                raise chunk
            yield chunk

    def relay(self, call, body, path=None):
        self._next(body)
        call.out.json(200, {"relayed": body, "path": path})


def completion(content="hi", calls=None, usage=(3, 2)):
    return {"id": "x", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "finish_reason": "tool_calls" if calls else "stop",
                         "message": {"role": "assistant", "content": content, "tool_calls": calls}}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                      "total_tokens": usage[0] + usage[1]}}


def chunks(text="hi", calls=None, usage=(3, 2), pieces=2):
    out = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    step = max(1, len(text) // pieces) if text else 1
    for i in range(0, len(text or ""), step):
        out.append({"choices": [{"index": 0, "delta": {"content": text[i:i + step]}}]})
    for i, c in enumerate(calls or []):
        out.append({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": i, "id": c["id"], "type": "function",
             "function": {"name": c["function"]["name"], "arguments": ""}}]}}]})
        out.append({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": i, "function": {"arguments": c["function"]["arguments"]}}]}}]})
    out.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls" if calls else "stop"}]})
    out.append({"choices": [], "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                                         "total_tokens": usage[0] + usage[1]}})
    return out
