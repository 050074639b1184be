"""Standard mode: the OpenAI API over Argo's legacy endpoints (/chat/, /streamchat/, /embed/)."""

from __future__ import annotations

import json

from .. import images
from ..convert import legacy, quirks, responses, usage, validate
from ..errors import ProxyError
from ..sse import DONE, encode, utf8_decoder
from .common import call, openai_body, relay, run_with_tools, upstream_error

PLAIN_HEADERS = {"Accept": "text/plain", "Content-Type": "application/json"}
JSON_HEADERS = {"Content-Type": "application/json"}


def register(app):
    r = app.router
    if not app.config.use_native_openai:
        r.add("POST", "/v1/chat/completions", chat_completions)
        r.add("POST", "/v1/completions", completions)
        r.add("POST", "/v1/embeddings", embeddings)
    # Argo's native API has no Responses endpoint, and /v1/chat and /v1/embed are Argo's
    # legacy formats by definition: these use the legacy API in both modes.
    r.add("POST", "/v1/responses", create_response)
    r.add("POST", "/v1/chat", argo_chat)
    r.add("POST", "/v1/embed", argo_embed)


# -- the two ways of asking Argo -------------------------------------------------------

def ask(req, res, argo_body, family, tool_mode, hold):
    """One /chat/ call → (content, tool_calls). hold: the client is waiting on a stream."""
    argo_body = dict(argo_body, stream=False)
    resp, early = call(req, res, req.app.config.argo_url, _dump(argo_body), JSON_HEADERS, hold=hold)
    data = resp.read()
    if resp.status != 200:
        raise upstream_error(resp, data)
    try:
        payload = json.loads(data)
    except ValueError:
        raise ProxyError(502, "Argo answered with something that is not JSON: %r" % data[:200],
                         code="upstream_invalid_json")
    content, calls = legacy.parse_chat_reply(payload, family, tool_mode)
    if isinstance(content, str) and legacy.is_auth_notice(content):
        raise _auth_error(req)
    return content, calls


def stream_text(req, res, argo_body):
    """Text pieces from /streamchat/ as they arrive (whole characters), after Argo's start has
    been checked for its authentication notice. The first piece may be ""."""
    argo_body = dict(argo_body, stream=True)
    resp, _ = call(req, res, req.app.config.argo_stream_url, _dump(argo_body), PLAIN_HEADERS, hold=True)
    if resp.status != 200:
        raise upstream_error(resp, resp.read())
    decoder = utf8_decoder()
    pieces = resp.iter_raw()
    head = ""
    for raw in pieces:  # look at the start of the reply before committing to a status
        head += decoder.decode(raw)
        probe = head.lstrip()
        if len(probe) >= len(legacy.AUTH_NOTICE) or not legacy.AUTH_NOTICE.startswith(probe):
            break
    if legacy.is_auth_notice(head):
        resp.close()
        raise _auth_error(req)
    yield head
    for raw in pieces:
        text = decoder.decode(raw)
        if text:
            yield text
    tail = decoder.decode(b"", True)
    if tail:
        yield tail


def _auth_error(req):
    return ProxyError(403, "Argo does not recognise the user %r (it answered with its "
                      "AUTHENTICATION NOTICE). Register at Argo or fix `user` (--user, ARGO_USER, "
                      "or the config file)." % req.app.user_for(req.headers), code="argo_auth_warning")


def _open(res):
    res.settle()
    return res.ensure_stream()


def _dump(obj):
    return json.dumps(obj).encode("utf-8")


# -- chat completions -------------------------------------------------------------------

def prepare_chat(req, body):
    """Images, quirks and conversion → (argo_body, family, tool_mode, prompt_tokens)."""
    app = req.app
    model = body["model"]
    family = app.models.family(model)
    images.inline_images(body, images.Limits(app.config))
    if app.config.model_quirks:
        quirks.apply(body, model, family, mode="standard")
    prompt_tokens = usage.prompt_tokens(body)
    argo_body, tool_mode = legacy.chat_request(body, family, app.config.tool_prompting)
    return argo_body, family, tool_mode, prompt_tokens


