"""A recording, scriptable fake of the OpenAI Responses API on 127.0.0.1 (standard library only).

It records every request (method, path with query, headers, raw and JSON body) and answers

* ``POST /v1/responses``            -- streaming (the exact Responses SSE grammar: every event has
                                        ``type`` and a ``sequence_number`` counting from 0, and the
                                        stream ends with ``response.completed``) or not,
* ``POST /v1/responses/compact``    -- ``{"output": [...]}`` (Codex's remote compaction, if asked),
* ``POST /v1/responses/input_tokens`` -- ``{"object": "response.input_tokens", "input_tokens": N}``,
* ``GET  /v1/models`` and ``/v1/models/{id}`` -- OpenAI list / model shapes,
* ``GET`` / ``HEAD /``              -- 200,
* anything else                     -- 404 in OpenAI's error shape.

The same routes are also served without the ``/v1`` prefix, so a client configured with a bare
base URL is recorded rather than lost.  Use ``base_url`` (``http://127.0.0.1:PORT/v1``) as the
client's base URL.

What ``/v1/responses`` answers is decided by a *responder*, ``responder(request) -> Reply``
(``request`` is the recorded dict, see ``FakeResponses._record``).  The default answers every call
with a fixed text; ``ToolRound`` scripts one tool round::

    script = ToolRound("shell_command", {"command": "echo hi"}, final_text="DONE")
    with FakeResponses(script) as api:
        ...point the client at api.base_url and run it...
        api.requests          # every request, in arrival order
        api.responses()       # just the POST /v1/responses ones

``ToolRound`` answers in the item type that matches how the request declares the tool: a
``function`` tool gets a ``function_call`` (arguments = JSON text), a ``custom`` (freeform) tool a
``custom_tool_call`` (input = the raw string), a ``local_shell`` tool a ``local_shell_call``; tools
inside a ``namespace`` tool are found too.  It recognises the tool's output in a later request by
``call_id`` in any ``*_call_output`` input item.

Faults for probing which calls a client really needs::

    api.add_fault("/v1/models", 404)                               # every time
    api.add_fault("/v1/responses", 500, times=1)
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid

from tests.agents.recording import RecordingFake, RecordingHandler

__all__ = ["FakeResponses", "Reply", "ToolRound", "text_reply", "function_call_reply", "custom_tool_call_reply",
           "local_shell_call_reply", "reasoning_item", "error_reply", "tool_outputs", "find_tool", "sse_events",
           "MODELS"]

DEFAULT_TEXT = "Hello from the recording fake."

# (id, owned_by, created) -- served by GET /v1/models.
MODELS = (
    ("gpt-5.5", "openai", 1767225600),
    ("gpt-5.4", "openai", 1756684800),
    ("gpt-4.1", "openai", 1744329600),
    ("o4-mini", "openai", 1744848000),
)

ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "invalid_request_error",
               404: "invalid_request_error", 429: "rate_limit_exceeded", 500: "server_error",
               503: "server_error"}

OUTPUT_SUFFIX = "_call_output"   # function_call_output, custom_tool_call_output, local_shell_call_output, ...


def _new_id(prefix):
    return prefix + uuid.uuid4().hex[:24]


# ---- replies ----------------------------------------------------------------------------------

class Reply(object):
    """What one POST /v1/responses answers: output items, or an HTTP error.

    ``items`` are complete Responses output items (``message``, ``function_call``,
    ``custom_tool_call``, ``local_shell_call``, ``reasoning``); the streamer derives the events.
    ``fail_in_stream`` turns a streamed answer into ``response.failed`` (HTTP 200) with that error
    dict, e.g. ``{"code": "server_error", "message": "boom"}``.
    """

    def __init__(self, items=None, status=200, error_type=None, message=None, code=None, headers=None,
                 fail_in_stream=None, usage=None):
        self.items = list(items or [])
        self.status = status
        self.error_type = error_type
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        self.fail_in_stream = fail_in_stream
        self.usage = usage

    @property
    def is_error(self):
        return self.status >= 400

    def __repr__(self):
        if self.is_error:
            return "Reply(error %d %s)" % (self.status, self.error_type)
        return "Reply(%s)" % [i.get("type") for i in self.items]


def _message_item(text, item_id=None):
    return {"id": item_id or _new_id("msg_"), "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}


def reasoning_item(summary="Thinking about it.", encrypted_content=None, item_id=None):
    item = {"id": item_id or _new_id("rs_"), "type": "reasoning",
            "summary": [{"type": "summary_text", "text": summary}] if summary else []}
    if encrypted_content is not None:
        item["encrypted_content"] = encrypted_content
    return item


def text_reply(text=DEFAULT_TEXT, reasoning=None):
    items = [reasoning] if reasoning else []
    return Reply(items + [_message_item(text)])


def function_call_reply(name, arguments, call_id=None, text=None, namespace=None):
    """A ``function_call`` item; ``arguments`` is a dict (JSON-encoded here) or a ready string."""
    items = [_message_item(text)] if text else []
    item = {"id": _new_id("fc_"), "type": "function_call", "status": "completed", "name": name,
            "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
            "call_id": call_id or _new_id("call_")}
    if namespace:
        item["namespace"] = namespace
    items.append(item)
    return Reply(items)


def custom_tool_call_reply(name, tool_input, call_id=None, text=None):
    """A ``custom_tool_call`` item (a freeform tool: ``input`` is the raw string)."""
    items = [_message_item(text)] if text else []
    items.append({"id": _new_id("ctc_"), "type": "custom_tool_call", "status": "completed", "name": name,
                  "input": tool_input, "call_id": call_id or _new_id("call_")})
    return Reply(items)


def local_shell_call_reply(command, call_id=None, text=None, timeout_ms=None, working_directory=None):
    """A ``local_shell_call`` item; ``command`` is an argv list."""
    items = [_message_item(text)] if text else []
    action = {"type": "exec", "command": list(command), "timeout_ms": timeout_ms,
              "working_directory": working_directory, "env": {}, "user": None}
    items.append({"id": _new_id("lsh_"), "type": "local_shell_call", "status": "completed",
                  "call_id": call_id or _new_id("call_"), "action": action})
    return Reply(items)


def error_reply(status, message=None, error_type=None, code=None):
    return Reply(status=status, error_type=error_type or ERROR_TYPES.get(status, "server_error"),
                 message=message or "fake error %d" % status, code=code)


def tool_outputs(body):
    """Every ``*_call_output`` item in a Responses request's ``input``, as a list of dicts."""
    items = (body or {}).get("input")
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, dict) and str(i.get("type", "")).endswith(OUTPUT_SUFFIX)]


