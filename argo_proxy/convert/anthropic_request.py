"""An Anthropic Messages request as an OpenAI chat-completions body (the hub request).

`messages_to_chat(body)` returns `(chat_body, notes)`: notes are short strings naming
what the hub cannot carry and was dropped (server tools, top_k, thinking history...), for
the caller to log. A wrong type anywhere is a 400 naming the exact field path.
"""

from __future__ import annotations

import base64
import binascii
import json

from ..errors import ProxyError
from .validate import (bad as _bad, expect_array as _array, expect_boolean as _boolean,
                       expect_integer as _integer, expect_number as _number,
                       expect_object as _object, expect_string as _string)

_ROLES = ("user", "assistant", "system")
_THINKING_BLOCKS = ("thinking", "redacted_thinking")
# Assistant-side blocks of Anthropic-run tools: history the hub has no place for.
_SERVER_BLOCKS = ("server_tool_use", "mcp_tool_use", "mcp_tool_result", "container_upload")
_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high"}
_DROPPED_FIELDS = ("top_k", "mcp_servers", "container", "context_management", "service_tier")
IMAGE_PLACEHOLDER = "[image omitted: tool results carry text only here]"


# -- field checks (convert.validate's, under short names) -------------------------------

def _fail(path, message):
    raise ProxyError(400, "%s: %s" % (path, message), param=path)


def _blocks(content, path):
    """Content as a list of block objects, each with a string `type`."""
    if not isinstance(content, list):
        _bad(path, "a string or an array of content blocks")
    for j, block in enumerate(content):
        where = "%s[%d]" % (path, j)
        _object(block, where)
        _string(block.get("type"), where + ".type")
    return content


def _note(notes, text):
    if text not in notes:
        notes.append(text)


# -- the request --------------------------------------------------------------------

def messages_to_chat(body) -> tuple:
    """An Anthropic Messages request as `(chat_body, notes)`; see the module docstring."""
    if not isinstance(body, dict):
        raise ProxyError(400, "The request body must be a JSON object.")
    notes = []
    chat = _scalars(body)
    messages = []
    if body.get("system") is not None:
        system = _text_content(body["system"], "system")
        if system:
            messages.append({"role": "system", "content": system})
    messages.extend(_conversation(body.get("messages"), notes))
    chat["messages"] = messages
    _add_tools(body, chat, notes)
    _add_output_config(body, chat)
    for key in _DROPPED_FIELDS:
        if body.get(key) is not None:
            _note(notes, "%s dropped" % key)
    return chat, notes


def _scalars(body) -> dict:
    chat = {}
    if body.get("model") is not None:
        chat["model"] = _string(body["model"], "model")
    checks = (("max_tokens", _integer), ("temperature", _number), ("top_p", _number),
              ("stream", _boolean))
    for key, check in checks:
        if body.get(key) is not None:
            chat[key] = check(body[key], key)
    stops = body.get("stop_sequences")
    if stops is not None:
        for i, stop in enumerate(_array(stops, "stop_sequences")):
            _string(stop, "stop_sequences[%d]" % i)
        if stops:
            chat["stop"] = list(stops)
    return chat


def _text_content(content, path) -> str:
    """A string, or text blocks joined by blank lines (cache_control and citations dropped)."""
    if isinstance(content, str):
        return content
    texts = []
    for j, block in enumerate(_blocks(content, path)):
        where = "%s[%d]" % (path, j)
        if block["type"] != "text":
            _fail(where + ".type", "only text blocks are allowed here, got %r" % block["type"])
        texts.append(_string(block.get("text"), where + ".text"))
    return "\n\n".join(texts)


# -- messages -----------------------------------------------------------------------

def _conversation(messages, notes) -> list:
    if messages is None:
        raise ProxyError(400, "messages: field required", param="messages")
    out = []
    for i, msg in enumerate(_array(messages, "messages")):
        path = "messages[%d]" % i
        _object(msg, path)
        role = msg.get("role")
        if role not in _ROLES:
            _bad(path + ".role", 'one of "user", "assistant" or "system"')
        content = msg.get("content")
        if content is None:
            _bad(path + ".content", "a string or an array of content blocks")
        if role == "system":
            out.append({"role": "system", "content": _text_content(content, path + ".content")})
        elif role == "assistant":
            turn = _assistant(content, path + ".content", notes)
            if turn is not None:
                out.append(turn)
        else:
            out.extend(_user(content, path + ".content", notes))
    return out


