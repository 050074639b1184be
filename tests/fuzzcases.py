"""Seeded bad-input cases for tests/integration/test_fuzz.py (pure: no I/O, deterministic).

`generate(seed, count)` returns `count` Case objects, each the exact bytes of one client
connection and what a correct proxy answers to them:

    expect "ok"      a valid request: 200 (streams included)
    expect "field"   a wrongly typed / missing / out-of-enum / non-finite JSON field: 400 in the
                     surface's envelope, the message naming `field` (e.g. messages[2].content[0].text)
    expect "reject"  bad input at the HTTP or JSON level: a 4xx (from `statuses` when given) in
                     the surface's envelope, or a clean close where `close_ok` (HTTP unparsable)
    expect "either"  inputs the RFCs let a server accept or refuse: 200, or a 4xx in the envelope

Never a 5xx, except `allowed_5xx` (501 for an unknown method or transfer coding, 505 for
HTTP/2+ on an HTTP/1 connection: the statuses RFC 9110/9112 prescribe).

Reproduce one case:  python -m tests.fuzzcases [SEED] INDEX   (prints its bytes as a Python literal)
"""

from __future__ import annotations

import copy
import json
import random
import re

SEED = 1207
COUNT = 1200

PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5E"
       "rkJggg==")
DATA_URL = "data:image/png;base64," + PNG
HOST = "localhost"

# A few placeholders replaced in the serialized JSON text (so a case can carry bytes that
# json.dumps cannot write: NaN literals, 1e400, invalid UTF-8).
_RAW = "\u2063RAW%d\u2063"


class Case:
    __slots__ = ("index", "group", "surface", "data", "expect", "statuses", "field", "style",
                 "close_ok", "shutdown", "allowed_5xx", "note", "sndbuf")

    def __init__(self, group, surface, data, expect, style, statuses=None, field=None,
                 close_ok=False, shutdown=False, allowed_5xx=(), note=""):
        self.index = None
        self.group = group            # e.g. "chat:wrong-type", "http:chunked-negative"
        self.surface = surface        # chat, completions, embeddings, responses, messages, ...
        self.data = data              # the exact bytes sent on one connection
        self.expect = expect
        self.statuses = statuses      # allowed 4xx statuses (None: any 4xx)
        self.field = field            # the field path an error must name
        self.style = style            # openai | anthropic | google | None (any envelope)
        self.close_ok = close_ok      # a clean close without an answer is acceptable
        self.shutdown = shutdown      # half-close after sending (the client sent all it will)
        self.allowed_5xx = tuple(allowed_5xx)
        self.note = note
        self.sndbuf = None            # a small client send buffer: the body is still in flight

    def describe(self):
        return "#%d %s %s%s" % (self.index, self.group, self.note,
                                " field=%s" % self.field if self.field else "")


# -- building requests -------------------------------------------------------------------

def _b(text):
    return text if isinstance(text, bytes) else text.encode("latin-1")


def head(method, target, headers, version="HTTP/1.1"):
    lines = [b"%s %s %s" % (_b(method), _b(target), _b(version))]
    lines += [_b(k) + b": " + _b(v) for k, v in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def request(method, target, body=b"", headers=None, extra=(), close=True, ctype=True):
    """A complete HTTP/1.1 request with a Content-Length body."""
    hdrs = [("Host", HOST)]
    if ctype:
        hdrs.append(("Content-Type", "application/json"))
    if headers is None:
        hdrs.append(("Content-Length", str(len(body))))
    else:
        hdrs += list(headers)
    hdrs += list(extra)
    if close:
        hdrs.append(("Connection", "close"))
    return head(method, target, hdrs) + body


def dumps(obj, raws=()):
    """JSON bytes (ASCII, lone surrogates escaped) with the raw placeholders substituted."""
    text = json.dumps(obj).encode("ascii")
    for i, raw in enumerate(raws):
        marker = json.dumps(_RAW % i).encode("ascii")
        text = text.replace(marker, raw)
    return text


def chunked(body, sizes):
    out = b""
    pos = 0
    for size in sizes:
        piece = body[pos:pos + size]
        if not piece:
            break
        out += b"%x\r\n%s\r\n" % (len(piece), piece)
        pos += len(piece)
    if pos < len(body):
        out += b"%x\r\n%s\r\n" % (len(body) - pos, body[pos:])
    return out + b"0\r\n\r\n"


# -- field paths ----------------------------------------------------------------------------

_TOKEN = re.compile(r"([A-Za-z_$][\w$]*)|\[(\d+)\]")


def tokens(path):
    out = []
    for name, index in _TOKEN.findall(path):
        out.append(int(index) if index else name)
    return out


def _parent(body, toks):
    node = body
    for tok in toks[:-1]:
        node = node[tok]
    return node


def set_at(body, path, value):
    toks = tokens(path)
    _parent(body, toks)[toks[-1]] = value


def delete_at(body, path):
    toks = tokens(path)
    del _parent(body, toks)[toks[-1]]


def dotted(path):
    """messages[2].content[0].text -> messages.2.content.0.text (Anthropic/pydantic style)."""
    return re.sub(r"\[(\d+)\]", r".\1", path)


# -- the surfaces ---------------------------------------------------------------------------

TOOL_SCHEMA = {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}


def chat_base(rng):
    return {"model": "gpt4o", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}]}]}


def completions_base(rng):
    return {"model": "gpt4o", "prompt": "Say hi"}


def embeddings_base(rng):
    return {"model": "v3small", "input": "hello"}


def responses_base(rng):
    return {"model": "gpt4o", "store": False, "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]}]}


def messages_base(rng):
    return {"model": rng.choice(["claudesonnet45", "gpt4o"]), "max_tokens": 64, "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]},
        {"role": "user", "content": [{"type": "text", "text": "How are you?"}]}]}


def count_tokens_base(rng):
    body = messages_base(rng)
    del body["max_tokens"]
    return body


def google_base(rng):
    return {"contents": [
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [{"text": "Hello"}]},
        {"role": "user", "parts": [{"text": "How are you?"}]}]}


def google_target(rng):
    base = rng.choice(["/v1beta/models/", "/v1/models/"])
    model = rng.choice(["gpt4o", "gemini25flash", "claudesonnet45"])
    method = rng.choice(["generateContent", "generateContent", "streamGenerateContent",
                         "streamGenerateContent?alt=sse", "countTokens"])
    return base + model + ":" + method


SURFACES = {
    # name: (target(rng), style, base(rng))
    "chat": (lambda rng: "/v1/chat/completions", "openai", chat_base),
    "completions": (lambda rng: "/v1/completions", "openai", completions_base),
    "embeddings": (lambda rng: "/v1/embeddings", "openai", embeddings_base),
    "responses": (lambda rng: "/v1/responses", "openai", responses_base),
    "messages": (lambda rng: "/v1/messages", "anthropic", messages_base),
    "count_tokens": (lambda rng: "/v1/messages/count_tokens", "anthropic", count_tokens_base),
    "google": (google_target, "google", google_base),
}


