"""Steps every OpenAI-style route shares: read the body, resolve the model, relay the answer."""

from __future__ import annotations

import logging

import json

from ..convert import validate
from ..errors import ProxyError, upstream_message
from ..sse import EventSplitter, json_events
from ..tools.loop import Loop, inject
from ..upstream import Cancel

log = logging.getLogger("argo_proxy")

# Client headers worth passing on to an OpenAI/Anthropic-compatible upstream.
FORWARDED = ("Accept", "OpenAI-Beta", "anthropic-version", "anthropic-beta", "x-goog-api-key")
# Upstream answer headers worth passing back.
RETURNED = ("Retry-After", "x-request-id", "openai-processing-ms")


def openai_body(req, chat=False) -> dict:
    """The JSON body with `model` resolved to Argo's id and `user` set (chat: shape checked)."""
    body = req.json()
    if chat:
        validate.chat_body(body)
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ProxyError(400, "`model` is required (a string such as \"argo:gpt-4o\"); "
                         "GET /v1/models lists them.", param="model", code="missing_model")
    resolved, known = req.app.models.resolve(model)
    if not known:
        log.warning("model %r is not in the model list; forwarding it unchanged", model)
    body["model"] = resolved
    req.model = resolved
    body["user"] = req.app.user_for(req.headers)
    return body


def upstream_headers(req, streaming=False) -> dict:
    headers = {}
    for name in FORWARDED:
        value = req.header(name)
        if value:
            headers[name] = value
    if streaming:
        headers["Accept"] = "text/event-stream"
    headers["Authorization"] = _authorization(req)
    ctype = req.header("Content-Type")
    if ctype:
        headers["Content-Type"] = ctype
    return headers


def _authorization(req):
    """The client's Authorization, unless it is this proxy's own key (never sent upstream)."""
    auth = req.header("Authorization") or ""
    key = req.app.config.proxy_api_key
    if auth and not (key and auth[7:].strip() == key):
        return auth
    return "Bearer " + req.app.user_for(req.headers)


def call(req, res, url, body: bytes | None, headers: dict, method="POST", hold=False):
    """Send to the upstream; a client disconnect cancels the request at any stage.

    With hold=True (the client asked for a stream) the monitor may open the stream early and
    send keep-alives while the upstream thinks. Returns (upstream response, early Stream or None).
    """
    cancel = Cancel()
    res.on_disconnect(cancel.cancel)
    if hold:
        res.hold_open()
    else:
        res.watch_client()
    resp = req.app.upstream.request(method, url, body=body, headers=headers, cancel=cancel)
    return resp, res.settle()


def upstream_error(resp, data: bytes) -> ProxyError:
    """The upstream's failure, with its status and its own message."""
    return ProxyError(resp.status, upstream_message(resp.status, data), code="upstream_error")


def relay(req, res, url, body: bytes | None, method="POST", streaming=False, headers=None, sse=True):
    """Forward to the upstream; its status, content type and body reach the client unchanged."""
    headers = headers if headers is not None else upstream_headers(req, streaming)
    resp, early = call(req, res, url, body, headers, method, hold=streaming and sse)
    ctype = resp.header("Content-Type") or ""
    if resp.status == 200 and (streaming or ctype.startswith("text/event-stream")):
        relay_stream(resp, early or res.stream(200, ctype or None))
        return
    data = resp.read()
    if early is not None:  # keep-alives already went out with status 200: report in the stream
        raise upstream_error(resp, data)
    extra = {k: resp.header(k) for k in RETURNED if resp.header(k)}
    res.send(resp.status, data, ctype or None, extra)


def relay_stream(resp, stream):
    """Byte-exact relay: SSE one event per write, other streams one read per write."""
    splitter = EventSplitter()
    try:
        for chunk in resp.iter_raw():
            for piece in (splitter.feed(chunk) if stream.is_sse else (chunk,)):
                if not stream.write(piece):
                    resp.close()
                    return
        stream.write(splitter.rest())
    except ProxyError as err:
        if not stream.broken:
            stream.fail(err)
        return
    stream.close()


# -- the tool loop -------------------------------------------------------------------------

def run_with_tools(req, res, body, backend) -> bool:
    """Answer through the tool loop when tool sources are configured; False if there are none."""
    toolset = req.app.toolset
    if toolset is None:
        return False
    injected = inject(body, toolset)
    if not injected:
        return False
    cfg = req.app.config
    loop = Loop(toolset, cfg.max_tool_iterations, cfg.tool_timeout, cfg.tool_result_max_chars)
    if body.get("stream"):
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        loop.stream(backend, body, injected, res, include_usage)
    else:
        res.json(200, loop.complete(backend, body, injected))
    return True


class OpenAIBackend:
    """An OpenAI-compatible chat endpoint (Argo native, LlamaStack) as a tool-loop backend."""

    def __init__(self, req, res, url, fix=None):
        self.req = req
        self.res = res
        self.url = url
        self.fix = fix  # e.g. the quirk table, applied to every round's body

    def _send(self, body, streaming):
        if self.fix is not None:
            self.fix(body)
        headers = upstream_headers(self.req, streaming)
        headers["Content-Type"] = "application/json"
        resp, _ = call(self.req, self.res, self.url, json.dumps(body).encode("utf-8"), headers,
                       hold=streaming)
        if resp.status != 200:
            raise upstream_error(resp, resp.read())
        return resp

    def complete(self, body):
        data = self._send(dict(body, stream=False), False).read()
        try:
            reply = json.loads(data)
        except ValueError:
            reply = None
        choices = reply.get("choices") if isinstance(reply, dict) else None
        if not (isinstance(choices, list) and choices and isinstance(choices[0], dict)
                and isinstance(choices[0].get("message"), dict)):
            raise ProxyError(502, "The upstream's chat answer is not a chat.completion: %r" % data[:200],
                             code="upstream_invalid_response")
        return reply

    def stream(self, body):
        return json_events(self._send(dict(body, stream=True), True).iter_raw())
