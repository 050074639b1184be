"""Native tool calling over Argo's legacy `/chat/`: OpenAI tools to each vendor's shape and back.

Argo's legacy chat takes `tools` and `tool_choice` in the model vendor's own shape
(reference §4.2) and answers with vendor-shaped tool calls (§1.4). Quirks have already
run on the body (tool_choice objects for Claude, `name` on Gemini tool results,
Gemini calls one per turn); this module does the shape conversion only.
"""

from __future__ import annotations

import ast
import json
import re
import uuid

from ..errors import ProxyError

EMPTY_SCHEMA = {"type": "object", "properties": {}}

_ANTHROPIC_CHOICE_TYPES = ("auto", "any", "none", "tool")
_GEMINI_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}
_KINDS = {"auto": "auto", "required": "required", "any": "required", "none": "none",
          "validated": "auto"}


def new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


# -- request side ---------------------------------------------------------------------

def tool_function(tool, index=0) -> dict:
    """`{"name","description","parameters"}` of one client tool, with defaults filled in.

    Accepts OpenAI chat tools, and flat tools (`name` + `parameters` or Anthropic's
    `input_schema`). A tool we cannot express is a 400, never a silent downgrade.
    """
    if not isinstance(tool, dict):
        raise ProxyError(400, "tools[%d] must be an object" % index, param="tools")
    kind = tool.get("type", "function")
    fn = tool.get("function") if isinstance(tool.get("function"), dict) else tool
    if kind not in ("function", "custom") and "function" not in tool:
        raise ProxyError(400, "tools[%d]: tool type %r is not supported; only function tools are"
                         % (index, kind), param="tools")
    name = fn.get("name")
    if not isinstance(name, str) or not name:
        raise ProxyError(400, "tools[%d].function.name is required" % index, param="tools")
    params = fn.get("parameters", fn.get("input_schema"))
    return {"name": name, "description": fn.get("description") or "",
            "parameters": params if isinstance(params, dict) else dict(EMPTY_SCHEMA)}


def choice_kind(choice):
    """Any tool_choice form (OpenAI, Anthropic, Gemini) as (kind, name).

    kind is "auto", "required", "none" or "named"; name is set for "named".
    An absent (None) choice means "auto", as in the OpenAI API.
    """
    if choice is None:
        return "auto", None
    if isinstance(choice, str):
        kind = _KINDS.get(choice.lower())
        if kind:
            return kind, None
        raise ProxyError(400, "tool_choice %r is not valid; use auto, none, required or a "
                         "named function" % choice, param="tool_choice")
    if isinstance(choice, dict):
        found = _dict_choice_kind(choice)
        if found:
            return found
    raise ProxyError(400, "tool_choice %s is not valid" % json.dumps(choice)[:200],
                     param="tool_choice")


def _dict_choice_kind(choice):
    kind = choice.get("type")
    if kind == "function":
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        return ("named", name) if name else None
    if kind == "tool":
        return ("named", choice["name"]) if choice.get("name") else None
    if isinstance(kind, str) and kind.lower() in _KINDS:
        return _KINDS[kind.lower()], None
    mode = choice.get("mode")
    if isinstance(mode, str) and mode.lower() in _KINDS:
        names = choice.get("allowed_function_names") or []
        if _KINDS[mode.lower()] == "required" and len(names) == 1:
            return "named", names[0]
        return _KINDS[mode.lower()], None
    return None


def to_family(body, family) -> None:
    """Convert `tools`, `tool_choice` and tool history to `family`'s shape, in place.

    openai: tools and tool_choice as the client sent them (`strict` included); only
      history arguments given as objects are dumped to the JSON strings OpenAI wants.
    anthropic: see `_to_anthropic`. google: see `_to_google`.
    Message dicts are replaced, never mutated, so the caller's originals stay intact.
    """
    if family == "anthropic":
        _to_anthropic(body)
    elif family == "google":
        _to_google(body)
    elif isinstance(body.get("messages"), list):
        body["messages"] = [_openai_history(m) for m in body["messages"]]


def _openai_history(msg):
    if not isinstance(msg, dict) or not msg.get("tool_calls"):
        return msg
    calls = []
    for call in msg["tool_calls"]:
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict) and not isinstance(fn.get("arguments"), str):
            call = dict(call, function=dict(fn, arguments=_args_json(fn.get("arguments"))))
        calls.append(call)
    return dict(msg, tool_calls=calls)


def parse_arguments(args) -> dict:
    """Tool-call arguments as an object. Missing, invalid or non-object JSON gives {}:
    Anthropic and Gemini need an object, and a 400 for one bad history turn would
    end the whole conversation."""
    if isinstance(args, dict):
        return args
    if isinstance(args, str) and args.strip():
        try:
            value = json.loads(args)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}
    return {}


# -- Anthropic -----------------------------------------------------------------------