# setups: put a valid parent structure in place before a field is mutated

def _chat_tools(b):
    b["tools"] = [{"type": "function", "function": {"name": "add", "description": "Add numbers",
                                                     "parameters": copy.deepcopy(TOOL_SCHEMA)}}]


def _chat_choice(b):
    _chat_tools(b)
    b["tool_choice"] = {"type": "function", "function": {"name": "add"}}


def _chat_image(b):
    b["messages"][2]["content"].append({"type": "image_url", "image_url": {"url": DATA_URL}})


def _chat_stream_options(b):
    b["stream"] = True
    b["stream_options"] = {"include_usage": True}


def _chat_history(b):
    _chat_tools(b)
    b["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "add", "arguments": "{\"a\": 1, \"b\": 2}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "3"}]


def _chat_stop(b):
    b["stop"] = ["END"]


def _chat_response_format(b):
    b["response_format"] = {"type": "json_object"}


def _compl_prompts(b):
    b["prompt"] = ["Say hi", "Say bye"]


def _compl_stream_options(b):
    b["stream"] = True
    b["stream_options"] = {"include_usage": True}


def _emb_list(b):
    b["input"] = ["hello", "world"]


def _resp_tools(b):
    b["tools"] = [{"type": "function", "name": "add", "description": "Add numbers",
                   "parameters": copy.deepcopy(TOOL_SCHEMA)}]


def _resp_choice(b):
    _resp_tools(b)
    b["tool_choice"] = {"type": "function", "name": "add"}


def _resp_reasoning(b):
    b["reasoning"] = {"effort": "low"}


def _resp_text(b):
    b["text"] = {"format": {"type": "text"}}


def _resp_metadata(b):
    b["metadata"] = {"k": "v"}


def _resp_include(b):
    b["include"] = ["reasoning.encrypted_content"]


def _msg_system_blocks(b):
    b["system"] = [{"type": "text", "text": "Be brief."}]


def _msg_tools(b):
    b["tools"] = [{"name": "add", "description": "Add numbers", "input_schema": copy.deepcopy(TOOL_SCHEMA)}]


def _msg_choice(b):
    _msg_tools(b)
    b["tool_choice"] = {"type": "tool", "name": "add"}


def _msg_stop(b):
    b["stop_sequences"] = ["END"]


def _msg_metadata(b):
    b["metadata"] = {"user_id": "u-1"}


def _msg_thinking(b):
    b["thinking"] = {"type": "enabled", "budget_tokens": 2048}
    if "max_tokens" in b:
        b["max_tokens"] = 4096


def _msg_image(b):
    b["messages"][2]["content"].append(
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}})


def _msg_tool_history(b):
    _msg_tools(b)
    b["messages"] += [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "add",
                                           "input": {"a": 1, "b": 2}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "3"}]}]


def _g_system(b):
    b["systemInstruction"] = {"parts": [{"text": "Be brief."}]}


def _g_config(b):
    b["generationConfig"] = {"temperature": 0.5}


def _g_stops(b):
    b["generationConfig"] = {"stopSequences": ["END"]}


def _g_thinking(b):
    b["generationConfig"] = {"thinkingConfig": {"thinkingBudget": 1024}}


def _g_tools(b):
    b["tools"] = [{"functionDeclarations": [{"name": "add", "description": "Add numbers",
                                             "parameters": copy.deepcopy(TOOL_SCHEMA)}]}]


def _g_tool_config(b):
    _g_tools(b)
    b["toolConfig"] = {"functionCallingConfig": {"mode": "AUTO", "allowedFunctionNames": ["add"]}}


def _g_safety(b):
    b["safetySettings"] = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]


def _g_inline(b):
    b["contents"][2]["parts"].append({"inlineData": {"mimeType": "image/png", "data": PNG}})


def _g_call_history(b):
    _g_tools(b)
    b["contents"] += [
        {"role": "model", "parts": [{"functionCall": {"name": "add", "args": {"a": 1, "b": 2}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "add", "response": {"output": "3"}}}]}]


class F:
    """One field of one surface: its path, JSON kind, what must be in place first, valid
    values, whether it is required, and out-of-enum strings."""

    def __init__(self, path, kind, setup=None, valid=(), required=False, enum_bad=()):
        self.path, self.kind, self.setup = path, kind, setup
        self.valid, self.required, self.enum_bad = tuple(valid), required, tuple(enum_bad)


