"""Google's Gemini API (generateContent) on top of the hub (OpenAI chat completions).

One import point for the surface:
- `generate_to_chat(body, model)`: a generateContent request -> `(chat_body, notes)`; the
  conversation is read by `google_request`, tools and generationConfig here;
- `completion_to_generate`, `GenerateEncoder`, `error_body` (in `google_reply`): a
  chat.completion -> GenerateContentResponse, hub stream pieces -> Gemini's stream (SSE
  with alt=sse, else one JSON array), and Google's error envelope;
- `count_tokens_estimate`, `model_list`, `model_entry`: countTokens and models.list.

Pure: no I/O. A wrong type anywhere in a request is a ProxyError 400 naming the field path.
"""

from __future__ import annotations

from . import usage
from ..errors import ProxyError
from .google_reply import (GenerateEncoder, completion_to_generate, error_body, error_status,
                           finish_reason)
from .google_request import (array, bad, boolean, camel, fail, integer, join, mapping,
                             messages, note, number, pick, string, strings)

__all__ = ["GenerateEncoder", "completion_to_generate", "count_tokens_estimate", "error_body",
           "error_status", "finish_reason", "generate_to_chat", "json_schema", "model_entry",
           "model_list", "wants_thoughts"]

# Tool kinds Google runs on its side: the hub has no place for them.
_SERVER_TOOLS = ("googleSearch", "googleSearchRetrieval", "codeExecution", "urlContext",
                 "googleMaps", "fileSearch", "computerUse", "enterpriseWebSearch", "retrieval",
                 "mcpServers")
_MODES = ("AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED")
_LEVELS = {"MINIMAL": "minimal", "LOW": "low", "MEDIUM": "medium", "HIGH": "high",
           "XHIGH": "high"}
_RENAMED = (("temperature", "temperature", number), ("topP", "top_p", number),
            ("maxOutputTokens", "max_tokens", integer), ("seed", "seed", integer),
            ("presencePenalty", "presence_penalty", number),
            ("frequencyPenalty", "frequency_penalty", number))
_IGNORED_CONFIG = ("responseLogprobs", "logprobs", "responseModalities", "speechConfig",
                   "mediaResolution", "imageConfig", "routingConfig", "audioTimestamp",
                   "enableEnhancedCivicAnswers")
