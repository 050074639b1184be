"""The Responses API streaming events, from hub events (the convert.encoders interface).

One item is open at a time; each gets its own `output_index` and the events carry
consecutive `sequence_number`s from 0:

    response.created, response.in_progress
    reasoning:   output_item.added, reasoning_summary_part.added,
                 reasoning_summary_text.delta..., reasoning_summary_text.done,
                 reasoning_summary_part.done, output_item.done
    text:        output_item.added, content_part.added, output_text.delta...,
                 output_text.done, content_part.done, output_item.done
    function:    output_item.added, function_call_arguments.delta..., .done, output_item.done
    custom tool: output_item.added, custom_tool_call_input.delta..., .done, output_item.done
    built-ins (local_shell, shell, apply_patch, tool_search): output_item.added and .done
                 once the arguments are whole
    response.completed | response.incomplete (finish_reason length) | response.failed
"""

from __future__ import annotations

import time

from .. import sse
from .responses_items import (call_item, custom_call_item, custom_input, function_call_item,
                              incomplete_reason, message_item, new_id, reasoning_item, response,
                              usage)
from .responses_tools import ToolMap

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
            "t": "\t"}


def encode(event_type, data) -> bytes:
    """One SSE event: `event: <type>` and `data: <json>`."""
    return sse.encode_named(event_type, data)


class InputDecoder:
    """Decodes, as the JSON text arrives, the string value of `"input"` when it is the first
    key of the object (`{"input": "..."}`): `feed` returns the newly decoded text. Any other
    shape sets `failed` (the caller then takes the input from the whole arguments)."""

    def __init__(self):
        self._buf = ""
        self._pos = 0
        self.state = "start"         # start, key, colon, value, string, done, failed
        self.text = ""

    @property
    def started(self):
        return self.state in ("string", "done")

    def feed(self, chunk) -> str:
        self._buf += chunk
        out = []
        while self.state in ("start", "key", "colon", "value"):
            if not self._structure():
                break
        if self.state == "string":
            self._string(out)
        new = "".join(out)
        self.text += new
        return new

    def _structure(self):
        buf = self._buf
        while self._pos < len(buf) and buf[self._pos] in " \t\r\n":
            self._pos += 1
        if self._pos >= len(buf):
            return False
        ch, nxt = buf[self._pos], {"start": "{", "colon": ":", "value": '"'}.get(self.state)
        if self.state == "key":
            end = buf.find('"', self._pos + 1)
            if ch != '"' or end < 0:
                self.state = "failed" if ch != '"' else self.state
                return False
            self.state = "colon" if buf[self._pos + 1:end] == "input" else "failed"
            self._pos = end + 1
            return True
        if ch != nxt:
            self.state = "failed"
            return False
        self.state = {"start": "key", "colon": "value", "value": "string"}[self.state]
        self._pos += 1
        return True

    def _string(self, out):
        buf, i = self._buf, self._pos
        while i < len(buf):
            ch = buf[i]
            if ch == '"':
                self.state, i = "done", i + 1
                break
            if ch != "\\":
                j = min(k for k in (buf.find('"', i), buf.find("\\", i), len(buf)) if k >= 0)
                out.append(buf[i:j])
                i = j
                continue
            step = self._escape(buf, i, out)
            if step <= 0:
                break
            i += step
        self._pos = i

    def _escape(self, buf, i, out):
        """Decode the escape at buf[i]; returns the characters used (0: wait for more)."""
        if i + 1 >= len(buf):
            return 0
        kind = buf[i + 1]
        if kind in _ESCAPES:
            out.append(_ESCAPES[kind])
            return 2
        if kind != "u":
            self.state = "failed"
            return 0
        code = _hex4(buf, i + 2)
        if code is None:
            self.state = "failed" if len(buf) >= i + 6 else self.state
            return 0
        if 0xD800 <= code < 0xDC00:                   # a high surrogate: join the low one
            after = buf[i + 6:i + 8]
            if "\\u".startswith(after) and len(buf) < i + 12:
                return 0                              # the low one may be on its way
            low = _hex4(buf, i + 8) if after == "\\u" else None
            if low is not None and 0xDC00 <= low < 0xE000:
                out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                return 12
        out.append("\ufffd" if 0xD800 <= code < 0xE000 else chr(code))
        return 6


def _hex4(buf, at):
    digits = buf[at:at + 4]
    if len(digits) < 4:
        return None
    try:
        return int(digits, 16)
    except ValueError:
        return None


class _Open:
    """The output item being streamed."""

    def __init__(self, kind, item, index, call_index=None, ref=None):
        self.kind = kind            # message, reasoning, function, custom, buffered
        self.item = item
        self.index = index
        self.call_index = call_index
        self.ref = ref
        self.parts = []
        self.decoder = InputDecoder() if kind == "custom" else None


