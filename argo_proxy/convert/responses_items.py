"""Responses API output items and `response` objects built from chat replies, and what a
stored response keeps for `previous_response_id` and `GET .../input_items`."""

from __future__ import annotations

import json
import time
import uuid

from .responses_tools import ToolMap

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
_ID_PREFIX = {"message": "msg", "function_call": "fc", "function_call_output": "fco",
              "custom_tool_call": "ctc", "custom_tool_call_output": "ctco",
              "local_shell_call": "lsh", "local_shell_call_output": "lsho",
              "shell_call": "sh", "shell_call_output": "sho", "apply_patch_call": "apc",
              "apply_patch_call_output": "apco", "tool_search_call": "tsc",
              "tool_search_output": "tso", "reasoning": "rs"}


def new_id(prefix):
    return "%s_%s" % (prefix, uuid.uuid4().hex)


# -- output items ------------------------------------------------------------------------

def message_item(text, item_id, status="completed") -> dict:
    content = [] if text is None else [{"type": "output_text", "text": text, "annotations": []}]
    return {"type": "message", "id": item_id, "role": "assistant", "status": status,
            "content": content}


def reasoning_item(text, item_id, status="completed") -> dict:
    """The model's reasoning as a summary (chat upstreams give plain reasoning text)."""
    summary = [{"type": "summary_text", "text": text}] if text else []
    return {"type": "reasoning", "id": item_id, "summary": summary, "status": status}


def function_call_item(call, item_id, status="completed", namespace=None) -> dict:
    fn = call.get("function") or {}
    item = {"type": "function_call", "id": item_id, "call_id": call.get("id"),
            "name": fn.get("name"), "arguments": fn.get("arguments") or "{}", "status": status}
    if namespace is not None:
        item["namespace"] = namespace
    return item


def custom_call_item(call_id, name, text, item_id, status="completed", namespace=None) -> dict:
    item = {"type": "custom_tool_call", "id": item_id, "call_id": call_id, "name": name,
            "input": text, "status": status}
    if namespace is not None:
        item["namespace"] = namespace
    return item


def _arguments(text):
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return None


def custom_input(arguments) -> str:
    """The raw input of a custom-tool call from the model's chat arguments: the `input`
    string of `{"input": "..."}`; failing that a lone string value, a JSON string, or the
    arguments text itself (a model that skipped the JSON wrapper)."""
    value = _arguments(arguments)
    if isinstance(value, dict):
        if isinstance(value.get("input"), str):
            return value["input"]
        strings = [v for v in value.values() if isinstance(v, str)]
        if len(strings) == 1 and len(value) == 1:
            return strings[0]
    if isinstance(value, str):
        return value
    return arguments or ""


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _local_shell(call_id, args, item_id):
    command = args.get("command")
    if isinstance(command, str):
        command = ["bash", "-lc", command]
    if not isinstance(command, list) or not command or \
            not all(isinstance(c, str) for c in command):
        return None
    action = {"type": "exec", "command": command, "env": {},
              "timeout_ms": _int(args.get("timeout_ms", args.get("timeout"))),
              "working_directory": args.get("workdir") or args.get("working_directory"),
              "user": None}
    return {"type": "local_shell_call", "id": item_id, "call_id": call_id,
            "status": "completed", "action": action}


def _shell(call_id, args, item_id):
    commands = args.get("commands")
    if isinstance(commands, str):
        commands = [commands]
    if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
        return None
    action = {"commands": commands, "timeout_ms": _int(args.get("timeout_ms")),
              "max_output_length": _int(args.get("max_output_length"))}
    return {"type": "shell_call", "id": item_id, "call_id": call_id, "status": "completed",
            "action": action}


def _apply_patch(call_id, args, item_id):
    kind, path = args.get("type"), args.get("path")
    if kind not in ("create_file", "update_file", "delete_file") or not isinstance(path, str):
        return None
    operation = {"type": kind, "path": path}
    if kind != "delete_file":
        operation["diff"] = args.get("diff") if isinstance(args.get("diff"), str) else ""
    return {"type": "apply_patch_call", "id": item_id, "call_id": call_id,
            "status": "completed", "operation": operation}


def _tool_search(call_id, args, item_id):
    return {"type": "tool_search_call", "id": item_id, "call_id": call_id,
            "execution": "client", "status": "completed", "arguments": args}


_BUILT = {"local_shell": _local_shell, "shell": _shell, "apply_patch": _apply_patch,
          "tool_search": _tool_search}


def call_item(call, tools, item_id=None, status="completed") -> dict:
    """One chat tool call as the Responses output item of the tool it maps to. A call of
    an unknown name, or a built-in tool's call with unusable arguments, stays a
    function_call (the client answers it with an error the model can read)."""
    fn = call.get("function") or {}
    name, arguments, call_id = fn.get("name"), fn.get("arguments") or "", call.get("id")
    ref = tools.ref(name) if tools is not None else None
    kind = ref.kind if ref is not None else "function"
    if kind == "custom":
        return custom_call_item(call_id, ref.name, custom_input(arguments),
                                item_id or new_id("ctc"), status, ref.namespace)
    if kind in _BUILT:
        args = _arguments(arguments)
        built_id = item_id or new_id(_ID_PREFIX[kind + "_call"])
        item = _BUILT[kind](call_id, args, built_id) if isinstance(args, dict) else None
        if item is not None:
            return item
        ref = None
    bare = dict(call, function={"name": ref.name if ref else name, "arguments": arguments})
    return function_call_item(bare, item_id or new_id("fc"), status,
                              ref.namespace if ref else None)