def _iter_tools(tools, namespace=None):
    for tool in tools or []:
        if not isinstance(tool, dict):
            continue
        if tool.get("type") == "namespace":
            for inner in _iter_tools(tool.get("tools"), tool.get("name")):
                yield inner
        else:
            yield namespace, tool


def find_tool(body, name):
    """``(namespace, tool)`` for the tool called ``name`` in a request's ``tools`` (None if absent).

    A ``local_shell`` tool has no name; it is found as ``"local_shell"``.
    """
    for namespace, tool in _iter_tools((body or {}).get("tools")):
        tool_name = tool.get("name") or (tool.get("type") if tool.get("type") == "local_shell" else None)
        if tool_name == name:
            return namespace, tool
    return None


def output_text(item):
    """The text of a ``*_call_output`` item's ``output`` (a string or a list of content parts)."""
    output = item.get("output")
    if isinstance(output, str):
        return output
    if isinstance(output, dict):
        return str(output.get("content") or output.get("output") or json.dumps(output))
    if isinstance(output, list):
        return "".join(p.get("text", "") for p in output if isinstance(p, dict))
    return ""


class ToolRound(object):
    """Responder scripting one tool round for an agent's main conversation.

    * a request offering ``tool_name`` whose input holds no output for our call id -> the tool call,
      in the item type matching the tool's declaration (function / custom / local_shell);
    * a request carrying the output for our call id                               -> ``final_text``;
    * anything else (side calls: titles, summaries, ...)                           -> ``side_text``.

    ``tool_input`` is the arguments dict for a function tool; for a custom tool, the raw input
    string (``custom_input``, default: ``tool_input["command"]`` or the JSON of ``tool_input``);
    for ``local_shell``, the argv (``local_argv``, default ``["bash", "-lc", tool_input["command"]]``).
    ``reasoning``: a reasoning item to put before the tool call (to see it echoed back).
    """

    def __init__(self, tool_name, tool_input, final_text="All done.", side_text="OK", call_id=None,
                 preamble=None, custom_input=None, local_argv=None, reasoning=None):
        self.tool_name = tool_name
        self.tool_input = tool_input
        self.final_text = final_text
        self.side_text = side_text
        self.preamble = preamble
        self.custom_input = custom_input
        self.local_argv = local_argv
        self.reasoning = reasoning
        self.call_id = call_id or "call_fake" + uuid.uuid4().hex[:16]
        self.served_tool_call = 0
        self.served_final = 0
        self.served_kind = None          # item type of the tool call we answered with
        self._lock = threading.Lock()

    def result_for_us(self, body):
        for item in tool_outputs(body):
            if item.get("call_id") == self.call_id:
                return item
        return None

    def _call_for(self, namespace, tool):
        kind = tool.get("type")
        if kind == "custom":
            raw = self.custom_input
            if raw is None:
                raw = self.tool_input.get("command") if isinstance(self.tool_input, dict) else self.tool_input
                raw = raw if isinstance(raw, str) else json.dumps(self.tool_input)
            reply = custom_tool_call_reply(self.tool_name, raw, self.call_id, self.preamble)
        elif kind == "local_shell":
            argv = self.local_argv or ["bash", "-lc", self.tool_input.get("command", "")]
            reply = local_shell_call_reply(argv, self.call_id, self.preamble)
        else:
            reply = function_call_reply(self.tool_name, self.tool_input, self.call_id, self.preamble,
                                        namespace=namespace)
        if self.reasoning:
            reply.items.insert(0, self.reasoning)
        self.served_kind = reply.items[-1]["type"]
        return reply

    def __call__(self, request):
        body = request.get("json") or {}
        with self._lock:
            if self.result_for_us(body) is not None:
                self.served_final += 1
                return text_reply(self.final_text)
            found = find_tool(body, self.tool_name)
            if found is not None:
                self.served_tool_call += 1
                return self._call_for(*found)
            return text_reply(self.side_text)


