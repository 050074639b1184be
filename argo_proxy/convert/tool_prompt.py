"""Tool calling by prompt: for models Argo cannot give native tools, and `--tool-prompting`.

The tools go into the system prompt, the model writes
`<tool_call>{"name": "...", "arguments": {...}}</tool_call>` blocks, and `parse`
turns those back into OpenAI tool calls. Tool history is rewritten as plain text,
because a model without native tools cannot read `tool_calls` or `role: "tool"`.
"""

from __future__ import annotations

import json
import re

from .tools import choice_kind, new_call_id, tool_function

OPEN, CLOSE = "<tool_call>", "</tool_call>"

_CHOICE_TEXT = {
    "auto": "auto. Decide for yourself whether a tool call helps; if it does not, answer "
            "directly in plain text.",
    "none": "none. Do NOT call any tool in this reply, whatever the question; answer in "
            "plain text.",
    "required": "required. You MUST call at least one of the tools in this reply.",
}


def inject(body, tools, tool_choice, parallel) -> None:
    """Put the tool instructions into the system prompt of `body` and remove the
    native tool keys, in place.

    An absent `tool_choice` (None) means "auto", as in the OpenAI API; an absent
    `parallel` means parallel calls are allowed (the OpenAI default).
    """
    text = tool_prompt(tools, tool_choice, parallel)
    for key in ("tools", "tool_choice", "parallel_tool_calls"):
        body.pop(key, None)
    if isinstance(body.get("messages"), list):
        body["messages"] = _add_to_system(rewrite_history(body["messages"]), text)
    else:
        system = body.get("system")
        if isinstance(system, list):
            body["system"] = list(system) + [text]
        elif isinstance(system, str) and system:
            body["system"] = system + "\n\n" + text
        else:
            body["system"] = text


def tool_prompt(tools, tool_choice, parallel) -> str:
    """The system-prompt text describing the tools, the choice and the call format."""
    fns = [tool_function(t, i) for i, t in enumerate(tools or [])]
    kind, name = choice_kind(tool_choice)
    if kind == "named":
        policy = "%s. You MUST call the tool `%s` in this reply." % (name, name)
    else:
        policy = _CHOICE_TEXT[kind]
    if parallel is False:
        count = "Call at most one tool per reply."
    else:
        count = "You may call several tools in one reply: write one block per call."
    lines = [
        "# Tools",
        "You can call these tools. Each has a name, a description and a JSON Schema "
        "for its arguments:",
        json.dumps(fns, ensure_ascii=False),
        "",
        "Tool choice: " + policy,
        count,
        "",
        "To call a tool, write a block in exactly this format, with one JSON object "
        "holding the tool name and its arguments:",
        OPEN + '{"name": "tool_name", "arguments": {"arg": "value"}}' + CLOSE,
        "",
        "Rules:",
        "- \"arguments\" is a JSON object that matches the tool's schema.",
        "- Do not put the block in a code fence and do not use any other tags.",
        "- After your tool calls, stop. The results come back in the next message as "
        "\"Result of <name> (call <id>): ...\". Never invent a result yourself.",
        "- When you do not call a tool, answer in plain text without any " + OPEN + " tags.",
    ]
    return "\n".join(lines)


def _add_to_system(messages, text):
    for i, msg in enumerate(messages):
        if isinstance(msg, dict) and msg.get("role") == "system":
            content = msg.get("content")
            if isinstance(content, list):
                content = list(content) + [{"type": "text", "text": text}]
            elif isinstance(content, str) and content:
                content = content + "\n\n" + text
            else:
                content = text
            return messages[:i] + [dict(msg, content=content)] + messages[i + 1:]
    return [{"role": "system", "content": text}] + messages


def rewrite_history(messages):
    """Assistant tool calls become `<tool_call>` text; tool results become one user
    message per run of results ("Result of <name> (call <id>): <content>")."""
    names, out = {}, []
    results = None
    for msg in messages:
        role = msg.get("role") if isinstance(msg, dict) else None
        if role == "tool":
            line = "Result of %s (call %s): %s" % (
                msg.get("name") or names.get(msg.get("tool_call_id")) or "tool",
                msg.get("tool_call_id"), _text(msg.get("content")))
            if results is None:
                results = {"role": "user", "content": line}
                out.append(results)
            else:
                results["content"] += "\n\n" + line
            continue
        results = None
        if role == "assistant" and msg.get("tool_calls"):
            msg = _calls_as_text(msg, names)
        out.append(msg)
    return out


def _calls_as_text(msg, names):
    parts = [_text(msg.get("content"))] if _text(msg.get("content")).strip() else []
    for call in msg["tool_calls"]:
        fn = (call.get("function") or {}) if isinstance(call, dict) else {}
        names[call.get("id")] = fn.get("name")
        args = fn.get("arguments")
        try:
            args = json.loads(args) if isinstance(args, str) and args.strip() else args or {}
        except ValueError:
            pass                         # keep the string: better than losing it
        parts.append(OPEN + json.dumps({"name": fn.get("name"), "arguments": args},
                                       ensure_ascii=False) + CLOSE)
    new = {k: v for k, v in msg.items() if k != "tool_calls"}
    new["content"] = "\n".join(parts)
    return new


def _text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text") or "" for p in content
                         if isinstance(p, dict) and p.get("type") == "text")
    if content is None:
        return ""
    return json.dumps(content, ensure_ascii=False)


# -- parsing the model's reply ---------------------------------------------------

_FENCE = re.compile(r"^```[A-Za-z0-9_-]*[ \t]*\n?(.*?)\n?[ \t]*```$", re.S)
_EMPTY_FENCE = re.compile(r"```[A-Za-z0-9_-]*\s*```")


def parse(text):
    """(content, tool_calls) from a reply that may hold `<tool_call>` blocks.

    Tolerates several blocks, whitespace and newlines, a code fence around the
    JSON, an unclosed last block, arguments as an object or a JSON string, and
    `parameters` for `arguments`. A block whose JSON does not parse stays in the
    text as written. Content is the text outside the blocks, stripped; None if
    that is empty and there are calls.
    """
    if not isinstance(text, str):
        return text, []
    calls, kept, pos = [], [], 0
    while True:
        start = text.find(OPEN, pos)
        if start < 0:
            break
        end = text.find(CLOSE, start + len(OPEN))
        stop = len(text) if end < 0 else end + len(CLOSE)
        inner = text[start + len(OPEN):end if end >= 0 else len(text)]
        call = _load_call(inner)
        kept.append(text[pos:start] if call else text[pos:stop])
        if call:
            calls.append(call)
        pos = stop
    kept.append(text[pos:])
    content = "".join(kept)
    if calls:
        content = _EMPTY_FENCE.sub("", content)
    content = content.strip()
    if calls and not content:
        return None, calls
    return content, calls


def _load_call(inner):
    body = inner.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        obj = json.loads(body)
    except ValueError:
        return None
    if isinstance(obj, dict) and isinstance(obj.get("function"), dict):
        obj = obj["function"]
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not obj["name"]:
        return None
    args = obj.get("arguments", obj.get("parameters"))
    if isinstance(args, str):
        try:
            json.loads(args or "{}")
        except ValueError:
            return None
        args_json = args or "{}"
    else:
        args_json = json.dumps({} if args is None else args, ensure_ascii=False)
    return {"id": new_call_id(), "type": "function",
            "function": {"name": obj["name"], "arguments": args_json}}
