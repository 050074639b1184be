"""The one table of what Argo rejects for which model, and the pure fixes for each.

Every rule: a name, which models it applies to (family and/or internal-id prefix),
and a fix `fn(body) -> list of notes`. Fixes change the (freshly parsed, request-owned)
body in place: no I/O, no copies of large image strings.
"""

from __future__ import annotations

import json
import logging

log = logging.getLogger("argo_proxy")

INTERRUPTED = "(no result: this tool call was interrupted before it returned)"


# -- fixes that apply to every model ------------------------------------------------

def developer_to_system(body):
    """Argo answers a misleading 400 for role `developer`; `system` means the same."""
    notes = []
    for msg in _messages(body):
        if msg.get("role") == "developer":
            msg["role"] = "system"
            notes.append("developer message sent as system")
    return notes[:1]


def null_content_on_tool_calls(body):
    """Assistant tool-call turns with `content: null` are refused; send an empty string."""
    notes = []
    for msg in _messages(body):
        if msg.get("role") == "assistant" and msg.get("tool_calls") and msg.get("content") is None:
            msg["content"] = ""
            notes.append("null content on tool-call turn sent as \"\"")
    return notes[:1]


def repair_orphan_tool_calls(body):
    """Give every tool call without a result (an interrupted agent turn) a short synthetic one."""
    messages = _messages(body)
    out, notes = [], []
    i = 0
    while i < len(messages):
        msg = messages[i]
        out.append(msg)
        i += 1
        if msg.get("role") != "assistant" or not msg.get("tool_calls"):
            continue
        answered = set()
        while i < len(messages) and messages[i].get("role") == "tool":
            answered.add(messages[i].get("tool_call_id"))
            out.append(messages[i])
            i += 1
        for call in msg["tool_calls"]:
            if isinstance(call, dict) and call.get("id") not in answered:
                out.append({"role": "tool", "tool_call_id": call.get("id"), "content": INTERRUPTED})
                notes.append("synthetic result for interrupted tool call %s" % call.get("id"))
    if notes:
        body["messages"] = out
    return notes


# -- Claude -------------------------------------------------------------------------

_CLAUDE_CHOICE = {"auto": {"type": "auto"}, "required": {"type": "any"}, "any": {"type": "any"},
                  "none": {"type": "none"}}


def claude_tool_choice_object(body):
    """Argo validates Claude's tool_choice as an object; a string gets a 400."""
    choice = body.get("tool_choice")
    if isinstance(choice, str) and choice in _CLAUDE_CHOICE:
        body["tool_choice"] = dict(_CLAUDE_CHOICE[choice])
        return ["tool_choice %r sent as %s" % (choice, json.dumps(body["tool_choice"]))]
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        if name:
            body["tool_choice"] = {"type": "tool", "name": name}
            return ["tool_choice for function %r sent in tool form" % name]
    return []


# -- Gemini -------------------------------------------------------------------------

def gemini_tool_result_names(body):
    """Argo's Gemini path needs the function name on every tool result (else KeyError 'name')."""
    names = {}
    notes = []
    for msg in _messages(body):
        for call in msg.get("tool_calls") or []:
            if isinstance(call, dict):
                names[call.get("id")] = (call.get("function") or {}).get("name")
        if msg.get("role") == "tool" and not msg.get("name") and names.get(msg.get("tool_call_id")):
            msg["name"] = names[msg.get("tool_call_id")]
            notes.append("name %r added to tool result" % msg["name"])
    return notes[:1]


def gemini_sequential_tool_calls(body):
    """Argo refuses parallel calls for Gemini: send each call as its own turn + result."""
    messages = _messages(body)
    out, notes = [], []
    i = 0
    while i < len(messages):
        msg = messages[i]
        i += 1
        calls = msg.get("tool_calls") or []
        if msg.get("role") != "assistant" or len(calls) < 2:
            out.append(msg)
            continue
        results = []
        while i < len(messages) and messages[i].get("role") == "tool":
            results.append(messages[i])
            i += 1
        out.extend(_unwind(msg, calls, results))
        notes.append("%d parallel tool calls sent one at a time" % len(calls))
    if notes:
        body["messages"] = out
    return notes


def _unwind(msg, calls, results):
    by_id = {r.get("tool_call_id"): r for r in results}
    used = set()
    out = []
    for n, call in enumerate(calls):
        turn = dict(msg, tool_calls=[call], content=msg.get("content") if n == 0 else "")
        out.append(turn)
        result = by_id.get(call.get("id")) if isinstance(call, dict) else None
        if result is not None:
            out.append(result)
            used.add(id(result))
    out.extend(r for r in results if id(r) not in used)  # results naming no call stay, in order
    return out


# -- legacy endpoint only (standard mode) ---------------------------------------------