class ResponsesEncoder:
    """The events of one streamed response (see the module docstring); `tools` is the
    request's ToolMap, mapping the model's calls back to their Responses tools."""

    content_type = "text/event-stream"

    def __init__(self, model, request, tools=None, id=None, created=None):
        self.model = model
        self.request = request or {}
        self.tools = tools if tools is not None else ToolMap()
        self.id = id or new_id("resp")
        self.created = int(created if created is not None else time.time())
        self._seq = 0
        self._output = []           # finished items, in output_index order
        self._cur = None            # the open item (_Open)
        self._done_calls = set()    # upstream indexes of finished calls
        self._reason = None
        self._usage = None
        self._ended = False

    # -- the encoder interface ---------------------------------------------------------

    def start(self):
        snap = self._snapshot("in_progress")
        return (self._event("response.created", response=snap)
                + self._event("response.in_progress", response=snap))

    def text(self, delta):
        if not delta or self._ended:
            return b""
        out = b""
        if self._cur is None or self._cur.kind != "message":
            out = self._close() + self._open_message()
        cur = self._cur
        cur.parts.append(delta)
        return out + self._event("response.output_text.delta", item_id=cur.item["id"],
                                 output_index=cur.index, content_index=0, delta=delta,
                                 logprobs=[])

    def reasoning(self, s, signature=None):
        if not s or self._ended:
            return b""          # a signature alone has no place in a Responses stream
        out = b""
        if self._cur is None or self._cur.kind != "reasoning":
            out = self._close() + self._open_reasoning()
        cur = self._cur
        cur.parts.append(s)
        return out + self._event("response.reasoning_summary_text.delta", item_id=cur.item["id"],
                                 output_index=cur.index, summary_index=0, delta=s)

    def tool_call(self, index, id, name, arguments):
        if self._ended:
            return b""
        out = b""
        cur = self._cur
        if cur is None or cur.call_index != index:
            if index in self._done_calls:
                return b""      # a late fragment of a finished call: nowhere to put it
            out = self._close() + self._open_call(index, id, name)
        return out + (self._call_delta(arguments) if arguments else b"")

    def finish(self, reason):
        if self._ended:
            return b""
        self._reason = self._reason or reason
        return self._close()

    def usage(self, usage_):
        self._usage = usage_ if isinstance(usage_, dict) else self._usage
        return b""

    def error(self, err):
        """A failure after the stream started: `response.failed` (an open item is dropped,
        never reported done: a half-streamed call must not run)."""
        if self._ended:
            return b""
        self._ended = True
        self._cur = None
        code = getattr(err, "code", None) or _error_code(err)
        snap = self._snapshot("failed", error={"code": code, "message": getattr(
            err, "message", str(err))})
        return self._event("response.failed", response=snap)

    def end(self):
        if self._ended:
            return b""
        out = self._close()
        self._ended = True
        reason = incomplete_reason(self._reason)
        final = self._snapshot("incomplete" if reason else "completed", incomplete=reason)
        self.final = final   # the finished response, for the store
        kind = "response.incomplete" if reason else "response.completed"
        return out + self._event(kind, response=final)

    def output_text(self) -> str:
        """All text sent so far."""
        done = "".join(c["text"] for i in self._output if i["type"] == "message"
                       for c in i["content"] if c.get("type") == "output_text")
        cur = self._cur
        return done + ("".join(cur.parts) if cur is not None and cur.kind == "message" else "")

    # -- events and snapshots -------------------------------------------------------------

    def _event(self, kind, **fields):
        data = {"type": kind, "sequence_number": self._seq}
        data.update(fields)
        self._seq += 1
        return encode(kind, data)

    def _snapshot(self, status, error=None, incomplete=None):
        final = status != "in_progress"
        return response(self.id, self.created, self.model, self.request, list(self._output),
                        status, usage(self._usage) if final else None, error=error,
                        incomplete=incomplete)

    def _status(self):
        return "incomplete" if incomplete_reason(self._reason) else "completed"

    def _added(self, cur):
        self._cur = cur
        return self._event("response.output_item.added", output_index=cur.index,
                           item=dict(cur.item))

    def _item_done(self, item):
        self._output.append(item)
        return self._event("response.output_item.done", output_index=len(self._output) - 1,
                           item=item)

    # -- opening items ------------------------------------------------------------------------

    def _open_message(self):
        cur = _Open("message", message_item(None, new_id("msg"), "in_progress"), len(self._output))
        return self._added(cur) + self._event(
            "response.content_part.added", item_id=cur.item["id"], output_index=cur.index,
            content_index=0, part={"type": "output_text", "text": "", "annotations": []})

    def _open_reasoning(self):
        cur = _Open("reasoning", reasoning_item(None, new_id("rs"), "in_progress"),
                    len(self._output))
        return self._added(cur) + self._event(
            "response.reasoning_summary_part.added", item_id=cur.item["id"],
            output_index=cur.index, summary_index=0, part={"type": "summary_text", "text": ""})

    def _open_call(self, index, call_id, name):
        call_id = call_id or new_id("call")
        ref = self.tools.ref(name)
        kind = ref.kind if ref is not None else "function"
        at = len(self._output)
        if kind == "function":
            call = {"id": call_id, "function": {"name": ref.name if ref else name or "",
                                                "arguments": ""}}
            item = dict(function_call_item(call, new_id("fc"), "in_progress",
                                           ref.namespace if ref else None), arguments="")
            return self._added(_Open("function", item, at, index, ref))
        if kind == "custom":
            item = custom_call_item(call_id, ref.name, "", new_id("ctc"), "in_progress",
                                    ref.namespace)
            return self._added(_Open("custom", item, at, index, ref))
        self._cur = _Open("buffered", {"call_id": call_id, "name": name}, at, index, ref)
        return b""

    def _call_delta(self, arguments):
        cur = self._cur
        cur.parts.append(arguments)
        if cur.kind == "function":
            return self._event("response.function_call_arguments.delta",
                               item_id=cur.item["id"], output_index=cur.index, delta=arguments)
        if cur.kind == "custom":
            text = cur.decoder.feed(arguments)
            if text:
                return self._event("response.custom_tool_call_input.delta",
                                   item_id=cur.item["id"], output_index=cur.index, delta=text)
        return b""

    # -- closing items ------------------------------------------------------------------------

    def _close(self):
        cur, self._cur = self._cur, None
        if cur is None:
            return b""
        if cur.call_index is not None:
            self._done_calls.add(cur.call_index)
        return getattr(self, "_close_" + cur.kind)(cur, "".join(cur.parts), self._status())

    def _close_message(self, cur, text, status):
        item = message_item(text, cur.item["id"], status)
        ids = {"item_id": item["id"], "output_index": cur.index, "content_index": 0}
        return (self._event("response.output_text.done", text=text, logprobs=[], **ids)
                + self._event("response.content_part.done", part=item["content"][0], **ids)
                + self._item_done(item))

    def _close_reasoning(self, cur, text, status):
        item = reasoning_item(text, cur.item["id"], "completed")
        ids = {"item_id": item["id"], "output_index": cur.index, "summary_index": 0}
        return (self._event("response.reasoning_summary_text.done", text=text, **ids)
                + self._event("response.reasoning_summary_part.done",
                              part={"type": "summary_text", "text": text}, **ids)
                + self._item_done(item))

    def _close_function(self, cur, arguments, status):
        item = dict(cur.item, arguments=arguments or "{}", status=status)
        return (self._event("response.function_call_arguments.done", item_id=item["id"],
                            output_index=cur.index, arguments=item["arguments"])
                + self._item_done(item))

    def _close_custom(self, cur, arguments, status):
        out = b""
        if cur.decoder.started:
            text = cur.decoder.text
        else:                   # not {"input": "..."}: the whole input at once
            text = custom_input(arguments)
            if text:
                out = self._event("response.custom_tool_call_input.delta", item_id=cur.item["id"],
                                  output_index=cur.index, delta=text)
        item = dict(cur.item, input=text, status=status)
        return out + (self._event("response.custom_tool_call_input.done", item_id=item["id"],
                                  output_index=cur.index, input=text)
                      + self._item_done(item))

    def _close_buffered(self, cur, arguments, status):
        call = {"id": cur.item["call_id"],
                "function": {"name": cur.item["name"], "arguments": arguments}}
        item = call_item(call, self.tools, status=status)
        added = dict(item, status="in_progress")
        if item["type"] == "function_call":        # arguments unusable for the built-in
            added["arguments"] = ""
        out = self._event("response.output_item.added", output_index=cur.index, item=added)
        if item["type"] == "function_call":
            out += (self._event("response.function_call_arguments.delta", item_id=item["id"],
                                output_index=cur.index, delta=item["arguments"])
                    + self._event("response.function_call_arguments.done", item_id=item["id"],
                                  output_index=cur.index, arguments=item["arguments"]))
        return out + self._item_done(item)


def _error_code(err):
    status = getattr(err, "status", 500) or 500
    message = (getattr(err, "message", "") or "").lower()
    if status == 429:
        return "rate_limit_exceeded"
    if "context" in message and any(w in message for w in ("length", "window", "too long")):
        return "context_length_exceeded"
    return "server_error" if status >= 500 else getattr(err, "type", None) or "invalid_request"
