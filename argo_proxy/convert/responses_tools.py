"""Responses API tools as chat function tools, and the map back.

Every client-side tool type becomes one chat function; the `ToolMap` remembers, per chat
function name, which Responses tool it stands for, so the model's calls go back to the
client as the right item (function_call, custom_tool_call, local_shell_call, ...).
Server-side (hosted) tools Argo has no counterpart for are dropped, with a note.
"""

from __future__ import annotations

import hashlib
import re

from ..errors import ProxyError
from .validate import bad

# Hosted tools: OpenAI runs them on its side; Argo has no counterpart.
HOSTED = frozenset((
    "web_search", "web_search_preview", "web_search_preview_2025_03_11",
    "web_search_2025_08_26", "file_search", "image_generation", "code_interpreter", "mcp",
    "computer_use_preview", "computer", "computer_use"))
DEFAULT_NAMESPACE = "functions"      # Codex's name for "no namespace"
_NAME_MAX = 64                       # OpenAI: ^[a-zA-Z0-9_-]{1,64}$
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
_GRAMMAR_MAX = 6000
_NS_DESCRIPTION_MAX = 400
_EMPTY_SCHEMA = {"type": "object", "properties": {}}

# kinds whose identity is the tool type itself (one per request)
_SINGLETONS = ("local_shell", "shell", "apply_patch", "tool_search")

_CUSTOM_NOTE = ("Call this tool with one JSON argument, `input`: a string holding the tool's "
                "raw input, given to the tool verbatim.")


def get_str(obj, key, path, required=False):
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        bad("%s.%s" % (path, key), "a non-empty string" if required else "a string")
    return value


class ToolRef:
    """One Responses tool behind one chat function name."""

    __slots__ = ("kind", "name", "namespace", "chat_name", "chat_tool")

    def __init__(self, kind, name, namespace, chat_name, chat_tool):
        self.kind = kind                # function, custom, or a built-in: local_shell, shell,
                                        # apply_patch, tool_search
        self.name = name                # the Responses name (bare, without namespace)
        self.namespace = namespace      # as the client gave it, or None
        self.chat_name = chat_name
        self.chat_tool = chat_tool      # the chat tool offered to the model; None: history only

    def __repr__(self):
        return "ToolRef(%r, %r, %r -> %r)" % (self.kind, self.namespace, self.name, self.chat_name)


def _key(kind, name, namespace):
    if kind in _SINGLETONS:
        return ("#" + kind,)
    ns = None if namespace in (None, "", DEFAULT_NAMESPACE) else namespace
    return (ns, name)


def flat_name(name, namespace=None):
    """The chat function name for a (namespace, name) pair: `<namespace>__<name>` made safe
    for OpenAI's name pattern, hashed when longer than 64 characters."""
    ns = None if namespace in (None, "", DEFAULT_NAMESPACE) else namespace
    base = name if ns is None else (ns.rstrip("_") or ns) + "__" + name
    base = _UNSAFE.sub("_", base) or "tool"
    if len(base) > _NAME_MAX:
        digest = hashlib.sha1(("%s\0%s" % (ns, name)).encode("utf-8")).hexdigest()[:8]
        base = base[:_NAME_MAX - 9] + "_" + digest
    return base


