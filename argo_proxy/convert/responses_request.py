"""A Responses API request as an OpenAI chat body (the hub's request format).

`to_chat(body, history=None, lookup=None) -> (chat, tools)`: `tools` is the ToolMap that
maps the chat functions offered to the model back to the Responses tools (and carries
`notes`: what was dropped or ignored, for a log line). A wrong type anywhere is a 400
naming the field path, e.g. `input[3].content[0].text`.
"""

from __future__ import annotations

from ..errors import ProxyError
from .responses_input import Context, Turns, add_input, add_items, plain_text
from .responses_tools import ToolMap, add_tools, bad, chat_tool_choice, get_str
from .validate import expect

# Accepted, meaningful only to OpenAI's own service: not forwarded, not noted.
_NOT_FORWARDED = frozenset((
    "store", "include", "metadata", "prompt_cache_key", "truncation", "user", "service_tier",
    "stream_options", "background", "previous_response_id", "safety_identifier",
    "max_tool_calls", "top_logprobs", "client_metadata"))
_HANDLED = frozenset((
    "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls",
    "temperature", "top_p", "stream", "max_output_tokens", "reasoning", "text"))
_UNSUPPORTED = ("conversation", "prompt")

_NUMBER, _INT = (int, float), (int,)
_TYPES = (("model", (str,), "a string"), ("stream", (bool,), "true or false"),
          ("parallel_tool_calls", (bool,), "true or false"), ("store", (bool,), "true or false"),
          ("background", (bool,), "true or false"), ("temperature", _NUMBER, "a number"),
          ("top_p", _NUMBER, "a number"), ("max_output_tokens", _INT, "an integer"),
          ("metadata", (dict,), "an object"), ("include", (list,), "a list"),
          ("reasoning", (dict,), "an object"), ("text", (dict,), "an object"),
          ("stream_options", (dict,), "an object"), ("previous_response_id", (str,), "a string"),
          ("instructions", (str, list), "a string"), ("input", (str, list), "a string or a list"))


def to_chat(body, history=None, lookup=None):
    """A Responses request body -> (chat body, ToolMap).

    history: items to put before `input` (a stored conversation, for previous_response_id);
    lookup(id) -> item: resolves `item_reference` input items."""
    if not isinstance(body, dict):
        bad("body", "a JSON object")
    _check_types(body)
    tools = ToolMap()
    add_tools(body.get("tools"), "tools", tools)
    turns = Turns(tools.notes)
    instructions = _instructions(body.get("instructions"))
    if instructions:
        turns.messages.append({"role": "system", "content": instructions})
    ctx = Context(tools, lookup)
    if history is not None:
        if not isinstance(history, list):
            bad("history", "a list of items")
        add_items(ctx, turns, history, "history")
    add_input(ctx, turns, body.get("input"), bool(history))
    turns.settle()
    chat = _params(body)
    chat["messages"] = turns.messages
    _tools_and_choice(chat, body, tools)
    _note_ignored(body, tools.notes)
    return chat, tools


def _check_types(body):
    for key, kinds, what in _TYPES:
        value = body.get(key)
        if value is not None and (not isinstance(value, kinds) or
                                  (isinstance(value, bool) and bool not in kinds)):
            bad(key, what)
    for key, value in (body.get("metadata") or {}).items():
        expect(value, "metadata.%s" % key, "a string")
    for i, item in enumerate(body.get("include") or ()):
        expect(item, "include[%d]" % i, "a string")


def _instructions(value):
    if isinstance(value, list):
        return "\n\n".join(plain_text(p, "instructions[%d]" % i) for i, p in enumerate(value))
    return value or None


def _params(body):
    chat = {k: body[k] for k in ("model", "temperature", "top_p", "stream")
            if body.get(k) is not None}
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    reasoning = body.get("reasoning") or {}
    effort = get_str(reasoning, "effort", "reasoning")
    if effort:
        chat["reasoning_effort"] = effort
    text = body.get("text") or {}
    fmt = text.get("format")
    if fmt is not None:
        if not isinstance(fmt, dict):
            bad("text.format", "an object")
        response_format = _response_format(fmt)
        if response_format:
            chat["response_format"] = response_format
    verbosity = get_str(text, "verbosity", "text")
    if verbosity:
        chat["verbosity"] = verbosity
    return chat


def _response_format(fmt):
    kind = get_str(fmt, "type", "text.format", required=True)
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind != "json_schema":
        raise ProxyError(400, "text.format.type %r is not supported" % kind,
                         param="text.format.type")
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        bad("text.format.schema", "a JSON schema object")
    spec = {"name": get_str(fmt, "name", "text.format") or "response", "schema": schema}
    description = get_str(fmt, "description", "text.format")
    if description:
        spec["description"] = description
    if fmt.get("strict") is not None:
        if not isinstance(fmt["strict"], bool):
            bad("text.format.strict", "true or false")
        spec["strict"] = fmt["strict"]
    return {"type": "json_schema", "json_schema": spec}


def _tools_and_choice(chat, body, tools):
    choice, only = (None, None)
    if body.get("tool_choice") is not None:
        choice, only = chat_tool_choice(body["tool_choice"], tools)
    offered = tools.chat_tools(only)
    if not offered:
        return                  # chat rejects tool_choice and parallel_tool_calls without tools
    chat["tools"] = offered
    if choice is not None:
        chat["tool_choice"] = choice
    if body.get("parallel_tool_calls") is not None:
        chat["parallel_tool_calls"] = body["parallel_tool_calls"]


def _note_ignored(body, notes):
    for key in _UNSUPPORTED:
        if body.get(key):
            notes.append("%s is not supported by this proxy; ignored" % key)
    unknown = sorted(k for k in body
                     if k not in _HANDLED and k not in _NOT_FORWARDED and k not in _UNSUPPORTED)
    if unknown:
        notes.append("ignored unknown field(s): " + ", ".join(unknown))
