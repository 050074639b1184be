"""A recording, scriptable fake of the Anthropic Messages API on 127.0.0.1 (standard library only).

It records every request (method, path with query, headers, raw and JSON body) and answers

* ``POST /v1/messages``               -- streaming (exact Anthropic SSE grammar) or not,
* ``POST /v1/messages/count_tokens``  -- ``{"input_tokens": N}``,
* ``GET  /v1/models`` and ``/v1/models/{id}`` -- Anthropic list / model shapes,
* ``GET`` / ``HEAD /``                -- 200,
* anything else                       -- 404 in Anthropic's error shape.

What ``/v1/messages`` answers is decided by a *responder*, ``responder(request) -> Reply``
(``request`` is the recorded dict, see ``FakeAnthropic._record``).  The default answers every
call with a fixed text; ``ToolRound`` scripts one tool round::

    script = ToolRound("Bash", {"command": "echo hi", "description": "Say hi"}, final_text="DONE")
    with FakeAnthropic(script) as api:
        ...point ANTHROPIC_BASE_URL at api.url and run the agent...
        api.requests          # every request, in arrival order
        api.messages()        # just the POST /v1/messages ones

Faults for probing which calls a client really needs::

    api.add_fault("/v1/messages/count_tokens", 404)              # every time
    api.add_fault("/v1/messages", 500, times=1, when=lambda r: not r["json"].get("tools"))
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid

from tests.agents.recording import RecordingFake, RecordingHandler

__all__ = ["FakeAnthropic", "Reply", "ToolRound", "text_reply", "tool_use_reply", "error_reply",
           "tool_results", "MODELS"]

DEFAULT_TEXT = "Hello from the recording fake."

# (id, display name, created_at) -- served by GET /v1/models.
MODELS = (
    ("claude-opus-4-7", "Claude Opus 4.7", "2026-04-16T00:00:00Z"),
    ("claude-opus-4-6", "Claude Opus 4.6", "2026-02-05T00:00:00Z"),
    ("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z"),
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"),
)

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
               500: "api_error", 529: "overloaded_error"}


# ---- replies ----------------------------------------------------------------------------------

class Reply(object):
    """What one POST /v1/messages answers: content blocks + stop reason, or an HTTP error."""

    def __init__(self, content=None, stop_reason="end_turn", status=200, error_type=None, message=None,
                 headers=None):
        self.content = list(content or [])
        self.stop_reason = stop_reason
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = dict(headers or {})

    @property
    def is_error(self):
        return self.status >= 400

    def __repr__(self):
        if self.is_error:
            return "Reply(error %d %s)" % (self.status, self.error_type)
        return "Reply(%s, %s)" % ([b.get("type") for b in self.content], self.stop_reason)


def text_reply(text=DEFAULT_TEXT):
    return Reply([{"type": "text", "text": text}], "end_turn")


def tool_use_reply(name, tool_input, tool_use_id=None, text=None):
    blocks = [{"type": "text", "text": text}] if text else []
    blocks.append({"type": "tool_use", "id": tool_use_id or "toolu_" + uuid.uuid4().hex[:24], "name": name,
                   "input": dict(tool_input)})
    return Reply(blocks, "tool_use")


def error_reply(status, message=None, error_type=None):
    return Reply(status=status, error_type=error_type or ERROR_TYPES.get(status, "api_error"),
                 message=message or "fake error %d" % status)


def tool_results(body):
    """Every tool_result block in a Messages request body, as a list of dicts."""
    found = []
    for msg in (body or {}).get("messages") or []:
        content = msg.get("content")
        if isinstance(content, list):
            found.extend(b for b in content if isinstance(b, dict) and b.get("type") == "tool_result")
    return found


def _offers_tool(body, name):
    return any(isinstance(t, dict) and t.get("name") == name for t in (body or {}).get("tools") or [])


class ToolRound(object):
    """Responder scripting one tool round for an agent's main conversation.

    * a request offering ``tool_name`` whose messages hold no tool_result for our id -> tool_use;
    * a request carrying the tool_result for our id                                  -> ``final_text``;
    * anything else (side calls: titles, quota probes, ...)                           -> ``side_text``.
    """

    def __init__(self, tool_name, tool_input, final_text="All done.", side_text="OK", tool_use_id=None,
                 preamble=None):
        self.tool_name = tool_name
        self.tool_input = dict(tool_input)
        self.final_text = final_text
        self.side_text = side_text
        self.preamble = preamble
        self.tool_use_id = tool_use_id or "toolu_fake" + uuid.uuid4().hex[:16]
        self.served_tool_use = 0
        self.served_final = 0
        self._lock = threading.Lock()

    def result_for_us(self, body):
        for block in tool_results(body):
            if block.get("tool_use_id") == self.tool_use_id:
                return block
        return None

    def __call__(self, request):
        body = request.get("json") or {}
        with self._lock:
            if self.result_for_us(body) is not None:
                self.served_final += 1
                return text_reply(self.final_text)
            if _offers_tool(body, self.tool_name):
                self.served_tool_use += 1
                return tool_use_reply(self.tool_name, self.tool_input, self.tool_use_id, self.preamble)
            return text_reply(self.side_text)


def _default_responder(request):
    return text_reply(DEFAULT_TEXT)


# ---- wire formats -----------------------------------------------------------------------------

def _estimate_tokens(raw):
    return max(1, len(raw) // 4)


def _message(reply, model, input_tokens):
    output_tokens = max(1, sum(len(json.dumps(b)) for b in reply.content) // 4)
    return {
        "id": "msg_fake" + uuid.uuid4().hex[:20],
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": reply.content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "output_tokens": output_tokens, "service_tier": "standard"},
    }


def _pieces(text, n=3):
    if not text:
        return [text]
    size = max(1, -(-len(text) // n))
    return [text[i:i + size] for i in range(0, len(text), size)]


def sse_events(reply, model, input_tokens):
    """The (event, data) pairs Anthropic streams for ``reply``, in order."""
    msg = _message(reply, model, input_tokens)
    start = dict(msg, content=[], stop_reason=None, stop_sequence=None,
                 usage=dict(msg["usage"], output_tokens=1))
    events = [("message_start", {"type": "message_start", "message": start}),
              ("ping", {"type": "ping"})]
    for index, block in enumerate(reply.content):
        kind = block.get("type")
        if kind == "text":
            events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": {"type": "text", "text": ""}}))
            for piece in _pieces(block.get("text", "")):
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                       "delta": {"type": "text_delta", "text": piece}}))
        elif kind == "tool_use":
            events.append(("content_block_start", {
                "type": "content_block_start", "index": index,
                "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}}))
            for piece in _pieces(json.dumps(block.get("input", {})), 2):
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                       "delta": {"type": "input_json_delta", "partial_json": piece}}))
        elif kind == "thinking":
            events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": {"type": "thinking", "thinking": "",
                                                                     "signature": ""}}))
            for piece in _pieces(block.get("thinking", "")):
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                       "delta": {"type": "thinking_delta", "thinking": piece}}))
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                   "delta": {"type": "signature_delta",
                                                             "signature": block.get("signature", "")}}))
        else:
            raise ValueError("cannot stream a %r block" % kind)
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
                                     "usage": {"output_tokens": msg["usage"]["output_tokens"]}}))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _error_body(status, error_type, message):
    return {"type": "error", "error": {"type": error_type or ERROR_TYPES.get(status, "api_error"),
                                       "message": message or "error"}}


def _model_json(entry):
    return {"type": "model", "id": entry[0], "display_name": entry[1], "created_at": entry[2]}


# ---- server -----------------------------------------------------------------------------------

class _Handler(RecordingHandler):
    server_version = "FakeAnthropic/1"

    def _send_json(self, status, obj, extra_headers=None, head=False):
        data = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_fake" + uuid.uuid4().hex[:20])
        for key, value in (extra_headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not head and self.command != "HEAD":
            self.wfile.write(data)
        return status

    def _send_error_json(self, status, error_type=None, message=None, extra_headers=None):
        return self._send_json(status, _error_body(status, error_type, message), extra_headers)

    def _send_stream(self, reply, model, input_tokens):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("request-id", "req_fake" + uuid.uuid4().hex[:20])
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        return self._write_frames(("event: %s\ndata: %s\n\n" % (event, json.dumps(data))).encode("utf-8")
                                  for event, data in sse_events(reply, model, input_tokens))

    # -- routing --

    def _internal_error(self, message):
        return self._send_error_json(500, "api_error", message)

    def _route(self, owner, record):
        method, path = self.command, record["path_only"]
        fault = owner._take_fault(record)
        if fault is not None:
            return self._send_error_json(fault["status"], None, "injected fault", fault.get("headers"))
        if path in ("/", "") and method in ("GET", "HEAD"):
            return self._send_json(200, {"ok": True}, head=(method == "HEAD"))
        if path == "/v1/messages" and method == "POST":
            return self._messages(owner, record)
        if path == "/v1/messages/count_tokens" and method == "POST":
            body = record["json"] or {}
            count = _estimate_tokens(json.dumps({k: body.get(k) for k in ("system", "messages", "tools")}))
            return self._send_json(200, {"input_tokens": count})
        if path == "/v1/models" and method in ("GET", "HEAD"):
            data = [_model_json(m) for m in owner.models]
            return self._send_json(200, {"data": data, "has_more": False,
                                         "first_id": data[0]["id"] if data else None,
                                         "last_id": data[-1]["id"] if data else None}, head=(method == "HEAD"))
        if path.startswith("/v1/models/") and method in ("GET", "HEAD"):
            wanted = path[len("/v1/models/"):]
            for m in owner.models:
                if m[0] == wanted:
                    return self._send_json(200, _model_json(m), head=(method == "HEAD"))
            return self._send_error_json(404, "not_found_error", "model: %s" % wanted)
        return self._send_error_json(404, "not_found_error", "Not found: %s %s" % (method, record["path"]))

    def _messages(self, owner, record):
        body = record["json"]
        if not isinstance(body, dict) or not body.get("model") or not isinstance(body.get("messages"), list):
            return self._send_error_json(400, "invalid_request_error", "model and messages are required")
        reply = owner.responder(record)
        record["reply"] = reply
        if reply.is_error:
            return self._send_error_json(reply.status, reply.error_type, reply.message, reply.headers)
        input_tokens = _estimate_tokens(record["body"])
        if body.get("stream"):
            return self._send_stream(reply, body["model"], input_tokens)
        return self._send_json(200, _message(reply, body["model"], input_tokens), reply.headers)


class FakeAnthropic(RecordingFake):
    """The recording fake; ``url`` is ``http://127.0.0.1:PORT`` (use it as ANTHROPIC_BASE_URL)."""

    HANDLER = _Handler
    NAME = "fake-anthropic"

    def __init__(self, responder=None, models=MODELS, port=0):
        RecordingFake.__init__(self, responder or _default_responder, models, port)

    def messages(self):
        """Only the POST /v1/messages requests."""
        return [r for r in self.requests if r["method"] == "POST" and r["path_only"] == "/v1/messages"]

    def summary(self):
        """One line per request: seq, method, path, status, model, stream, #messages, #tools."""
        lines = []
        for r in self.requests:
            body = r["json"] if isinstance(r["json"], dict) else {}
            lines.append("%d %s %s -> %s model=%s stream=%s messages=%s tools=%s" % (
                r["seq"], r["method"], r["path"], r["status"], body.get("model"), body.get("stream"),
                len(body.get("messages") or []), len(body.get("tools") or [])))
        return "\n".join(lines)


if __name__ == "__main__":  # manual use: python -m tests.agents.recorder [PORT]
    import signal

    fake = FakeAnthropic(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print("FAKE_ANTHROPIC_URL=%s" % fake.url, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()
    print(fake.summary(), file=sys.stderr)