class ToolMap:
    """Chat function names <-> the Responses tools they stand for.

    `notes` collects what the conversion dropped or ignored (for a log line)."""

    def __init__(self):
        self._by_chat = {}
        self._by_key = {}
        self.notes = []
        self.dropped = []       # hosted tool types dropped from this request

    def __len__(self):
        return len(self._by_chat)

    def __iter__(self):
        return iter(list(self._by_chat.values()))

    def __contains__(self, chat_name):
        return chat_name in self._by_chat

    def ref(self, chat_name):
        """The tool behind a chat function name the model called, or None."""
        return self._by_chat.get(chat_name)

    def find(self, kind, name=None, namespace=None):
        """The tool of a Responses identity: (namespace, name) for functions and custom
        tools (one name space, like OpenAI's), the type for built-ins (local_shell, ...)."""
        return self._by_key.get(_key(kind, name, namespace))

    def add(self, kind, name, namespace=None, chat_tool=None):
        """Register a tool (offered when `chat_tool` is given); returns its ToolRef.
        A tool registered twice keeps its first chat name; an offer upgrades a history entry."""
        key = _key(kind, name, namespace)
        ref = self._by_key.get(key)
        if ref is None:
            chat_name = self._unique(kind if kind in _SINGLETONS else flat_name(name, namespace))
            ref = ToolRef(kind, name, namespace, chat_name, None)
            self._by_key[key] = ref
            self._by_chat[chat_name] = ref
        if chat_tool is not None and ref.chat_tool is None:
            chat_tool["function"]["name"] = ref.chat_name
            ref.chat_tool = chat_tool
        return ref

    def chat_name(self, kind, name=None, namespace=None):
        """The chat name a history call uses (registered, not offered, when unknown)."""
        return self.add(kind, name, namespace).chat_name

    def _unique(self, base):
        name, n = base, 1
        while name in self._by_chat:
            n += 1
            suffix = "_%d" % n
            name = base[:_NAME_MAX - len(suffix)] + suffix
        return name

    def chat_tools(self, only=None):
        """The chat tools offered to the model, in the order the client gave them."""
        return [r.chat_tool for r in self._by_chat.values()
                if r.chat_tool is not None and (only is None or r.chat_name in only)]


# -- tool definitions ----------------------------------------------------------------

def add_tools(tools, path, tool_map):
    """Register a Responses `tools` list (from the request, an `additional_tools` item or a
    `tool_search_output` item)."""
    if tools is None:
        return
    if not isinstance(tools, list):
        bad(path, "a list of tool objects")
    for i, tool in enumerate(tools):
        _add_tool(tool, "%s[%d]" % (path, i), tool_map)


def _add_tool(tool, path, tool_map):
    if not isinstance(tool, dict):
        bad(path, "an object")
    kind = get_str(tool, "type", path, required=True)
    if kind == "function":
        _function(tool, path, tool_map)
    elif kind == "custom":
        _custom(tool, path, tool_map)
    elif kind == "namespace":
        _namespace(tool, path, tool_map)
    elif kind in ("local_shell", "shell", "apply_patch"):
        tool_map.add(kind, kind, None, _BUILTINS[kind]())
    elif kind == "tool_search" and tool.get("execution") == "client":
        _tool_search(tool, path, tool_map)
    elif kind in HOSTED or kind == "tool_search":
        tool_map.dropped.append(kind)
        tool_map.notes.append("%s: hosted tool %r dropped (Argo has no counterpart)" % (path, kind))
    else:
        tool_map.notes.append("%s: unknown tool type %r dropped" % (path, kind))


def _chat_function(description, parameters, strict=None):
    fn = {"name": None, "description": description, "parameters": parameters}
    if strict is not None:
        fn["strict"] = strict
    return {"type": "function", "function": fn}


def _with_group(description, namespace, group_description):
    if namespace in (None, "", DEFAULT_NAMESPACE):
        return description
    group = clip(group_description or "", _NS_DESCRIPTION_MAX, "description")
    tail = "(Tool group `%s`%s)" % (namespace, ": " + group if group else "")
    return (description + "\n\n" + tail) if description else tail


def _function(tool, path, tool_map, namespace=None, group=None):
    name = get_str(tool, "name", path, required=True)
    description = get_str(tool, "description", path) or ""
    params = tool.get("parameters")
    if params is not None and not isinstance(params, dict):
        bad(path + ".parameters", "a JSON schema object")
    strict = tool.get("strict")
    if strict is not None and not isinstance(strict, bool):
        bad(path + ".strict", "true or false")
    chat = _chat_function(_with_group(description, namespace, group), params or dict(_EMPTY_SCHEMA),
                          strict)
    tool_map.add("function", name, namespace, chat)


