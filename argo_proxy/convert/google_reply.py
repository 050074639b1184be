"""Gemini replies from the hub: a chat.completion as a GenerateContentResponse, hub stream
pieces as Gemini's stream, and Google's error envelope.

The stream (`GenerateEncoder`) is what `:streamGenerateContent` sends: with `alt=sse`
one `data: <GenerateContentResponse>` event per chunk (CRLF framed, as Google frames them);
without it one JSON array written piece by piece (`[`, chunks separated by `,`, `]`).
Function calls go out whole (Gemini never streams partial arguments); the last chunk
carries finishReason and usageMetadata. Pure: no I/O.
"""

from __future__ import annotations

import uuid

from . import usage as usage_estimate
from .anthropic_reply import tool_input
from ..errors import ProxyError, google_status
from ..sse import json_bytes
from .completion import first_choice, message_text

FINISH_REASONS = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP",
                  "function_call": "STOP", "content_filter": "SAFETY"}

def finish_reason(reason) -> str:
    """OpenAI finish_reason -> Gemini finishReason (a turn that calls tools is STOP)."""
    if reason is None:
        return "STOP"
    return FINISH_REASONS.get(reason, "OTHER")


def error_status(status) -> str:
    """The google.rpc status name for an HTTP status."""
    return google_status(status)


def error_body(status, message) -> dict:
    """Google's error envelope: {"error": {"code", "message", "status"}}."""
    return ProxyError(status, message).google_body()


def new_response_id() -> str:
    return uuid.uuid4().hex[:24]


def new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


def usage_metadata(found, text="", calls=(), reasoning="", prompt_tokens=0) -> dict:
    """OpenAI usage as usageMetadata. Gemini counts thoughts apart from the candidates
    (OpenAI's completion_tokens include reasoning_tokens); missing counts are estimated
    from the text, the calls and the reasoning."""
    found = found if isinstance(found, dict) else {}
    prompt = _count(found.get("prompt_tokens"))
    if prompt is None:
        prompt = prompt_tokens or 0
    completion = _count(found.get("completion_tokens"))
    details = found.get("completion_tokens_details")
    thoughts = _count(details.get("reasoning_tokens")) if isinstance(details, dict) else None
    if completion is None:
        thoughts = usage_estimate.estimate_tokens(reasoning) if thoughts is None else thoughts
        completion = usage_estimate.completion_tokens(text, list(calls)) + thoughts
    thoughts = min(thoughts or 0, completion)
    meta = {"promptTokenCount": prompt, "candidatesTokenCount": completion - thoughts,
            "totalTokenCount": prompt + completion}
    if thoughts:
        meta["thoughtsTokenCount"] = thoughts
    cached = found.get("prompt_tokens_details")
    cached = _count(cached.get("cached_tokens")) if isinstance(cached, dict) else None
    if cached:
        meta["cachedContentTokenCount"] = cached
    return meta


