#!/usr/bin/env python3
"""Fake Argo gateway for argo-proxy tests (standard library only).

Emulates the legacy API (``/api/v1/resource/{chat,streamchat,embed}/``,
``/api/v1/models/``) and the native endpoints (``/v1/chat/completions``,
``/v1/messages``, ``/v1/embeddings``, ``/v1/models``) closely enough to test
the proxy, including the native-endpoint failures the proxy must work around
("quirks") and injectable faults.  See argo-reference.md sections 1 and 2.

In-process::

    with FakeArgo() as fake:
        base = fake.url            # the argo_base_url
        fake.add_fault("/v1/chat/completions", times=1, status=503)

With ``quirks`` on (the default) ``POST /v1/messages`` validates like Argo: ``user``
required, ``model`` must be an Argo Anthropic id (replies echo the vendor name from
ANTHROPIC_VENDOR_NAMES), roles, thinking/effort/sampling per model, streaming required
above MAX_NONSTREAM_TOKENS, tool_use/tool_result pairing; accepted thinking adds a
``thinking`` block first; claudeopus41 (``fake.error_200_models``) and the ``error_200``
fault answer HTTP 200 with ERROR_200_BODY.  Every record carries ``anthropic_headers``
and ``anthropic_betas``.

Out-of-process: ``python tests/fakes/fake_argo.py --port 0`` prints
``FAKE_ARGO_URL=http://127.0.0.1:PORT`` and serves until SIGTERM/SIGINT; the
HTTP control surface is under ``/_fake/`` (fault, clear, requests, reply,
tool_args, tool_name).

The fake model (``_answer``): with tools offered and a user turn last it calls a tool
(``tools[0]``, or the one named ``fake.tool_name`` when set and offered) with
``fake.tool_args``; after a tool result it answers "Tool said: <result>".  With
``fake.skip_trailing_system`` set, system/developer messages after the last turn are ignored
in that decision (a user turn followed by a system instruction is still a user turn).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import math
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

DEFAULT_REPLY = "Hello from fake Argo."
DEFAULT_TOOL_ARGS = {"a": 12, "b": 30}
UTF8_REPLY = "h\u00e9llo w\u00f6rld \U0001F600"          # "héllo wörld 😀"
AUTH_NOTICE = ("AUTHENTICATION NOTICE FROM ARGO: user is not registered with Argo. "
               "Please register your account before using this service.\n\n")
LEGACY = "/api/v1/resource/"
MAX_EMBED_PROMPTS = 16
STREAM_PIECES = 5

# (internal id, display name, owner)
MODELS = (
    ("gpt4o", "GPT-4o", "openai"),
    ("gpt41", "GPT-4.1", "openai"),
    ("gpto3mini", "o3-mini", "openai"),
    ("gpt5", "GPT-5", "openai"),
    ("gpt5nano", "GPT-5 Nano", "openai"),
    ("claudeopus47", "Claude Opus 4.7", "anthropic"),
    ("claudeopus46", "Claude Opus 4.6", "anthropic"),
    ("claudesonnet46", "Claude Sonnet 4.6", "anthropic"),
    ("claudesonnet45", "Claude Sonnet 4.5", "anthropic"),
    ("claudeopus45", "Claude Opus 4.5", "anthropic"),
    ("claudehaiku45", "Claude Haiku 4.5", "anthropic"),
    ("claudeopus41", "Claude Opus 4.1", "anthropic"),
    ("gemini25pro", "Gemini 2.5 Pro", "google"),
    ("gemini25flash", "Gemini 2.5 Flash", "google"),
    ("v3small", "text-embedding-3-small", "openai"),
    ("v3large", "text-embedding-3-large", "openai"),
)

CLAUDE_TP_EXCLUSIVE = frozenset([
    "claudeopus46", "claudesonnet46", "claudesonnet45",
    "claudeopus45", "claudehaiku45", "claudeopus41",
])

FAULT_KEYS = frozenset([
    "status", "body", "headers", "delay", "hang", "reset_after", "rst",
    "invalid_json", "retry_after", "auth_notice", "leaked_tool_call",
    "block_array", "split_utf8", "error_200",
])

# ---- Native Anthropic endpoint (/v1/messages): what real Argo does ---------
# Every rule below applies only when FakeArgo.quirks is true (the default).

# The model names Argo's /v1/messages echoes in replies (argo-reference.md 2.3).
ANTHROPIC_VENDOR_NAMES = {
    "claudeopus47": "claude-opus-4-7",
    "claudeopus46": "claude-opus-4-6",
    "claudesonnet46": "claude-sonnet-4-6",
    "claudesonnet45": "claude-sonnet-4-5-20250929",
    "claudeopus45": "claude-opus-4-5-20251101",
    "claudehaiku45": "claude-haiku-4-5-20251001",
    "claudeopus41": "claude-opus-4-1-20250805",
}
# Models that know thinking.type "adaptive" (the others only 'disabled'/'enabled').
CLAUDE_ADAPTIVE_THINKING = frozenset(["claudeopus47", "claudeopus46", "claudesonnet46"])
# Models whose otherwise valid requests get HTTP 200 + ERROR_200_BODY (probe, 2.3).
ERROR_200_MODELS = frozenset(["claudeopus41"])
EFFORT_LEVELS = ("low", "medium", "high", "xhigh", "max")
MIN_THINKING_BUDGET = 1024
# Argo: "more than 21,000 output tokens requires streaming" (argo-reference.md 1.3).
MAX_NONSTREAM_TOKENS = 21000

# Gateway validation: the short envelope {"type":"error","error":{...,"message": M}}.
MISSING_USER_MSG = "Missing required field: user"
INVALID_MODEL_MSG = ("Invalid model: %s is not an Argo Anthropic model id. "
                     "Use an Argo internal model id such as %s.")
# Invented text (Argo's real wording is unknown): Anthropic's SDK sentence + the limit.
STREAMING_REQUIRED_MSG = ("Streaming is strongly recommended for operations that may take "
                          "longer than 10 minutes: max_tokens greater than %d requires "
                          "stream=true (got max_tokens=%d).")
# Upstream (Anthropic) validation: wrapped by _anthropic_nested ("Error code: 400 - {...}").
ROLE_MSG = "messages.%d.role: Input should be 'user' or 'assistant'"
THINKING_TAG_MSG = ("thinking: Input tag '%s' found using 'type' does not match any of the "
                    "expected tags: %s")
THINKING_ENABLED_UNSUPPORTED_MSG = (
    '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" '
    'and "output_config.effort" to control thinking behavior.')
THINKING_BUDGET_MIN_MSG = ("thinking.enabled.budget_tokens: Input should be greater than or "
                           "equal to %d" % MIN_THINKING_BUDGET)
THINKING_BUDGET_MSG = ("`max_tokens` must be greater than `thinking.budget_tokens`. Please "
                       "consult our documentation at https://docs.claude.com/en/docs/"
                       "build-with-claude/extended-thinking#max-tokens-and-context-window-size")
ADAPTIVE_BUDGET_MSG = "thinking.adaptive.budget_tokens: Extra inputs are not permitted"
EFFORT_MSG = ("output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' "
              "or 'max'")
TOOLS_REQUIRED_MSG = ("Requests which include `tool_use` or `tool_result` blocks must "
                      "define tools.")
TOOL_RESULT_MSG = ("messages.%d.content.%d: unexpected `tool_use_id` found in `tool_result` "
                   "blocks: %s. Each `tool_result` block must have a corresponding "
                   "`tool_use` block in the previous message.")
TOOL_USE_MSG = ("messages.%d: `tool_use` ids were found without `tool_result` blocks "
                "immediately after: %s. Each `tool_use` block must have a corresponding "
                "`tool_result` block in the next message.")
# What claudeopus41 (and the error_200 fault) answers, with HTTP status 200.
ERROR_200_BODY = {"type": "error", "error": {
    "type": "api_error",
    "message": "{'type': 'error', 'error': {'details': None, 'type': 'api_error', "
               "'message': 'Internal server error'}}"}}
# The reasoning text of the thinking block that precedes the answer when thinking is on.
THINKING_TEXT = "Let me think about how best to answer this."
# Request headers an Anthropic client sends; copied into each record's "anthropic_headers".
ANTHROPIC_HEADERS = ("anthropic-version", "anthropic-beta", "x-api-key", "authorization")


# ---- Pure helpers ---------------------------------------------------

def family(model):
    """'anthropic', 'google' or 'openai' (the default) for a model id."""
    m = str(model or "").lower()
    if "claude" in m:
        return "anthropic"
    if "gemini" in m:
        return "google"
    return "openai"


def _hex(n):
    return (uuid.uuid4().hex + uuid.uuid4().hex)[:n]


def _toolu_id():
    return "toolu_vrtx_01" + _hex(22)


def _dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _text_of(content):
    """Flatten message/tool-result content to plain text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for item in content:
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, dict):
                parts.append(str(item.get("text", "")))
            else:
                parts.append(json.dumps(item))
        return "".join(parts)
    return json.dumps(content)


