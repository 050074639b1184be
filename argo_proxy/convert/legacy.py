"""OpenAI API <-> Argo's legacy API (`/chat/`, `/streamchat/`, `/embed/`), as pure functions.

Request side: OpenAI bodies become Argo bodies. Reply side: Argo's `{"response": ...}`
becomes OpenAI `chat.completion` / `text_completion` objects and well-formed chunk
streams (one id per stream, `role` only in the first delta, a final `finish_reason`,
usage only when asked for).
"""

from __future__ import annotations

import base64
import json
import sys
import time
import uuid
from array import array

from ..errors import ProxyError
from . import tool_prompt, tools as native_tools, validate

AUTH_NOTICE = "AUTHENTICATION NOTICE FROM ARGO"
EMBED_BATCH = 16          # Argo's /embed/ takes at most 16 prompts per call

# Fields that only mean something between the client and the proxy.
_CHAT_DROP = ("stream_options",)
# /v1/completions fields the chat endpoint cannot honour (see completion_request).
_COMPLETION_DROP = ("echo", "logprobs", "suffix", "best_of", "n", "stream_options",
                    "tools", "tool_choice", "parallel_tool_calls", "prompt")


# -- chat requests ---------------------------------------------------------------

def chat_request(body, traits, tool_prompting):
    """An OpenAI chat body as Argo's legacy `/chat/` body: (argo_body, tool_mode).

    `traits` are the model family's entries of the quirk table (`quirks.traits`).
    tool_mode is "none" (no tools: `tools`/`tool_choice` forwarded untouched),
    "native" (tools converted to the family's shape by `tools.to_family`) or
    "prompt" (a family without native tools, or `tool_prompting`: tools described in
    the system prompt by `tool_prompt.inject`).

    Kept: `model`, `user`, and every field Argo may use (`temperature`, `top_p`,
    `max_tokens`, `max_completion_tokens`, `stop`, `stream`, `n`, `response_format`...);
    the old proxy forwarded unknown fields and Argo tolerates them, so dropping them
    would only lose features. Dropped: `stream_options` (usage is made by the
    proxy) and `parallel_tool_calls` once the tools are converted (it is folded into
    Claude's tool_choice or the tool prompt). The caller's body is not modified.
    """
    argo = {k: v for k, v in body.items() if k not in _CHAT_DROP}
    _normalise_prompt_style(argo)
    if not argo.get("tools"):
        if traits.tool_history_as_text and _has_tool_history(argo):
            # e.g. Claude refuses tool_use blocks without tool definitions: history as text
            argo["messages"] = tool_prompt.rewrite_history(argo["messages"])
        return argo, "none"
    if traits.legacy_tool_shape and not tool_prompting:
        native_tools.to_family(argo, traits.legacy_tool_shape)
        argo.pop("parallel_tool_calls", None)
        return argo, "native"
    tool_prompt.inject(argo, argo.get("tools"), argo.get("tool_choice"),
                       argo.get("parallel_tool_calls"))
    return argo, "prompt"


def _has_tool_history(body):
    msgs = body.get("messages")
    return isinstance(msgs, list) and any(
        isinstance(m, dict) and (m.get("role") == "tool" or m.get("tool_calls")) for m in msgs)


def _normalise_prompt_style(argo):
    """Argo's `prompt` is a one-element list; `system` a string (reference §3.0)."""
    prompt = argo.get("prompt")
    if isinstance(prompt, list):
        argo["prompt"] = ["\n\n".join(_str(p) for p in prompt).strip()]
    elif prompt is not None:
        argo["prompt"] = [_str(prompt).strip()]
    system = argo.get("system")
    if isinstance(system, list):
        seen = []
        for item in (_str(s) for s in system):
            if item not in seen:
                seen.append(item)
        argo["system"] = "\n\n".join(seen)


def _str(value):
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# -- chat replies -------------------------------------------------------------------

