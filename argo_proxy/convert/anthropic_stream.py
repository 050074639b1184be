"""Hub stream events (OpenAI chunk pieces) as Anthropic Messages SSE.

`MessagesEncoder` turns calls in any order into Anthropic's grammar:

    message_start
    (content_block_start  content_block_delta*  content_block_stop)*   [ping anywhere]
    message_delta  message_stop          -- or a final `error` event instead

Blocks are numbered from 0 in order of opening, and only one is open at a time.
Every method returns the SSE bytes to send now (possibly b"").
"""

from __future__ import annotations


from ..sse import encode_named
from .anthropic_reply import new_message_id, new_tool_id, stop_reason


def sse_event(name, data) -> bytes:
    """One `event:` + `data:` SSE event with compact JSON."""
    return encode_named(name, data)


class MessagesEncoder:
    """Anthropic SSE for one streamed reply; see the module docstring."""

    content_type = "text/event-stream"

    def __init__(self, model, input_tokens=0):
        self.model = model
        self.input_tokens = input_tokens
        self.id = new_message_id()
        self.dropped_fragments = 0   # tool-call pieces that came after their block closed
        self._started = False
        self._ended = False
        self._next_index = 0
        self._open = None            # (kind, block index) of the open block
        self._signature = None       # signature for the open thinking block
        self._tools = {}             # OpenAI tool-call index -> (block index, upstream id)
        self._has_tool_use = False
        self._finish = None
        self._usage = None
        self._out_bytes = 0

    # -- public events ----------------------------------------------------------------

    def start(self) -> bytes:
        if self._started or self._ended:
            return b""
        self._started = True
        message = {"id": self.id, "type": "message", "role": "assistant", "model": self.model,
                   "content": [], "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": self.input_tokens, "output_tokens": 0,
                             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}
        return sse_event("message_start", {"type": "message_start", "message": message})

    def text(self, s) -> bytes:
        if self._ended:
            return b""
        out = self.start()
        if not s:
            return out
        if not self._is_open("text"):
            out += self._open_block("text", {"type": "text", "text": ""})
        return out + self._delta({"type": "text_delta", "text": s}, s)

    def reasoning(self, s, signature=None) -> bytes:
        if self._ended:
            return b""
        out = self.start()
        if not s and not signature:
            return out
        if not self._is_open("thinking"):
            out += self._open_block("thinking", {"type": "thinking", "thinking": "",
                                                 "signature": ""})
        if s:
            out += self._delta({"type": "thinking_delta", "thinking": s}, s)
        if signature:
            self._signature = signature          # sent just before the block closes
        return out

    def tool_call(self, index, id, name, arguments) -> bytes:
        """One OpenAI tool-call fragment. The first fragment of an `index` opens a
        tool_use block; later ones (id and name None, or the same id) add arguments."""
        if self._ended:
            return b""
        out = self.start()
        known = self._tools.get(index)
        if known is None or (id and known[1] and id != known[1]):
            out += self._open_block("tool", {"type": "tool_use", "id": id or new_tool_id(),
                                             "name": name or "", "input": {}})
            self._tools[index] = (self._open[1], id)
            self._has_tool_use = True
        elif self._open != ("tool", known[0]):
            # Anthropic cannot reopen a closed block; the upstream interleaved calls.
            self.dropped_fragments += 1
            return out
        if arguments:
            out += self._delta({"type": "input_json_delta", "partial_json": arguments},
                               arguments)
        return out

    def finish(self, reason) -> bytes:
        if self._ended:
            return b""
        self._finish = reason
        return self.start() + self._close()

    def usage(self, u) -> bytes:
        if isinstance(u, dict):
            self._usage = u
        return b""

    def error(self, err) -> bytes:
        """A final `error` event (the stream ends with it): `err` is a ProxyError (any
        other exception is reported as an api_error with its text)."""
        if self._ended:
            return b""
        self._ended = True
        if hasattr(err, "anthropic_body"):
            return sse_event("error", err.anthropic_body())
        return sse_event("error", {"type": "error",
                                   "error": {"type": "api_error", "message": str(err)}})

    def end(self) -> bytes:
        if self._ended:
            return b""
        out = self.start() + self._close()
        self._ended = True
        delta = {"stop_reason": stop_reason(self._finish, self._has_tool_use),
                 "stop_sequence": None}
        out += sse_event("message_delta", {"type": "message_delta", "delta": delta,
                                           "usage": self._final_usage()})
        return out + sse_event("message_stop", {"type": "message_stop"})

    def ping(self) -> bytes:
        if self._ended:
            return b""
        return self.start() + sse_event("ping", {"type": "ping"})

    # -- blocks -----------------------------------------------------------------------

    def _is_open(self, kind) -> bool:
        return self._open is not None and self._open[0] == kind

    def _open_block(self, kind, block) -> bytes:
        out = self._close()
        index = self._next_index
        self._next_index += 1
        self._open = (kind, index)
        return out + sse_event("content_block_start", {"type": "content_block_start",
                                                       "index": index, "content_block": block})

    def _delta(self, delta, counted) -> bytes:
        self._out_bytes += len(counted.encode("utf-8"))
        return sse_event("content_block_delta", {"type": "content_block_delta",
                                                 "index": self._open[1], "delta": delta})

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        kind, index = self._open
        out = b""
        if kind == "thinking" and self._signature:
            out = sse_event("content_block_delta", {
                "type": "content_block_delta", "index": index,
                "delta": {"type": "signature_delta", "signature": self._signature}})
        self._open = None
        self._signature = None
        return out + sse_event("content_block_stop", {"type": "content_block_stop",
                                                      "index": index})

    def _final_usage(self) -> dict:
        found = self._usage or {}
        prompt = found.get("prompt_tokens")
        completion = found.get("completion_tokens")
        if not isinstance(completion, int) or isinstance(completion, bool):
            completion = (self._out_bytes + 3) // 4      # usage.estimate_tokens of the output
        if not isinstance(prompt, int) or isinstance(prompt, bool):
            prompt = self.input_tokens
        return {"input_tokens": prompt, "output_tokens": completion}