class LegacyBackend:
    """Argo's legacy /chat/ as a tool-loop backend (tools make it non-streaming anyway)."""

    def __init__(self, req, res):
        self.req = req
        self.res = res

    def _ask(self, body, hold):
        argo_body, family, tool_mode, ptoks = prepare_chat(self.req, body)
        content, calls = ask(self.req, self.res, argo_body, family, tool_mode, hold=hold)
        return content, calls, ptoks

    def complete(self, body):
        content, calls, ptoks = self._ask(body, hold=False)
        return legacy.chat_completion(content, calls, body["model"], ptoks,
                                      usage.completion_tokens(content, calls))

    def stream(self, body):
        content, calls, ptoks = self._ask(body, hold=True)
        ctoks = usage.completion_tokens(content, calls)
        return iter(legacy.pseudo_stream(content, calls, body["model"], ptoks, ctoks, True))


def chat_completions(req, res):
    body = openai_body(req, chat=True)
    model = body["model"]
    if run_with_tools(req, res, body, LegacyBackend(req, res)):
        return
    argo_body, family, tool_mode, ptoks = prepare_chat(req, body)
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    if not body.get("stream"):
        content, calls = ask(req, res, argo_body, family, tool_mode, hold=False)
        ctoks = usage.completion_tokens(content, calls)
        res.json(200, legacy.chat_completion(content, calls, model, ptoks, ctoks))
    elif req.app.config.real_stream and tool_mode == "none":
        _real_chat_stream(req, res, argo_body, model, ptoks, include_usage)
    else:  # pseudo stream: Argo's stream endpoint refuses tools
        content, calls = ask(req, res, argo_body, family, tool_mode, hold=True)
        ctoks = usage.completion_tokens(content, calls)
        stream = _open(res)
        for chunk in legacy.pseudo_stream(content, calls, model, ptoks, ctoks, include_usage):
            stream.write(encode(chunk))
        stream.write(DONE)


def relay_text(req, res, argo_body, encode_piece, opening=b""):
    """Argo's /streamchat/ text as the client's stream: `opening`, then encode_piece(text) for
    each piece as it arrives. Returns (stream, whole text), the text None if the client left."""
    pieces = stream_text(req, res, argo_body)
    first = next(pieces)  # the upstream call and the auth-notice check happen here
    stream = _open(res)
    stream.write(opening)
    text = [first]
    if first and not stream.write(encode_piece(first)):
        return stream, None
    for piece in pieces:
        text.append(piece)
        if not stream.write(encode_piece(piece)):
            return stream, None
    return stream, "".join(text)


def _real_chat_stream(req, res, argo_body, model, ptoks, include_usage):
    chunks = legacy.ChunkStream(model, include_usage=include_usage)
    stream, text = relay_text(req, res, argo_body, lambda p: encode(chunks.text(p)),
                              encode(chunks.start()))
    if text is None:
        return
    stream.write(encode(chunks.finish("stop")))
    tail = chunks.usage(ptoks, usage.completion_tokens(text, []))
    if tail:
        stream.write(encode(tail))
    stream.write(DONE)


# -- text completions -------------------------------------------------------------------

def completions(req, res):
    body = openai_body(req)
    validate.chat_body(body, require_messages=False)
    model = body["model"]
    argo_body = legacy.completion_request(body)
    ptoks = usage.prompt_tokens(argo_body)
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    if body.get("stream") and req.app.config.real_stream:
        chunks = legacy.CompletionChunkStream(model, include_usage=include_usage)
        stream, text = relay_text(req, res, argo_body, lambda p: encode(chunks.text(p)))
        if text is not None:
            _end_completion(stream, chunks, ptoks, text)
        return
    content, _ = ask(req, res, argo_body, "unknown", "none", hold=bool(body.get("stream")))
    content = content or ""
    if body.get("stream"):
        chunks = legacy.CompletionChunkStream(model, include_usage=include_usage)
        stream = _open(res)
        if content:
            stream.write(encode(chunks.text(content)))
        _end_completion(stream, chunks, ptoks, content)
        return
    res.json(200, legacy.text_completion(content, model, ptoks, usage.completion_tokens(content, [])))