def continue_turn_without_user(body):
    """Argo's legacy Claude/Gemini path requires a user message."""
    msgs = body.get("messages")
    if isinstance(msgs, list) and msgs and not any(m.get("role") == "user" for m in _messages(body)):
        msgs.append({"role": "user", "content": "[continue]"})
        return ["[continue] user turn added (no user message)"]
    return []


def flatten_system_parts(body):
    """Argo's legacy Gemini path wants system text, not a list of parts."""
    notes = []
    for msg in _messages(body):
        if msg.get("role") == "system" and isinstance(msg.get("content"), list):
            msg["content"] = "\n\n".join(p.get("text", "") for p in msg["content"]
                                          if isinstance(p, dict) and p.get("type") == "text")
            notes.append("system content parts joined into text")
    return notes[:1]


def system_as_user(body):
    """o1-mini / o1-preview take no system role."""
    notes = []
    for msg in _messages(body):
        if msg.get("role") == "system":
            msg["role"] = "user"
            notes.append("system message sent as user")
    return notes[:1]


# -- sampling parameters --------------------------------------------------------------

def drop_temperature_unless_one(body):
    """gpt-5 family: only the default temperature (1) is accepted."""
    if "temperature" in body and body["temperature"] not in (1, 1.0, None):
        return ["temperature %r dropped" % body.pop("temperature")]
    return []


def drop_top_p(body):
    if "top_p" in body:
        return ["top_p %r dropped" % body.pop("top_p")]
    return []


def drop_temperature(body):
    if "temperature" in body:
        return ["temperature %r dropped" % body.pop("temperature")]
    return []


def top_p_only_without_temperature(body):
    """Claude refuses temperature together with top_p: keep temperature."""
    if "temperature" in body and "top_p" in body:
        return ["top_p %r dropped (temperature given)" % body.pop("top_p")]
    return []


# -- the table ---------------------------------------------------------------------

class Rule:
    def __init__(self, name, fix, family=None, prefix=None, needs=None, modes=("native", "standard")):
        self.name = name
        self.fix = fix
        self.family = family    # "openai" | "anthropic" | "google" | None (all)
        self.prefix = prefix    # internal-id prefix, or None (all of the family)
        self.needs = needs      # a request key that must be present, or None
        self.modes = modes      # which upstream API it is a quirk of

    def applies(self, model_id, family, body, mode="native"):
        if mode not in self.modes or (self.family and self.family != family):
            return False
        if self.prefix and not str(model_id).lower().startswith(self.prefix):
            return False
        return not self.needs or bool(body.get(self.needs))


# Order matters: history is repaired before Gemini names and sequencing look at it.
RULES = (
    Rule("developer-role", developer_to_system),
    Rule("tool-call-null-content", null_content_on_tool_calls),
    Rule("orphan-tool-calls", repair_orphan_tool_calls),
    Rule("claude-tool-choice", claude_tool_choice_object, family="anthropic", needs="tool_choice"),
    Rule("claude-needs-user-turn", continue_turn_without_user, family="anthropic", modes=("standard",)),
    Rule("gemini-needs-user-turn", continue_turn_without_user, family="google", modes=("standard",)),
    Rule("gemini-system-text", flatten_system_parts, family="google", modes=("standard",)),
    Rule("o1-mini-no-system", system_as_user, prefix="gpto1mini", modes=("standard",)),
    Rule("o1-preview-no-system", system_as_user, prefix="gpto1preview", modes=("standard",)),
    Rule("gemini-tool-result-name", gemini_tool_result_names, family="google"),
    Rule("gemini-sequential-calls", gemini_sequential_tool_calls, family="google"),
    Rule("gpt5-temperature", drop_temperature_unless_one, family="openai", prefix="gpt5"),
    Rule("gpt5-top-p", drop_top_p, family="openai", prefix="gpt5"),
    Rule("opus47-temperature", drop_temperature, family="anthropic", prefix="claudeopus47"),
    Rule("opus47-top-p", drop_top_p, family="anthropic", prefix="claudeopus47"),
    Rule("claude-temperature-xor-top-p", top_p_only_without_temperature, family="anthropic"),
)


def apply(body: dict, model_id: str, family: str, mode="native", rules=RULES) -> list:
    """Fix an OpenAI chat body for this model in place; returns notes of what changed."""
    applied = []
    for rule in rules:
        if rule.applies(model_id, family, body, mode):
            for note in rule.fix(body):
                applied.append("%s: %s" % (rule.name, note))
    for note in applied:
        log.debug("quirk for %s: %s", model_id, note)
    return applied


def _messages(body):
    msgs = body.get("messages")
    if not isinstance(msgs, list):
        return []
    return [m for m in msgs if isinstance(m, dict)]
