"""Responses API input items as chat messages (the turns of a chat body)."""

from __future__ import annotations

import json

from ..errors import ProxyError
from .responses_tools import add_tools, bad, get_str
from .validate import expect, expect_choice

_TEXT_PARTS = ("input_text", "output_text", "text", "summary_text", "reasoning_text")
_ROLES = ("user", "assistant", "system", "developer")
# Items a hosted tool or OpenAI's own service produced: nothing to replay to another model.
_SERVER_ITEMS = frozenset((
    "web_search_call", "file_search_call", "image_generation_call", "code_interpreter_call",
    "computer_call", "computer_call_output", "mcp_call", "mcp_list_tools",
    "mcp_approval_request", "mcp_approval_response", "compaction", "compaction_summary",
    "compaction_trigger", "ghost_snapshot"))
NO_RESULT = "[no result was recorded for this tool call]"


def plain_text(part, path):
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        bad(path, "a string or a text part")
    return get_str(part, "text", path) or ""


def add_input(ctx, turns, value, have_history):
    if value is None or value == "" or value == []:
        if not have_history:
            raise ProxyError(400, "input is required", param="input")
        return
    if isinstance(value, str):
        turns.message({"role": "user", "content": value})
    else:
        add_items(ctx, turns, value, "input")


class Context:
    def __init__(self, tools, lookup):
        self.tools = tools
        self.lookup = lookup


class Turns:
    """Chat messages built item by item, keeping chat's rules: an assistant turn's calls
    and text are one message, its calls are answered by tool messages right after it (a
    call left without a result gets a placeholder one), and images a tool returned follow
    the results as a user message (tool messages carry text only)."""

    def __init__(self, notes):
        self.messages = []
        self.notes = notes
        self._unanswered = []
        self._images = []

    def _last_assistant(self):
        last = self.messages[-1] if self.messages else None
        return last if last and last["role"] == "assistant" and not self._images else None

    def message(self, msg):
        last = self._last_assistant()
        if msg["role"] == "assistant" and last is not None and last.get("tool_calls"):
            last["content"] = "\n".join(t for t in (last.get("content"), msg["content"]) if t)
            return
        self.settle()
        self.messages.append(msg)

    def call(self, call_id, name, arguments):
        call = {"id": call_id, "type": "function",
                "function": {"name": name, "arguments": arguments or "{}"}}
        last = self._last_assistant()
        if last is None:
            self.settle()
            last = {"role": "assistant", "content": ""}
            self.messages.append(last)
        last.setdefault("tool_calls", []).append(call)
        self._unanswered.append(call_id)

    def result(self, call_id, text, images=()):
        if call_id not in self._unanswered:
            self.notes.append("tool output for unknown call %r sent as user text" % call_id)
            content = "Result of tool call %s:\n%s" % (call_id, text)
            self.message({"role": "user", "content": [{"type": "text", "text": content}]
                          + list(images)} if images else {"role": "user", "content": content})
            return
        self._unanswered.remove(call_id)
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": text})
        self._images.extend(images)

    def settle(self):
        """Close the open tool-call turn: placeholders for missing results, then images."""
        for call_id in self._unanswered:
            self.notes.append("tool call %r had no output; a placeholder result was sent" % call_id)
            self.messages.append({"role": "tool", "tool_call_id": call_id, "content": NO_RESULT})
        self._unanswered = []
        if self._images:
            intro = {"type": "text", "text": "Images returned by the tool call(s) above:"}
            self.messages.append({"role": "user", "content": [intro] + self._images})
            self._images = []


# -- input items -------------------------------------------------------------------------

def add_items(ctx, turns, items, path):
    for i, item in enumerate(items):
        _item(ctx, turns, item, "%s[%d]" % (path, i))


def _item(ctx, turns, item, path, resolved=False):
    if isinstance(item, str):
        turns.message({"role": "user", "content": item})
        return
    if not isinstance(item, dict):
        bad(path, "an item object")
    kind = item.get("type") or ("message" if "role" in item else None)
    if not isinstance(kind, str):
        bad(path + ".type", "an item type (a message item needs %s.role)" % path)
    handler = _HANDLERS.get(kind)
    if handler is not None:
        handler(ctx, turns, item, path)
    elif kind == "item_reference" and not resolved:
        _item(ctx, turns, _resolve(ctx, item, path), path, resolved=True)
    elif kind == "reasoning":
        pass                    # never forwarded (encrypted_content is OpenAI's own)
    elif kind in _SERVER_ITEMS:
        turns.notes.append("%s: %s item dropped" % (path, kind))
    else:
        turns.notes.append("%s: unknown item type %r dropped" % (path, kind))