def _custom(tool, path, tool_map, namespace=None, group=None):
    name = get_str(tool, "name", path, required=True)
    description = custom_description(tool, path)
    params = {"type": "object", "additionalProperties": False, "required": ["input"],
              "properties": {"input": {"type": "string",
                                       "description": "The raw input for the tool."}}}
    tool_map.add("custom", name, namespace,
                 _chat_function(_with_group(description, namespace, group), params))


def custom_description(tool, path):
    """A custom (freeform) tool's description for the model: its own text, how to pass the
    input, and the grammar the input must follow (clipped when very long)."""
    parts = [get_str(tool, "description", path) or "", _CUSTOM_NOTE]
    fmt = tool.get("format")
    if fmt is not None and not isinstance(fmt, dict):
        bad(path + ".format", "an object")
    if fmt and fmt.get("type") == "grammar":
        syntax = get_str(fmt, "syntax", path + ".format") or "lark"
        definition = get_str(fmt, "definition", path + ".format") or ""
        what = "regular expression" if syntax == "regex" else "%s grammar" % syntax
        parts.append("The input must match this %s:\n%s" % (what, clip(definition, _GRAMMAR_MAX,
                                                                        "grammar")))
    return "\n\n".join(p for p in parts if p)


def clip(text, limit, what):
    """`text` cut to about `limit` characters, at a line end when one is near."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", limit // 2, limit)
    cut = cut if cut > 0 else limit
    return text[:cut] + "\n[... %s truncated: %d more characters]" % (what, len(text) - cut)


def _namespace(tool, path, tool_map):
    ns = get_str(tool, "name", path, required=True)
    group = get_str(tool, "description", path)
    members = tool.get("tools")
    if not isinstance(members, list):
        bad(path + ".tools", "a list of function or custom tools")
    for j, member in enumerate(members):
        where = "%s.tools[%d]" % (path, j)
        if not isinstance(member, dict):
            bad(where, "an object")
        kind = member.get("type")
        if kind == "function":
            _function(member, where, tool_map, ns, group)
        elif kind == "custom":
            _custom(member, where, tool_map, ns, group)
        else:
            tool_map.notes.append("%s: tool type %r inside a namespace dropped" % (where, kind))


def _tool_search(tool, path, tool_map):
    description = get_str(tool, "description", path) or (
        "Search for more tools; the ones found become available to call.")
    params = tool.get("parameters")
    if params is not None and not isinstance(params, dict):
        bad(path + ".parameters", "a JSON schema object")
    tool_map.add("tool_search", "tool_search", None,
                 _chat_function(description, params or {
                     "type": "object", "required": ["query"],
                     "properties": {"query": {"type": "string"}}}))


def _local_shell():
    return _chat_function(
        "Run a command on the user's machine and get its output.",
        {"type": "object", "required": ["command"], "properties": {
            "command": {"type": "array", "items": {"type": "string"},
                        "description": "The command and its arguments (argv), e.g. "
                                       "[\"bash\", \"-lc\", \"ls -la\"]."},
            "workdir": {"type": "string", "description": "The working directory."},
            "timeout_ms": {"type": "integer", "description": "Timeout in milliseconds."}}})


def _shell():
    return _chat_function(
        "Run shell commands on the user's machine and get their output.",
        {"type": "object", "required": ["commands"], "properties": {
            "commands": {"type": "array", "items": {"type": "string"},
                         "description": "Shell command lines, run in order."},
            "timeout_ms": {"type": "integer", "description": "Timeout in milliseconds."},
            "max_output_length": {"type": "integer",
                                  "description": "Most characters of output to return."}}})


def _apply_patch():
    return _chat_function(
        "Create, update or delete one file. For update_file, `diff` is a V4A diff of the "
        "changes; for create_file, the whole content as a diff of added lines.",
        {"type": "object", "required": ["type", "path"], "properties": {
            "type": {"type": "string", "enum": ["create_file", "update_file", "delete_file"]},
            "path": {"type": "string", "description": "The file's path."},
            "diff": {"type": "string", "description": "The diff (not for delete_file)."}}})


_BUILTINS = {"local_shell": _local_shell, "shell": _shell, "apply_patch": _apply_patch}


# -- tool_choice -------------------------------------------------------------------------

def chat_tool_choice(choice, tool_map):
    """The chat `tool_choice` for a Responses one, and the chat names it restricts the
    offer to (allowed_tools) or None. A forced hosted tool is a 400."""
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            bad("tool_choice", "auto, none, required or a tool choice object")
        if choice == "required" and not tool_map.chat_tools() and tool_map.dropped:
            _hosted_forced(tool_map.dropped[0])
        return choice, None
    if not isinstance(choice, dict):
        bad("tool_choice", "a string or an object")
    kind = get_str(choice, "type", "tool_choice", required=True)
    if kind == "allowed_tools":
        return _allowed(choice, tool_map)
    ref = _chosen(choice, "tool_choice", tool_map)
    return {"type": "function", "function": {"name": ref.chat_name}}, None


def _hosted_forced(kind):
    raise ProxyError(400, "tool_choice forces the hosted tool %r, which Argo does not have; "
                     "use a function tool instead" % kind, param="tool_choice",
                     code="unsupported_tool")


def _chosen(choice, path, tool_map):
    """The ToolRef a choice object (or an allowed_tools entry) names."""
    kind = choice.get("type")
    if kind in HOSTED or (kind == "tool_search" and tool_map.find("tool_search") is None):
        _hosted_forced(kind)
    if kind in _SINGLETONS:
        ref = tool_map.find(kind)
    elif kind in ("function", "custom"):
        name = get_str(choice, "name", path, required=True)
        ref = _named(name, get_str(choice, "namespace", path), tool_map)
    else:
        raise ProxyError(400, "%s: tool choice type %r is not supported" % (path, kind),
                         param=path + ".type")
    if ref is None or ref.chat_tool is None:
        raise ProxyError(400, "%s names a tool that is not in tools: %s" % (
            path, choice.get("name") or kind), param=path)
    return ref


def _named(name, namespace, tool_map):
    """A tool by name: exact (namespace, name), then its chat name, then a bare name that
    only one namespace has."""
    ref = tool_map.find("function", name, namespace)      # functions and custom tools
    if ref is not None and ref.chat_tool is not None:     # share one name space
        return ref
    ref = tool_map.ref(name)
    if ref is not None or namespace is not None:
        return ref
    matches = [r for r in tool_map if r.name == name and r.chat_tool is not None]
    return matches[0] if len(matches) == 1 else None


def _allowed(choice, tool_map):
    mode = choice.get("mode", "auto")
    if mode not in ("auto", "required"):
        bad("tool_choice.mode", "auto or required")
    entries = choice.get("tools")
    if not isinstance(entries, list):
        bad("tool_choice.tools", "a list of tool references")
    names, hosted = set(), []
    for i, entry in enumerate(entries):
        path = "tool_choice.tools[%d]" % i
        if not isinstance(entry, dict):
            bad(path, "an object")
        kind = entry.get("type")
        if kind in HOSTED:
            hosted.append(kind)
        elif kind == "namespace":
            ns = get_str(entry, "name", path, required=True)
            names.update(r.chat_name for r in tool_map if r.namespace == ns and r.chat_tool)
        else:
            names.add(_chosen(entry, path, tool_map).chat_name)
    if not names:
        if mode == "required" and hosted:
            _hosted_forced(hosted[0])
        return "none", names
    return mode, names