# -- usage and the response object ------------------------------------------------------

def usage(chat_usage) -> dict:
    """A chat usage dict as Responses usage (cached and reasoning tokens when reported)."""
    u = chat_usage if isinstance(chat_usage, dict) else {}
    prompt, completion = u.get("prompt_tokens") or 0, u.get("completion_tokens") or 0
    cached = (u.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (u.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return {"input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": u.get("total_tokens") or prompt + completion}


def incomplete_reason(finish_reason):
    """The `incomplete_details.reason` for a chat finish_reason, or None when complete."""
    return _INCOMPLETE.get(finish_reason)


def response(resp_id, created, model, request, output, status, usage_, error=None,
             incomplete=None) -> dict:
    """A Responses `response` object; the request's settings are echoed."""
    request = request or {}
    reasoning = request.get("reasoning") if isinstance(request.get("reasoning"), dict) else {}
    text = request.get("text") if isinstance(request.get("text"), dict) else {}
    return {
        "id": resp_id, "object": "response", "created_at": created, "status": status,
        "error": error,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "model": model, "output": output,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "temperature": request.get("temperature"), "top_p": request.get("top_p"),
        "tools": request.get("tools") or [],
        "tool_choice": request.get("tool_choice") or "auto",
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "text": dict(text, format=text.get("format") or {"type": "text"}),
        "truncation": request.get("truncation") or "disabled",
        "store": request.get("store", True), "metadata": request.get("metadata") or {},
        "user": request.get("user"), "usage": usage_,
    }


def response_object(content, tool_calls, model, request, prompt_tokens, completion_tokens,
                    id=None, created=None, tools=None) -> dict:
    """A completed `response`: a message item (when there is text), then one item per
    tool call (mapped through `tools`, a ToolMap, when given)."""
    output = [message_item(content, new_id("msg"))] if content else []
    output.extend(call_item(c, tools) for c in tool_calls or [])
    return response(id or new_id("resp"), int(created if created is not None else time.time()),
                    model, request, output, "completed",
                    usage({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}))


def response_from_completion(completion, model, request, tools=None, id=None,
                             created=None) -> dict:
    """A chat.completion (the hub's reply) as a Responses `response`: a reasoning item
    when the message has reasoning_content, the text, then the tool calls mapped back
    through the ToolMap; status `incomplete` when the reply was cut (finish_reason length)."""
    completion = completion if isinstance(completion, dict) else {}
    choice = (completion.get("choices") or [{}])[0] or {}
    msg = choice.get("message") or {}
    reason = incomplete_reason(choice.get("finish_reason"))
    status = "incomplete" if reason else "completed"
    output = []
    thought = msg.get("reasoning_content") or msg.get("reasoning")
    if isinstance(thought, str) and thought:
        output.append(reasoning_item(thought, new_id("rs")))
    text = msg.get("content")
    if isinstance(text, str) and text or msg.get("refusal"):
        item = message_item(text or "", new_id("msg"), status)
        if msg.get("refusal"):
            item["content"] = [{"type": "refusal", "refusal": msg["refusal"]}]
        output.append(item)
    output.extend(call_item(c, tools or ToolMap()) for c in msg.get("tool_calls") or []
                  if isinstance(c, dict))
    return response(id or new_id("resp"), int(created if created is not None else time.time()),
                    model, request, output, status, usage(completion.get("usage")),
                    incomplete=reason)


# -- stored responses ------------------------------------------------------------------------

def input_items(value, lookup=None) -> list:
    """A request's `input` as a list of Responses items, each with an id and a type (easy
    messages become message items with input_text / output_text parts)."""
    if value is None or value == "":
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [_stored_item(item, lookup) for item in items]


def _stored_item(item, lookup):
    if isinstance(item, str):
        item = {"role": "user", "content": item}
    if not isinstance(item, dict):
        return item
    if item.get("type") == "item_reference" and lookup is not None:
        found = lookup(item.get("id"))
        item = found if isinstance(found, dict) else item
    item = dict(item)
    kind = item.setdefault("type", "message" if "role" in item else None)
    if kind == "message":
        role = item.get("role") or "user"
        part = "output_text" if role == "assistant" else "input_text"
        if isinstance(item.get("content"), str):
            item["content"] = [{"type": part, "text": item["content"]}]
        item.setdefault("status", "completed")
    if not item.get("id"):
        item["id"] = new_id(_ID_PREFIX.get(kind, "item"))
    return item


def stored(response_, input_items_, history=None, lookup=None) -> dict:
    """What to keep of a finished response for `previous_response_id`, GET /v1/responses/{id}
    and its input_items: `items` (history, then this input, then the output items) is what
    a later request passes to `to_chat(..., history=items)`."""
    inputs = input_items(input_items_, lookup)
    output = [dict(i) for i in (response_ or {}).get("output") or []]
    return {"id": (response_ or {}).get("id"), "response": response_, "input_items": inputs,
            "items": list(history or []) + inputs + output}


def input_items_list(items, order="desc", after=None, limit=None) -> dict:
    """The body of GET /v1/responses/{id}/input_items (OpenAI's default order is desc)."""
    data = list(items or [])
    if order == "desc":
        data.reverse()
    if after is not None:
        ids = [i.get("id") for i in data]
        data = data[ids.index(after) + 1:] if after in ids else []
    more = limit is not None and len(data) > limit
    data = data[:limit] if limit is not None else data
    return {"object": "list", "data": data,
            "first_id": data[0].get("id") if data else None,
            "last_id": data[-1].get("id") if data else None, "has_more": more}
