"""Whole Anthropic Messages replies: from an OpenAI chat.completion (the hub reply), and
from a raw Anthropic event stream (a non-streaming request streamed upstream)."""

from __future__ import annotations

import json
import uuid

from . import usage as usage_estimate
from ..errors import ProxyError
from .completion import first_choice, message_text

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                 "function_call": "tool_use", "content_filter": "refusal"}

# Anthropic error type in a stream's `error` event -> the HTTP status it stands for.
ERROR_STATUS = {"invalid_request_error": 400, "authentication_error": 401,
                "billing_error": 402, "permission_error": 403, "not_found_error": 404,
                "request_too_large": 413, "rate_limit_error": 429, "api_error": 502,
                "timeout_error": 504, "overloaded_error": 529}


def stop_reason(finish_reason, has_tool_use=False) -> str:
    """OpenAI finish_reason -> Anthropic stop_reason. A stop caused by a stop sequence
    cannot be told apart in OpenAI's format, so it stays end_turn. Upstreams that report
    "stop" for a turn that did call tools get tool_use, which is what clients act on."""
    reason = _STOP_REASONS.get(finish_reason, "end_turn")
    if reason == "end_turn" and has_tool_use:
        return "tool_use"
    return reason


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex


def new_tool_id() -> str:
    return "toolu_" + uuid.uuid4().hex[:24]


def tool_input(arguments) -> dict:
    """Tool-call arguments (a JSON text) as an input object; {} unless a JSON object."""
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str) or not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# -- chat.completion -> Message -----------------------------------------------------

def completion_to_message(completion, model) -> dict:
    """An OpenAI `chat.completion` as an Anthropic Message (choice 0)."""
    message, finish = first_choice(completion)
    content = []
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = message_text(message)
    refused = False
    if not text and isinstance(message.get("refusal"), str) and message["refusal"]:
        text, refused = message["refusal"], True
    if text:
        content.append({"type": "text", "text": text})
    calls = message.get("tool_calls") if isinstance(message.get("tool_calls"), list) else []
    for call in calls:
        if isinstance(call, dict):
            content.append(_tool_use_block(call))
    reason = "refusal" if refused else stop_reason(finish, any(
        b["type"] == "tool_use" for b in content))
    return {"id": new_message_id(), "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": reason, "stop_sequence": None,
            "usage": _usage(completion.get("usage"), text, calls)}


def _tool_use_block(call) -> dict:
    fn = call.get("function") if isinstance(call.get("function"), dict) else {}
    call_id = call.get("id") if isinstance(call.get("id"), str) and call["id"] else new_tool_id()
    name = fn.get("name") if isinstance(fn.get("name"), str) else ""
    return {"type": "tool_use", "id": call_id, "name": name,
            "input": tool_input(fn.get("arguments"))}


def _usage(found, text, calls) -> dict:
    found = found if isinstance(found, dict) else {}
    prompt = found.get("prompt_tokens")
    completion = found.get("completion_tokens")
    if not isinstance(completion, int):
        completion = usage_estimate.completion_tokens(text, calls)
    return {"input_tokens": prompt if isinstance(prompt, int) else 0,
            "output_tokens": completion,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


# -- Anthropic event stream -> Message ---------------------------------------------

def aggregate_stream(events) -> dict:
    """The one Message that a raw Anthropic event stream describes.

    `events` yields `(event_name, data)` pairs. An `error` event raises ProxyError with the
    status its type stands for; a stream that ends before `message_stop` is a 502.
    """
    state = _Aggregate()
    for name, data in events:
        if not isinstance(data, dict):
            continue
        kind = data.get("type") or name
        if kind == "error":
            _raise_stream_error(data)
        if state.feed(kind, data):
            return state.message()
    raise ProxyError(502, "The upstream stream ended before message_stop (truncated reply).")


def _raise_stream_error(data):
    err = data.get("error") if isinstance(data.get("error"), dict) else {}
    kind = err.get("type") if isinstance(err.get("type"), str) else "api_error"
    message = err.get("message") if isinstance(err.get("message"), str) else "upstream error"
    raise ProxyError(ERROR_STATUS.get(kind, 502), message, type=kind)


class _Aggregate:
    """Message under construction: blocks by index, tool input JSON by index."""

    def __init__(self):
        self.base = None
        self.blocks = {}
        self.json = {}

    def feed(self, kind, data) -> bool:
        """Take one event; True once the message is complete."""
        if kind == "message_start":
            self.base = dict(data.get("message") or {})
            self.base["usage"] = dict(self.base.get("usage") or {})
        elif self.base is None:
            if kind in ("content_block_start", "content_block_delta", "message_delta",
                        "message_stop"):
                raise ProxyError(502, "The upstream stream sent %s before message_start." % kind)
        elif kind == "content_block_start":
            self.blocks[data.get("index")] = dict(data.get("content_block") or {})
        elif kind == "content_block_delta":
            self._delta(data.get("index"), data.get("delta") or {})
        elif kind == "content_block_stop":
            self._close(data.get("index"))
        elif kind == "message_delta":
            self._message_delta(data)
        return kind == "message_stop" and self.base is not None

    def _delta(self, index, delta):
        block = self.blocks.get(index)
        if block is None:
            return
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + (delta.get("text") or "")
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + (delta.get("thinking") or "")
        elif kind == "signature_delta":
            block["signature"] = delta.get("signature") or ""
        elif kind == "input_json_delta":
            self.json[index] = self.json.get(index, "") + (delta.get("partial_json") or "")
        elif kind == "citations_delta" and delta.get("citation") is not None:
            block.setdefault("citations", [])
            block["citations"] = (block["citations"] or []) + [delta["citation"]]

    def _close(self, index):
        block = self.blocks.get(index)
        if block is not None and index in self.json:
            block["input"] = tool_input(self.json.pop(index))

    def _message_delta(self, data):
        delta = data.get("delta") or {}
        for key in ("stop_reason", "stop_sequence"):
            if key in delta:
                self.base[key] = delta[key]
        for key, value in (data.get("usage") or {}).items():
            if value is not None:
                self.base["usage"][key] = value

    def message(self) -> dict:
        for index in list(self.json):                # blocks never stopped
            self._close(index)
        message = dict(self.base)
        message["content"] = [self.blocks[i] for i in sorted(self.blocks, key=_sort_key)]
        message.setdefault("stop_reason", None)
        message.setdefault("stop_sequence", None)
        return message


def _sort_key(index):
    return index if isinstance(index, int) else 1 << 30
