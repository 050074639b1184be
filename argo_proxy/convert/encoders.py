"""Surface encoders: hub events (OpenAI chat chunks) -> the bytes of one client stream.

Every encoder has the same interface; each method returns the bytes to send (b"" for none):

    start()                                  before anything else
    text(s) / reasoning(s, signature=None)   a piece of the answer / of the model's reasoning
    tool_call(index, id, name, arguments)    a fragment of call `index`; id and name come with
                                             its first fragment only (None afterwards)
    finish(reason)                           OpenAI finish_reason: stop, length, tool_calls, ...
    usage(usage)                             an OpenAI usage dict (may come after finish)
    error(err)                               a ProxyError after the stream started
    end()                                    after everything (idempotent)

`encode_chunk` drives any encoder from one hub chunk. Pure: no I/O.
"""

from __future__ import annotations

import json

from ..sse import DONE, encode
from .legacy import ChunkStream, CompletionChunkStream


def encode_chunk(encoder, chunk) -> bytes:
    """The client bytes for one hub chunk (an OpenAI chat.completion.chunk, extended with
    `delta.reasoning_content` and `delta.reasoning_signature`)."""
    if not isinstance(chunk, dict):
        return b""
    out = []
    for choice in chunk.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta") or {}
        thought = delta.get("reasoning_content") or delta.get("reasoning")
        if thought or delta.get("reasoning_signature"):
            out.append(encoder.reasoning(thought or "", delta.get("reasoning_signature")))
        if delta.get("content"):
            out.append(encoder.text(delta["content"]))
        for frag in delta.get("tool_calls") or ():
            if isinstance(frag, dict):
                fn = frag.get("function") or {}
                out.append(encoder.tool_call(frag.get("index", 0), frag.get("id"), fn.get("name"),
                                             fn.get("arguments") or ""))
        if choice.get("finish_reason"):
            out.append(encoder.finish(choice["finish_reason"]))
    if isinstance(chunk.get("usage"), dict):
        out.append(encoder.usage(chunk["usage"]))
    return b"".join(out)


def encode_completion(encoder, completion) -> bytes:
    """A whole chat.completion replayed through an encoder (start and end included)."""
    choice = ((completion or {}).get("choices") or [{}])[0]
    msg = choice.get("message") or {}
    delta = {"content": msg.get("content"), "reasoning_content": msg.get("reasoning_content")}
    delta["tool_calls"] = [dict(c, index=i) for i, c in enumerate(msg.get("tool_calls") or [])]
    chunk = {"choices": [{"index": 0, "delta": delta,
                          "finish_reason": choice.get("finish_reason") or "stop"}],
             "usage": completion.get("usage")}
    return encoder.start() + encode_chunk(encoder, chunk) + encoder.end()


def error_event(err) -> bytes:
    """OpenAI's in-stream error: a data event carrying the error envelope."""
    return b"data: " + json.dumps(err.openai_body()).encode("utf-8") + b"\n\n"


class _OpenAIStream:
    """What OpenAI's two chunk streams share: usage kept for the end, errors as data events."""

    content_type = "text/event-stream"
    _usage = None

    def reasoning(self, s, signature=None):
        return b""

    def tool_call(self, index, id, name, arguments):
        return b""

    def usage(self, usage):
        self._usage = usage
        return b""

    def error(self, err):
        return error_event(err)


class ChatEncoder(_OpenAIStream):
    """OpenAI chat.completion.chunk events: one id, role only first, a final finish_reason,
    a usage chunk when asked for, then [DONE]."""

    def __init__(self, model, include_usage=False):
        self.chunks = ChunkStream(model, include_usage=include_usage)
        self._finished = False
        self._ended = False

    def start(self):
        return encode(self.chunks.start())

    def text(self, s):
        return encode(self.chunks.text(s)) if s else b""

    def reasoning(self, s, signature=None):
        return encode(self.chunks.delta({"reasoning_content": s})) if s else b""

    def tool_call(self, index, id, name, arguments):
        if id is not None or name is not None:
            frag = {"index": index, "id": id, "type": "function",
                    "function": {"name": name, "arguments": arguments or ""}}
        else:
            frag = {"index": index, "function": {"arguments": arguments or ""}}
        return encode(self.chunks.delta({"tool_calls": [frag]}))

    def finish(self, reason):
        if self._finished:
            return b""
        self._finished = True
        return encode(self.chunks.finish(reason))

    def end(self):
        if self._ended:
            return b""
        self._ended = True
        return self.finish("stop") + _usage_and_done(self.chunks, self._usage)


class CompletionEncoder(_OpenAIStream):
    """OpenAI text_completion chunks (tool calls and reasoning have no place here)."""

    def __init__(self, model, include_usage=False):
        self.chunks = CompletionChunkStream(model, include_usage=include_usage)
        self._reason = None
        self._ended = False

    def start(self):
        return b""

    def text(self, s):
        return encode(self.chunks.text(s)) if s else b""

    def finish(self, reason):
        self._reason = self._reason or reason
        return b""

    def end(self):
        if self._ended:
            return b""
        self._ended = True
        return encode(self.chunks.finish(self._reason or "stop")) + _usage_and_done(self.chunks, self._usage)


def _usage_and_done(chunks, usage):
    """The usage chunk (when the client asked for it and there is usage), then [DONE]."""
    tail = None
    if usage is not None:
        tail = chunks.usage(usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0)
    return (encode(tail) if tail is not None else b"") + DONE