FIELDS = {
    "chat": [
        F("model", "str", valid=["argo:gpt-4o"], required=True),
        F("messages", "arr", required=True),
        F("messages[1]", "obj", required=True),
        F("messages[1].role", "str", valid=["user"], required=True, enum_bad=["wizard"]),
        F("messages[1].content", "str|arr", valid=["Hello there", [{"type": "text", "text": "Hi"}]]),
        F("messages[1].name", "str", valid=["alice"]),
        F("messages[2].content[0]", "part", required=True),
        F("messages[2].content[0].type", "str", required=True, enum_bad=["bogus"]),
        F("messages[2].content[0].text", "str", valid=["\u00e9t\u00e9 \U0001F600"], required=True),
        F("messages[2].content[1].image_url", "part", setup=_chat_image, required=True),
        F("messages[2].content[1].image_url.url", "str", setup=_chat_image, required=True),
        F("messages[2].content[1].image_url.detail", "str", setup=_chat_image, valid=["low"]),
        F("n", "int", valid=[1]),
        F("max_tokens", "int", valid=[32]),
        F("max_completion_tokens", "int", valid=[32]),
        F("temperature", "num", valid=[0.2, 1]),
        F("top_p", "num", valid=[0.9]),
        F("presence_penalty", "num", valid=[0.0]),
        F("frequency_penalty", "num"),
        F("seed", "int", valid=[7]),
        F("stream", "bool", valid=[True, False]),
        F("stream_options", "obj", setup=_chat_stream_options, valid=[{"include_usage": False}]),
        F("stream_options.include_usage", "bool", setup=_chat_stream_options, valid=[True]),
        F("stop", "str|arr", valid=["END", ["END"]]),
        F("stop[0]", "str", setup=_chat_stop),
        F("user", "str", valid=["u-1"]),
        F("logprobs", "bool"),
        F("top_logprobs", "int"),
        F("parallel_tool_calls", "bool", setup=_chat_tools),
        F("response_format", "obj", setup=_chat_response_format),
        F("response_format.type", "str", setup=_chat_response_format, required=True),
        F("tools", "arr", setup=_chat_tools),
        F("tools[0]", "obj", setup=_chat_tools, valid=[{"type": "function", "function": {"name": "mul"}}]),
        F("tools[0].type", "str", setup=_chat_tools, valid=["function"]),
        F("tools[0].function", "obj", setup=_chat_tools, required=True),
        F("tools[0].function.name", "str", setup=_chat_tools, required=True),
        F("tools[0].function.description", "str", setup=_chat_tools),
        F("tools[0].function.parameters", "obj", setup=_chat_tools),
        F("tool_choice", "str|obj", setup=_chat_tools, valid=["auto", "none"], enum_bad=["sometimes"]),
        F("tool_choice.type", "str", setup=_chat_choice, required=True),
        F("tool_choice.function", "obj", setup=_chat_choice, required=True),
        F("tool_choice.function.name", "str", setup=_chat_choice, required=True),
        F("messages[3].tool_calls", "arr", setup=_chat_history),
        F("messages[3].tool_calls[0]", "obj", setup=_chat_history),
        F("messages[3].tool_calls[0].id", "str", setup=_chat_history, required=True),
        F("messages[3].tool_calls[0].function", "obj", setup=_chat_history, required=True),
        F("messages[3].tool_calls[0].function.name", "str", setup=_chat_history, required=True),
        F("messages[3].tool_calls[0].function.arguments", "str", setup=_chat_history, required=True),
        F("messages[4].tool_call_id", "str", setup=_chat_history, required=True),
        F("messages[4].content", "str|arr", setup=_chat_history),
    ],
    "completions": [
        F("model", "str", required=True),
        F("prompt", "str|arr", valid=[["Say hi", "Say bye"]]),
        F("prompt[1]", "str", setup=_compl_prompts),
        F("max_tokens", "int", valid=[16]),
        F("n", "int"),
        F("temperature", "num", valid=[0.3]),
        F("top_p", "num"),
        F("seed", "int"),
        F("stream", "bool", valid=[True]),
        F("stream_options.include_usage", "bool", setup=_compl_stream_options, valid=[True]),
        F("stop", "str|arr", valid=["END"]),
        F("user", "str"),
        F("echo", "bool"),
        F("suffix", "str"),
        F("logprobs", "int"),
        F("best_of", "int"),
        F("presence_penalty", "num"),
    ],
    "embeddings": [
        F("model", "str", valid=["argo:text-embedding-3-small"], required=True),
        F("input", "str|arr", valid=[["hello", "world"]], required=True),
        F("input[1]", "str", setup=_emb_list, required=True),
        F("encoding_format", "str", valid=["float", "base64"], enum_bad=["hex"]),
        F("dimensions", "int"),
        F("user", "str", valid=["u-1"]),
    ],
    "responses": [
        F("model", "str", required=True),
        F("input", "str|arr", valid=["Hi"], required=True),
        F("input[0]", "obj", required=True),
        F("input[0].role", "str", required=True, enum_bad=["wizard"]),
        F("input[0].content", "str|arr", valid=["Hello"], required=True),
        F("input[0].content[0]", "obj", required=True),
        F("input[0].content[0].type", "str", required=True, enum_bad=["bogus"]),
        F("input[0].content[0].text", "str", required=True),
        F("instructions", "str|arr", valid=["Be brief."]),
        F("max_output_tokens", "int", valid=[64]),
        F("temperature", "num", valid=[0.5]),
        F("top_p", "num"),
        F("stream", "bool", valid=[True]),
        F("store", "bool", valid=[True]),
        F("parallel_tool_calls", "bool", setup=_resp_tools),
        F("metadata", "obj", setup=_resp_metadata, valid=[{"k": "w"}]),
        F("metadata.k", "str", setup=_resp_metadata),
        F("reasoning", "obj", setup=_resp_reasoning),
        F("reasoning.effort", "str", setup=_resp_reasoning),
        F("text", "obj", setup=_resp_text, valid=[{"format": {"type": "text"}}]),
        F("text.format", "obj", setup=_resp_text),
        F("text.format.type", "str", setup=_resp_text, required=True),
        F("tools", "arr", setup=_resp_tools),
        F("tools[0]", "obj", setup=_resp_tools),
        F("tools[0].type", "str", setup=_resp_tools, required=True),
        F("tools[0].name", "str", setup=_resp_tools, required=True),
        F("tools[0].description", "str", setup=_resp_tools),
        F("tools[0].parameters", "obj", setup=_resp_tools),
        F("tool_choice", "str|obj", setup=_resp_tools, valid=["auto"], enum_bad=["sometimes"]),
        F("tool_choice.type", "str", setup=_resp_choice, required=True),
        F("tool_choice.name", "str", setup=_resp_choice, required=True),
        F("previous_response_id", "str"),
        F("include", "arr", setup=_resp_include),
        F("include[0]", "str", setup=_resp_include),
    ],
    "messages": [
        F("model", "str", required=True),
        F("max_tokens", "int", valid=[128], required=True),
        F("messages", "arr", required=True),
        F("messages[0]", "obj", required=True),
        F("messages[0].role", "str", required=True, enum_bad=["wizard"]),
        F("messages[0].content", "str|arr", valid=[[{"type": "text", "text": "Hi"}]], required=True),
        F("messages[2].content[0]", "obj", required=True),
        F("messages[2].content[0].type", "str", required=True, enum_bad=["bogus"]),
        F("messages[2].content[0].text", "str", required=True),
        F("messages[2].content[1].source", "obj", setup=_msg_image, required=True),
        F("messages[2].content[1].source.data", "str", setup=_msg_image, required=True),
        F("messages[2].content[1].source.media_type", "str", setup=_msg_image, required=True),
        F("system", "str|arr", valid=["Be brief.", [{"type": "text", "text": "Be brief."}]]),
        F("system[0].text", "str", setup=_msg_system_blocks, required=True),
        F("system[0].type", "str", setup=_msg_system_blocks, required=True),
        F("temperature", "num", valid=[0.5]),
        F("top_p", "num"),
        F("top_k", "int"),
        F("stop_sequences", "arr", setup=_msg_stop, valid=[["END"]]),
        F("stop_sequences[0]", "str", setup=_msg_stop),
        F("stream", "bool", valid=[True, False]),
        F("metadata", "obj", setup=_msg_metadata, valid=[{"user_id": "u-2"}]),
        F("metadata.user_id", "str", setup=_msg_metadata),
        F("tools", "arr", setup=_msg_tools),
        F("tools[0]", "obj", setup=_msg_tools),
        F("tools[0].name", "str", setup=_msg_tools, required=True),
        F("tools[0].description", "str", setup=_msg_tools),
        F("tools[0].input_schema", "obj", setup=_msg_tools, required=True),
        F("tool_choice", "obj", setup=_msg_choice, valid=[{"type": "auto"}]),
        F("tool_choice.type", "str", setup=_msg_choice, required=True, enum_bad=["sometimes"]),
        F("tool_choice.name", "str", setup=_msg_choice, required=True),
        F("thinking", "obj", setup=_msg_thinking),
        F("thinking.type", "str", setup=_msg_thinking, required=True, enum_bad=["sometimes"]),
        F("thinking.budget_tokens", "int", setup=_msg_thinking, required=True),
        F("messages[3].content[0].input", "obj", setup=_msg_tool_history, required=True),
        F("messages[3].content[0].id", "str", setup=_msg_tool_history, required=True),
        F("messages[4].content[0].tool_use_id", "str", setup=_msg_tool_history, required=True),
    ],
    "count_tokens": [
        F("model", "str", required=True),
        F("messages", "arr", required=True),
        F("messages[0]", "obj", required=True),
        F("messages[0].role", "str", required=True, enum_bad=["wizard"]),
        F("messages[0].content", "str|arr", required=True),
        F("messages[2].content[0].type", "str", required=True),
        F("messages[2].content[0].text", "str", required=True),
        F("system", "str|arr", valid=["Be brief."]),
        F("system[0].text", "str", setup=_msg_system_blocks, required=True),
        F("tools", "arr", setup=_msg_tools),
        F("tools[0].name", "str", setup=_msg_tools, required=True),
        F("tools[0].input_schema", "obj", setup=_msg_tools, required=True),
        F("tool_choice", "obj", setup=_msg_choice),
        F("tool_choice.type", "str", setup=_msg_choice, required=True),
        F("thinking", "obj", setup=_msg_thinking),
        F("thinking.budget_tokens", "int", setup=_msg_thinking, required=True),
    ],
    "google": [
        F("contents", "arr", required=True),
        F("contents[0]", "obj", required=True),
        F("contents[0].role", "str", valid=["user"], enum_bad=["wizard"]),
        F("contents[0].parts", "arr", required=True),
        F("contents[2].parts[0]", "obj", required=True),
        F("contents[2].parts[0].text", "str", valid=["\u00e9t\u00e9"]),
        F("contents[2].parts[1].inlineData", "obj", setup=_g_inline),
        F("contents[2].parts[1].inlineData.mimeType", "str", setup=_g_inline, required=True),
        F("contents[2].parts[1].inlineData.data", "str", setup=_g_inline, required=True),
        F("contents[3].parts[0].functionCall.name", "str", setup=_g_call_history, required=True),
        F("contents[3].parts[0].functionCall.args", "obj", setup=_g_call_history),
        F("contents[4].parts[0].functionResponse.name", "str", setup=_g_call_history, required=True),
        F("contents[4].parts[0].functionResponse.response", "obj", setup=_g_call_history),
        F("systemInstruction", "str|obj", setup=_g_system, valid=[{"parts": [{"text": "Be brief."}]}]),
        F("systemInstruction.parts", "arr", setup=_g_system),
        F("systemInstruction.parts[0].text", "str", setup=_g_system, required=True),
        F("generationConfig", "obj", setup=_g_config, valid=[{"temperature": 0.5, "maxOutputTokens": 64}]),
        F("generationConfig.temperature", "num", setup=_g_config, valid=[0.1]),
        F("generationConfig.topP", "num", setup=_g_config),
        F("generationConfig.topK", "int", setup=_g_config),
        F("generationConfig.maxOutputTokens", "int", setup=_g_config, valid=[64]),
        F("generationConfig.candidateCount", "int", setup=_g_config),
        F("generationConfig.seed", "int", setup=_g_config),
        F("generationConfig.responseMimeType", "str", setup=_g_config, valid=["text/plain"]),
        F("generationConfig.stopSequences", "arr", setup=_g_stops, valid=[["END"]]),
        F("generationConfig.stopSequences[0]", "str", setup=_g_stops),
        F("generationConfig.thinkingConfig", "obj", setup=_g_thinking),
        F("generationConfig.thinkingConfig.thinkingBudget", "int", setup=_g_thinking),
        F("generationConfig.thinkingConfig.includeThoughts", "bool", setup=_g_thinking, valid=[True]),
        F("tools", "arr", setup=_g_tools),
        F("tools[0]", "obj", setup=_g_tools),
        F("tools[0].functionDeclarations", "arr", setup=_g_tools),
        F("tools[0].functionDeclarations[0].name", "str", setup=_g_tools, required=True),
        F("tools[0].functionDeclarations[0].description", "str", setup=_g_tools),
        F("tools[0].functionDeclarations[0].parameters", "obj", setup=_g_tools),
        F("toolConfig", "obj", setup=_g_tool_config),
        F("toolConfig.functionCallingConfig", "obj", setup=_g_tool_config),
        F("toolConfig.functionCallingConfig.mode", "str", setup=_g_tool_config, valid=["NONE"],
          enum_bad=["SOMETIMES"]),
        F("toolConfig.functionCallingConfig.allowedFunctionNames", "arr", setup=_g_tool_config),
        F("safetySettings", "arr", setup=_g_safety),
        F("safetySettings[0]", "obj", setup=_g_safety),
        F("safetySettings[0].category", "str", setup=_g_safety, required=True),
        F("safetySettings[0].threshold", "str", setup=_g_safety, required=True),
    ],
}

