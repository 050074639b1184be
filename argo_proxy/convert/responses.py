"""The OpenAI Responses API on top of chat: request to chat body, reply to response
object and to the streaming event sequence."""

from __future__ import annotations

import json
import time
import uuid

from .. import sse
from ..errors import ProxyError

# Request fields with no chat equivalent that we accept and ignore.
_IGNORED = ("store", "metadata", "include", "reasoning", "text", "truncation",
            "service_tier", "background", "user", "stream_options", "prompt_cache_key",
            "safety_identifier", "max_tool_calls", "top_logprobs")
_PASS = ("model", "temperature", "top_p", "stream", "parallel_tool_calls")
_TEXT_PARTS = ("input_text", "output_text", "text")


# -- request ----------------------------------------------------------------------

def to_chat(body) -> dict:
    """A Responses request as a chat-completions body.

    `input` (string or item list) and `instructions` become `messages`;
    `max_output_tokens` becomes `max_tokens`; function tools and tool_choice are
    mapped; `model`, `temperature`, `top_p`, `stream` and `parallel_tool_calls` pass.
    Ignored: store, metadata, include, reasoning, text, truncation, service_tier,
    background, user (the proxy sets its own) and other unknown fields.
    """
    if body.get("previous_response_id"):
        raise ProxyError(400, "previous_response_id is not supported; send the full input",
                         param="previous_response_id")
    if body.get("conversation"):
        raise ProxyError(400, "conversation is not supported; send the full input",
                         param="conversation")
    chat = {k: body[k] for k in _PASS if k in body}
    messages = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": _instructions(body["instructions"])})
    messages.extend(input_messages(body.get("input")))
    chat["messages"] = messages
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    if body.get("tools"):
        chat["tools"] = [_chat_tool(t, i) for i, t in enumerate(body["tools"])]
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _chat_choice(body["tool_choice"])
    return chat


def _instructions(value):
    if isinstance(value, str):
        return value
    return "\n\n".join(_part_text(p) for p in value) if isinstance(value, list) else str(value)


def input_messages(value) -> list:
    """Responses `input` as chat messages. Consecutive function_call items (and an
    assistant message right before or after them) form one assistant turn."""
    if value is None or value == "" or value == []:
        raise ProxyError(400, "input is required", param="input")
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list):
        raise ProxyError(400, "input must be a string or a list of items", param="input")
    out = []
    for i, item in enumerate(value):
        _add_item(out, item, i)
    return out


def _add_item(out, item, i):
    if isinstance(item, str):
        out.append({"role": "user", "content": item})
        return
    if not isinstance(item, dict):
        raise ProxyError(400, "input[%d] must be an object" % i, param="input")
    kind = item.get("type") or ("message" if "role" in item else None)
    last = out[-1] if out else None
    if kind == "message":
        msg = _message(item, i)
        if msg["role"] == "assistant" and last and last.get("role") == "assistant" \
                and last.get("tool_calls"):
            # text said alongside the calls: it must not split calls from their results
            last["content"] = "\n".join(t for t in (last.get("content"), msg["content"]) if t)
        else:
            out.append(msg)
    elif kind == "function_call":
        call = {"id": item.get("call_id") or item.get("id"), "type": "function",
                "function": {"name": item.get("name"),
                             "arguments": item.get("arguments") or "{}"}}
        if last and last.get("role") == "assistant":
            last.setdefault("tool_calls", []).append(call)
        else:
            out.append({"role": "assistant", "content": "", "tool_calls": [call]})
    elif kind == "function_call_output":
        out.append({"role": "tool", "tool_call_id": item.get("call_id"),
                    "content": _output_text(item.get("output"))})
    elif kind == "reasoning":
        pass                                        # chat has no place for it
    else:
        raise ProxyError(400, "input[%d]: item type %r is not supported" % (i, kind),
                         param="input")


def _message(item, i):
    role = item.get("role") or "user"
    content = item.get("content")
    if isinstance(content, list):
        parts = [_chat_part(p, i) for p in content]
        if role != "user" or all(p.get("type") == "text" for p in parts):
            # plain text has the widest support; an assistant's parts are one text
            sep = "" if role == "assistant" else "\n"
            content = sep.join(p.get("text", "") for p in parts)
        else:
            content = parts
    elif content is None:
        content = ""
    return {"role": role, "content": content}