def _default_responder(request):
    return text_reply(DEFAULT_TEXT)


# ---- wire formats -----------------------------------------------------------------------------

def _estimate_tokens(raw):
    return max(1, len(raw) // 4)


def _usage(reply, input_tokens):
    if reply.usage:
        return reply.usage
    output_tokens = max(1, sum(len(json.dumps(i)) for i in reply.items) // 4)
    return {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens}


def response_object(reply, body, input_tokens, response_id=None, status="completed", created_at=None):
    """The ``response`` object (final form unless ``status`` says otherwise)."""
    body = body or {}
    done = status == "completed"
    return {
        "id": response_id or _new_id("resp_"),
        "object": "response",
        "created_at": created_at or int(time.time()),
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body.get("model"),
        "output": list(reply.items) if done else [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "service_tier": body.get("service_tier") or "default",
        "store": body.get("store", False),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": _usage(reply, input_tokens) if done else None,
        "user": None,
        "metadata": {},
    }


def _pieces(text, n=3):
    if not text:
        return [text]
    size = max(1, -(-len(text) // n))
    return [text[i:i + size] for i in range(0, len(text), size)]


def sse_events(reply, body, input_tokens):
    """The (event, data) pairs the Responses API streams for ``reply``, in order.

    Each data dict carries ``type`` (== event) and ``sequence_number`` (0, 1, 2, ...).
    """
    response_id = _new_id("resp_")
    created = int(time.time())
    events = []

    def emit(kind, **fields):
        data = {"type": kind, "sequence_number": len(events)}
        data.update(fields)
        events.append((kind, data))

    pending = response_object(reply, body, input_tokens, response_id, "in_progress", created)
    emit("response.created", response=pending)
    emit("response.in_progress", response=pending)
    if reply.fail_in_stream:
        failed = dict(pending, status="failed", error=dict(reply.fail_in_stream))
        emit("response.failed", response=failed)
        return events
    for index, item in enumerate(reply.items):
        kind = item.get("type")
        item_id = item.get("id")
        if kind == "message":
            emit("response.output_item.added", output_index=index,
                 item=dict(item, status="in_progress", content=[]))
            for c_index, part in enumerate(item.get("content") or []):
                text = part.get("text", "")
                emit("response.content_part.added", item_id=item_id, output_index=index, content_index=c_index,
                     part=dict(part, text=""))
                for piece in _pieces(text):
                    emit("response.output_text.delta", item_id=item_id, output_index=index,
                         content_index=c_index, delta=piece, logprobs=[])
                emit("response.output_text.done", item_id=item_id, output_index=index, content_index=c_index,
                     text=text, logprobs=[])
                emit("response.content_part.done", item_id=item_id, output_index=index, content_index=c_index,
                     part=part)
        elif kind == "function_call":
            emit("response.output_item.added", output_index=index,
                 item=dict(item, status="in_progress", arguments=""))
            for piece in _pieces(item.get("arguments", ""), 2):
                emit("response.function_call_arguments.delta", item_id=item_id, output_index=index, delta=piece)
            emit("response.function_call_arguments.done", item_id=item_id, output_index=index,
                 name=item.get("name"), arguments=item.get("arguments", ""))
        elif kind == "custom_tool_call":
            emit("response.output_item.added", output_index=index,
                 item=dict(item, status="in_progress", input=""))
            for piece in _pieces(item.get("input", ""), 2):
                emit("response.custom_tool_call_input.delta", item_id=item_id, output_index=index, delta=piece)
            emit("response.custom_tool_call_input.done", item_id=item_id, output_index=index,
                 input=item.get("input", ""))
        elif kind == "reasoning":
            emit("response.output_item.added", output_index=index, item=dict(item, summary=[]))
            for s_index, part in enumerate(item.get("summary") or []):
                text = part.get("text", "")
                emit("response.reasoning_summary_part.added", item_id=item_id, output_index=index,
                     summary_index=s_index, part={"type": "summary_text", "text": ""})
                for piece in _pieces(text):
                    emit("response.reasoning_summary_text.delta", item_id=item_id, output_index=index,
                         summary_index=s_index, delta=piece)
                emit("response.reasoning_summary_text.done", item_id=item_id, output_index=index,
                     summary_index=s_index, text=text)
                emit("response.reasoning_summary_part.done", item_id=item_id, output_index=index,
                     summary_index=s_index, part={"type": "summary_text", "text": text})
        else:  # local_shell_call and anything else: added + done only
            emit("response.output_item.added", output_index=index, item=dict(item, status="in_progress"))
        emit("response.output_item.done", output_index=index, item=item)
    final = response_object(reply, body, input_tokens, response_id, "completed", created)
    emit("response.completed", response=final)
    return events


def _error_body(status, error_type, message, code=None):
    return {"error": {"message": message or "error", "type": error_type or ERROR_TYPES.get(status, "server_error"),
                      "param": None, "code": code}}


def _model_json(entry):
    return {"id": entry[0], "object": "model", "created": entry[2], "owned_by": entry[1]}


# ---- server -----------------------------------------------------------------------------------

class _Handler(RecordingHandler):
    server_version = "FakeResponses/1"

    def _send_json(self, status, obj, extra_headers=None, head=False):
        data = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", "req_fake" + uuid.uuid4().hex[:20])
        for key, value in (extra_headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not head and self.command != "HEAD":
            self.wfile.write(data)
        return status

    def _send_error_json(self, status, error_type=None, message=None, extra_headers=None, code=None):
        return self._send_json(status, _error_body(status, error_type, message, code), extra_headers)

    def _send_stream(self, reply, body, input_tokens):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", "req_fake" + uuid.uuid4().hex[:20])
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        return self._write_frames(("event: %s\ndata: %s\n\n" % (event, json.dumps(data))).encode("utf-8")
                                  for event, data in sse_events(reply, body, input_tokens))

    # -- routing --

    def _internal_error(self, message):
        return self._send_error_json(500, "server_error", message)

    def _route(self, owner, record):
        method, path = self.command, record["path_only"]
        fault = owner._take_fault(record)
        if fault is not None:
            return self._send_error_json(fault["status"], None, "injected fault", fault.get("headers"))
        if path in ("/", "", "/v1", "/v1/") and method in ("GET", "HEAD"):
            return self._send_json(200, {"ok": True}, head=(method == "HEAD"))
        route = path[3:] if path.startswith("/v1/") else path
        if route == "/responses" and method == "POST":
            return self._responses(owner, record)
        if route == "/responses/compact" and method == "POST":
            reply = text_reply("Summary of the conversation so far.")
            record["reply"] = reply
            return self._send_json(200, {"output": reply.items})
        if route == "/responses/input_tokens" and method == "POST":
            return self._send_json(200, {"object": "response.input_tokens",
                                         "input_tokens": _estimate_tokens(record["body"])})
        if route == "/models" and method in ("GET", "HEAD"):
            return self._send_json(200, {"object": "list", "data": [_model_json(m) for m in owner.models]},
                                   head=(method == "HEAD"))
        if route.startswith("/models/") and method in ("GET", "HEAD"):
            wanted = route[len("/models/"):]
            for m in owner.models:
                if m[0] == wanted:
                    return self._send_json(200, _model_json(m), head=(method == "HEAD"))
            return self._send_error_json(404, "invalid_request_error", "The model '%s' does not exist" % wanted,
                                         code="model_not_found")
        return self._send_error_json(404, "invalid_request_error", "Not found: %s %s" % (method, record["path"]))

    def _responses(self, owner, record):
        body = record["json"]
        if not isinstance(body, dict) or not body.get("model") or "input" not in body:
            return self._send_error_json(400, "invalid_request_error", "model and input are required")
        reply = owner.responder(record)
        record["reply"] = reply
        if reply.is_error:
            return self._send_error_json(reply.status, reply.error_type, reply.message, reply.headers, reply.code)
        input_tokens = _estimate_tokens(record["body"])
        if body.get("stream"):
            return self._send_stream(reply, body, input_tokens)
        return self._send_json(200, response_object(reply, body, input_tokens), reply.headers)


class FakeResponses(RecordingFake):
    """The recording fake; ``url`` is ``http://127.0.0.1:PORT``, ``base_url`` that plus ``/v1``."""

    HANDLER = _Handler
    NAME = "fake-responses"

    def __init__(self, responder=None, models=MODELS, port=0):
        RecordingFake.__init__(self, responder or _default_responder, models, port)

    @property
    def base_url(self):
        return self.url + "/v1"

    def responses(self):
        """Only the POST .../responses requests."""
        return [r for r in self.requests
                if r["method"] == "POST" and r["path_only"] in ("/v1/responses", "/responses")]

    def summary(self):
        """One line per request: seq, method, path, status, model, stream, #input items, #tools."""
        lines = []
        for r in self.requests:
            body = r["json"] if isinstance(r["json"], dict) else {}
            items = body.get("input")
            lines.append("%d %s %s -> %s model=%s stream=%s input=%s tools=%s" % (
                r["seq"], r["method"], r["path"], r["status"], body.get("model"), body.get("stream"),
                [i.get("type") for i in items if isinstance(i, dict)] if isinstance(items, list) else items,
                len(body.get("tools") or [])))
        return "\n".join(lines)


if __name__ == "__main__":  # manual use: python -m tests.agents.recorder_responses [PORT]
    import signal

    fake = FakeResponses(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print("FAKE_RESPONSES_URL=%s" % fake.base_url, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()
    print(fake.summary(), file=sys.stderr)