def _resolve(ctx, item, path):
    ref_id = get_str(item, "id", path, required=True)
    found = ctx.lookup(ref_id) if ctx.lookup is not None else None
    if not isinstance(found, dict) or found.get("type") == "item_reference":
        raise ProxyError(400, "%s: item_reference %r does not name a stored item" % (path, ref_id),
                         param=path + ".id", code="not_found")
    return found


def _message(ctx, turns, item, path):
    role = expect_choice(item.get("role"), path + ".role", _ROLES)
    content = item.get("content")
    if content is None:
        bad(path + ".content", "a string or a list of content parts")
    if isinstance(content, str):
        turns.message({"role": role, "content": content})
        return
    if not isinstance(content, list):
        bad(path + ".content", "a string or a list of content parts")
    parts = [_part(p, "%s.content[%d]" % (path, j)) for j, p in enumerate(content)]
    images = [j for j, p in enumerate(parts) if p["type"] != "text"]
    if images and role != "user":
        raise ProxyError(400, "%s.content[%d]: images are only supported in user messages"
                         % (path, images[0]), param="%s.content[%d]" % (path, images[0]))
    if not images:
        sep = "" if role == "assistant" else "\n"
        turns.message({"role": role, "content": sep.join(p["text"] for p in parts)})
    else:
        turns.message({"role": role, "content": parts})


def _part(part, path):
    if isinstance(part, str):
        return {"type": "text", "text": part}
    if not isinstance(part, dict):
        bad(path, "a content part object")
    kind = expect(part.get("type"), path + ".type", "a string")
    if kind in _TEXT_PARTS:
        return {"type": "text", "text": expect(part.get("text"), path + ".text", "a string")}
    if kind == "refusal":
        return {"type": "text", "text": expect(part.get("refusal"), path + ".refusal", "a string")}
    if kind == "input_image":
        return _image(part, path)
    if kind == "input_file":
        raise ProxyError(400, "%s: input_file is not supported; send the file's text as "
                         "input_text" % path, param=path, code="unsupported_content")
    raise ProxyError(400, "%s.type: content part type %r is not supported" % (path, kind),
                     param=path + ".type", code="unsupported_content")


def _image(part, path):
    url = part.get("image_url")
    if isinstance(url, dict):
        url = url.get("url")
    if not url and part.get("file_id"):
        raise ProxyError(400, "%s: input_image with file_id is not supported; send image_url "
                         "(an http(s) URL or a data: URL)" % path, param=path + ".file_id",
                         code="unsupported_content")
    if not isinstance(url, str) or not url:
        bad(path + ".image_url", "an image URL or data URL")
    image = {"url": url}
    detail = get_str(part, "detail", path)
    if detail:
        image["detail"] = detail
    return {"type": "image_url", "image_url": image}


def _call_id(item, path):
    call_id = item.get("call_id") or item.get("id")
    if not isinstance(call_id, str) or not call_id:
        bad(path + ".call_id", "a non-empty string")
    return call_id


def _output(value, path):
    """A tool output (string, or a list of content parts) as (text, image parts)."""
    if value is None or isinstance(value, str):
        return value or "", []
    if not isinstance(value, list):
        return json.dumps(value, ensure_ascii=False), []
    texts, images = [], []
    for j, part in enumerate(value):
        where = "%s[%d]" % (path, j)
        if isinstance(part, dict) and part.get("type") == "input_image":
            images.append(_image(part, where))
        elif isinstance(part, dict) and part.get("type") == "input_file":
            texts.append("[file %s not forwarded]" % (part.get("filename") or ""))
        else:
            texts.append(plain_text(part, where))
    if images:
        texts.append("[%d image(s) attached in the next message]" % len(images))
    return "\n".join(texts), images