def _count(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# -- chat.completion -> GenerateContentResponse ---------------------------------------

def completion_to_generate(completion, model, include_thoughts=True, prompt_tokens=0) -> dict:
    """An OpenAI `chat.completion` (choice 0) as a GenerateContentResponse. Reasoning
    becomes a `thought` part unless include_thoughts is false; `prompt_tokens` is used
    when the completion reports no usage."""
    message, finish = first_choice(completion)
    parts = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    reasoning = reasoning if isinstance(reasoning, str) else ""
    if reasoning and include_thoughts:
        parts.append({"text": reasoning, "thought": True})
    text = _message_text(message)
    if text:
        parts.append({"text": text})
    calls = [c for c in message.get("tool_calls") or () if isinstance(c, dict)] \
        if isinstance(message.get("tool_calls"), list) else []
    for call in calls:
        fn = call.get("function") if isinstance(call.get("function"), dict) else {}
        parts.append({"functionCall": function_call(call.get("id"), fn.get("name"),
                                                    fn.get("arguments"))})
    candidate = {"content": {"role": "model", "parts": parts or [{"text": ""}]},
                 "finishReason": finish_reason(finish), "index": 0}
    return {"candidates": [candidate],
            "usageMetadata": usage_metadata(completion.get("usage"), text, calls, reasoning,
                                            prompt_tokens),
            "modelVersion": model, "responseId": new_response_id()}


def function_call(call_id, name, arguments) -> dict:
    """A functionCall part's value: args as an object ({} unless a JSON object)."""
    return {"name": name if isinstance(name, str) else "", "args": tool_input(arguments),
            "id": call_id if isinstance(call_id, str) and call_id else new_call_id()}


def _message_text(message) -> str:
    text = message_text(message)
    refusal = message.get("refusal")
    return text or (refusal if isinstance(refusal, str) else "")


# -- hub stream -> Gemini stream --------------------------------------------------------

class GenerateEncoder:
    """Gemini's :streamGenerateContent for one reply; see the module docstring.
    Every method returns the bytes to send now (possibly b"")."""

    def __init__(self, model, sse=True, prompt_tokens=0, include_thoughts=True):
        self.model = model
        self.sse = sse
        self.content_type = "text/event-stream" if sse else "application/json"
        # What may fill a long silence: an SSE comment, or whitespace inside the array.
        self.keepalive = b": keep-alive\r\n\r\n" if sse else b"\r\n"
        self.prompt_tokens = prompt_tokens
        self.include_thoughts = include_thoughts
        self.response_id = new_response_id()
        self.dropped_fragments = 0   # call fragments that came after their call went out
        self._started = self._ended = False
        self._chunks = 0             # chunks written (array form: separators)
        self._pending = {}           # call index -> {"id", "name", "args": [fragments]}
        self._done = set()           # call indexes already sent
        self._finish = None
        self._usage = None
        self._text = []              # for usage estimates when the upstream reports none
        self._thoughts = []
        self._calls = []

    def start(self) -> bytes:
        if self._started or self._ended:
            return b""
        self._started = True
        return b"" if self.sse else b"["

    def text(self, s) -> bytes:
        out = self.start()
        if self._ended or not s:
            return out
        self._text.append(s)
        return out + self._chunk([{"text": s}])

    def reasoning(self, s, signature=None) -> bytes:
        out = self.start()
        if self._ended or not s:
            return out
        self._thoughts.append(s)
        if not self.include_thoughts:
            return out
        return out + self._chunk([{"text": s, "thought": True}])

    def tool_call(self, index, id, name, arguments) -> bytes:
        """A fragment of call `index`: buffered until the call is complete (another call
        starts, or the stream ends)."""
        out = self.start()
        if self._ended:
            return out
        known = self._pending.get(index)
        if known is None or (id and known["id"] and id != known["id"]):
            if known is None and index in self._done and not id:
                self.dropped_fragments += 1
                return out
            parts = self._flush_calls()
            out += self._chunk(parts) if parts else b""
            self._pending[index] = {"id": id, "name": name or "", "args": [arguments or ""]}
            return out
        known["args"].append(arguments or "")
        if name and not known["name"]:
            known["name"] = name
        return out

    def finish(self, reason) -> bytes:
        """Remembered for the last chunk (usage may still come)."""
        if not self._ended:
            self._finish = reason
        return b""

    def usage(self, u) -> bytes:
        if isinstance(u, dict):
            self._usage = u
        return b""

    def error(self, err) -> bytes:
        """The stream's last element: Google's error envelope (`err` a ProxyError; any
        other exception is an INTERNAL error with its text). Closes the array form."""
        if self._ended:
            return b""
        out = self.start()
        self._ended = True
        status = getattr(err, "status", 500)
        message = getattr(err, "message", None) or str(err) or "internal error"
        out += self._frame(error_body(status, message))
        return out if self.sse else out + b"]"

    def end(self) -> bytes:
        """The last chunk (calls still buffered, finishReason, usageMetadata)."""
        if self._ended:
            return b""
        out = self.start()
        parts = self._flush_calls() or [{"text": ""}]
        out += self._chunk(parts, final=True)
        self._ended = True
        return out if self.sse else out + b"]"

    # -- chunks ---------------------------------------------------------------------------

    def _flush_calls(self) -> list:
        parts = []
        for index, call in list(self._pending.items()):
            value = function_call(call["id"], call["name"], "".join(call["args"]))
            self._calls.append({"id": value["id"], "type": "function", "function": {
                "name": value["name"], "arguments": "".join(call["args"])}})
            parts.append({"functionCall": value})
            self._done.add(index)
        self._pending.clear()
        return parts

    def _chunk(self, parts, final=False) -> bytes:
        candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
        chunk = {"candidates": [candidate]}
        if final:
            candidate["finishReason"] = finish_reason(self._finish)
            chunk["usageMetadata"] = usage_metadata(
                self._usage, "".join(self._text), self._calls, "".join(self._thoughts),
                self.prompt_tokens)
        chunk["modelVersion"] = self.model
        chunk["responseId"] = self.response_id
        return self._frame(chunk)

    def _frame(self, obj) -> bytes:
        data = json_bytes(obj)
        if self.sse:
            return b"data: " + data + b"\r\n\r\n"
        self._chunks += 1
        return data if self._chunks == 1 else b",\r\n" + data