def parse_chat_reply(payload, family, tool_mode):
    """Argo's `/chat/` JSON as (content, tool_calls), tool_calls in OpenAI shape.

    A string `response` is plain text, parsed for `<tool_call>` blocks only when
    the request was tool-prompted; a dict (or block list) `response` goes through
    `tools.from_family`. No usable `response` is a 502 naming what came back.
    """
    response = payload.get("response") if isinstance(payload, dict) else None
    if response is None:
        raise ProxyError(502, "Argo returned no response (expected a JSON object with a "
                         "'response' key); it returned: " + _preview(payload),
                         code="upstream_no_response")
    if isinstance(response, str):
        return tool_prompt.parse(response) if tool_mode == "prompt" else (response, [])
    if isinstance(response, list):
        response = {"content": response}
    if not isinstance(response, dict):
        raise ProxyError(502, "Argo returned a response that is neither text nor an object: "
                         + _preview(response), code="upstream_no_response")
    content, calls = native_tools.from_family(response, family)
    if tool_mode == "prompt" and isinstance(content, str) and tool_prompt.OPEN in content:
        content, more = tool_prompt.parse(content)
        calls = calls + more
    return content, calls


def _preview(value, limit=300):
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "... (%d chars)" % len(text)


def is_auth_notice(text) -> bool:
    """True if the text is (or opens with) Argo's unregistered-user warning."""
    if not isinstance(text, str):
        return False
    return text.lstrip().startswith(AUTH_NOTICE) or AUTH_NOTICE in text[:2048]


def chat_completion(content, tool_calls, model, prompt_tokens, completion_tokens,
                    id=None, created=None) -> dict:
    """An OpenAI `chat.completion` with one choice."""
    message = {"role": "assistant", "content": content if content is not None or tool_calls
               else ""}
    if tool_calls:
        message["tool_calls"] = [_complete_call(c) for c in tool_calls]
    message["refusal"] = None
    return {
        "id": id or "chatcmpl-" + uuid.uuid4().hex,
        "object": "chat.completion",
        "created": int(created if created is not None else time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": _usage(prompt_tokens, completion_tokens),
        "system_fingerprint": None,
    }


def _complete_call(call):
    fn = call.get("function") or {}
    return {"id": call.get("id"), "type": "function",
            "function": {"name": fn.get("name"), "arguments": fn.get("arguments") or "{}"}}


def _usage(prompt_tokens, completion_tokens):
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


# -- chat streams ------------------------------------------------------------------

class ChunkStream:
    """The `chat.completion.chunk` dicts of one well-formed stream.

    Every chunk has the same id and created; `role` is only in the first delta
    (whichever method makes it); with include_usage every chunk has `usage: null`
    and `usage()` makes the final usage chunk, as OpenAI does.
    """

    def __init__(self, model, id=None, created=None, include_usage=False):
        self.model = model
        self.id = id or "chatcmpl-" + uuid.uuid4().hex
        self.created = int(created if created is not None else time.time())
        self.include_usage = include_usage
        self._started = False
        self._calls = 0

    def _chunk(self, delta, finish_reason=None):
        if not self._started:
            delta = dict({"role": "assistant"}, **delta)
            self._started = True
        chunk = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                 "model": self.model, "system_fingerprint": None,
                 "choices": [{"index": 0, "delta": delta, "logprobs": None,
                              "finish_reason": finish_reason}]}
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def start(self) -> dict:
        return self._chunk({"content": ""})

    def text(self, s) -> dict:
        return self._chunk({"content": s})

    def delta(self, delta) -> dict:
        """Any other delta (e.g. a tool-call fragment relayed as it arrives)."""
        return self._chunk(delta)

    def tool_calls(self, calls) -> list:
        """One chunk per call, each complete (id, name, full arguments)."""
        chunks = []
        for call in calls:
            full = _complete_call(call)
            full["index"] = self._calls
            self._calls += 1
            chunks.append(self._chunk({"tool_calls": [full]}))
        return chunks

    def finish(self, reason) -> dict:
        return self._chunk({}, finish_reason=reason)

    def usage(self, prompt_tokens, completion_tokens):
        if not self.include_usage:
            return None
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "system_fingerprint": None, "choices": [],
                "usage": _usage(prompt_tokens, completion_tokens)}


def pseudo_stream(content, tool_calls, model, prompt_tokens, completion_tokens,
                  include_usage, piece=None) -> list:
    """A finished reply replayed as chunks: start, tool calls, text (whole, or in
    `piece`-character pieces), finish, then usage if asked. Never empty."""
    stream = ChunkStream(model, include_usage=include_usage)
    chunks = [stream.start()]
    chunks.extend(stream.tool_calls(tool_calls or []))
    for part in split_text(content or "", piece):
        chunks.append(stream.text(part))
    chunks.append(stream.finish("tool_calls" if tool_calls else "stop"))
    usage = stream.usage(prompt_tokens, completion_tokens)
    if usage is not None:
        chunks.append(usage)
    return chunks


