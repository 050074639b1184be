"""Token usage as an estimate: the legacy Argo API reports none and we ship no tokenizer.

The rule is the common "about four bytes of English per token" rule of thumb:
``ceil(len(text.encode("utf-8")) / 4)``, and 0 for empty text. Counting UTF-8
bytes rather than characters makes non-Latin scripts (which tokenizers split
finely) count more per character, which is the right direction. Numbers are
estimates; they are stable, so the same reply always gives the same count,
streamed or not.
"""

from __future__ import annotations

import json
import re

_TEXT_PART_TYPES = ("text", "input_text", "output_text")


def estimate_tokens(text) -> int:
    """ceil(UTF-8 bytes / 4); 0 for empty or None."""
    if not text:
        return 0
    if not isinstance(text, str):
        text = str(text)
    return (len(text.encode("utf-8", "surrogatepass")) + 3) // 4   # lone surrogates count too


def prompt_tokens(body) -> int:
    """Estimate of what a chat body (OpenAI or Argo shape) sends the model.

    Counts string content and text parts of every message (images are not
    counted), the JSON of history tool calls and tool-result blocks, the
    `tools` JSON, and the top-level `system` and `prompt` of Argo's prompt style.
    """
    if not isinstance(body, dict):
        return 0
    total = 0
    for msg in body.get("messages") or []:
        if isinstance(msg, dict):
            total += _message_tokens(msg)
    if body.get("tools"):
        total += estimate_tokens(_dumps(body["tools"]))
    for key in ("system", "prompt"):
        value = body.get(key)
        if isinstance(value, list):
            total += sum(estimate_tokens(v) for v in value if isinstance(v, str))
        elif isinstance(value, str):
            total += estimate_tokens(value)
    return total


def completion_tokens(content, tool_calls=None) -> int:
    """Estimate for a reply: its text plus the JSON of its tool calls.

    Tool calls are reduced to id, type, name and arguments before dumping, so
    stream chunk entries (which also carry `index`) count the same as the
    non-streamed message.
    """
    total = estimate_tokens(content) if isinstance(content, str) else 0
    calls = [_canonical_call(c) for c in tool_calls or [] if isinstance(c, dict)]
    if calls:
        total += estimate_tokens(_dumps(calls))
    return total


def _message_tokens(msg) -> int:
    total = _content_tokens(msg.get("content"))
    if msg.get("tool_calls"):
        total += estimate_tokens(_dumps(msg["tool_calls"]))
    return total


def _content_tokens(content) -> int:
    if isinstance(content, str):
        return estimate_tokens(content)
    if not isinstance(content, list):
        return 0
    total = 0
    for part in content:
        if isinstance(part, str):
            total += estimate_tokens(part)
        elif not isinstance(part, dict):
            continue
        elif part.get("type") in _TEXT_PART_TYPES:
            total += estimate_tokens(part.get("text"))
        elif part.get("type") == "tool_result":
            total += _content_tokens(part.get("content"))
        elif part.get("type") == "tool_use":
            total += estimate_tokens(_dumps(part.get("input")))
    return total


def _canonical_call(call) -> dict:
    fn = call.get("function") or {}
    return {"id": call.get("id"), "type": "function",
            "function": {"name": fn.get("name"), "arguments": fn.get("arguments")}}


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True)


class Tally:
    """The usage of one streamed answer: the upstream's when it reports it, else an estimate
    from what was streamed (so every surface can report usage; Codex compacts by it)."""

    def __init__(self, prompt_tokens=0):
        self.prompt_tokens = prompt_tokens
        self.reported = None
        self._pieces = []

    def feed(self, chunk):
        if not isinstance(chunk, dict):
            return
        if isinstance(chunk.get("usage"), dict):
            self.reported = chunk["usage"]
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if not isinstance(delta, dict):
                continue
            for key in ("content", "reasoning_content"):
                if isinstance(delta.get(key), str):
                    self._pieces.append(delta[key])
            for frag in delta.get("tool_calls") or ():
                fn = frag.get("function") if isinstance(frag, dict) else None
                if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                    self._pieces.append(fn["arguments"])

    def usage(self) -> dict:
        if self.reported is not None:
            return self.reported
        completion = estimate_tokens("".join(self._pieces))
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": completion,
                "total_tokens": self.prompt_tokens + completion}


_COUNT = re.compile(rb'"(prompt_tokens|input_tokens|completion_tokens|output_tokens)"\s*:\s*(\d+)')
_DIRECTION = {b"prompt_tokens": "in", b"input_tokens": "in", b"completion_tokens": "out",
              b"output_tokens": "out"}


def scan(data: bytes) -> dict:
    """Token counts in raw upstream bytes without decoding them: {"in": n, "out": n}, the last
    of each found (a passthrough answer is relayed as it came). Empty when none is reported."""
    found = {}
    if b"_tokens" not in data:
        return found
    for name, number in _COUNT.findall(data):
        found[_DIRECTION[name]] = int(number)
    return found