def _end_completion(stream, chunks, ptoks, text):
    stream.write(encode(chunks.finish("stop")))
    tail = chunks.usage(ptoks, usage.completion_tokens(text, []))
    if tail:
        stream.write(encode(tail))
    stream.write(DONE)


# -- embeddings --------------------------------------------------------------------------

def embeddings(req, res):
    body = openai_body(req)
    model = body["model"]
    inputs = legacy.embedding_inputs(body)
    vectors = []
    for batch in legacy.embed_batches(inputs, model, body["user"]):
        vectors.extend(_embed(req, res, batch))
    ptoks = sum(usage.estimate_tokens(text) for text in inputs)
    res.json(200, legacy.embeddings_response(vectors, model, ptoks, body.get("encoding_format")))


def _embed(req, res, batch):
    resp, _ = call(req, res, req.app.config.argo_embedding_url, _dump(batch), JSON_HEADERS)
    data = resp.read()
    if resp.status != 200:
        raise upstream_error(resp, data)
    try:
        vectors = json.loads(data)["embedding"]
    except (ValueError, KeyError, TypeError):
        raise ProxyError(502, "Argo's embedding answer has no `embedding` list: %r" % data[:200],
                         code="upstream_invalid_response")
    if not isinstance(vectors, list) or len(vectors) != len(batch["prompt"]):
        raise ProxyError(502, "Argo returned %s vectors for %d inputs"
                         % (len(vectors) if isinstance(vectors, list) else "no", len(batch["prompt"])),
                         code="upstream_invalid_response")
    return vectors


# -- Responses API -------------------------------------------------------------------------

def create_response(req, res):
    request = openai_body(req)
    model = request["model"]
    chat = responses.to_chat(request)
    validate.chat_body(chat)
    chat["model"], chat["user"] = model, request["user"]
    argo_body, family, tool_mode, ptoks = prepare_chat(req, chat)
    if not request.get("stream"):
        content, calls = ask(req, res, argo_body, family, tool_mode, hold=False)
        res.json(200, responses.response_object(content, calls, model, request, ptoks,
                                                usage.completion_tokens(content, calls)))
        return
    events = responses.ResponseEvents(model, request)
    if req.app.config.real_stream and tool_mode == "none":
        stream, text = relay_text(req, res, argo_body, lambda p: _events(events.text(p)),
                                  _events(events.start()))
        if text is not None:
            stream.write(_events(events.finish(ptoks, usage.completion_tokens(text, []))))
        return
    content, calls = ask(req, res, argo_body, family, tool_mode, hold=True)
    stream = _open(res)
    stream.write(_events(events.start()))
    if content:
        stream.write(_events(events.text(content)))
    for c in calls:
        stream.write(_events(events.tool_call(c)))
    stream.write(_events(events.finish(ptoks, usage.completion_tokens(content, calls))))


def _events(pairs) -> bytes:
    """Responses events for one step, as one write."""
    return b"".join(responses.encode(event_type, data) for event_type, data in pairs)


# -- Argo's own formats -----------------------------------------------------------------------

def argo_chat(req, res):
    """POST /v1/chat: Argo's raw chat format, after user, model, images, quirks and tools."""
    body = openai_body(req)
    validate.chat_body(body, require_messages=False)
    argo_body, _, tool_mode, _ = prepare_chat(req, body)
    if body.get("stream") and req.app.config.real_stream and tool_mode == "none":
        relay(req, res, req.app.config.argo_stream_url, _dump(argo_body), streaming=True,
              headers=dict(PLAIN_HEADERS), sse=False)
        return
    relay(req, res, req.app.config.argo_url, _dump(dict(argo_body, stream=False)), headers=dict(JSON_HEADERS))


def argo_embed(req, res):
    """POST /v1/embed: Argo's raw embedding format (`input` accepted as `prompt`)."""
    body = openai_body(req)
    if "prompt" not in body:
        body["prompt"] = legacy.embedding_inputs(body)
        body.pop("input", None)
    relay(req, res, req.app.config.argo_embedding_url, _dump(body), headers=dict(JSON_HEADERS))