# Values of a wrong JSON type for each kind (integral floats are left out of "int": Google
# clients send 4.0 for counts and the Google surface accepts them).
WRONG = {
    "str": [5, 2.5, True, [], {}, ["x"]],
    "int": ["8", 8.5, True, [], {}, [8]],
    "num": ["0.5", True, [], {}, [0.5]],
    "bool": ["yes", "true", 1, 0, [], {}],
    "obj": ["x", 5, True, [], ["x"]],
    "arr": ["x", 5, True, {}],
    "str|arr": [5, 2.5, True, {}, {"text": "x"}],
    "str|obj": [5, 2.5, True, []],
    # an object where some clients send a bare string as a shorthand (a text part, an image URL)
    "part": [5, 2.5, True, [], ["x"]],
}
NONFINITE = [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400"]


def _mutations(field):
    out = [("wrong", v) for v in WRONG[field.kind]]
    if field.required:
        out.append(("null", None))
        if not isinstance(tokens(field.path)[-1], int):
            out.append(("missing", None))
    out += [("enum", v) for v in field.enum_bad]
    if field.kind in ("int", "num"):
        out += [("nonfinite", v) for v in NONFINITE]
    out += [("valid", v) for v in field.valid]
    out.append(("valid", "__as_set_up__"))
    return out


def _surface_request(rng, surface, body_bytes, extra=()):
    target, style, _base = SURFACES[surface]
    return request("POST", target(rng), body_bytes, extra=extra), style


def _field_case(rng, surface, field, how, value):
    _target, style, base = SURFACES[surface]
    body = base(rng)
    if field.setup:
        field.setup(body)
    raws = []
    if how == "missing":
        delete_at(body, field.path)
    elif how == "nonfinite":
        set_at(body, field.path, _RAW % 0)
        raws.append(value)
    elif not (how == "valid" and value == "__as_set_up__"):
        set_at(body, field.path, copy.deepcopy(value))
    data, style = _surface_request(rng, surface, dumps(body, raws))
    shown = value.decode() if isinstance(value, bytes) else json.dumps(value)
    note = "%s=%s" % (how, shown) if how not in ("missing",) else "missing"
    if how == "valid":
        return Case("%s:valid" % surface, surface, data, "ok", style, note=note)
    group = {"wrong": "wrong-type", "null": "null-required", "missing": "missing-required",
             "enum": "bad-enum", "nonfinite": "non-finite-number"}[how]
    return Case("%s:%s" % (surface, group), surface, data, "field", style, statuses=(400,),
                field=field.path, note=note)


def field_cases(rng):
    """Every (surface, field, mutation), in a seeded order that covers every field before
    any field repeats."""
    per_field = []
    for surface in sorted(FIELDS):
        for field in FIELDS[surface]:
            muts = _mutations(field)
            rng.shuffle(muts)
            per_field.append((surface, field, muts))
    rng.shuffle(per_field)
    depth = max(len(m) for _, _, m in per_field)
    for round_ in range(depth):
        for surface, field, muts in per_field:
            if round_ < len(muts):
                how, value = muts[round_]
                yield lambda rng, s=surface, f=field, h=how, v=value: _field_case(rng, s, f, h, v)


# -- JSON-level and text cases ----------------------------------------------------------------

# (surface, path of a text field in the surface's base body)
TEXT_SLOTS = [
    ("chat", "messages[1].content"), ("chat", "messages[2].content[0].text"),
    ("chat", "messages[0].content"), ("completions", "prompt"), ("embeddings", "input"),
    ("responses", "input[0].content[0].text"), ("messages", "messages[0].content"),
    ("messages", "messages[2].content[0].text"), ("count_tokens", "messages[0].content"),
    ("google", "contents[0].parts[0].text"), ("google", "contents[2].parts[0].text"),
]
SURROGATES = ["\ud800", "a\udfffb", "\ud800\ud800", "\udc00\ud83d", "x\udbff"]


def _text_case(rng, kind):
    surface, path = rng.choice(TEXT_SLOTS)
    _t, style, base = SURFACES[surface]
    body = base(rng)
    raws = []
    if kind == "surrogate":
        set_at(body, path, rng.choice(SURROGATES))
        expect, note = "reject", "lone surrogate at " + path
    elif kind == "pair":
        set_at(body, path, "smile \U0001F600 \u00e9")
        expect, note = "ok", "valid escaped surrogate pair at " + path
    elif kind == "escaped-nul":
        set_at(body, path, "a\u0000b")
        expect, note = "either", "escaped \\u0000 at " + path
    elif kind == "raw-nul":
        set_at(body, path, _RAW % 0)
        raws.append(b'"a\x00b"')
        expect, note = "reject", "raw NUL byte inside a JSON string at " + path
    elif kind == "raw-ctl":
        set_at(body, path, _RAW % 0)
        raws.append(b'"a' + bytes([rng.choice([1, 8, 10, 13, 27, 31])]) + b'b"')
        expect, note = "reject", "raw control character inside a JSON string at " + path
    elif kind == "latin1":
        set_at(body, path, _RAW % 0)
        raws.append(rng.choice([b'"caf\xe9"', b'"\xff\xfe"', b'"\xc0\xaf"', b'"\xed\xa0\x80"',
                                b'"trunc\xe2\x82"', b'"\x80abc"', b'"\xf8\x88\x80\x80\x80"']))
        expect, note = "reject", "invalid UTF-8 inside a JSON string at " + path
    elif kind == "long":
        set_at(body, path, "word " * rng.choice([2000, 20000]))
        expect, note = "ok", "long text at " + path
    else:
        raise ValueError(kind)
    data, style = _surface_request(rng, surface, dumps(body, raws))
    return Case("text:" + kind, surface, data, expect, style, note=note,
                statuses=(400,) if expect == "reject" else None)


def _deep(depth, kind):
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def _json_case(rng, kind):
    surface = rng.choice(sorted(SURFACES))
    _t, style, base = SURFACES[surface]
    body = base(rng)
    good = dumps(body)
    expect, statuses, note = "reject", (400,), kind
    if kind == "truncated":
        cut = rng.randrange(1, len(good) - 1)
        data = good[:cut]
        note = "JSON cut after %d of %d bytes" % (cut, len(good))
    elif kind == "trailing-garbage":
        data = good + rng.choice([b" x", b"}", b",", b"{}", b"\x00"])
    elif kind == "syntax":
        data = rng.choice([
            good.replace(b'"', b"'"),
            good[:-1] + b",}",
            b"/* c */" + good,
            good.replace(b":", b"=", 1),
            b"{model: \"gpt4o\"}",
            good.replace(b'"', b"", 2),
            b'{"model": "gpt4o", "messages": [}',
            b'{"a": "\\x41"}',
            b'{"a": "\\u12"}',
            b'{"a": 01}',
            b'{"a": .5}',
            b'{"a": tru}',
        ])
    elif kind == "not-object":
        data = rng.choice([b"[]", b"[1, 2]", b'"text"', b"5", b"null", b"true", b"1e400", b"NaN"])
    elif kind == "empty":
        data = rng.choice([b"", b" ", b"\r\n\t ", b"\x00"])
    elif kind == "deep":
        depth = rng.choice([5000, 100000, 300000])
        where = rng.choice(["top", "field"])
        if where == "top":
            data = _deep(depth, rng.choice(["array", "object"]))
        else:
            marker = json.dumps(_RAW % 0).encode()
            body["metadata"] = _RAW % 0
            data = dumps(body).replace(marker, _deep(depth, rng.choice(["array", "object"])))
        note = "nesting depth %d (%s)" % (depth, where)
    elif kind == "deep-ok":
        body_copy = base(rng)
        schema = {"type": "string"}
        for _ in range(40):
            schema = {"type": "object", "properties": {"x": schema}}
        if surface in ("chat", "completions"):
            body_copy = chat_base(rng)
            surface, style = "chat", "openai"
            body_copy["tools"] = [{"type": "function", "function": {"name": "f", "parameters": schema}}]
        elif surface in ("messages", "count_tokens"):
            body_copy["tools"] = [{"name": "f", "input_schema": schema}]
        elif surface == "google":
            body_copy["tools"] = [{"functionDeclarations": [{"name": "f", "parameters": schema}]}]
        elif surface == "responses":
            body_copy["tools"] = [{"type": "function", "name": "f", "parameters": schema}]
        else:
            body_copy = chat_base(rng)
            surface, style = "chat", "openai"
            body_copy["tools"] = [{"type": "function", "function": {"name": "f", "parameters": schema}}]
        data = dumps(body_copy)
        expect, statuses, note = "ok", None, "a 40-deep tool schema (valid)"
    elif kind == "big-int":
        marker = json.dumps(_RAW % 0).encode()
        key = {"chat": "max_tokens", "completions": "max_tokens", "embeddings": "dimensions",
               "responses": "max_output_tokens", "messages": "max_tokens",
               "count_tokens": "max_tokens", "google": "generationConfig"}[surface]
        body[key] = _RAW % 0
        digits = b"9" * rng.choice([30, 5000])
        data = dumps(body).replace(marker, digits if key != "generationConfig"
                                   else b'{"maxOutputTokens": ' + digits + b"}")
        note = "a %d-digit integer" % (len(digits))
        # 30 digits: a well-typed integer out of range (a value check, not asked for here);
        # 5000 digits: past what JSON parsers read (CPython 3.11+ refuses it): a 400
        expect, statuses = ("reject", (400,)) if len(digits) > 4300 else ("either", None)
    elif kind == "bom":
        data = b"\xef\xbb\xbf" + good
        expect, statuses = "either", None
    elif kind == "utf16":
        data = json.dumps(body).encode(rng.choice(["utf-16-le", "utf-16-be", "utf-16", "utf-32"]))
        expect, statuses = "either", None
    elif kind == "duplicate-keys":
        data = good[:-1] + b', "model": "gpt4o"}' if surface != "google" else good[:-1] + b', "contents": []}'
        expect, statuses = "either", None
    else:
        raise ValueError(kind)
    target = SURFACES[surface][0](rng)
    return Case("json:" + kind, surface, request("POST", target, data), expect, style,
                statuses=statuses, note=note)


# -- HTTP-level cases --------------------------------------------------------------------------

ROUTES = ["chat", "messages", "google", "responses", "embeddings", "count_tokens"]


def _route(rng):
    surface = rng.choice(ROUTES)
    target, style, base = SURFACES[surface]
    body = base(rng)
    if surface == "messages":
        body["model"] = "gpt4o" if rng.random() < 0.5 else "claudesonnet45"
    return surface, target(rng), style, dumps(body)


def _http_case(rng, kind):
    surface, target, style, body = _route(rng)
    n = str(len(body))
    std = [("Host", HOST), ("Content-Type", "application/json")]
    c = dict(expect="reject", statuses=(400,), close_ok=False, shutdown=False, allowed_5xx=(),
             note=kind)
    if kind == "garbage-line":
        line = rng.choice([b"BLAH", b"GET", b"GET /", b"GET / HTTP/1.1 extra", b" GET / HTTP/1.1",
                           b"GET  /  HTTP/1.1", b"GET / HTTP/1.1\x00", b"GET / HTTP/1.x",
                           b"GET / HTTP/1.1.1", b"GET / http/1.1", b"GET / FTP/1.1", b"\x00\x00\x00",
                           b"GET / HTTP/", b"G\x00T / HTTP/1.1", b"GET\t/\tHTTP/1.1",
                           b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(32)),
                           bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))])
        data = line + b"\r\nHost: localhost\r\n\r\n"
        style = None
        c.update(close_ok=True, shutdown=True, note="request line %r" % line[:60])
        if line in (b" GET / HTTP/1.1", b"GET  /  HTTP/1.1", b"GET\t/\tHTTP/1.1"):
            c["expect"] = "either"   # RFC 9112 section 3: a server MAY split on any whitespace
    elif kind == "version":
        version = rng.choice(["HTTP/2.0", "HTTP/3.0", "HTTP/9.9", "HTTP/1.10", "HTTP/01.1", "HTTP/1"])
        data = head("POST", target, std + [("Content-Length", n), ("Connection", "close")],
                    version=version) + body
        c.update(note=version, close_ok=True, shutdown=True)
        if version in ("HTTP/2.0", "HTTP/3.0", "HTTP/9.9"):
            c["allowed_5xx"] = (505,)
    elif kind == "http10":
        data = head("POST", target, std + [("Content-Length", n)], version="HTTP/1.0") + body
        c.update(expect="ok", note="HTTP/1.0 request")
    elif kind == "unknown-method":
        method = rng.choice(["BREW", "PROPFIND", "post", "TRACE", "CONNECT", "QUERY"])
        data = head(method, target, std + [("Content-Length", n), ("Connection", "close")]) + body
        c.update(statuses=(400, 405), allowed_5xx=(501,), note="method " + method)
    elif kind == "bad-method-token":
        method = rng.choice([b"PO ST", b"P(ST", b"POST\x00", b"\xffPOST", b"PO\tST"])
        data = head(method, target, std + [("Content-Length", n), ("Connection", "close")]) + body
        style = None     # an unparsable request line: whose surface it is is unknown
        c.update(close_ok=True, shutdown=True, note="method %r" % method)
    elif kind == "target":
        choice = rng.choice(["nul", "pct-nul", "double-slash", "no-slash", "asterisk", "absolute",
                             "query", "fragment", "non-ascii", "long", "huge", "trailing-slash",
                             "ctl", "pct-garbage"])
        path = {"nul": target + "\x00", "pct-nul": target + "%00", "double-slash": "/" + target,
                "no-slash": target.lstrip("/"), "asterisk": "*",
                "absolute": "http://localhost" + target,
                "query": target + ("&" if "?" in target else "?") + "%zz=%%&a=1",
                "fragment": target + "#frag", "non-ascii": target + "\xff\xfe",
                "long": target + "?" + "a=b&" * 2000, "huge": "/" + "a" * 70000,
                "trailing-slash": target + "/", "ctl": target + "\x01\x7f",
                "pct-garbage": "/v1/%zz%%/chat"}[choice]
        data = head("POST", path, std + [("Content-Length", n), ("Connection", "close")]) + body
        c.update(note="target " + choice)
        c["statuses"] = (400, 404, 414)
        if choice == "huge":
            c["statuses"] = (400, 414, 431)
        if choice in ("absolute", "query", "trailing-slash", "long", "double-slash", "fragment"):
            c["expect"] = "either"
        if choice in ("no-slash", "asterisk", "ctl", "huge", "nul"):
            c.update(close_ok=True, shutdown=True)
        if choice in ("no-slash", "asterisk", "huge", "double-slash", "pct-garbage"):
            style = None     # the path no longer says which surface it is
        if choice == "huge":
            c["shutdown"] = False   # the server refuses before reading it all: no half-close race
    elif kind == "header-syntax":
        choice = rng.choice(["no-colon", "space-before-colon", "bad-name", "nul-name", "empty-name",
                             "nul-value", "cr-value", "obs-fold", "bare-lf", "lf-crlf-mix",
                             "high-bytes"])
        extra = {"no-colon": [b"X-Fuzz"], "space-before-colon": [b"X-Fuzz : 1"],
                 "bad-name": [b"X Fuzz: 1"], "nul-name": [b"X-\x00Fuzz: 1"],
                 "empty-name": [b": 1"], "nul-value": [b"X-Fuzz: a\x00b"],
                 "cr-value": [b"X-Fuzz: a\rb"], "obs-fold": [b"X-Fuzz: a", b" b"],
                 "bare-lf": [], "lf-crlf-mix": [], "high-bytes": [b"X-Fuzz: \xff\xfe\x80"]}[choice]
        lines = [b"POST %s HTTP/1.1" % target.encode(), b"Host: localhost",
                 b"Content-Type: application/json"] + extra + [b"Content-Length: " + n.encode(),
                                                                 b"Connection: close"]
        sep = b"\n" if choice == "bare-lf" else b"\r\n"
        data = sep.join(lines) + sep + sep + body
        if choice == "lf-crlf-mix":
            data = data.replace(b"\r\nContent-Type", b"\nContent-Type", 1)
        c.update(note="header " + choice)
        if choice in ("nul-value", "cr-value", "obs-fold", "bare-lf", "lf-crlf-mix", "high-bytes"):
            c["expect"] = "either"
        else:
            c.update(close_ok=True, shutdown=True, statuses=(400,))
    elif kind == "header-size":
        choice = rng.choice(["huge-value", "big-value", "many", "huge-name", "huge-cookie"])
        hdrs = std + [("Content-Length", n), ("Connection", "close")]
        c["statuses"] = (400, 413, 431)
        if choice == "huge-value":
            hdrs.append(("X-Fuzz", "v" * rng.choice([70000, 200000])))
        elif choice == "big-value":
            hdrs.append(("X-Fuzz", "v" * 8000))
            c["expect"] = "either"
        elif choice == "many":
            hdrs += [("X-Fuzz-%d" % i, "1") for i in range(rng.choice([101, 150, 1000]))]
            c["expect"] = "either"
        elif choice == "huge-name":
            hdrs.append(("X" * 70000, "1"))
        else:
            hdrs += [("Cookie", "c=" + "z" * 40000)] * 3
            c["expect"] = "either"
        data = head("POST", target, hdrs) + body
        c.update(note="headers " + choice)
    elif kind == "content-length":
        value = rng.choice(["-1", "-%s" % n, "abc", "1_0", "+%s" % n, "0x%x" % len(body), "%s.0" % n,
                            "1e3", "", "99999999999999999999999", "%s %s" % (n, n), " %s" % n,
                            "%s, %s" % (n, n), "%s, %d" % (n, len(body) + 1),
                            "\u0661".encode("utf-8").decode("latin-1"),
                            "%s\x00" % n])
        data = head("POST", target, std + [("Content-Length", value), ("Connection", "close")]) + body
        c.update(note="Content-Length %r" % value, shutdown=True, close_ok=True, statuses=(400, 413))
        if value == " %s" % n:
            c.update(expect="ok", shutdown=False, close_ok=False)
        elif value == "%s, %s" % (n, n):
            c.update(expect="either", shutdown=False, close_ok=False)
    elif kind == "content-length-dup":
        same = rng.random() < 0.4
        other = n if same else str(len(body) + rng.choice([-5, 7]))
        data = head("POST", target, std + [("Content-Length", n), ("Content-Length", other),
                                           ("Connection", "close")]) + body
        c.update(note="two Content-Length headers (%s, %s)" % (n, other), shutdown=True, close_ok=True)
        if same:
            c.update(expect="either", shutdown=False, close_ok=False)
    elif kind == "content-length-mismatch":
        choice = rng.choice(["longer-declared", "shorter-declared", "missing", "zero"])
        if choice == "longer-declared":
            hdrs = [("Content-Length", str(len(body) + rng.choice([1, 10, 1000])))]
            c.update(shutdown=True, close_ok=True)
        elif choice == "shorter-declared":
            hdrs = [("Content-Length", str(rng.randrange(1, len(body) - 1)))]
        elif choice == "missing":
            hdrs = []
            c.update(shutdown=True, close_ok=True, statuses=(400, 411))
        else:
            hdrs = [("Content-Length", "0")]
            c.update(shutdown=True)
        data = head("POST", target, std + hdrs + [("Connection", "close")]) + body
        c.update(note="Content-Length " + choice)
    elif kind == "chunked-ok":
        sizes = [rng.randrange(1, 40) for _ in range(200)]
        te = rng.choice(["chunked", "Chunked", "CHUNKED"])
        chunks = chunked(body, sizes)
        choice = rng.choice(["plain", "extension", "trailer", "one"])
        if choice == "extension":
            chunks = chunks.replace(b"\r\n", b";ext=1\r\n", 1)
        elif choice == "trailer":
            chunks = chunks[:-2] + b"X-Trailer: 1\r\n\r\n"
        elif choice == "one":
            chunks = chunked(body, [len(body)])
        data = head("POST", target, std + [("Transfer-Encoding", te), ("Connection", "close")]) + chunks
        c.update(expect="ok", note="valid chunked body (%s, %s)" % (te, choice))
    elif kind == "chunked-bad":
        choice = rng.choice(["negative", "hex-garbage", "0x-prefix", "plus", "underscore", "empty-size",
                             "huge-size", "missing-crlf", "data-longer", "truncated-no-last",
                             "truncated-mid-chunk", "space-in-size", "lf-only-size"])
        good = chunked(body, [len(body)])
        first = body[:5]
        rest = body[5:]
        tail = b"%x\r\n%s\r\n0\r\n\r\n" % (len(rest), rest)
        chunks = {
            "negative": b"-5\r\n" + first + b"\r\n" + tail,
            "hex-garbage": rng.choice([b"zz", b"5g", b"g", b"\xff"]) + b"\r\n" + first + b"\r\n" + tail,
            "0x-prefix": b"0x5\r\n" + first + b"\r\n" + tail,
            "plus": b"+5\r\n" + first + b"\r\n" + tail,
            "underscore": b"0_5\r\n" + first + b"\r\n" + tail,
            "empty-size": b"\r\n" + first + b"\r\n" + tail,
            "huge-size": b"ffffffffffffffffffff\r\n" + first + b"\r\n" + tail,
            "missing-crlf": b"5\r\n" + first + tail,
            "data-longer": b"3\r\n" + first + b"\r\n" + tail,
            "truncated-no-last": good[:-5],
            "truncated-mid-chunk": good[:len(good) // 2],
            "space-in-size": b"5 5\r\n" + first + b"\r\n" + tail,
            "lf-only-size": b"5\n" + first + b"\n" + tail,
        }[choice]
        hdrs = std + [("Transfer-Encoding", "chunked"), ("Connection", "close")]
        data = head("POST", target, hdrs) + chunks
        c.update(note="chunked " + choice, shutdown=True, close_ok=True)
        if choice == "lf-only-size":
            c.update(expect="either", close_ok=False)
        elif choice == "huge-size":
            c["statuses"] = (400, 413)
    elif kind == "transfer-encoding":
        choice = rng.choice(["te-and-cl", "unknown-coding", "chunked-twice", "not-chunked-body",
                             "chunked-not-last"])
        if choice == "te-and-cl":
            hdrs = [("Transfer-Encoding", "chunked"), ("Content-Length", n)]
            payload = chunked(body, [7, 11])
            c.update(expect="either")
        elif choice == "unknown-coding":
            hdrs = [("Transfer-Encoding", rng.choice(["xchunked", "gzip", "identity", "chunked-ish"])),
                    ("Content-Length", n)]
            payload = body
            c.update(shutdown=True, close_ok=True, statuses=(400, 411), allowed_5xx=(501,))
        elif choice == "chunked-twice":
            hdrs = [("Transfer-Encoding", "chunked, chunked")]
            payload = chunked(chunked(body, [9]), [13])
            c.update(shutdown=True, close_ok=True, allowed_5xx=(501,))
        elif choice == "chunked-not-last":
            hdrs = [("Transfer-Encoding", "chunked, gzip")]
            payload = chunked(body, [9])
            c.update(shutdown=True, close_ok=True, allowed_5xx=(501,))
        else:
            hdrs = [("Transfer-Encoding", "chunked")]
            payload = body
            c.update(shutdown=True, close_ok=True, statuses=(400,))
        data = head("POST", target, std + hdrs + [("Connection", "close")]) + payload
        c.update(note="Transfer-Encoding " + choice)
    elif kind == "host":
        choice = rng.choice(["missing", "duplicate", "evil", "empty", "garbage"])
        hdrs = [("Content-Type", "application/json"), ("Content-Length", n), ("Connection", "close")]
        host = {"missing": [], "duplicate": [("Host", HOST), ("Host", "localhost")],
                "evil": [("Host", "evil.example")], "empty": [("Host", "")],
                "garbage": [("Host", "local host:x:y")]}[choice]
        data = head("POST", target, host + hdrs) + body
        c.update(note="Host " + choice, statuses=(400, 403, 421))
        if choice == "empty":
            c["expect"] = "either"   # RFC 9112: an empty Host is allowed for some targets
    elif kind == "misc-headers":
        choice = rng.choice(["text-plain", "charset-latin1", "expect-100", "expect-other",
                             "upgrade", "auth-garbage", "accept-encoding", "no-content-type"])
        hdrs = {"text-plain": [("Host", HOST), ("Content-Type", "text/plain")],
                "charset-latin1": [("Host", HOST), ("Content-Type", "application/json; charset=latin-1")],
                "expect-100": std + [("Expect", "100-continue")],
                "expect-other": std + [("Expect", "teapot")],
                "upgrade": std + [("Connection", "Upgrade"), ("Upgrade", "h2c"),
                                  ("HTTP2-Settings", "AAMAAABkAAQAoAAAAAIAAAAA")],
                "auth-garbage": std + [("Authorization", "Bearer \xff\xfe")],
                "accept-encoding": std + [("Accept-Encoding", "gzip, br, zstd, *;q=0")],
                "no-content-type": [("Host", HOST)]}[choice]
        data = head("POST", target, hdrs + [("Content-Length", n), ("Connection", "close")]) + body
        c.update(expect="either", note="header " + choice, statuses=None)
        if choice in ("expect-100", "accept-encoding", "no-content-type", "auth-garbage"):
            c["expect"] = "ok"
    elif kind == "early-answer":
        # answered before the body is read (404, 405): the client is still sending
        method, path, style, statuses = rng.choice([
            ("POST", "/v2/chat/completions", "openai", (404,)),
            ("PUT", "/v1/chat/completions", "openai", (405,)),
            ("PATCH", "/v1/messages", "anthropic", (405,)),
            ("POST", "/v1beta/models/gpt4o:fooBar", "google", (404,)),
            ("DELETE", "/v1/embeddings", "openai", (405,))])
        big = b'{"model": "gpt4o", "input": "' + b"x" * rng.choice([600000, 1000000, 1500000]) + b'"}'
        data = request(method, path, big)
        c.update(statuses=statuses, note="%s %s with a %d-byte body in flight" % (method, path, len(big)))
        case = Case("http:" + kind, surface, data, "reject", style, statuses=statuses, note=c["note"])
        case.sndbuf = 128 * 1024
        return case
    elif kind == "empty-request":
        data = rng.choice([b"", b"\r\n", b"\r\n\r\n", b"\n\n\n", b" "])
        style = None
        c.update(close_ok=True, shutdown=True, note="empty request %r" % data)
    elif kind == "truncated-head":
        full = head("POST", target, std + [("Content-Length", n)])
        cut = rng.randrange(1, len(full) - 2)
        data = full[:cut]
        c.update(close_ok=True, shutdown=True, note="head cut after %d bytes" % cut)
        if b" HTTP/1.1\r\n" not in data:
            style = None
    else:
        raise ValueError(kind)
    return Case("http:" + kind, surface, data, c["expect"], style, statuses=c["statuses"],
                close_ok=c["close_ok"], shutdown=c["shutdown"], allowed_5xx=c["allowed_5xx"],
                note=c["note"])


HTTP_KINDS = [("garbage-line", 3), ("version", 2), ("http10", 1), ("unknown-method", 2),
              ("bad-method-token", 1), ("target", 4), ("header-syntax", 4), ("header-size", 3),
              ("content-length", 5), ("content-length-dup", 2), ("content-length-mismatch", 3),
              ("chunked-ok", 2), ("chunked-bad", 6), ("transfer-encoding", 3), ("host", 2),
              ("misc-headers", 2), ("empty-request", 1), ("truncated-head", 2), ("early-answer", 2)]
JSON_KINDS = [("truncated", 2), ("trailing-garbage", 1), ("syntax", 2), ("not-object", 1),
              ("empty", 1), ("deep", 2), ("deep-ok", 1), ("big-int", 1), ("bom", 1), ("utf16", 1),
              ("duplicate-keys", 1)]
TEXT_KINDS = [("surrogate", 4), ("pair", 1), ("escaped-nul", 1), ("raw-nul", 1), ("raw-ctl", 1),
              ("latin1", 2), ("long", 1)]

# Shares of the cases: HTTP layer, JSON syntax and encoding, text, typed fields.
SHARES = (("http", 0.30), ("json", 0.10), ("text", 0.08), ("field", 0.52))


def _weighted(rng, kinds):
    total = sum(w for _, w in kinds)
    pick = rng.uniform(0, total)
    for kind, weight in kinds:
        pick -= weight
        if pick <= 0:
            return kind
    return kinds[-1][0]


def generate(seed=SEED, count=COUNT):
    rng = random.Random(seed)
    fields = field_cases(random.Random(seed + 1))
    plan = []
    for family, share in SHARES:
        plan += [family] * int(round(share * count))
    plan = (plan + ["field"] * count)[:count]
    rng.shuffle(plan)
    cases = []
    for index, family in enumerate(plan):
        case_rng = random.Random("%d/%d" % (seed, index))
        if family == "http":
            case = _http_case(case_rng, _weighted(rng, HTTP_KINDS))
        elif family == "json":
            case = _json_case(case_rng, _weighted(rng, JSON_KINDS))
        elif family == "text":
            case = _text_case(case_rng, _weighted(rng, TEXT_KINDS))
        else:
            try:
                make = next(fields)
            except StopIteration:
                fields = field_cases(random.Random(seed + 1 + index))
                make = next(fields)
            case = make(case_rng)
        case.index = index
        cases.append(case)
    return cases


def main(argv):
    seed, index = (SEED, int(argv[0])) if len(argv) == 1 else (int(argv[0]), int(argv[1]))
    case = generate(seed, max(COUNT, index + 1))[index]
    print("seed=%d %s expect=%s" % (seed, case.describe(), case.expect))
    print(repr(case.data))


if __name__ == "__main__":
    import sys
    main(sys.argv[1:])
