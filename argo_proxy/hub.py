"""The hub: every surface's request meets every upstream here, as an OpenAI chat request.

A surface decodes its client's request into a hub body and calls `answer` with a Surface
(how to encode the answer for its client). `answer` resolves the model, asks THE routing
table for the adapter, and then takes one of four paths:

    tools injected      -> the tool loop (any surface: it drives the surface's encoder)
    same protocol       -> adapter.relay: byte-exact passthrough
    stream requested    -> adapter.stream events -> relay_events -> the surface's encoder
    otherwise           -> adapter.complete -> the surface's reply
"""

from __future__ import annotations

import itertools
import logging

from . import observe
from .convert import presets, usage
from .convert.encoders import encode_chunk
from .errors import ProxyError
from .tools.loop import Loop, inject
from .upstream import Cancel

log = logging.getLogger("argo_proxy")


class Call:
    """One client request on its way through the hub: what adapters need besides the body."""

    def __init__(self, req, out, model, family, user, stream=False, include_usage=False):
        self.req = req
        self.out = out
        self.model = model
        self.family = family
        self.user = user
        self.stream = stream
        self.include_usage = include_usage   # stream_options.include_usage
        self.request = None                  # the client's own request, for surfaces that echo it
        self.preset = None                   # the agent preset the client named, if any
        self.reshaped = False                # the body changed beyond model and user
        self.cancel = Cancel()
        out.on_disconnect(self.cancel.cancel)


class Surface:
    """How one client API wants its answer.

    protocol: the wire protocol it speaks (a matching adapter relays byte-exact);
    path: that protocol's endpoint under the upstream's base; encoder(call): a stream
    encoder (convert.encoders interface); reply(completion, call): the non-streaming answer.
    """

    def __init__(self, kind, protocol, path, encoder, reply):
        self.kind = kind
        self.protocol = protocol
        self.path = path
        self.encoder = encoder
        self.reply = reply


def begin(req, out, body, required=True) -> Call:
    """Resolve the body's model (in place) and make the Call."""
    app = req.app
    model = body.get("model")
    if required and (not isinstance(model, str) or not model.strip()):
        raise ProxyError(400, "`model` is required (a string such as \"argo:gpt-4o\"); "
                         "GET /v1/models lists them.", param="model", code="missing_model")
    preset = app.preset(model)
    model, family = app.resolve(preset.model if preset else model)   # a preset's name stays here
    if model is not None:
        body["model"] = model
    req.model = model
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    call = Call(req, out, model, family, app.user_for(req.headers), bool(body.get("stream")),
                include_usage)
    call.preset = preset
    trace = observe.current()
    if trace is not None:
        trace.user, trace.stream = call.user, call.stream
    return call


def adapter_for(call, kind):
    return call.req.app.adapter(kind, call.family)


def answer(call, body, surface):
    """Serve a hub request through the adapter the routing table names."""
    adapter = adapter_for(call, surface.kind)
    adapter.prepare(call, body)
    if call.preset is not None:
        presets.apply(body, call.preset)
        call.reshaped = True
    encoder = surface.encoder(call) if call.stream else None
    if encoder is not None:
        call.out.error_event = encoder.error   # a failure after the stream opened
        call.out.stream_type = encoder.content_type
        call.out.keepalive = getattr(encoder, "keepalive", call.out.keepalive)
    if run_tools(call, body, adapter, surface, encoder):
        return
    if surface.protocol in adapter.protocols:
        adapter.relay(call, body, surface.path)
    elif encoder is not None:
        relay_events(adapter.stream(call, body), encoder, call.out, usage.prompt_tokens(body),
                     getattr(adapter, "estimates_usage", False))
    else:
        completion = adapter.complete(call, body)
        note_usage(completion.get("usage"), getattr(adapter, "estimates_usage", False))
        call.out.json(200, surface.reply(completion, call))


def note_usage(counts, estimated):
    """Tell the request's trace the tokens it used (OpenAI usage names)."""
    if isinstance(counts, dict):
        observe.note_usage(counts.get("prompt_tokens"), counts.get("completion_tokens"), estimated)


def relay_events(events, encoder, out, prompt_tokens=0, estimated=False):
    """Hub events -> the client's stream, through its encoder, as each event arrives. An
    upstream that reports no usage gets an estimate (prompt_tokens: the request's)."""
    events = iter(events)
    tally = usage.Tally(prompt_tokens)
    try:
        first = next(events, None)   # the upstream answered (or failed: a plain error then)
        out.open(200, encoder.content_type)
        if not out.write(encoder.start()):
            return
        for chunk in itertools.chain(() if first is None else (first,), events):
            tally.feed(chunk)
            data = encode_chunk(encoder, chunk)
            if data and not out.write(data):
                return
        note_usage(tally.usage(), tally.reported is None or estimated)
        if tally.reported is None:
            out.write(encoder.usage(tally.usage()))
        out.write(encoder.end())
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()   # a generator: its finally blocks release the upstream connection


def run_tools(call, body, adapter, surface, encoder) -> bool:
    """Answer through the tool loop when this request gets injected tools (tool sources are
    configured, and the request names a preset or inject_tools is "all"); else False."""
    app = call.req.app
    toolset, preset, cfg = app.toolset, call.preset, app.config
    if toolset is None or (preset is None and app.inject_tools == "presets"):
        return False
    injected = inject(body, toolset, preset.tools if preset is not None else None)
    if not injected:
        return False
    rounds = preset.max_tool_iterations if preset and preset.max_tool_iterations is not None \
        else cfg.max_tool_iterations
    show = preset.show_tool_activity if preset and preset.show_tool_activity is not None \
        else cfg.show_tool_activity
    loop = Loop(toolset, rounds, cfg.tool_timeout, cfg.tool_result_max_chars, show_activity=show)
    if encoder is not None:
        loop.stream(adapter, call, body, injected, encoder)
    else:
        call.out.json(200, surface.reply(loop.complete(adapter, call, body, injected), call))
    return True
