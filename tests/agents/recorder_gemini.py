"""A recording, scriptable fake of Google's Gemini API (generativelanguage v1beta) on 127.0.0.1.

Standard library only.  It records every request (method, path with query, headers, raw and JSON
body) and answers

* ``POST /v1beta/models/{model}:streamGenerateContent?alt=sse`` -- Server-Sent Events, one
  ``data: {GenerateContentResponse}`` frame per chunk (frames end with CRLF CRLF, as Google's do);
  without ``alt=sse`` a JSON array of the same chunks,
* ``POST /v1beta/models/{model}:generateContent``  -- one GenerateContentResponse,
* ``POST /v1beta/models/{model}:countTokens``      -- ``{"totalTokens": N}``,
* ``POST /v1beta/models/{model}:embedContent`` / ``:batchEmbedContents`` -- small fixed vectors,
* ``GET  /v1beta/models`` and ``/v1beta/models/{model}`` -- Google's Model list / Model shapes,
* ``GET`` / ``HEAD /``                             -- 200,
* anything else                                    -- 404 in Google's error shape
  (``{"error": {"code", "message", "status"}}``).

``/v1/...`` and ``/v1alpha/...`` are routed the same way.  Use ``url`` (``http://127.0.0.1:PORT``)
as ``GOOGLE_GEMINI_BASE_URL``.

What the generate calls answer is decided by a *responder*, ``responder(request) -> Reply``
(``request`` is the recorded dict, see ``FakeGemini._record``; ``request["model"]`` and
``request["rpc"]`` hold the model id and the method from the path).  The default answers every call
with a fixed text; ``ToolRound`` scripts one tool round::

    script = ToolRound("run_shell_command", {"command": "echo hi"}, final_text="DONE")
    with FakeGemini(script) as api:
        ...point the client at api.url and run it...
        api.requests              # every request, in arrival order
        api.generate_calls()      # just the (stream)GenerateContent ones

Side calls that ask for JSON (``generationConfig.responseMimeType == "application/json"``) get a
small JSON object built from the requested schema instead of free text, so a client's own
JSON-expecting helpers (routing, next-speaker checks, ...) keep working.

Faults for probing which calls a client really needs::

    api.add_fault(":countTokens", 404)          # matched against the path's tail
    api.add_fault("/v1beta/models", 500, times=1)
"""

from __future__ import annotations

import json
import sys
import threading
import uuid

from tests.agents.recording import RecordingFake, RecordingHandler
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["FakeGemini", "Reply", "ToolRound", "text_reply", "function_call_reply", "error_reply",
           "function_responses", "declared_functions", "json_for_schema", "stream_chunks", "MODELS"]

DEFAULT_TEXT = "Hello from the recording fake."

# (id, display name, input limit, output limit) -- served by GET /v1beta/models.
MODELS = (
    ("gemini-3-pro-preview", "Gemini 3 Pro Preview", 1048576, 65536),
    ("gemini-3-flash-preview", "Gemini 3 Flash Preview", 1048576, 65536),
    ("gemini-2.5-pro", "Gemini 2.5 Pro", 1048576, 65536),
    ("gemini-2.5-flash", "Gemini 2.5 Flash", 1048576, 65536),
    ("gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite", 1048576, 65536),
)

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}

GENERATE_RPCS = ("generateContent", "streamGenerateContent")


# ---- replies ----------------------------------------------------------------------------------

class Reply(object):
    """What one generate call answers: content parts + finish reason, or an HTTP error."""

    def __init__(self, parts=None, finish_reason="STOP", status=200, message=None, headers=None, usage=None):
        self.parts = list(parts or [])
        self.finish_reason = finish_reason
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.usage = usage

    @property
    def is_error(self):
        return self.status >= 400

    def __repr__(self):
        if self.is_error:
            return "Reply(error %d)" % self.status
        return "Reply(%s, %s)" % ([sorted(p) for p in self.parts], self.finish_reason)


def text_reply(text=DEFAULT_TEXT, thought=None, thought_signature=None):
    """A text answer; ``thought`` adds a leading ``{"text", "thought": true}`` part."""
    parts = []
    if thought:
        parts.append({"text": thought, "thought": True})
    part = {"text": text}
    if thought_signature:
        part["thoughtSignature"] = thought_signature
    parts.append(part)
    return Reply(parts, "STOP")