def split_text(text, piece=None) -> list:
    """The text in pieces of `piece` characters (whole if piece is falsy); [] if empty."""
    if not text:
        return []
    if not piece or piece <= 0:
        return [text]
    return [text[i:i + piece] for i in range(0, len(text), piece)]


# -- /v1/completions ------------------------------------------------------------

def completion_request(body) -> dict:
    """A `/v1/completions` body as Argo's prompt-style chat body.

    `prompt` (a string or a list of strings) becomes `prompt: [joined]`, lists joined
    with "\\n\\n". `max_tokens`, `temperature`, `top_p`, `stop`, `stream`, `model`,
    `user` and other fields pass. Dropped because the chat endpoint cannot honour
    them: `echo` (the prompt is not repeated), `logprobs` (Argo returns none),
    `suffix` (no insertion mode), `best_of` and `n` (one completion per call), plus
    `stream_options` and tool keys.
    """
    prompt = body.get("prompt")
    if prompt is None or prompt == "" or prompt == []:
        raise ProxyError(400, "prompt is required", param="prompt")
    validate.expect_texts(prompt, "prompt")
    joined = prompt if isinstance(prompt, str) else "\n\n".join(prompt)
    argo = {k: v for k, v in body.items() if k not in _COMPLETION_DROP}
    argo["prompt"] = [joined]
    return argo


def text_completion(text, model, prompt_tokens, completion_tokens, finish_reason="stop",
                    id=None, created=None) -> dict:
    return {
        "id": id or "cmpl-" + uuid.uuid4().hex,
        "object": "text_completion",
        "created": int(created if created is not None else time.time()),
        "model": model,
        "choices": [{"index": 0, "text": text or "", "logprobs": None,
                     "finish_reason": finish_reason}],
        "usage": _usage(prompt_tokens, completion_tokens),
        "system_fingerprint": None,
    }


class CompletionChunkStream:
    """The `text_completion` chunks of one stream: one id, a final finish_reason chunk."""

    def __init__(self, model, id=None, created=None, include_usage=False):
        self.model = model
        self.id = id or "cmpl-" + uuid.uuid4().hex
        self.created = int(created if created is not None else time.time())
        self.include_usage = include_usage

    def _chunk(self, choices):
        chunk = {"id": self.id, "object": "text_completion", "created": self.created,
                 "model": self.model, "system_fingerprint": None, "choices": choices}
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def text(self, s) -> dict:
        return self._chunk([{"index": 0, "text": s, "logprobs": None, "finish_reason": None}])

    def finish(self, reason="stop") -> dict:
        return self._chunk([{"index": 0, "text": "", "logprobs": None, "finish_reason": reason}])

    def usage(self, prompt_tokens, completion_tokens):
        if not self.include_usage:
            return None
        chunk = self._chunk([])
        chunk["usage"] = _usage(prompt_tokens, completion_tokens)
        return chunk


# -- embeddings -----------------------------------------------------------------

def embedding_inputs(body) -> list:
    """The texts to embed: OpenAI `input` (string or list of strings), else Argo `prompt`."""
    _field, value = validate.embedding_texts(body)
    return [value] if isinstance(value, str) else list(value)


def embed_batches(inputs, model, user, size=EMBED_BATCH) -> list:
    """Argo `/embed/` bodies of at most `size` prompts each, in input order."""
    return [{"user": user, "model": model, "prompt": list(inputs[i:i + size])}
            for i in range(0, len(inputs), size)]


def embeddings_response(vectors, model, prompt_tokens, encoding_format=None) -> dict:
    """OpenAI embeddings list. With encoding_format "base64" each vector is the base64
    of little-endian float32 values, which is what the OpenAI SDK decodes."""
    data = []
    for i, vector in enumerate(vectors):
        value = _base64_floats(vector) if encoding_format == "base64" else vector
        data.append({"object": "embedding", "index": i, "embedding": value})
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}}


def _base64_floats(vector) -> str:
    floats = array("f", [float(x) for x in vector])
    if sys.byteorder == "big":
        floats.byteswap()
    return base64.b64encode(floats.tobytes()).decode("ascii")