def _to_anthropic(body):
    """Claude via Argo.

    tools -> `{"name","description","input_schema"}` with every schema key kept.
    tool_choice -> `{"type": auto|any|none|tool}` (object forms pass unchanged); with
    `parallel_tool_calls: false`, `disable_parallel_tool_use: true` is added.
    An assistant turn with tool calls -> content blocks: a text block (if there is
    text) then `tool_use` blocks whose `input` is the parsed arguments (bad JSON -> {}).
    Consecutive tool messages -> ONE user message of `tool_result` blocks, as the
    Anthropic API expects after a turn of parallel calls.
    """
    fns = [tool_function(t, i) for i, t in enumerate(body.get("tools") or [])]
    body["tools"] = [{"name": f["name"], "description": f["description"],
                      "input_schema": f["parameters"]} for f in fns]
    choice = _anthropic_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is None:
        body.pop("tool_choice", None)
    else:
        body["tool_choice"] = choice
    if isinstance(body.get("messages"), list):
        body["messages"] = _anthropic_history(body["messages"])


def _anthropic_choice(choice, parallel):
    if choice is None and parallel is not False:
        return None                      # absent means auto for Claude too
    if isinstance(choice, dict) and choice.get("type") in _ANTHROPIC_CHOICE_TYPES:
        if choice["type"] == "tool" and not choice.get("name"):
            raise ProxyError(400, "tool_choice of type tool needs a name", param="tool_choice")
        out = dict(choice)
    else:
        kind, name = choice_kind(choice)
        out = {"auto": {"type": "auto"}, "required": {"type": "any"},
               "none": {"type": "none"}}.get(kind) or {"type": "tool", "name": name}
    if parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def _anthropic_history(messages):
    out = []
    results = None          # the user message collecting the current run of tool results
    for msg in messages:
        role = msg.get("role") if isinstance(msg, dict) else None
        if role == "tool":
            block = {"type": "tool_result", "tool_use_id": msg.get("tool_call_id"),
                     "content": _result_content(msg.get("content"))}
            if results is None:
                results = {"role": "user", "content": []}
                out.append(results)
            results["content"].append(block)
            continue
        results = None
        if role == "assistant" and msg.get("tool_calls"):
            msg = _anthropic_assistant(msg)
        out.append(msg)
    return out


def _anthropic_assistant(msg):
    blocks = []
    content = msg.get("content")
    if isinstance(content, str) and content.strip():
        blocks.append({"type": "text", "text": content})
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                if (part.get("text") or "").strip():    # Claude refuses blank text blocks
                    blocks.append({"type": "text", "text": part["text"]})
            elif isinstance(part, dict):
                blocks.append(part)
    for call in msg["tool_calls"]:
        fn = (call.get("function") or {}) if isinstance(call, dict) else {}
        blocks.append({"type": "tool_use", "id": call.get("id"), "name": fn.get("name"),
                       "input": parse_arguments(fn.get("arguments"))})
    new = {k: v for k, v in msg.items() if k != "tool_calls"}
    new["content"] = blocks
    return new


def _result_content(content):
    if isinstance(content, list):
        return [{"type": "text", "text": p.get("text", "")} if isinstance(p, dict)
                and p.get("type") == "text" else p for p in content]
    return "" if content is None else content


# -- Gemini ---------------------------------------------------------------------------

def _to_google(body):
    """Gemini via Argo.

    tools -> function declarations `{"name","description","parameters"}`.
    tool_choice -> Gemini's FunctionCallingConfig modes: "AUTO", "ANY", "NONE", and a
    named function as `{"mode": "ANY", "allowed_function_names": [name]}` (ANY limited
    to one function is how Gemini forces a specific call; there is no FUNCTION_CALLING
    mode). Gemini forms (upper-case strings, dicts with `mode`) pass unchanged.
    History: `tool_calls` -> `[{"id","args": <parsed>,"name"}]`; tool messages stay
    role "tool" with `name` (filled from the call if missing) and `content`.
    """
    fns = [tool_function(t, i) for i, t in enumerate(body.get("tools") or [])]
    body["tools"] = fns
    choice = body.get("tool_choice")
    if choice is None:
        body.pop("tool_choice", None)
    elif not (isinstance(choice, str) and choice in _GEMINI_MODES.values()) and not (
            isinstance(choice, dict) and "mode" in choice):
        kind, name = choice_kind(choice)
        body["tool_choice"] = _GEMINI_MODES.get(kind) or {
            "mode": "ANY", "allowed_function_names": [name]}
    if isinstance(body.get("messages"), list):
        body["messages"] = _google_history(body["messages"])


def _google_history(messages):
    names = {}
    out = []
    for msg in messages:
        if not isinstance(msg, dict):
            out.append(msg)
            continue
        if msg.get("role") == "assistant" and msg.get("tool_calls"):
            calls = []
            for call in msg["tool_calls"]:
                fn = (call.get("function") or {}) if isinstance(call, dict) else {}
                names[call.get("id")] = fn.get("name")
                calls.append({"id": call.get("id"), "args": parse_arguments(fn.get("arguments")),
                              "name": fn.get("name")})
            msg = dict(msg, tool_calls=calls)
        elif msg.get("role") == "tool" and not msg.get("name") and names.get(msg.get("tool_call_id")):
            msg = dict(msg, name=names[msg.get("tool_call_id")])
        out.append(msg)
    return out


