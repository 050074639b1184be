"""Tool shapes and names for tool injection (pure: no sockets, no files).

- MCP CallToolResult -> the text of an OpenAI `tool` message (spec §3.2, §7.3).
- LlamaStack tool definitions and ToolInvocationResults -> MCP shapes (spec §1.2, §1.3, §1.5),
  so the rest of the proxy only ever deals with MCP tools and results.
- Exposed function names: valid OpenAI names, unique across sources.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re

EMPTY_RESULT = "(the tool returned no content)"
MAX_NAME = 64
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")
# LlamaStack 0.2 built-in tools sometimes use Python type names for parameter_type.
_PY_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
             "list": "array", "dict": "object"}
_IMAGE_MAGIC = ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
                (b"GIF8", "image/gif"), (b"RIFF", "image/webp"))


# -- MCP results -> tool-message text -------------------------------------------------

def result_text(result, max_chars: int | None) -> tuple:
    """(text, is_error) for an MCP CallToolResult.

    Text items are joined with newlines; `structuredContent` is used (as compact JSON) only
    when there is no text item, because servers that send it should also send it as text.
    Binary content becomes a placeholder naming its type and size: base64 images would fill
    the model's context with noise.

    Error results get an "Error: " prefix unless the text already starts with "error", so
    the model can tell a failure from an answer ("Error executing tool boom" stays as is).
    """
    if not isinstance(result, dict):
        result = {"content": [{"type": "text", "text": str(result)}]} if result else {}
    items = result.get("content")
    if isinstance(items, (str, dict)):
        items = [items]  # tolerate servers that skip the list
    parts = [_item_text(item) for item in (items or []) if item is not None]
    has_text = any((isinstance(i, str) and i) or (isinstance(i, dict) and i.get("type") == "text"
                                                  and i.get("text")) for i in (items or []))
    structured = result.get("structuredContent")
    if structured is not None and not has_text:
        parts.insert(0, _compact(structured))
    text = "\n".join(p for p in parts if p) or EMPTY_RESULT
    is_error = bool(result.get("isError"))
    if is_error and not text.lower().startswith("error"):
        text = "Error: " + text
    return truncate(text, max_chars), is_error


def error_text(tool_name: str, message: str) -> str:
    """What the model reads when a call could not be made or did not finish."""
    return "Error calling %s: %s" % (tool_name, message or "unknown error")


def truncate(text: str, max_chars: int | None) -> str:
    """Cap text at max_chars, saying how much was cut (None or <= 0: no cap)."""
    if not max_chars or max_chars <= 0 or len(text) <= max_chars:
        return text
    return "%s\u2026 [truncated: %d more characters]" % (text[:max_chars], len(text) - max_chars)


def _item_text(item) -> str:
    if isinstance(item, str):
        return item
    if not isinstance(item, dict):
        return "[%s content]" % type(item).__name__
    kind = item.get("type")
    if kind == "text":
        return str(item.get("text") or "")
    if kind in ("image", "audio"):
        return "[%s: %s, %d bytes]" % (kind, item.get("mimeType") or "unknown type",
                                       base64_size(item.get("data")))
    if kind == "resource_link":
        return _link_text(item)
    if kind == "resource":
        return _resource_text(item.get("resource") or {})
    return "[%s content]" % (kind or "unknown")


def _link_text(item) -> str:
    words = [w for w in (item.get("name"), item.get("uri")) if w]
    mime = item.get("mimeType")
    return "[resource link: %s%s]" % (" ".join(words), " (%s)" % mime if mime else "")


def _resource_text(resource) -> str:
    uri = resource.get("uri") or "(no uri)"
    if isinstance(resource.get("text"), str):
        return "[resource %s]\n%s" % (uri, resource["text"])
    return "[embedded resource %s: %s, %d bytes]" % (
        uri, resource.get("mimeType") or "unknown type", base64_size(resource.get("blob")))


def base64_size(data) -> int:
    """Decoded size of base64 text, computed from its length (nothing is decoded)."""
    if not isinstance(data, str):
        return 0
    data = "".join(data.split())
    return max(0, len(data) * 3 // 4 - len(data) + len(data.rstrip("=")))


def _compact(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# -- OpenAI function tools ------------------------------------------------------------

def openai_function(name: str, description, input_schema) -> dict:
    """An OpenAI chat tool; every schema key ($defs, title, ...) is kept, `strict` is not set."""
    schema = dict(input_schema) if isinstance(input_schema, dict) else {}
    schema.setdefault("type", "object")
    if schema["type"] == "object":
        schema.setdefault("properties", {})  # some backends reject an object without it
    return {"type": "function", "function": {
        "name": name, "description": description or "", "parameters": schema}}


# -- LlamaStack -> MCP ----------------------------------------------------------------

def llamastack_tool_to_mcp(tool: dict) -> dict:
    """An MCP Tool from either LlamaStack shape (0.3+ ToolDef, 0.2.x Tool). ValueError if nameless."""
    if not isinstance(tool, dict):
        raise ValueError("a LlamaStack tool must be an object, got %r" % (tool,))
    name = tool.get("name") or tool.get("identifier")
    if not isinstance(name, str) or not name:
        raise ValueError("LlamaStack tool without name/identifier: %r" % (tool,))
    if isinstance(tool.get("input_schema"), dict):
        schema = tool["input_schema"]
    elif isinstance(tool.get("parameters"), list):
        schema = _schema_from_parameters(tool["parameters"])
    else:
        schema = {"type": "object", "properties": {}}
    return {"name": name, "description": tool.get("description") or "", "inputSchema": schema}


def _schema_from_parameters(params: list) -> dict:
    """JSON Schema from 0.2.x parameters. Lossy at the source: MCP-backed tools always say
    required=true and default=null, and item types/enums were already dropped (spec §0.2)."""
    properties, required = {}, []
    for param in params:
        if not isinstance(param, dict) or not param.get("name"):
            continue
        prop = {"type": _json_type(param.get("parameter_type"))}
        if param.get("description"):
            prop["description"] = param["description"]
        if param.get("default") is not None:
            prop["default"] = param["default"]
        if prop["type"] == "array":
            prop["items"] = {}  # vLLM guided decoding and strict mode reject arrays without items
        properties[param["name"]] = prop
        if param.get("required"):
            required.append(param["name"])
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _json_type(kind) -> str:
    kind = str(kind or "string").lower()
    kind = _PY_TYPES.get(kind, kind)
    return kind if kind in _JSON_TYPES else "string"


def llamastack_result_to_mcp(result: dict) -> dict:
    """An MCP CallToolResult from a LlamaStack ToolInvocationResult.

    A non-zero error_code or any error_message is an error (the MCP provider only sets
    error_code; other providers set error_message), and the content still goes to the model.
    """
    if not isinstance(result, dict):
        result = {"content": result}
    content = result.get("content")
    if content is None:
        content = []
    elif not isinstance(content, list):
        content = [content]
    items = [_llamastack_item(c) for c in content if c is not None]
    message = result.get("error_message")
    if message:
        items.append({"type": "text", "text": str(message)})
    code = result.get("error_code")
    return {"content": items, "isError": code not in (None, 0) or bool(message)}


def _llamastack_item(item) -> dict:
    if isinstance(item, str):
        return {"type": "text", "text": item}
    if not isinstance(item, dict):
        return {"type": "text", "text": str(item)}
    if item.get("type") == "image":
        image = item.get("image") or {}
        if image.get("data"):
            out = {"type": "image", "data": image["data"]}
            mime = sniff_image(image["data"])
            if mime:
                out["mimeType"] = mime
            return out
        uri = (image.get("url") or {}).get("uri")
        if uri:
            return {"type": "resource_link", "uri": uri, "name": "image"}
    return item


def sniff_image(data: str) -> str | None:
    """The image MIME type from the first bytes of base64 data, or None."""
    try:
        head = base64.b64decode(data[:16] + "=" * (-len(data[:16]) % 4))
    except (binascii.Error, ValueError):
        return None
    for magic, mime in _IMAGE_MAGIC:
        if head.startswith(magic):
            return mime
    return None


# -- names ----------------------------------------------------------------------------

def safe_name(name: str) -> str:
    """A valid OpenAI function name ([A-Za-z0-9_-]{1,64}) for a tool name.

    A name that had to change gets a hash of the original as suffix, so two names that
    clean up alike ("a.b", "a b") stay distinct. Valid names come back unchanged.
    """
    name = name if isinstance(name, str) else str(name)
    cleaned = _BAD_NAME_CHARS.sub("_", name)
    if cleaned == name and 0 < len(name) <= MAX_NAME:
        return name
    suffix = hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    base = cleaned[:MAX_NAME - len(suffix) - 1] or "tool"
    return "%s_%s" % (base, suffix)


def unique_names(entries) -> dict:
    """{exposed_name: (source_name, tool_name)} for [(source_name, prefix, tool_name)].

    The exposed name is prefix + "_" + tool_name when the source has a prefix, else the
    tool name. When a name is already taken by an earlier source, the later source's tool
    becomes "<source>_<name>"; earlier sources win, so the result depends only on the order.
    A tool listed twice by one source keeps its first entry.
    """
    names, seen = {}, set()
    for source, prefix, tool in entries:
        if (source, tool) in seen:
            continue
        seen.add((source, tool))
        base = "%s_%s" % (prefix, tool) if prefix else tool
        exposed = safe_name(base)
        if exposed in names:
            exposed = safe_name("%s_%s" % (source, base))
        exposed = _free_name(exposed, names)
        names[exposed] = (source, tool)
    return names


def _free_name(name: str, taken) -> str:
    """name, or name_2, name_3... (kept within 64 characters) when it is already taken."""
    number, candidate = 1, name
    while candidate in taken:
        number += 1
        tail = "_%d" % number
        candidate = name[:MAX_NAME - len(tail)] + tail
    return candidate