def function_call_reply(name, args, call_id=None, text=None, thought_signature=None):
    """A ``functionCall`` part (optionally after a text part).

    ``call_id`` sets ``functionCall.id`` (the Gemini Developer API usually leaves it out; the
    client then makes one up); ``thought_signature`` sets the part's ``thoughtSignature`` the way
    Gemini 3 models do, to see whether the client echoes it back.
    """
    parts = [{"text": text}] if text else []
    call = {"name": name, "args": dict(args)}
    if call_id:
        call["id"] = call_id
    part = {"functionCall": call}
    if thought_signature:
        part["thoughtSignature"] = thought_signature
    parts.append(part)
    return Reply(parts, "STOP")


def error_reply(status, message=None):
    return Reply(status=status, message=message or "fake error %d" % status)


def function_responses(body):
    """Every ``functionResponse`` (the inner dict) in a request's ``contents``."""
    found = []
    for content in (body or {}).get("contents") or []:
        for part in (content or {}).get("parts") or []:
            if isinstance(part, dict) and isinstance(part.get("functionResponse"), dict):
                found.append(part["functionResponse"])
    return found


def declared_functions(body):
    """Every function declaration in a request's ``tools``."""
    found = []
    for tool in (body or {}).get("tools") or []:
        for decl in (tool or {}).get("functionDeclarations") or []:
            if isinstance(decl, dict):
                found.append(decl)
    return found


def json_for_schema(schema, depth=0):
    """A small value that satisfies a (simple) JSON / OpenAPI schema."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return json_for_schema(schema[key][0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    kind = (kind or ("object" if "properties" in schema else "string")).lower()
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: json_for_schema(sub, depth + 1) for name, sub in props.items()}
    if kind == "array":
        count = schema.get("minItems") or 0
        return [json_for_schema(schema.get("items") or {}, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        value = low if isinstance(low, (int, float)) else 1   # 1: scores and counts are often >= 1
        if "exclusiveMinimum" in schema and "minimum" not in schema:
            value += 1
        high = schema.get("maximum")
        if isinstance(high, (int, float)) and value > high:
            value = high
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return False
    if schema.get("minLength"):
        return "ok" * int(schema["minLength"])
    return "ok"


class ToolRound(object):
    """Responder scripting one tool round for an agent's main conversation.

    * a request declaring ``tool_name`` whose contents hold no functionResponse from it -> the
      functionCall;
    * a request carrying a functionResponse named ``tool_name`` (and, when we sent an id, with that
      id)                                                                           -> ``final_text``;
    * anything else (side calls)                                                    -> ``side_text``, or
      a JSON object fitting the requested schema when the call asks for JSON.
    """

    def __init__(self, tool_name, tool_args, final_text="All done.", side_text="OK", call_id=None,
                 preamble=None, thought_signature=None):
        self.tool_name = tool_name
        self.tool_args = dict(tool_args)
        self.final_text = final_text
        self.side_text = side_text
        self.call_id = call_id
        self.preamble = preamble
        self.thought_signature = thought_signature
        self.served_tool_call = 0
        self.served_final = 0
        self.served_side = 0
        self._lock = threading.Lock()

    def result_for_us(self, body):
        for response in function_responses(body):
            if response.get("name") != self.tool_name:
                continue
            if self.call_id and response.get("id") not in (None, self.call_id):
                continue
            return response
        return None

    def __call__(self, request):
        body = request.get("json") or {}
        with self._lock:
            if self.result_for_us(body) is not None:
                self.served_final += 1
                return text_reply(self.final_text)
            if any(d.get("name") == self.tool_name for d in declared_functions(body)):
                self.served_tool_call += 1
                return function_call_reply(self.tool_name, self.tool_args, self.call_id, self.preamble,
                                           self.thought_signature)
            self.served_side += 1
            return side_reply(body, self.side_text)


def side_reply(body, text):
    """``text``, or JSON text fitting the request's schema when it asks for JSON."""
    config = (body or {}).get("generationConfig") or {}
    if config.get("responseMimeType") == "application/json":
        schema = config.get("responseJsonSchema") or config.get("responseSchema") or {"type": "object"}
        return text_reply(json.dumps(json_for_schema(schema)))
    return text_reply(text)


def _default_responder(request):
    return side_reply(request.get("json"), DEFAULT_TEXT)