def _function_call(ctx, turns, item, path):
    name = get_str(item, "name", path, required=True)
    namespace = get_str(item, "namespace", path)
    arguments = get_str(item, "arguments", path) or "{}"
    ref = ctx.tools.find("function", name, namespace)
    if ref is not None and ref.kind == "custom":      # a custom tool's call as a function call
        arguments = json.dumps({"input": arguments}, ensure_ascii=False)
    chat_name = ref.chat_name if ref is not None else ctx.tools.chat_name("function", name,
                                                                         namespace)
    turns.call(_call_id(item, path), chat_name, arguments)


def _custom_call(ctx, turns, item, path):
    name = get_str(item, "name", path, required=True)
    namespace = get_str(item, "namespace", path)
    arguments = json.dumps({"input": get_str(item, "input", path) or ""}, ensure_ascii=False)
    turns.call(_call_id(item, path), ctx.tools.chat_name("custom", name, namespace), arguments)


def _tool_output(ctx, turns, item, path):
    text, images = _output(item.get("output"), path + ".output")
    turns.result(_call_id(item, path), text, images)


def _local_shell_call(ctx, turns, item, path):
    action = item.get("action")
    if not isinstance(action, dict):
        bad(path + ".action", "an object")
    args = {"command": action.get("command") or []}
    if action.get("working_directory"):
        args["workdir"] = action["working_directory"]
    if action.get("timeout_ms") is not None:
        args["timeout_ms"] = action["timeout_ms"]
    turns.call(_call_id(item, path), ctx.tools.chat_name("local_shell"), json.dumps(args))


def _shell_call(ctx, turns, item, path):
    action = item.get("action")
    if not isinstance(action, dict):
        bad(path + ".action", "an object")
    args = {k: action[k] for k in ("commands", "timeout_ms", "max_output_length")
            if action.get(k) is not None}
    turns.call(_call_id(item, path), ctx.tools.chat_name("shell"), json.dumps(args))


def _shell_output(ctx, turns, item, path):
    output = item.get("output")
    if not isinstance(output, list):
        return _tool_output(ctx, turns, item, path)
    texts = []
    for entry in output:
        entry = entry if isinstance(entry, dict) else {"stdout": str(entry)}
        outcome = entry.get("outcome") or {}
        end = ("timed out" if outcome.get("type") == "timeout"
               else "exit code %s" % outcome.get("exit_code"))
        texts.append("\n".join(t for t in (entry.get("stdout"), entry.get("stderr") and
                                           "stderr:\n" + entry["stderr"], "[%s]" % end) if t))
    turns.result(_call_id(item, path), "\n\n".join(texts))


def _apply_patch_call(ctx, turns, item, path):
    operation = item.get("operation")
    if not isinstance(operation, dict):
        bad(path + ".operation", "an object")
    turns.call(_call_id(item, path), ctx.tools.chat_name("apply_patch"),
               json.dumps(operation, ensure_ascii=False))


def _apply_patch_output(ctx, turns, item, path):
    status, output = item.get("status") or "completed", item.get("output") or ""
    turns.result(_call_id(item, path), "\n".join(t for t in ("[%s]" % status, output) if t))


def _tool_search_call(ctx, turns, item, path):
    turns.call(_call_id(item, path), ctx.tools.chat_name("tool_search"),
               json.dumps(item.get("arguments") or {}, ensure_ascii=False))


def _tool_search_output(ctx, turns, item, path):
    found = item.get("tools") or []
    add_tools(found, path + ".tools", ctx.tools)
    names = [t.get("name") for t in found if isinstance(t, dict) and t.get("name")]
    text = "Tools now available: " + ", ".join(names) if names else "No tools found."
    turns.result(_call_id(item, path), text)


def _additional_tools(ctx, turns, item, path):
    add_tools(item.get("tools") or [], path + ".tools", ctx.tools)


_HANDLERS = {
    "message": _message,
    "function_call": _function_call, "function_call_output": _tool_output,
    "custom_tool_call": _custom_call, "custom_tool_call_output": _tool_output,
    "local_shell_call": _local_shell_call, "local_shell_call_output": _tool_output,
    "shell_call": _shell_call, "shell_call_output": _shell_output,
    "apply_patch_call": _apply_patch_call, "apply_patch_call_output": _apply_patch_output,
    "tool_search_call": _tool_search_call, "tool_search_output": _tool_search_output,
    "additional_tools": _additional_tools,
}
