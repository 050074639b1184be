"""The conversation of a Gemini generateContent request as OpenAI chat messages, and the
field checks the Gemini converters share.

Field names are accepted in REST camelCase and in snake_case (the Python SDK sends some
nested objects, e.g. `thinkingConfig`, `inlineData`, in snake_case). A wrong type anywhere
is a 400 naming the field path as the client spelled it. `notes` collects short strings
naming what the hub cannot carry and was dropped, for the caller to log.
"""

from __future__ import annotations

import json
import re

from ..errors import ProxyError
from .validate import bad

# Part fields that carry data (a part has exactly one) and ones that only describe it.
_DATA_FIELDS = ("text", "inlineData", "fileData", "functionCall", "functionResponse",
                "executableCode", "codeExecutionResult")
_META_FIELDS = ("thought", "thoughtSignature", "videoMetadata", "partMetadata",
                "mediaResolution")


# -- field access and checks --------------------------------------------------------

def snake(name) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def camel(name) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def join(path, name) -> str:
    return "%s.%s" % (path, name) if path else name


def pick(obj, name, path):
    """(value, path) of field `name` (camelCase) or its snake_case twin; null counts as
    absent. The path names the key the client used (the camelCase one when absent)."""
    if obj.get(name) is not None:
        return obj[name], join(path, name)
    twin = snake(name)
    if obj.get(twin) is not None:
        return obj[twin], join(path, twin)
    return None, join(path, name)


def fail(path, message):
    raise ProxyError(400, "%s: %s" % (path, message), param=path)


def string(value, path):
    if not isinstance(value, str):
        bad(path, "a string")
    return value


def mapping(value, path):
    if not isinstance(value, dict):
        bad(path, "an object")
    return value


def array(value, path):
    if not isinstance(value, list):
        bad(path, "an array")
    return value


def number(value, path):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        bad(path, "a number")
    return value