def _user(content, path, notes) -> list:
    """A user turn: its tool results as tool messages first, then the rest as one user message."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    results, parts = [], []
    for j, block in enumerate(_blocks(content, path)):
        where = "%s[%d]" % (path, j)
        if block["type"] == "tool_result":
            results.append(_tool_message(block, where))
        elif block["type"] in _THINKING_BLOCKS:
            _note(notes, "thinking blocks dropped")
        else:
            parts.append(_user_part(block, where))
    if parts or not results:
        results.append({"role": "user", "content": _collapse(parts)})
    return results


def _collapse(parts):
    """Text-only parts as one string (the widest supported form), else the part list."""
    if all(p["type"] == "text" for p in parts):
        return "\n\n".join(p["text"] for p in parts)
    return parts


def _user_part(block, path) -> dict:
    kind = block["type"]
    if kind == "text":
        return {"type": "text", "text": _string(block.get("text"), path + ".text")}
    if kind == "image":
        return {"type": "image_url", "image_url": {"url": _image_url(block, path)}}
    if kind == "document":
        return {"type": "text", "text": _document_text(block, path)}
    if kind == "search_result":
        return {"type": "text", "text": _search_result_text(block, path)}
    if kind == "tool_use":
        _fail(path + ".type", "tool_use blocks belong in assistant turns")
    _fail(path + ".type", "content block type %r is not supported in a user turn" % kind)


def _assistant(content, path, notes):
    """An assistant turn: text joined, tool_use as tool_calls, thinking dropped.
    None when nothing is left (a turn that held only thinking)."""
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts, calls = [], []
    for j, block in enumerate(_blocks(content, path)):
        where = "%s[%d]" % (path, j)
        kind = block["type"]
        if kind == "text":
            texts.append(_string(block.get("text"), where + ".text"))
        elif kind == "tool_use":
            calls.append(_tool_call(block, where))
        elif kind in _THINKING_BLOCKS:
            _note(notes, "thinking blocks dropped")
        elif kind in _SERVER_BLOCKS or kind.endswith("_tool_result"):
            _note(notes, "server tool blocks dropped")
        else:
            _fail(where + ".type", "content block type %r is not supported in an assistant turn"
                  % kind)
    if not texts and not calls and content:
        _note(notes, "assistant turn with nothing but dropped blocks left out")
        return None
    # Pieces of one reply (citations split text into several blocks): joined as they are.
    turn = {"role": "assistant", "content": "".join(texts)}
    if calls:
        turn["tool_calls"] = calls
    return turn


def _tool_call(block, path) -> dict:
    call_id = _string(block.get("id"), path + ".id")
    name = _string(block.get("name"), path + ".name")
    args = block.get("input")
    args = {} if args is None else _object(args, path + ".input")
    return {"id": call_id, "type": "function",
            "function": {"name": name, "arguments": _compact(args)}}


def _compact(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _tool_message(block, path) -> dict:
    call_id = _string(block.get("tool_use_id"), path + ".tool_use_id")
    content = block.get("content")
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    else:
        text = _result_text(content, path + ".content")
    is_error = block.get("is_error")
    if is_error is not None and _boolean(is_error, path + ".is_error"):
        if not text:
            text = "Error"
        elif not text.lower().startswith("error"):
            text = "Error: " + text
    return {"role": "tool", "tool_call_id": call_id, "content": text}


def _result_text(content, path) -> str:
    texts = []
    for j, block in enumerate(_blocks(content, path)):
        where = "%s[%d]" % (path, j)
        kind = block["type"]
        if kind == "text":
            texts.append(_string(block.get("text"), where + ".text"))
        elif kind == "image":
            _image_url(block, where)                 # still a client mistake if malformed
            texts.append(IMAGE_PLACEHOLDER)
        elif kind == "document":
            texts.append(_document_text(block, where))
        elif kind == "search_result":
            texts.append(_search_result_text(block, where))
        else:
            _fail(where + ".type", "content block type %r is not supported in a tool_result"
                  % kind)
    return "\n".join(texts)


# -- images, documents, search results ---------------------------------------------

def _image_url(block, path) -> str:
    source = _object(block.get("source"), path + ".source")
    kind = source.get("type")
    if kind == "base64":
        media_type = _string(source.get("media_type"), path + ".source.media_type")
        data = _string(source.get("data"), path + ".source.data")
        return "data:%s;base64,%s" % (media_type, data)
    if kind == "url":
        return _string(source.get("url"), path + ".source.url")
    _fail(path + ".source.type", "image source type %r is not supported (use base64 or url)"
          % (kind,))


def _document_text(block, path) -> str:
    source = _object(block.get("source"), path + ".source")
    where = path + ".source"
    kind = source.get("type")
    if kind == "text":
        text = _string(source.get("data"), where + ".data")
    elif kind == "content":
        inner = source.get("content")
        text = _text_content(inner, where + ".content") if inner is not None else ""
    elif kind == "base64":
        text = _base64_text(source, where)
    elif kind == "url":
        _fail(path, "document URLs are not fetched by this proxy; send the document's text "
                    "(a text source or a text block) instead")
    else:
        _fail(where + ".type", "document source type %r is not supported; send the "
                               "document's text instead" % (kind,))
    title = block.get("title")
    if title is not None and _string(title, path + ".title"):
        return "%s\n\n%s" % (title, text)
    return text


def _base64_text(source, path) -> str:
    media_type = _string(source.get("media_type"), path + ".media_type")
    data = _string(source.get("data"), path + ".data")
    if media_type.split(";")[0].strip().lower() != "text/plain":
        _fail(path, "%s documents are not supported on this route (the model is reached "
                    "through the OpenAI chat format); send the document's text instead"
              % media_type)
    try:
        return base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        _fail(path + ".data", "not valid base64 of UTF-8 text")


def _search_result_text(block, path) -> str:
    title = _string(block.get("title", ""), path + ".title")
    source = _string(block.get("source", ""), path + ".source")
    content = block.get("content")
    body = _text_content(content, path + ".content") if content is not None else ""
    head = " - ".join(s for s in (title, source) if s)
    return "%s\n\n%s" % (head, body) if head else body


# -- tools, tool choice, thinking, output format -----------------------------------

def _add_tools(body, chat, notes):
    tools = _function_tools(body.get("tools"), notes)
    if tools:
        chat["tools"] = tools
    choice = body.get("tool_choice")
    if choice is None:
        return
    _object(choice, "tool_choice")
    kind = choice.get("type")
    if kind not in ("auto", "any", "tool", "none"):
        _bad("tool_choice.type", 'one of "auto", "any", "tool" or "none"')
    single = choice.get("disable_parallel_tool_use")
    if single is not None:
        _boolean(single, "tool_choice.disable_parallel_tool_use")
    if not tools:
        if body.get("tools"):
            _note(notes, "tool_choice dropped: no function tools left")
        return
    if kind == "tool":
        name = _string(choice.get("name"), "tool_choice.name")
        if name not in [t["function"]["name"] for t in tools]:
            _fail("tool_choice.name", "%r is not one of the function tools in tools" % name)
        chat["tool_choice"] = {"type": "function", "function": {"name": name}}
    else:
        chat["tool_choice"] = _CHOICES[kind]
    if single and kind != "none":
        chat["parallel_tool_calls"] = False


def _function_tools(tools, notes) -> list:
    if tools is None:
        return []
    out = []
    for i, tool in enumerate(_array(tools, "tools")):
        path = "tools[%d]" % i
        _object(tool, path)
        kind = tool.get("type")
        if kind is not None and _string(kind, path + ".type") != "custom":
            _note(notes, "server tool %s (%s) dropped" % (tool.get("name"), kind))
            continue
        fn = {"name": _string(tool.get("name"), path + ".name")}
        if tool.get("description") is not None:
            fn["description"] = _string(tool["description"], path + ".description")
        schema = tool.get("input_schema")
        fn["parameters"] = ({"type": "object", "properties": {}} if schema is None
                            else _object(schema, path + ".input_schema"))
        out.append({"type": "function", "function": fn})
    return out


def _add_output_config(body, chat):
    config = body.get("output_config")
    if config is not None:
        _object(config, "output_config")
    effort = _reasoning_effort(body.get("thinking"), config or {})
    if effort:
        chat["reasoning_effort"] = effort
    fmt = (config or {}).get("format")
    if fmt is not None:
        _object(fmt, "output_config.format")
        if fmt.get("type") != "json_schema":
            _bad("output_config.format.type", '"json_schema"')
        schema = _object(fmt.get("schema"), "output_config.format.schema")
        chat["response_format"] = {"type": "json_schema",
                                   "json_schema": {"name": "output", "schema": schema}}


def _reasoning_effort(thinking, config):
    if thinking is None:
        return None
    _object(thinking, "thinking")
    kind = thinking.get("type")
    if kind not in ("enabled", "adaptive", "disabled"):
        _bad("thinking.type", 'one of "enabled", "adaptive" or "disabled"')
    if kind == "disabled":
        return None
    if kind == "adaptive":
        effort = config.get("effort")
        if effort is None:
            return "medium"
        if not isinstance(effort, str) or effort not in _EFFORTS:
            _bad("output_config.effort", 'one of "low", "medium", "high", "xhigh" or "max"')
        return _EFFORTS[effort]
    budget = thinking.get("budget_tokens")
    if budget is None:
        return "medium"
    budget = _integer(budget, "thinking.budget_tokens")
    return "low" if budget < 4096 else "medium" if budget < 16384 else "high"