# ---- wire formats -----------------------------------------------------------------------------

def _estimate_tokens(raw):
    return max(1, len(raw) // 4)


def _usage(reply, prompt_tokens, final=True):
    if reply.usage:
        return reply.usage
    out = max(1, sum(len(json.dumps(p)) for p in reply.parts) // 4) if final else 0
    usage = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": out, "totalTokenCount": prompt_tokens + out,
             "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}]}
    thoughts = sum(len(p.get("text", "")) for p in reply.parts if p.get("thought")) // 4
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
        usage["totalTokenCount"] += thoughts
    return usage


def _response(parts, model, usage, finish_reason=None, response_id=None):
    candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish_reason:
        candidate["finishReason"] = finish_reason
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model,
            "responseId": response_id or uuid.uuid4().hex[:22]}


def _pieces(text, n=3):
    if not text:
        return [text]
    size = max(1, -(-len(text) // n))
    return [text[i:i + size] for i in range(0, len(text), size)]


def stream_chunks(reply, model, prompt_tokens):
    """The GenerateContentResponse chunks streamed for ``reply``: text parts split in pieces, every
    other part whole, ``finishReason`` and the final usage on the last chunk."""
    response_id = uuid.uuid4().hex[:22]
    pieces = []
    for part in reply.parts:
        if "text" in part and len(part) <= 2 and not part.get("thoughtSignature"):
            pieces.extend(dict(part, text=t) for t in _pieces(part["text"]))
        else:
            pieces.append(part)
    if not pieces:
        pieces = [{"text": ""}]
    chunks = []
    for index, part in enumerate(pieces):
        last = index == len(pieces) - 1
        chunks.append(_response([part], model, _usage(reply, prompt_tokens, final=last),
                                reply.finish_reason if last else None, response_id))
    return chunks


def _error_body(status, message):
    return {"error": {"code": status, "message": message or "error", "status": STATUS_NAMES.get(status, "UNKNOWN")}}


def _model_json(entry):
    return {"name": "models/" + entry[0], "version": "001", "displayName": entry[1],
            "description": entry[1] + " (recording fake)", "inputTokenLimit": entry[2], "outputTokenLimit": entry[3],
            "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent",
                                           "batchGenerateContent"],
            "temperature": 1, "topP": 0.95, "topK": 64, "maxTemperature": 2, "thinking": True}


def split_model_path(path):
    """'/v1beta/models/gemini-2.5-pro:streamGenerateContent' -> ('v1beta', 'gemini-2.5-pro',
    'streamGenerateContent'); anything else -> (version or None, None, None)."""
    parts = path.split("/", 3)           # ['', 'v1beta', 'models', 'x:rpc']
    if len(parts) < 3 or not parts[1].startswith("v1"):
        return None, None, None
    version = parts[1]
    if parts[2] != "models":
        return version, None, None
    if len(parts) == 3:
        return version, "", None
    rest = unquote(parts[3])
    if ":" in rest:
        model, rpc = rest.rsplit(":", 1)
        return version, model, rpc
    return version, rest, None


# ---- server -----------------------------------------------------------------------------------

class _Handler(RecordingHandler):
    server_version = "FakeGemini/1"

    def _send_json(self, status, obj, extra_headers=None, head=False):
        data = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra_headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not head and self.command != "HEAD":
            self.wfile.write(data)
        return status

    def _send_error_json(self, status, message=None, extra_headers=None):
        return self._send_json(status, _error_body(status, message), extra_headers)

    def _send_sse(self, reply, chunks):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        return self._write_frames(("data: %s\r\n\r\n" % json.dumps(chunk)).encode("utf-8") for chunk in chunks)

    # -- routing --

    def _internal_error(self, message):
        return self._send_error_json(500, message)

    def _route(self, owner, record):
        method, path = self.command, record["path_only"]
        fault = owner._take_fault(record)
        if fault is not None:
            return self._send_error_json(fault["status"], "injected fault", fault.get("headers"))
        if path in ("/", "") and method in ("GET", "HEAD"):
            return self._send_json(200, {"ok": True}, head=(method == "HEAD"))
        version, model, rpc = record["api_version"], record["model"], record["rpc"]
        if version is None or model is None:
            return self._send_error_json(404, "Not found: %s %s" % (method, record["path"]))
        if model == "" and method in ("GET", "HEAD"):
            return self._send_json(200, {"models": [_model_json(m) for m in owner.models]}, head=(method == "HEAD"))
        if rpc is None and method in ("GET", "HEAD"):
            wanted = model[len("models/"):] if model.startswith("models/") else model
            for m in owner.models:
                if m[0] == wanted:
                    return self._send_json(200, _model_json(m), head=(method == "HEAD"))
            return self._send_error_json(404, "models/%s is not found for API version %s" % (wanted, version))
        if method != "POST" or rpc is None:
            return self._send_error_json(404, "Not found: %s %s" % (method, record["path"]))
        body = record["json"]
        if rpc in GENERATE_RPCS:
            return self._generate(owner, record, rpc, body)
        if rpc == "countTokens":
            return self._send_json(200, {"totalTokens": _estimate_tokens(record["body"]),
                                         "promptTokensDetails": [{"modality": "TEXT",
                                                                  "tokenCount": _estimate_tokens(record["body"])}]})
        if rpc == "embedContent":
            return self._send_json(200, {"embedding": {"values": [0.0, 0.1, 0.2]}})
        if rpc == "batchEmbedContents":
            n = len((body or {}).get("requests") or [])
            return self._send_json(200, {"embeddings": [{"values": [0.0, 0.1, 0.2]} for _ in range(n)]})
        return self._send_error_json(404, "Method %s not found" % rpc)

    def _generate(self, owner, record, rpc, body):
        if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
            return self._send_error_json(400, "* GenerateContentRequest.contents: contents is not specified")
        reply = owner.responder(record)
        record["reply"] = reply
        if reply.is_error:
            return self._send_error_json(reply.status, reply.message, reply.headers)
        prompt_tokens = _estimate_tokens(record["body"])
        model = record["model"]
        if rpc == "streamGenerateContent":
            chunks = stream_chunks(reply, model, prompt_tokens)
            if record["query"].get("alt") == "sse":
                return self._send_sse(reply, chunks)
            return self._send_json(200, chunks, reply.headers)
        return self._send_json(200, _response(reply.parts, model, _usage(reply, prompt_tokens), reply.finish_reason),
                               reply.headers)


class FakeGemini(RecordingFake):
    """The recording fake; ``url`` is ``http://127.0.0.1:PORT`` (use it as GOOGLE_GEMINI_BASE_URL)."""

    HANDLER = _Handler
    NAME = "fake-gemini"

    def __init__(self, responder=None, models=MODELS, port=0):
        RecordingFake.__init__(self, responder or _default_responder, models, port)

    def _fault_matches(self, fault, record):
        """The request path (no query) equals ``path`` or, if it starts with ':', the path's
        ``:rpc`` tail does (``":countTokens"``)."""
        if fault["path"].startswith(":"):
            return record["rpc"] == fault["path"][1:]
        return fault["path"] == record["path_only"]

    def _fields(self, parts):
        version, model, rpc = split_model_path(parts.path)
        return {"api_version": version,   # 'v1beta'
                "model": model,           # 'gemini-2.5-pro' ('' for the list)
                "rpc": rpc}               # 'streamGenerateContent', 'countTokens', ...

    def generate_calls(self):
        """Only the POST ...:generateContent / :streamGenerateContent requests."""
        return [r for r in self.requests if r["method"] == "POST" and r["rpc"] in GENERATE_RPCS]

    def summary(self):
        """One line per request: seq, method, path, status, #contents, roles, #functions, JSON mode."""
        lines = []
        for r in self.requests:
            body = r["json"] if isinstance(r["json"], dict) else {}
            contents = body.get("contents") or []
            config = body.get("generationConfig") or {}
            lines.append("%d %s %s -> %s contents=%s functions=%d json=%s" % (
                r["seq"], r["method"], r["path"], r["status"],
                [c.get("role") for c in contents if isinstance(c, dict)], len(declared_functions(body)),
                config.get("responseMimeType") == "application/json"))
        return "\n".join(lines)


if __name__ == "__main__":  # manual use: python -m tests.agents.recorder_gemini [PORT]
    import signal

    fake = FakeGemini(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print("GOOGLE_GEMINI_BASE_URL=%s" % fake.url, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()
    print(fake.summary(), file=sys.stderr)