def integer(value, path):
    """An integer; integral floats (the Python SDK sends some counts as 4.0) count too."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        bad(path, "an integer")
    return value


def boolean(value, path):
    if not isinstance(value, bool):
        bad(path, "true or false")
    return value


def strings(value, path) -> list:
    for i, item in enumerate(array(value, path)):
        string(item, "%s[%d]" % (path, i))
    return value


def note(notes, text):
    if text not in notes:
        notes.append(text)


def compact(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# -- the conversation -----------------------------------------------------------------

def messages(body, root, notes) -> list:
    """systemInstruction and contents as chat messages (`root`: the path of `body`)."""
    return _system(body, root) + _contents(body, root, notes)


def _system(body, root) -> list:
    value, path = pick(body, "systemInstruction", root)
    if value is None:
        return []
    if isinstance(value, str):
        text = value
    else:
        parts, ppath = pick(mapping(value, path), "parts", path)
        texts = []
        for j, part in enumerate(array(parts, ppath) if parts is not None else ()):
            where = "%s[%d]" % (ppath, j)
            if "text" not in mapping(part, where) and any(
                    pick(part, name, where)[0] is not None for name in _DATA_FIELDS):
                fail(where, "only text parts are allowed in systemInstruction")
            texts.append(string(part.get("text"), where + ".text"))
        text = "\n".join(texts)
    return [{"role": "system", "content": text}] if text else []


# -- contents -------------------------------------------------------------------------

class _CallIds:
    """Ids for function calls and their responses: the client's own when it sent them,
    else call_1, call_2... in order; a response without an id takes the oldest open call
    of the same name."""

    def __init__(self):
        self.count = 0
        self.open = {}      # function name -> ids of calls not answered yet

    def _new(self) -> str:
        self.count += 1
        return "call_%d" % self.count

    def call(self, name, given) -> str:
        call_id = given or self._new()
        self.open.setdefault(name, []).append(call_id)
        return call_id

    def response(self, name, given) -> str:
        waiting = self.open.get(name) or []
        if given:
            if given in waiting:
                waiting.remove(given)
            return given
        return waiting.pop(0) if waiting else self._new()


def _contents(body, root, notes) -> list:
    contents, path = pick(body, "contents", root)
    if contents is None:
        raise ProxyError(400, "%s: field required" % path, param=path)
    if not array(contents, path):
        fail(path, "must not be empty")
    ids = _CallIds()
    out = []
    reply = None     # the assistant message that consecutive model contents go into
    for i, content in enumerate(contents):
        where = "%s[%d]" % (path, i)
        role = mapping(content, where).get("role")
        if role is not None and role not in ("user", "model", "function"):
            bad(where + ".role", '"user" or "model"')
        parts, ppath = pick(content, "parts", where)
        if parts is None or not array(parts, ppath):
            fail(ppath, "a content needs at least one part")
        if role != "model":
            out.extend(_user_turn(parts, ppath, ids, notes))
            reply = None
            continue
        turn = _model_turn(parts, ppath, ids, notes)
        if turn is None:
            continue
        if reply is None:
            reply = turn
            out.append(turn)
        else:           # a streamed reply kept chunk by chunk (the SDKs' chat history)
            reply["content"] += turn["content"]
            if turn.get("tool_calls"):
                reply["tool_calls"] = reply.get("tool_calls", []) + turn["tool_calls"]
    return out


def _part_data(part, path):
    """(kind, value, path) of a part's data field; kind None for a part that only
    carries metadata (e.g. a lone thoughtSignature)."""
    mapping(part, path)
    for name in _DATA_FIELDS:
        value, where = pick(part, name, path)
        if value is not None:
            return name, value, where
    known = set(_META_FIELDS) | set(snake(n) for n in _META_FIELDS)
    if part and all(key in known for key in part):
        return None, None, path
    fail(path, "a part needs one of %s" % ", ".join(_DATA_FIELDS))


def _is_thought(part, path) -> bool:
    flag = part.get("thought")
    return flag is not None and boolean(flag, path + ".thought")


def _user_turn(parts, path, ids, notes) -> list:
    """A user turn: its function responses as tool messages first, then the rest as
    one user message."""
    results, pieces = [], []
    for j, part in enumerate(parts):
        where = "%s[%d]" % (path, j)
        kind, value, vpath = _part_data(part, where)
        if kind == "functionResponse":
            results.append(_tool_message(value, vpath, ids, notes))
        elif kind == "functionCall":
            fail(vpath, "functionCall parts belong in model turns")
        elif kind in ("inlineData", "fileData"):
            pieces.append({"type": "image_url", "image_url": {"url": _image_url(kind, value,
                                                                                 vpath)}})
        elif kind is not None:
            pieces.append({"type": "text", "text": _part_text(kind, value, vpath)})
    if pieces:
        texts = [p["text"] for p in pieces if p["type"] == "text"]
        content = "\n".join(texts) if len(texts) == len(pieces) else pieces
        results.append({"role": "user", "content": content})
    return results


def _model_turn(parts, path, ids, notes):
    """A model turn: text joined, functionCall parts as tool_calls, thoughts dropped.
    None when nothing is left (only thoughts, or only empty text)."""
    texts, calls = [], []
    for j, part in enumerate(parts):
        where = "%s[%d]" % (path, j)
        kind, value, vpath = _part_data(part, where)
        if _is_thought(part, where):
            note(notes, "thought parts dropped")
        elif kind == "functionCall":
            calls.append(_tool_call(value, vpath, ids))
        elif kind == "functionResponse":
            fail(vpath, "functionResponse parts belong in user turns")
        elif kind in ("inlineData", "fileData"):
            note(notes, "media parts in model turns dropped")
        elif kind is not None:
            texts.append(_part_text(kind, value, vpath))
    turn = {"role": "assistant", "content": "".join(texts)}
    if not turn["content"] and not calls:
        return None
    if calls:
        turn["tool_calls"] = calls
    return turn


def _part_text(kind, value, path) -> str:
    """A text part, or the code and output of Google-run code execution, as text."""
    if kind == "text":
        return string(value, path)
    mapping(value, path)
    if kind == "executableCode":
        code = string(value.get("code", ""), path + ".code")
        language = value.get("language")
        language = language.lower() if isinstance(language, str) else ""
        return "```%s\n%s\n```" % ("" if language == "language_unspecified" else language, code)
    output = string(value.get("output", ""), path + ".output")
    return "Output:\n%s" % output


def _image_url(kind, value, path) -> str:
    mapping(value, path)
    mime, mpath = pick(value, "mimeType", path)
    if kind == "inlineData":
        mime = string(mime, mpath)
        data, dpath = pick(value, "data", path)
        data = string(data, dpath)
        if not mime.lower().startswith("image/"):
            fail(path, "only images can be sent inline here, not %r" % mime)
        return "data:%s;base64,%s" % (mime, data)
    uri, upath = pick(value, "fileUri", path)
    uri = string(uri, upath)
    if mime is not None and not string(mime, mpath).lower().startswith("image/"):
        fail(path, "only image files are supported here, not %r" % mime)
    if not uri.lower().startswith(("http://", "https://")):
        fail(upath, "only http(s) image URLs are supported here, not %r" % uri)
    return uri


def _tool_call(call, path, ids) -> dict:
    mapping(call, path)
    name = string(call.get("name"), path + ".name")
    args = call.get("args")
    args = {} if args is None else mapping(args, path + ".args")
    given = call.get("id")
    if given is not None:
        string(given, path + ".id")
    return {"id": ids.call(name, given), "type": "function",
            "function": {"name": name, "arguments": compact(args)}}


def _tool_message(reply, path, ids, notes) -> dict:
    mapping(reply, path)
    name = string(reply.get("name"), path + ".name")
    given = reply.get("id")
    if given is not None:
        string(given, path + ".id")
    response = reply.get("response")
    response = {} if response is None else mapping(response, path + ".response")
    if reply.get("parts"):
        note(notes, "functionResponse parts dropped")
    return {"role": "tool", "tool_call_id": ids.response(name, given),
            "content": _response_text(response)}


def _response_text(response) -> str:
    """`{"output": "..."}` or `{"content": "..."}` alone is that text, `{"error": "..."}`
    alone an "Error: ..." text; anything else its compact JSON."""
    if len(response) == 1:
        (key, value), = response.items()
        if isinstance(value, str) and key in ("output", "content"):
            return value
        if isinstance(value, str) and key == "error":
            return value if value.lower().startswith("error") else "Error: " + value
    return compact(response)