def _chat_part(part, i):
    if isinstance(part, str):
        return {"type": "text", "text": part}
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in _TEXT_PARTS:
        return {"type": "text", "text": part.get("text") or ""}
    if kind == "refusal":
        return {"type": "text", "text": part.get("refusal") or ""}
    if kind == "input_image":
        url = part.get("image_url")
        if isinstance(url, dict):
            url = url.get("url")
        if not url:
            raise ProxyError(400, "input[%d]: input_image with file_id is not supported; "
                             "send image_url" % i, param="input")
        image = {"url": url}
        if part.get("detail"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    raise ProxyError(400, "input[%d]: content part type %r is not supported" % (i, kind),
                     param="input")


def _part_text(part):
    if isinstance(part, str):
        return part
    return part.get("text") or "" if isinstance(part, dict) else ""


def _output_text(output):
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "".join(_part_text(p) for p in output)
    return json.dumps(output, ensure_ascii=False)


def _chat_tool(tool, i):
    if not isinstance(tool, dict) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, dict) else type(tool).__name__
        raise ProxyError(400, "tools[%d]: tool type %r is not supported; only function tools "
                         "are" % (i, kind), param="tools")
    fn = {"name": tool.get("name"), "description": tool.get("description") or "",
          "parameters": tool.get("parameters") or {"type": "object", "properties": {}}}
    if tool.get("strict") is not None:
        fn["strict"] = tool["strict"]
    return {"type": "function", "function": fn}


def _chat_choice(choice):
    if isinstance(choice, str) and choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function" and choice.get("name"):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise ProxyError(400, "tool_choice %s is not supported" % json.dumps(choice)[:200],
                     param="tool_choice")


# -- response object ------------------------------------------------------------

def _hex():
    return uuid.uuid4().hex


def message_item(text, item_id, status="completed") -> dict:
    content = [] if text is None else [{"type": "output_text", "text": text, "annotations": []}]
    return {"type": "message", "id": item_id, "role": "assistant", "status": status,
            "content": content}


def function_call_item(call, item_id, status="completed") -> dict:
    fn = call.get("function") or {}
    return {"type": "function_call", "id": item_id, "call_id": call.get("id"),
            "name": fn.get("name"), "arguments": fn.get("arguments") or "{}", "status": status}