_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")
# Schema keywords holding one schema, a list of schemas, or a map of name -> schema.
_ONE_SCHEMA = ("items", "not", "additionalProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
# int64 counts, which proto3 JSON may write as strings.
_COUNTS = ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties")

# Plausible context and output limits by vendor family (owned_by) for models.list.
_LIMITS = {"anthropic": (200000, 64000), "google": (1048576, 65536),
           "openai": (128000, 16384)}
_DEFAULT_LIMITS = (128000, 8192)
METHODS = ("generateContent", "streamGenerateContent", "countTokens")


# -- the request --------------------------------------------------------------------

def generate_to_chat(body, model=None) -> tuple:
    """A generateContent request as `(chat_body, notes)`. `model` (the resolved name from
    the URL) becomes the chat body's model; `stream` is left to the caller (the URL says)."""
    return _convert(body, model, "")


def _convert(body, model, root) -> tuple:
    if not isinstance(body, dict):
        raise ProxyError(400, "The request body must be a JSON object.")
    notes = []
    chat = {"model": model} if model else {}
    chat["messages"] = messages(body, root, notes)
    _add_tools(body, root, chat, notes)
    _add_generation_config(body, root, chat, notes)
    _check_safety_settings(body, root)
    cached, _path = pick(body, "cachedContent", root)
    if cached is not None:
        note(notes, "cachedContent ignored (no context cache here)")
    return chat, notes


def wants_thoughts(body) -> bool:
    """generationConfig.thinkingConfig.includeThoughts is true: the client wants thought
    parts in the reply (Gemini leaves them out otherwise). Never raises."""
    found = body
    for name in ("generationConfig", "thinkingConfig", "includeThoughts"):
        if not isinstance(found, dict):
            return False
        found, _path = pick(found, name, "")
    return found is True


def _check_safety_settings(body, root):
    """safetySettings: checked (Argo's models apply their own safety; nothing to forward)."""
    settings, path = pick(body, "safetySettings", root)
    for i, setting in enumerate(array(settings, path) if settings is not None else ()):
        where = "%s[%d]" % (path, i)
        mapping(setting, where)
        for name in ("category", "threshold"):
            value, vpath = pick(setting, name, where)
            string(value, vpath)
        method, mpath = pick(setting, "method", where)
        if method is not None:
            string(method, mpath)


# -- tools and tool choice ------------------------------------------------------------

def _add_tools(body, root, chat, notes):
    tools = _function_tools(body, root, notes)
    config, path = pick(body, "toolConfig", root)
    if config is None:
        if tools:
            chat["tools"] = tools
        return
    calling, cpath = pick(mapping(config, path), "functionCallingConfig", path)
    if calling is None:
        if tools:
            chat["tools"] = tools
        return
    mode, names = _calling_config(calling, cpath, tools)
    if not tools:
        note(notes, "toolConfig dropped: no function tools")
        return
    if names and mode in ("ANY", "VALIDATED"):
        tools = [t for t in tools if t["function"]["name"] in names]
        note(notes, "tools limited to allowedFunctionNames")
    chat["tools"] = tools
    if mode == "ANY" and len(set(names)) == 1:
        chat["tool_choice"] = {"type": "function",
                               "function": {"name": tools[0]["function"]["name"]}}
    elif mode != "MODE_UNSPECIFIED":
        chat["tool_choice"] = {"ANY": "required", "NONE": "none"}.get(mode, "auto")


def _calling_config(calling, path, tools) -> tuple:
    """(MODE, allowed names) of a functionCallingConfig, checked against the tools."""
    mode, mpath = pick(mapping(calling, path), "mode", path)
    mode = "AUTO" if mode is None else string(mode, mpath).upper()
    if mode not in _MODES:
        bad(mpath, 'one of "AUTO", "ANY", "NONE" or "VALIDATED"')
    names, npath = pick(calling, "allowedFunctionNames", path)
    names = [] if names is None else strings(names, npath)
    declared = [t["function"]["name"] for t in tools]
    for i, name in enumerate(names):
        if name not in declared:
            fail("%s[%d]" % (npath, i), "%r is not one of the declared functions" % name)
    return mode, names


def _function_tools(body, root, notes) -> list:
    tools, path = pick(body, "tools", root)
    if tools is None:
        return []
    out = []
    for i, tool in enumerate(array(tools, path)):
        where = "%s[%d]" % (path, i)
        for key, value in mapping(tool, where).items():
            if camel(key) != "functionDeclarations":
                note(notes, "%s tool dropped (Google runs it, not this proxy)" % camel(key))
                continue
            dpath = join(where, key)
            for j, decl in enumerate(array(value, dpath)):
                out.append(_function(decl, "%s[%d]" % (dpath, j)))
    return out


def _function(decl, path) -> dict:
    mapping(decl, path)
    fn = {"name": string(decl.get("name"), path + ".name")}
    if decl.get("description") is not None:
        fn["description"] = string(decl["description"], path + ".description")
    raw, rpath = pick(decl, "parametersJsonSchema", path)
    schema, spath = pick(decl, "parameters", path)
    if raw is not None:
        fn["parameters"] = mapping(raw, rpath)
    elif schema is not None:
        fn["parameters"] = json_schema(schema, spath)
    else:
        fn["parameters"] = {"type": "object", "properties": {}}
    return {"type": "function", "function": fn}


# -- Gemini's OpenAPI-style schema -> JSON Schema ------------------------------------

def json_schema(schema, path) -> dict:
    """A Gemini Schema (upper-case types, `nullable`, int64 counts as strings) as JSON
    Schema, recursively. JSON Schema given here passes unchanged (lower case stays)."""
    out = {}
    for key, value in mapping(schema, path).items():
        name, where = camel(key), join(path, key)
        if name == "type":
            out["type"] = _schema_type(value, where)
        elif name in _ONE_SCHEMA and isinstance(value, dict):
            out[name] = json_schema(value, where)
        elif name in _SCHEMA_LISTS:
            out[name] = [json_schema(s, "%s[%d]" % (where, i))
                         for i, s in enumerate(array(value, where))]
        elif name in _SCHEMA_MAPS:
            out[name] = {k: json_schema(s, join(where, k))
                         for k, s in mapping(value, where).items()}
        elif name in _COUNTS:
            out[name] = _count(value, where)
        elif name == "example":
            out["examples"] = [value]
        elif name not in ("nullable", "propertyOrdering"):
            out[key if key.startswith("$") else name] = value
    nullable = schema.get("nullable")
    if nullable is not None and boolean(nullable, join(path, "nullable")):
        _allow_null(out)
    return out


def _schema_type(value, path):
    if isinstance(value, list):
        return [_schema_type(v, "%s[%d]" % (path, i)) for i, v in enumerate(value)]
    kind = string(value, path).lower()
    if kind not in _TYPES:
        bad(path, "one of %s" % ", ".join(t.upper() for t in _TYPES))
    return kind


def _count(value, path) -> int:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return integer(value, path)


def _allow_null(out):
    kind = out.get("type")
    if isinstance(kind, str) and kind != "null":
        out["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        out["type"] = kind + ["null"]
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = out["enum"] + [None]


# -- generationConfig -----------------------------------------------------------------

def _add_generation_config(body, root, chat, notes):
    config, path = pick(body, "generationConfig", root)
    if config is None:
        return
    mapping(config, path)
    for name, hub_name, check in _RENAMED:
        value, where = pick(config, name, path)
        if value is not None:
            chat[hub_name] = check(value, where)
    top_k, where = pick(config, "topK", path)
    if top_k is not None:
        integer(top_k, where)
        note(notes, "topK dropped")
    stops, where = pick(config, "stopSequences", path)
    if stops is not None and strings(stops, where):
        chat["stop"] = list(stops)
    count, where = pick(config, "candidateCount", path)
    if count is not None and integer(count, where) != 1:
        fail(where, "only 1 candidate is supported here")
    _add_response_format(config, path, chat)
    thinking, where = pick(config, "thinkingConfig", path)
    effort = None if thinking is None else _reasoning_effort(thinking, where, notes)
    if effort:
        chat["reasoning_effort"] = effort
    for name in _IGNORED_CONFIG:
        if pick(config, name, path)[0] is not None:
            note(notes, "%s ignored" % name)


def _add_response_format(config, path, chat):
    mime, mpath = pick(config, "responseMimeType", path)
    raw, rpath = pick(config, "responseJsonSchema", path)
    schema, spath = pick(config, "responseSchema", path)
    if raw is not None:
        schema = mapping(raw, rpath)
    elif schema is not None:
        schema = json_schema(schema, spath)
    kind = "text/plain" if mime is None else string(mime, mpath).strip().lower()
    if kind == "application/json":
        chat["response_format"] = ({"type": "json_object"} if schema is None else
                                   {"type": "json_schema",
                                    "json_schema": {"name": "response", "schema": schema}})
    elif kind != "text/plain":
        fail(mpath, "%r is not supported here (use text/plain or application/json)" % mime)
    elif schema is not None:
        fail(mpath, "a response schema needs responseMimeType application/json")


def _reasoning_effort(thinking, path, notes):
    """thinkingLevel maps directly; thinkingBudget 0 (off) and -1 (dynamic) leave the
    model's default, other budgets become low (<4096), medium (<16384) or high."""
    mapping(thinking, path)
    include, where = pick(thinking, "includeThoughts", path)
    if include is not None:
        boolean(include, where)
    level, where = pick(thinking, "thinkingLevel", path)
    if level is not None:
        level = string(level, where).upper()
        if level != "THINKING_LEVEL_UNSPECIFIED":
            if level not in _LEVELS:
                bad(where, 'one of "MINIMAL", "LOW", "MEDIUM", "HIGH" or "XHIGH"')
            return _LEVELS[level]
    budget, where = pick(thinking, "thinkingBudget", path)
    if budget is None:
        return None
    budget = integer(budget, where)
    if budget < -1:
        fail(where, "must be -1 (dynamic), 0 (off) or a positive number of tokens")
    if budget == 0:
        note(notes, "thinking off (thinkingBudget 0): reasoning_effort left unset")
    if budget <= 0:
        return None
    return "low" if budget < 4096 else "medium" if budget < 16384 else "high"


# -- countTokens and models.list ------------------------------------------------------

def count_tokens_estimate(body) -> dict:
    """countTokens: `{"totalTokens": N}` for contents, systemInstruction and tools, by the
    proxy's ceil(bytes / 4) estimator (images not counted). A body that nests the request
    in `generateContentRequest` is read there. Malformed: the same 400 as the request."""
    if not isinstance(body, dict):
        raise ProxyError(400, "The request body must be a JSON object.")
    inner, path = pick(body, "generateContentRequest", "")
    if inner is not None:
        chat, _notes = _convert(mapping(inner, path), None, path)
    else:
        chat, _notes = _convert(body, None, "")
    return {"totalTokens": usage.prompt_tokens(chat)}


def model_list(entries) -> dict:
    """OpenAI-shaped model entries as Gemini's models.list reply."""
    return {"models": [model_entry(e) for e in entries]}


def model_entry(entry) -> dict:
    """One OpenAI-shaped entry (`id`, `owned_by`) as a Gemini Model."""
    ident = entry["id"]
    owner = entry.get("owned_by") or "argo"
    inputs, outputs = _LIMITS.get(owner, _DEFAULT_LIMITS)
    internal = entry.get("internal_name") or ident
    return {"name": "models/" + ident, "baseModelId": ident, "version": "argo",
            "displayName": ident,
            "description": "Argo model %s (%s), served by argo-proxy" % (internal, owner),
            "inputTokenLimit": inputs, "outputTokenLimit": outputs,
            "supportedGenerationMethods": list(METHODS)}