# -- response side ----------------------------------------------------------------

def from_family(response_obj, family):
    """Argo's dict `response` as (content, OpenAI tool_calls).

    Each element of `tool_calls` is recognised by its shape, so a family mix-up
    cannot lose a call: OpenAI (`function`, arguments as a string or an object),
    Anthropic (`tool_use` with `input`), Gemini (`args`, `id` null). `content` may
    be a string or an array of text / tool_use blocks. Tool calls leaked into the
    text as Python-dict-like strings are extracted. Ids are unique in the reply
    (missing or repeated ids get fresh `call_` ids). Content is None when empty
    and there are tool calls, else the text ("" if there was none).
    """
    obj = response_obj
    if isinstance(obj.get("response"), dict):          # doubly nested reply
        obj = obj["response"]
    text, calls = split_blocks(obj.get("content"))
    raw = obj.get("tool_calls")
    for item in raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []:
        call = _openai_call(item)
        if call:
            calls.append(call)
    if "tool_use" in text:
        text, leaked = leaked_tool_calls(text)
        calls.extend(leaked)
    _unique_ids(calls)
    if calls and not text.strip():
        return None, calls
    return text, calls


def split_blocks(content):
    """(text, tool calls) of a content value: a string, a block or a list of blocks."""
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    blocks = content if isinstance(content, list) else [content]
    texts, calls = [], []
    for block in blocks:
        if isinstance(block, str):
            texts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            texts.append(block.get("text") or "")
        elif isinstance(block, dict) and block.get("type") == "tool_use":
            call = _openai_call(block)
            if call:
                calls.append(call)
    return "\n".join(t for t in texts if t), calls


def _openai_call(raw):
    if not isinstance(raw, dict):
        return None
    fn = raw.get("function")
    if isinstance(fn, dict):
        name, args = fn.get("name"), fn.get("arguments")
    elif "input" in raw or raw.get("type") == "tool_use":
        name, args = raw.get("name"), raw.get("input")
    else:
        name, args = raw.get("name"), raw.get("args", raw.get("arguments"))
    if not isinstance(name, str) or not name:
        return None
    return {"id": raw.get("id"), "type": "function",
            "function": {"name": name, "arguments": _args_json(args)}}


def _args_json(args) -> str:
    if isinstance(args, str):
        return args if args.strip() else "{}"
    if args is None:
        return "{}"
    return json.dumps(args, ensure_ascii=False)


def _unique_ids(calls):
    seen = set()
    for call in calls:
        cid = call.get("id")
        if not isinstance(cid, str) or not cid or cid in seen:
            cid = call["id"] = new_call_id()
        seen.add(cid)


# -- leaked Claude tool calls -------------------------------------------------------

_LEAK_START = re.compile(r"\{\s*['\"]")
_STRING_OR_JSON_WORD = re.compile(
    r"(\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*')|\b(true|false|null)\b")
_PY_WORD = {"true": "True", "false": "False", "null": "None"}
_MAX_SPAN = 200000


def leaked_tool_calls(text):
    """(clean_text, calls): Claude tool_use blocks printed into the text as dict literals.

    Looks at balanced-brace spans that start like a dict (`{'` or `{"`), parses each
    with `ast.literal_eval` (JSON true/false/null accepted), and takes those that are
    `{"type": "tool_use", "name": ..., "input": ...}`. Those spans are removed;
    everything else in the text is left as it was.
    """
    if not isinstance(text, str) or "tool_use" not in text:
        return text, []
    calls, pieces, pos = [], [], 0
    match = _LEAK_START.search(text, pos)
    while match:
        start = match.start()
        end = _balanced_end(text, start)
        value = _literal(text[start:end]) if end > 0 and "tool_use" in text[start:end] else None
        call = _openai_call(value) if _is_tool_use(value) else None
        if call:
            calls.append(call)
            pieces.append(text[pos:start].rstrip(" \t"))
            pos = end
            match = _LEAK_START.search(text, end)
        else:
            match = _LEAK_START.search(text, start + 1)
    if not calls:
        return text, []
    pieces.append(text[pos:])
    return "".join(pieces).strip(), calls


def _is_tool_use(value):
    return isinstance(value, dict) and value.get("type") == "tool_use" and bool(value.get("name"))


def _balanced_end(text, start):
    """Index just past the `}` closing the `{` at start, or -1. Quotes are respected."""
    depth, quote, i = 0, None, start
    stop = min(len(text), start + _MAX_SPAN)
    while i < stop:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def _literal(span):
    """A Python or JSON literal, or None."""
    pythonish = _STRING_OR_JSON_WORD.sub(
        lambda m: m.group(1) or _PY_WORD[m.group(2)], span)
    for candidate in (span, pythonish):
        try:
            return ast.literal_eval(candidate)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    try:
        return json.loads(span)
    except ValueError:
        return None