def _usage(prompt_tokens, completion_tokens):
    return {"input_tokens": prompt_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": completion_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt_tokens + completion_tokens}


def _response(resp_id, created, model, request, output, status, usage):
    request = request or {}
    return {
        "id": resp_id, "object": "response", "created_at": created, "status": status,
        "error": None, "incomplete_details": None, "model": model, "output": output,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "temperature": request.get("temperature"), "top_p": request.get("top_p"),
        "tools": request.get("tools") or [],
        "tool_choice": request.get("tool_choice") or "auto",
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": None, "reasoning": None, "metadata": request.get("metadata") or {},
        "text": {"format": {"type": "text"}}, "truncation": "disabled",
        "usage": usage,
    }


def response_object(content, tool_calls, model, request, prompt_tokens, completion_tokens,
                    id=None, created=None) -> dict:
    """A completed Responses `response`: a message item (when there is text), then
    one function_call item per tool call. Request settings are echoed."""
    output = []
    if content:
        output.append(message_item(content, "msg_" + _hex()))
    for call in tool_calls or []:
        output.append(function_call_item(call, "fc_" + _hex()))
    return _response(id or "resp_" + _hex(), int(created if created is not None else time.time()),
                     model, request, output, "completed", _usage(prompt_tokens, completion_tokens))


# -- streaming events -------------------------------------------------------------

def response_from_completion(completion, model, request) -> dict:
    """A chat.completion (the hub's reply) as a completed Responses `response`."""
    choice = ((completion or {}).get("choices") or [{}])[0]
    msg = choice.get("message") or {}
    usage = completion.get("usage") or {}
    return response_object(msg.get("content"), msg.get("tool_calls") or [], model, request,
                           usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0)


class ResponsesEncoder:
    """The events of one streamed response (see convert.encoders for the interface), with
    consecutive `sequence_number`s from 0 and one `output_index` per output item."""

    content_type = "text/event-stream"

    def __init__(self, model, request, id=None, created=None):
        self.model = model
        self.request = request or {}
        self.id = id or "resp_" + _hex()
        self.created = int(created if created is not None else time.time())
        self._seq = 0
        self._output = []          # finished items, in output_index order
        self._message = None       # the open message item, while text is streaming
        self._text = []
        self._call = None          # the open function_call item: [upstream index, item, [args]]
        self._usage = {}
        self._ended = False

    def _event(self, kind, **fields):
        data = {"type": kind, "sequence_number": self._seq}
        data.update(fields)
        self._seq += 1
        return encode(kind, data)

    def _snapshot(self, status, usage=None):
        return _response(self.id, self.created, self.model, self.request,
                         list(self._output), status, usage)

    def start(self):
        snap = self._snapshot("in_progress")
        return (self._event("response.created", response=snap)
                + self._event("response.in_progress", response=snap))

    def text(self, delta):
        if not delta:
            return b""
        out = self._close_call()
        if self._message is None:
            out += self._open_message()
        self._text.append(delta)
        return out + self._event("response.output_text.delta", item_id=self._message["id"],
                                 output_index=len(self._output), content_index=0,
                                 delta=delta, logprobs=[])

    def reasoning(self, s, signature=None):
        return b""

    def _open_message(self):
        self._message = message_item(None, "msg_" + _hex(), "in_progress")
        index = len(self._output)
        return (self._event("response.output_item.added", output_index=index,
                            item=dict(self._message))
                + self._event("response.content_part.added", item_id=self._message["id"],
                              output_index=index, content_index=0,
                              part={"type": "output_text", "text": "", "annotations": []}))

    def _close_message(self):
        if self._message is None:
            return b""
        text, index = "".join(self._text), len(self._output)
        item = message_item(text, self._message["id"])
        part = item["content"][0]
        out = (self._event("response.output_text.done", item_id=item["id"], output_index=index,
                           content_index=0, text=text, logprobs=[])
               + self._event("response.content_part.done", item_id=item["id"],
                             output_index=index, content_index=0, part=part)
               + self._event("response.output_item.done", output_index=index, item=item))
        self._output.append(item)
        self._message, self._text = None, []
        return out

    def tool_call(self, index, id, name, arguments):
        out = b""
        if self._call is None or self._call[0] != index:
            out += self._close_message() + self._close_call()
            item = function_call_item({"id": id, "function": {"name": name, "arguments": ""}},
                                      "fc_" + _hex(), "in_progress")
            self._call = [index, item, []]
            out += self._event("response.output_item.added", output_index=len(self._output),
                               item=dict(item, arguments=""))
        if arguments:
            self._call[2].append(arguments)
            out += self._event("response.function_call_arguments.delta",
                               item_id=self._call[1]["id"], output_index=len(self._output),
                               delta=arguments)
        return out

    def _close_call(self):
        if self._call is None:
            return b""
        _, item, args = self._call
        item = dict(item, arguments="".join(args) or "{}", status="completed")
        index = len(self._output)
        out = (self._event("response.function_call_arguments.done", item_id=item["id"],
                           output_index=index, arguments=item["arguments"])
               + self._event("response.output_item.done", output_index=index, item=item))
        self._output.append(item)
        self._call = None
        return out

    def finish(self, reason):
        return self._close_message() + self._close_call()

    def usage(self, usage):
        self._usage = usage or {}
        return b""

    def error(self, err):
        return encode("error", {"type": "error", "sequence_number": self._seq,
                                "code": err.code, "message": err.message, "param": err.param})

    def end(self):
        if self._ended:
            return b""
        self._ended = True
        out = self._close_message() + self._close_call()
        u = self._usage
        final = self._snapshot("completed", _usage(u.get("prompt_tokens") or 0,
                                                   u.get("completion_tokens") or 0))
        return out + self._event("response.completed", response=final)

    def output_text(self) -> str:
        """All text sent so far."""
        return "".join(i["content"][0]["text"] for i in self._output
                       if i["type"] == "message" and i["content"]) + "".join(self._text)


def encode(event_type, data) -> bytes:
    """One SSE event: `event: <type>` and `data: <json>`."""
    return sse.encode_named(event_type, data)