def _tool_name(tool):
    if isinstance(tool, dict):
        fn = tool.get("function")
        if isinstance(fn, dict) and fn.get("name"):
            return fn["name"]
        if tool.get("name"):
            return tool["name"]
    return "tool"


def _tool_choice_none(choice):
    if isinstance(choice, str):
        return choice.lower() == "none"
    if isinstance(choice, dict):
        return choice.get("type") == "none" or choice.get("mode") == "NONE"
    return False


def _tool_result(msg):
    """The text of a tool result carried by ``msg``, else None."""
    if msg.get("role") == "tool":
        return _text_of(msg.get("content"))
    content = msg.get("content")
    if msg.get("role") == "user" and isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                return _text_of(block.get("content"))
    return None


def _pick_tool(fake, tools):
    """The tool the fake model calls: ``fake.tool_name`` when set and offered, else tools[0]."""
    wanted = getattr(fake, "tool_name", None)
    if wanted:
        for tool in tools:
            if _tool_name(tool) == wanted:
                return wanted
    return _tool_name(tools[0])


def _last_turn(msgs):
    """The last message that is not a system/developer instruction ({} if none)."""
    for msg in reversed(msgs):
        if not isinstance(msg, dict):
            return {}
        if msg.get("role") not in ("system", "developer"):
            return msg
    return {}


def _answer(fake, body):
    """What the fake model does: ("tool", name) or ("text", text)."""
    tools = body.get("tools") or []
    if not tools or _tool_choice_none(body.get("tool_choice")):
        return ("text", fake.reply)
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return ("tool", _pick_tool(fake, tools))       # system + prompt style
    last = msgs[-1] if isinstance(msgs[-1], dict) else {}
    if getattr(fake, "skip_trailing_system", False):
        last = _last_turn(msgs)
    result = _tool_result(last)
    if result is not None:
        return ("text", "Tool said: " + result)
    if last.get("role") == "user":
        return ("tool", _pick_tool(fake, tools))
    return ("text", fake.reply)


def _split_text(text, pieces=STREAM_PIECES):
    if not text:
        return []
    size = max(1, -(-len(text) // pieces))
    return [text[i:i + size] for i in range(0, len(text), size)]


def _split_utf8_bytes(text):
    """Encode ``text`` and cut it in the middle of every multi-byte char."""
    data = text.encode("utf-8")
    cuts, pos = [], 0
    for ch in text:
        width = len(ch.encode("utf-8"))
        if width > 1:
            cuts.append(pos + width // 2)
        pos += width
    bounds = [0] + cuts + [len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def _arg_fragments(args_json):
    """Character groups like the seed: '{"', 'a', '":', '12', ',"', ..."""
    return re.findall(r"\w+|\W+", args_json)


def _embed_dim(model):
    return 3072 if str(model) == "v3large" else 1536


def _vector(text, dim):
    """Deterministic unit vector for ``text``."""
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    rng = random.Random(seed)
    vec = [rng.gauss(0.0, 1.0) for _ in range(dim)]
    norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    return [round(x / norm, 6) for x in vec]


def _tokens(obj):
    text = obj if isinstance(obj, str) else json.dumps(obj, default=str)
    return max(1, len(text) // 4)


def _usage(body, output):
    p, c = _tokens(body.get("messages") or body.get("prompt") or ""), _tokens(output)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


# ---- Error envelopes and quirks (native endpoints) ------------------

def _nested(message, type_="invalid_request_error", param=None, code=None):
    """Argo's style: the upstream error as a Python repr inside the message."""
    inner = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return "Error code: 400 - " + repr(inner)


def _anthropic_nested(message):
    inner = {"type": "error",
             "error": {"type": "invalid_request_error", "message": message},
             "request_id": "req_vrtx_" + _hex(24)}
    return "Error code: 400 - " + repr(inner)


def _bad(message, status=400, type_="BadRequestError"):
    return status, {"error": {"message": message, "type": type_, "code": "internal_error"}}


def _anthropic_error(message, type_="invalid_request_error"):
    return {"type": "error", "error": {"type": type_, "message": message}}


def _claude_param_msg(model, body):
    has_t = body.get("temperature") is not None
    has_p = body.get("top_p") is not None
    if model == "claudeopus47":
        if has_t:
            return "`temperature` is deprecated for this model."
        if has_p:
            return "`top_p` is deprecated for this model."
    elif model in CLAUDE_TP_EXCLUSIVE and has_t and has_p:
        return ("`temperature` and `top_p` cannot both be specified for this model. "
                "Please use only one.")
    return None


def _quirk_developer(body):
    for i, msg in enumerate(body["messages"]):
        if isinstance(msg, dict) and msg.get("role") == "developer":
            return _bad("Error code: 400 - messages[%d].tool_calls: Extra inputs are not "
                        "permitted; invalid role 'developer'" % i)
    return None


def _quirk_params(body):
    model = str(body["model"])
    if model.startswith("gpt5"):
        temp = body.get("temperature")
        if temp is not None and temp != 1:
            return _bad(_nested(
                "Unsupported value: 'temperature' does not support %s with this model. "
                "Only the default (1) value is supported." % (temp,),
                param="temperature", code="unsupported_value"))
        if body.get("top_p") is not None:
            return _bad(_nested("Unsupported parameter: 'top_p' is not supported with this "
                                "model.", param="top_p", code="unsupported_parameter"))
    msg = _claude_param_msg(model, body)
    return _bad(_anthropic_nested(msg)) if msg else None


def _quirk_tools(body):
    if not body.get("tools"):
        return None
    fam, msgs = family(body["model"]), body["messages"]
    if fam == "anthropic" and isinstance(body.get("tool_choice"), str):
        inner = {"error": {"message": "tool_choice: Input should be a valid dictionary "
                                      "or object to extract fields from"}}
        return _bad("Error code: 400 - " + repr(inner))
    if fam != "google":
        return None
    for msg in msgs:
        if isinstance(msg, dict) and msg.get("role") == "tool" and not msg.get("name"):
            return _bad("'name'", status=500, type_="KeyError")
    for msg in msgs:
        if (isinstance(msg, dict) and msg.get("role") == "assistant"
                and len(msg.get("tool_calls") or []) > 1):
            return _bad("Parallel tool calls are not supported for this model")
    return None


def _quirk_history(body):
    msgs, fam = body["messages"], family(body["model"])
    for i, msg in enumerate(msgs):
        if not isinstance(msg, dict) or msg.get("role") != "assistant":
            continue
        calls = msg.get("tool_calls")
        if not isinstance(calls, list) or not calls:
            continue
        answered = set()
        for nxt in msgs[i + 1:]:
            if not isinstance(nxt, dict) or nxt.get("role") != "tool":
                break
            answered.add(nxt.get("tool_call_id"))
        missing = [str(c.get("id")) for c in calls
                   if isinstance(c, dict) and c.get("id") not in answered]
        if missing:
            return _bad(_nested(
                "An assistant message with 'tool_calls' must be followed by tool messages "
                "responding to each 'tool_call_id'. The following tool_call_ids did not "
                "have response messages: " + ", ".join(missing),
                param="messages.[%d].role" % (i + 1)))
        if fam in ("anthropic", "google") and "content" in msg and msg["content"] is None:
            return _bad(_nested("messages.%d.content: Input should be a valid string" % i))
    return None


def native_quirk(body):
    """(status, error JSON) for the first emulated Argo failure, else None."""
    for check in (_quirk_developer, _quirk_params, _quirk_tools, _quirk_history):
        hit = check(body)
        if hit:
            return hit
    return None


# ---- Legacy endpoints -----------------------------------------------

def _legacy_check(body, chat=False):
    if not isinstance(body, dict):
        return "invalid JSON body"
    if not body.get("user"):
        return "user is required"
    if not body.get("model"):
        return "model is required"
    if chat and not body.get("messages") and body.get("prompt") is None:
        return "messages or prompt is required"
    return None


def _legacy_tool_response(model, name, args, fault):
    if fault.get("leaked_tool_call"):
        block = {"id": _toolu_id(), "input": args, "name": name, "type": "tool_use"}
        return {"content": "I'll call %s. %r" % (name, block), "tool_calls": []}
    if fault.get("block_array"):
        blocks = [{"type": "text", "text": "I'll call %s." % name},
                  {"type": "tool_use", "id": _toolu_id(), "name": name, "input": args}]
        return {"content": blocks, "tool_calls": []}
    fam = family(model)
    if fam == "anthropic":
        call = {"id": _toolu_id(), "input": args, "name": name, "type": "tool_use"}
        return {"content": "I'll call %s." % name, "tool_calls": [call]}
    if fam == "google":
        return {"content": "", "tool_calls": [{"id": None, "args": args, "name": name}]}
    call = {"id": "call_" + _hex(24), "type": "function",
            "function": {"name": name, "arguments": json.dumps(args, separators=(",", ":"))}}
    return {"content": None, "tool_calls": [call]}


def legacy_chat(h, body):
    err = _legacy_check(body, chat=True)
    if err:
        return h.send_json(400, {"error": err})
    tools = body.get("tools") or []
    kind, value = _answer(h.fake, body)
    if kind == "tool":
        args = dict(h.fake.tool_args)
        return h.send_json(200, {"response": _legacy_tool_response(
            body["model"], value, args, h.fault)})
    if h.fault.get("auth_notice"):
        value = AUTH_NOTICE + value
    response = {"content": value, "tool_calls": []} if tools else value
    return h.send_json(200, {"response": response})


def legacy_streamchat(h, body):
    err = _legacy_check(body, chat=True)
    if err:
        return h.send_json(400, {"error": err})
    if body.get("tools"):
        return h.send_json(400, {"error": "tool calling is currently disabled on the "
                                          "stream endpoint"})
    text = h.fake.reply
    if h.fault.get("auth_notice"):
        text = AUTH_NOTICE + text
    if h.fault.get("split_utf8"):
        if all(ord(c) < 128 for c in text):
            text = text + " " + UTF8_REPLY
        pieces = _split_utf8_bytes(text)
    else:
        pieces = [p.encode("utf-8") for p in _split_text(text)]
    h.start_stream("text/plain; charset=utf-8")
    for piece in pieces:
        h.chunk(piece)
    h.end_stream()


def legacy_embed(h, body):
    err = _legacy_check(body)
    if err:
        return h.send_json(400, {"error": err})
    prompts = body.get("prompt")
    if isinstance(prompts, str):
        prompts = [prompts]
    if not isinstance(prompts, list) or not prompts:
        return h.send_json(400, {"error": "prompt is required"})
    if len(prompts) > MAX_EMBED_PROMPTS:
        return h.send_json(400, {"error": "Too many prompts: max %d" % MAX_EMBED_PROMPTS})
    dim = _embed_dim(body["model"])
    h.send_json(200, {"embedding": [_vector(_text_of(p), dim) for p in prompts]})


def legacy_models(h, body):
    created = int(time.time())
    if h.fake.model_list_format == "old":
        data = [{"id": iid, "model_name": name} for iid, name, _ in MODELS]
    else:
        data = [{"id": name, "object": "model", "created": created, "owned_by": owner,
                 "internal_id": iid} for iid, name, owner in MODELS]
    h.send_json(200, {"object": "list", "data": data})


# ---- Native OpenAI-style endpoints ----------------------------------

def _openai_invalid(message, param=None):
    return {"error": {"message": message, "type": "invalid_request_error",
                      "param": param, "code": None}}


def _completion(fake, body, decision):
    kind, value = decision
    if kind == "tool":
        args = json.dumps(fake.tool_args, separators=(",", ":"))
        calls = [{"id": "call_" + _hex(24), "type": "function",
                  "function": {"name": value, "arguments": args}}]
        message = {"role": "assistant", "content": None, "tool_calls": calls}
        finish, output = "tool_calls", args
    else:
        message = {"role": "assistant", "content": value, "tool_calls": None}
        finish, output = "stop", value
    return {"id": "chatcmpl-" + _hex(24), "object": "chat.completion",
            "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": _usage(body, output)}


def _openai_stream_events(fake, body, decision):
    cid, created, model = "chatcmpl-" + _hex(24), int(time.time()), body["model"]

    def chunk(delta, finish=None):
        return {"id": cid, "object": "chat.completion.chunk", "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    kind, value = decision
    if kind == "tool":
        args = json.dumps(fake.tool_args, separators=(",", ":"))
        call = {"index": 0, "id": "call_" + _hex(24),
                "function": {"arguments": "", "name": value}, "type": "function"}
        events = [chunk({"role": "assistant", "content": None, "tool_calls": [call]})]
        events += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": frag}}]})
                   for frag in _arg_fragments(args)]
        events.append(chunk({"tool_calls": None}, "tool_calls"))
        output = args
    else:
        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": piece}) for piece in _split_text(value)]
        events.append(chunk({}, "stop"))
        output = value
    opts = body.get("stream_options")
    if isinstance(opts, dict) and opts.get("include_usage"):
        last = chunk({})
        last["choices"], last["usage"] = [], _usage(body, output)
        events.append(last)
    return events


def native_chat(h, body):
    if not isinstance(body, dict):
        return h.send_json(400, _openai_invalid("Invalid JSON body"))
    for field in ("model", "messages"):
        if not body.get(field):
            return h.send_json(400, _openai_invalid("Field required: %s" % field, field))
    if not isinstance(body["messages"], list):
        return h.send_json(400, _openai_invalid("messages must be a list", "messages"))
    if h.fake.quirks:
        hit = native_quirk(body)
        if hit:
            return h.send_json(*hit)
    decision = _answer(h.fake, body)
    if not body.get("stream"):
        return h.send_json(200, _completion(h.fake, body, decision))
    h.start_stream("text/event-stream; charset=utf-8")
    for event in _openai_stream_events(h.fake, body, decision):
        h.chunk(b"data: " + _dumps(event) + b"\n\n")
    h.chunk(b"data: [DONE]\n\n")
    h.end_stream()


def native_embeddings(h, body):
    if not isinstance(body, dict) or not body.get("model") or not body.get("input"):
        return h.send_json(400, _openai_invalid("Field required: model and input"))
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    dim = _embed_dim(body["model"])
    data = [{"object": "embedding", "index": i, "embedding": _vector(_text_of(x), dim)}
            for i, x in enumerate(inputs)]
    tokens = sum(_tokens(_text_of(x)) for x in inputs)
    h.send_json(200, {"object": "list", "data": data, "model": body["model"],
                      "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


def native_models(h, body):
    created = int(time.time())
    data = [{"id": iid, "object": "model", "created": created, "owned_by": owner,
             "internal_id": iid, "name": name} for iid, name, owner in MODELS]
    h.send_json(200, {"object": "list", "data": data})


# ---- Native Anthropic-style endpoints -------------------------------

def _blocks(msg):
    """The dict content blocks of an Anthropic message (none for string content)."""
    content = msg.get("content") if isinstance(msg, dict) else None
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict)]


def _thinking_on(fake, body):
    """Whether the reply starts with a thinking block (quirks on, thinking accepted)."""
    thinking = body.get("thinking")
    return bool(fake.quirks and isinstance(thinking, dict)
                and thinking.get("type") in ("enabled", "adaptive"))


def _reply_model(fake, body):
    model = body["model"]
    return ANTHROPIC_VENDOR_NAMES.get(model, model) if fake.quirks else model


def _anthropic_usage(fake, input_tokens, output_tokens):
    usage = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    if fake.quirks:   # the probe's shape
        usage = {"cache_creation": {"ephemeral_1h_input_tokens": 0,
                                    "ephemeral_5m_input_tokens": 0},
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                 "input_tokens": input_tokens, "output_tokens": output_tokens}
    return usage


def _signature():
    return base64.b64encode(b"\x12\x24" + os.urandom(94)).decode("ascii")


def _anthropic_message(fake, body, decision):
    kind, value = decision
    if kind == "tool":
        content = [{"type": "tool_use", "id": _toolu_id(), "name": value,
                    "input": dict(fake.tool_args)}]
        stop, output = "tool_use", json.dumps(fake.tool_args)
    else:
        content, stop, output = [{"type": "text", "text": value}], "end_turn", value
    if _thinking_on(fake, body):
        content.insert(0, {"type": "thinking", "thinking": THINKING_TEXT,
                           "signature": _signature()})
        output = THINKING_TEXT + output
    return {"id": "msg_vrtx_01" + _hex(22), "type": "message", "role": "assistant",
            "model": _reply_model(fake, body), "content": content, "stop_reason": stop,
            "stop_sequence": None,
            "usage": _anthropic_usage(fake, _tokens(body.get("messages")), _tokens(output))}


def _block_events(index, block):
    """content_block_start, its deltas and content_block_stop for one block."""
    block = dict(block)
    if block["type"] == "tool_use":
        pieces = _arg_fragments(json.dumps(block["input"], separators=(",", ":")))
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
        block["input"] = {}
    elif block["type"] == "thinking":
        deltas = [{"type": "thinking_delta", "thinking": p}
                  for p in _split_text(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
        block["thinking"], block["signature"] = "", ""
    else:
        deltas = [{"type": "text_delta", "text": p} for p in _split_text(block["text"])]
        block["text"] = ""
    events = [("content_block_start", {"type": "content_block_start", "index": index,
                                       "content_block": block})]
    events += [("content_block_delta", {"type": "content_block_delta", "index": index,
                                        "delta": d}) for d in deltas]
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def _anthropic_stream_events(fake, body, decision):
    msg = _anthropic_message(fake, body, decision)
    usage = dict(msg["usage"], output_tokens=1)
    start = dict(msg, content=[], stop_reason=None, usage=usage)
    events = [("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(msg["content"]):
        events += _block_events(index, block)
        if index == 0:
            events.insert(2, ("ping", {"type": "ping"}))
    events += [("message_delta", {"type": "message_delta",
                                  "delta": {"stop_reason": msg["stop_reason"],
                                            "stop_sequence": None},
                                  "usage": {"output_tokens": msg["usage"]["output_tokens"]}}),
               ("message_stop", {"type": "message_stop"})]
    return events


def _anthropic_gateway_msg(body):
    """Argo's own checks (short envelope): user, then the model id."""
    if not body.get("user"):
        return MISSING_USER_MSG
    model = body["model"]
    if not isinstance(model, str) or model not in ANTHROPIC_VENDOR_NAMES:
        reverse = dict((v, k) for k, v in ANTHROPIC_VENDOR_NAMES.items())
        squashed = re.sub(r"[^a-z0-9]", "", str(model).lower().replace("argo:", ""))
        hint = reverse.get(model) or (squashed if squashed in ANTHROPIC_VENDOR_NAMES
                                      else "claudesonnet45")
        return INVALID_MODEL_MSG % (json.dumps(model), hint)
    return None


def _thinking_msg(model, body):
    thinking = body.get("thinking")
    if thinking is not None:
        if not isinstance(thinking, dict):
            return ("thinking: Input should be a valid dictionary or object to extract "
                    "fields from")
        kind = thinking.get("type")
        tags = (("adaptive", "disabled", "enabled") if model in CLAUDE_ADAPTIVE_THINKING
                else ("disabled", "enabled"))
        if kind is None:
            return "thinking: Unable to extract tag using discriminator 'type'"
        if kind not in tags:
            return THINKING_TAG_MSG % (kind, ", ".join("'%s'" % t for t in tags))
        if kind == "enabled":
            if model == "claudeopus47":
                return THINKING_ENABLED_UNSUPPORTED_MSG
            budget = thinking.get("budget_tokens")
            if budget is None:
                return "thinking.enabled.budget_tokens: Field required"
            if isinstance(budget, bool) or not isinstance(budget, int):
                return "thinking.enabled.budget_tokens: Input should be a valid integer"
            if budget < MIN_THINKING_BUDGET:
                return THINKING_BUDGET_MIN_MSG
            max_tokens = body.get("max_tokens")
            if isinstance(max_tokens, (int, float)) and max_tokens <= budget:
                return THINKING_BUDGET_MSG
        if kind == "adaptive" and "budget_tokens" in thinking:
            return ADAPTIVE_BUDGET_MSG
    config = body.get("output_config")
    if model == "claudeopus47" and isinstance(config, dict) and "effort" in config:
        if config["effort"] not in EFFORT_LEVELS:
            return EFFORT_MSG
    return None


def _anthropic_tools_msg(body):
    msgs = body["messages"]
    kinds = set(b.get("type") for m in msgs for b in _blocks(m))
    if kinds & set(["tool_use", "tool_result"]) and not body.get("tools"):
        return TOOLS_REQUIRED_MSG
    for i, msg in enumerate(msgs):           # first: results answering nothing
        prev = msgs[i - 1] if i > 0 else {}
        offered = set(b.get("id") for b in _blocks(prev) if b.get("type") == "tool_use"
                      and prev.get("role") == "assistant")
        if msg.get("role") == "user" and isinstance(msg.get("content"), list):
            for j, block in enumerate(msg["content"]):
                if (isinstance(block, dict) and block.get("type") == "tool_result"
                        and block.get("tool_use_id") not in offered):
                    return TOOL_RESULT_MSG % (i, j, block.get("tool_use_id"))
    for i, msg in enumerate(msgs):           # then: calls left unanswered
        if msg.get("role") == "assistant" and i + 1 < len(msgs):
            nxt = msgs[i + 1]
            answered = set(b.get("tool_use_id") for b in _blocks(nxt)
                           if b.get("type") == "tool_result" and nxt.get("role") == "user")
            missing = [str(b.get("id")) for b in _blocks(msg)
                       if b.get("type") == "tool_use" and b.get("id") not in answered]
            if missing:
                return TOOL_USE_MSG % (i, ", ".join(missing))
    return None


def _anthropic_upstream_msg(body):
    """Anthropic's own validation (wrapped in Argo's nested envelope)."""
    model = body["model"]
    for i, msg in enumerate(body["messages"]):
        if not isinstance(msg, dict):
            return "messages.%d: Input should be a valid dictionary" % i
        if msg.get("role") not in ("user", "assistant"):
            return ROLE_MSG % i
    return (_thinking_msg(model, body) or _claude_param_msg(model, body)
            or _anthropic_tools_msg(body))


def _anthropic_check(h, body):
    if not isinstance(body, dict):
        return _anthropic_error("Invalid JSON body")
    if not body.get("model"):
        return _anthropic_error("model: Field required")
    if not isinstance(body.get("messages"), list):
        return _anthropic_error("messages: Field required")
    if body.get("max_tokens") is None:
        return _anthropic_error("max_tokens is required")
    if not h.fake.quirks:
        return None
    msg = _anthropic_gateway_msg(body)
    if msg:
        return _anthropic_error(msg)
    max_tokens = body["max_tokens"]
    if (not body.get("stream") and isinstance(max_tokens, (int, float))
            and max_tokens > MAX_NONSTREAM_TOKENS):
        return _anthropic_error(STREAMING_REQUIRED_MSG % (MAX_NONSTREAM_TOKENS, max_tokens))
    msg = _anthropic_upstream_msg(body)
    return _anthropic_error(_anthropic_nested(msg)) if msg else None


def native_messages(h, body):
    err = _anthropic_check(h, body)
    if err:
        return h.send_json(400, err)
    if h.fake.quirks and body["model"] in h.fake.error_200_models:
        return h.send_json(200, ERROR_200_BODY)
    decision = _answer(h.fake, body)
    if not body.get("stream"):
        return h.send_json(200, _anthropic_message(h.fake, body, decision))
    h.start_stream("text/event-stream; charset=utf-8")
    for name, data in _anthropic_stream_events(h.fake, body, decision):
        h.chunk(b"event: " + name.encode() + b"\ndata: " + _dumps(data) + b"\n\n")
    h.end_stream()


def native_count_tokens(h, body):
    if not isinstance(body, dict) or not body.get("model"):
        return h.send_json(400, _anthropic_error("model: Field required"))
    if h.fake.quirks:
        msg = _anthropic_gateway_msg(body)
        if not msg and not isinstance(body.get("messages"), list):
            msg = "messages: Field required"
        if msg:
            return h.send_json(400, _anthropic_error(msg))
    h.send_json(200, {"input_tokens": _tokens(body.get("messages") or "")})


ROUTES = {
    LEGACY + "chat/": {"POST": legacy_chat},
    LEGACY + "streamchat/": {"POST": legacy_streamchat},
    LEGACY + "embed/": {"POST": legacy_embed},
    "/api/v1/models/": {"GET": legacy_models},
    "/v1/chat/completions": {"POST": native_chat},
    "/v1/embeddings": {"POST": native_embeddings},
    "/v1/models": {"GET": native_models},
    "/v1/messages": {"POST": native_messages},
    "/v1/messages/count_tokens": {"POST": native_count_tokens},
}


# ---- HTTP plumbing --------------------------------------------------

class _Reset(Exception):
    """Abort the connection without (finishing) a response."""


def _fault_headers(fault):
    headers = [(str(k), str(v)) for k, v in (fault.get("headers") or {}).items()]
    if fault.get("retry_after") is not None:
        headers.append(("Retry-After", str(fault["retry_after"])))
    return headers


def _fault_response(fault):
    status = int(fault.get("status", 200))
    body = fault.get("body")
    if body is None:
        body = {"error": {"message": "injected", "type": "injected_fault", "code": status}}
    if isinstance(body, bytes):
        return status, body, "application/octet-stream"
    if isinstance(body, str):
        return status, body.encode("utf-8"), "text/plain; charset=utf-8"
    return status, _dumps(body), "application/json"


def _control(h, path, body):
    fake, method = h.fake, h.command
    if path == "/_fake/requests" and method == "GET":
        return h.send_json(200, [{k: v for k, v in r.items() if k != "raw"}
                                 for r in fake.requests])
    if method != "POST":
        return h.send_json(405, {"detail": "Method Not Allowed"})
    spec = dict(body) if isinstance(body, dict) else {}
    try:
        if path == "/_fake/clear":
            fake.clear()
        elif path == "/_fake/fault":
            fake.add_fault(spec.pop("path"), spec.pop("times", None), **spec)
        elif path == "/_fake/reply":
            fake.set_reply(spec["text"])
        elif path == "/_fake/tool_args":
            fake.set_tool_args(spec["args"])
        elif path == "/_fake/tool_name":
            fake.set_tool_name(spec["name"])
        else:
            return h.send_json(404, {"detail": "Not Found"})
    except (KeyError, TypeError, ValueError) as exc:
        return h.send_json(400, {"error": "bad control request: %r" % (exc,)})
    return h.send_json(200, {"ok": True})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server_version = "FakeArgo/1.0"
    sys_version = ""

    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        self.fake = self.server.fake
        self.conn_id = self.fake._conn_opened(self.connection)
        self.fault, self.extra_headers, self.sent, self.head_sent = {}, [], 0, False

    def finish(self):
        try:
            BaseHTTPRequestHandler.finish(self)
        finally:
            self.fake._conn_closed(self.conn_id)

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # -- request side -------------------------------------------------------

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self):
        self.fault, self.extra_headers, self.sent, self.head_sent = {}, [], 0, False
        path = urlsplit(self.path).path
        try:
            raw = self._read_body()
        except ValueError:
            self.close_connection = True
            return self.send_json(400, {"detail": "bad request body"})
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = None
        if path.startswith("/_fake/"):
            return _control(self, path, body)
        self.fake._record(self, path, raw, body)
        try:
            self._respond(path, body)
        except _Reset:
            self._abort()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a bug in the fake: make it loud, keep serving
            traceback.print_exc()
            if self.head_sent:
                self._abort()
            else:
                self.send_json(500, {"error": {"message": "fake_argo crashed",
                                               "type": "FakeArgoError"}})

    def _respond(self, path, body):
        self.fault = self.fake._take_fault(path)
        self.extra_headers = _fault_headers(self.fault)
        if self._apply_fault():
            return
        route = self.fake._route(path)
        if route is None:
            return self.send_json(404, {"detail": "Not Found"})
        func = route.get(self.command)
        if func is None:
            return self.send_json(405, {"detail": "Method Not Allowed"},
                                  [("Allow", ", ".join(sorted(route)))])
        func(self, body)

    def _apply_fault(self):
        fault, stopping = self.fault, self.fake._stopping
        if not fault:
            return False
        if fault.get("delay") and stopping.wait(float(fault["delay"])):
            raise _Reset()
        if fault.get("hang"):
            stopping.wait()
            raise _Reset()
        if fault.get("reset_after") == 0:
            raise _Reset()
        if fault.get("invalid_json"):
            self.send_bytes(200, b"<html>oops</html>", "text/html; charset=utf-8")
            return True
        if fault.get("error_200"):
            self.send_json(200, ERROR_200_BODY)
            return True
        if "status" in fault or "body" in fault:
            status, data, ctype = _fault_response(fault)
            self.send_bytes(status, data, ctype)
            return True
        return False

    # -- response side ------------------------------------------------------

    def _head(self, status, ctype, headers):
        self.send_response(status)
        names = set(k.lower() for k, _ in self.extra_headers)
        if "content-type" not in names:
            self.send_header("Content-Type", ctype)
        for key, value in list(headers) + self.extra_headers:
            self.send_header(key, value)
        self.end_headers()
        self.head_sent = True

    def send_bytes(self, status, data, ctype, headers=()):
        self._head(status, ctype, [("Content-Length", str(len(data)))] + list(headers))
        if self.fault.get("reset_after"):
            self.wfile.write(data[:len(data) // 2])
            raise _Reset()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, status, obj, headers=()):
        self.send_bytes(status, _dumps(obj), "application/json", headers)

    def start_stream(self, ctype, status=200):
        self._head(status, ctype, [("Transfer-Encoding", "chunked"),
                                   ("Cache-Control", "no-cache")])
        self.sent = 0

    def chunk(self, data):
        if not data:
            return
        limit = self.fault.get("reset_after")
        if limit and self.sent >= limit:
            raise _Reset()
        self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
        self.sent += 1

    def end_stream(self):
        if self.fault.get("reset_after"):
            raise _Reset()
        self.wfile.write(b"0\r\n\r\n")

    def _abort(self):
        """Close abruptly: FIN by default (deterministic), RST with rst=True."""
        self.close_connection = True
        sock = self.connection
        try:
            if self.fault.get("rst"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.rfile.close()
                sock.close()
            else:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if not isinstance(exc, (OSError, ValueError)):
            ThreadingHTTPServer.handle_error(self, request, client_address)


# ---- Public API -----------------------------------------------------

class FakeArgo(object):
    """A fake Argo gateway (legacy + native endpoints) on 127.0.0.1."""

    def __init__(self, quirks=True, embeddings_native=False, model_list_format="new"):
        if model_list_format not in ("new", "old"):
            raise ValueError("model_list_format must be 'new' or 'old'")
        self.quirks = bool(quirks)
        self.embeddings_native = bool(embeddings_native)
        self.model_list_format = model_list_format
        self.reply = DEFAULT_REPLY
        self.tool_args = dict(DEFAULT_TOOL_ARGS)
        # the tool the fake model calls: this name when offered, else the request's first tool
        self.tool_name = None
        # decide whose turn it is from the last non-system message (Claude Code puts a
        # role:system message after the user's, which reaches chat upstreams as it is)
        self.skip_trailing_system = False
        # quirks: these models answer valid /v1/messages requests with 200 + ERROR_200_BODY
        self.error_200_models = set(ERROR_200_MODELS)
        self._cond = threading.Condition()
        self._requests, self._faults, self._conns = [], [], {}
        self._conn_ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server = self._thread = None
        self._stopped = False

    # -- lifecycle ----------------------------------------------------------

    def start(self, port=0):
        if self._server is not None:
            raise RuntimeError("FakeArgo already started")
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="fake-argo", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        with self._cond:
            if self._server is None or self._stopped:
                return
            self._stopped = True
            conns = list(self._conns.values())
        self._stopping.set()                      # releases delay/hang waits
        self._server.shutdown()
        self._server.server_close()
        for sock in conns:                        # idle keep-alive connections
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)

    def __enter__(self):
        return self.start() if self._server is None else self

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def url(self):
        if self._server is None:
            raise RuntimeError("FakeArgo not started")
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    # -- recording ----------------------------------------------------------

    @property
    def requests(self):
        with self._cond:
            return list(self._requests)

    def last(self, path_suffix=None):
        with self._cond:
            for rec in reversed(self._requests):
                if path_suffix is None or rec["path"].endswith(path_suffix):
                    return rec
        return None

    def wait_for(self, count=1, path_suffix=None, timeout=5.0):
        """Block until ``count`` matching requests were recorded; returns bool."""
        def enough():
            return sum(1 for r in self._requests
                       if path_suffix is None or r["path"].endswith(path_suffix)) >= count
        with self._cond:
            return self._cond.wait_for(enough, timeout)

    def clear(self):
        with self._cond:
            del self._requests[:]
            del self._faults[:]

    # -- behaviour control --------------------------------------------------

    def add_fault(self, path, times=None, **fault):
        unknown = set(fault) - FAULT_KEYS
        if unknown:
            raise TypeError("unknown fault option(s): %s" % ", ".join(sorted(unknown)))
        if not isinstance(path, str) or not path:
            raise ValueError("fault path must be a non-empty string")
        if times is not None and int(times) < 1:
            raise ValueError("times must be None or >= 1")
        with self._cond:
            self._faults.append({"path": path, "times": times if times is None else int(times),
                                 "spec": dict(fault)})

    def set_reply(self, text):
        self.reply = str(text)

    def set_tool_args(self, args):
        self.tool_args = dict(args)

    def set_tool_name(self, name):
        """Call the tool named ``name`` (when the request offers it) instead of the first one;
        None: back to the first."""
        self.tool_name = None if name is None else str(name)

    # -- used by the handler ------------------------------------------------

    def _route(self, path):
        if path == "/v1/embeddings" and not self.embeddings_native:
            return None
        return ROUTES.get(path)

    def _take_fault(self, path):
        """Merge every fault matching ``path``, consuming one use of each."""
        merged = {}
        with self._cond:
            for fault in list(self._faults):
                if path != fault["path"] and not path.endswith(fault["path"]):
                    continue
                merged.update(fault["spec"])
                if fault["times"] is not None:
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        self._faults.remove(fault)
        return merged

    def _record(self, handler, path, raw, body):
        headers = {}
        for key, value in handler.headers.items():
            key = key.lower()
            headers[key] = headers[key] + ", " + value if key in headers else value
        rec = {"method": handler.command, "path": path,
               "query": dict(parse_qsl(urlsplit(handler.path).query, keep_blank_values=True)),
               "headers": headers, "body": body, "raw": raw, "conn": handler.conn_id,
               "anthropic_headers": dict((k, headers.get(k)) for k in ANTHROPIC_HEADERS),
               "anthropic_betas": [b.strip() for b in (headers.get("anthropic-beta") or "")
                                   .split(",") if b.strip()]}
        with self._cond:
            self._requests.append(rec)
            self._cond.notify_all()

    def _conn_opened(self, sock):
        with self._cond:
            conn_id = next(self._conn_ids)
            self._conns[conn_id] = sock
        return conn_id

    def _conn_closed(self, conn_id):
        with self._cond:
            self._conns.pop(conn_id, None)


# ---- Standalone use -------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description="Fake Argo gateway for argo-proxy tests.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any)")
    parser.add_argument("--no-quirks", action="store_true", help="disable quirk emulation")
    parser.add_argument("--embeddings-native", action="store_true",
                        help="serve /v1/embeddings instead of 404")
    parser.add_argument("--model-list-format", choices=("new", "old"), default="new")
    parser.add_argument("--reply", default=None, help="assistant reply text")
    args = parser.parse_args(argv)
    fake = FakeArgo(quirks=not args.no_quirks, embeddings_native=args.embeddings_native,
                    model_list_format=args.model_list_format)
    if args.reply is not None:
        fake.set_reply(args.reply)
    done = threading.Event()

    def on_signal(signum, frame):
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    fake.start(port=args.port)
    print("FAKE_ARGO_URL=" + fake.url, flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
