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
            if isinstance(messages[i].get("tool_call_id"), str):   # odd types: never a match
                answered.add(messages[i]["tool_call_id"])
            out.append(messages[i])
            i += 1
        calls = msg["tool_calls"] if isinstance(msg["tool_calls"], list) else ()
        for call_id in (c.get("id") for c in calls if isinstance(c, dict)):
            if isinstance(call_id, str) and call_id not in answered:
                out.append({"role": "tool", "tool_call_id": call_id, "content": INTERRUPTED})
                notes.append("synthetic result for interrupted tool call %s" % call_id)
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


# -- limits of OpenAI's non-reasoning models ---------------------------------------------

# Most output tokens a model answers with (OpenAI's published limits); more is a 400.
MAX_OUTPUT_TOKENS = (("gpt4o", 16384), ("gpt41", 32768))


def cap_max_tokens(body, model_id):
    """Clients sized for other models (Claude Code asks 32000) would get a 400."""
    limit = next((n for prefix, n in MAX_OUTPUT_TOKENS if model_id.lower().startswith(prefix)), None)
    notes = []
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if limit and isinstance(value, int) and not isinstance(value, bool) and value > limit:
            body[key] = limit
            notes.append("%s %d lowered to the model's %d" % (key, value, limit))
    return notes


def drop_reasoning_effort(body):
    """Only reasoning models take reasoning_effort; others answer 400."""
    if "reasoning_effort" in body:
        return ["reasoning_effort %r dropped (not a reasoning model)" % body.pop("reasoning_effort")]
    return []


# -- Claude on Argo's Anthropic endpoint (Messages bodies; probe data: reference §2.4) -----

_EFFORT_BUDGET = {"low": 4096, "medium": 10000, "high": 24000, "xhigh": 32000, "max": 32000}
MIN_BUDGET = 1024


def system_messages_to_system(body):
    """Argo refuses `role: "system"` inside messages (Claude Code sends them): their text joins
    the top-level `system`, in order, cache_control kept."""
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not any(isinstance(m, dict) and m.get("role") == "system"
                                             for m in msgs):
        return []
    system = body.get("system")
    blocks = [{"type": "text", "text": system}] if isinstance(system, str) and system else \
        list(system) if isinstance(system, list) else []
    kept, moved = [], 0
    for msg in msgs:
        if isinstance(msg, dict) and msg.get("role") == "system":
            content = msg.get("content")
            blocks.extend([{"type": "text", "text": content}] if isinstance(content, str)
                          else [b for b in content or [] if isinstance(b, dict)])
            moved += 1
        else:
            kept.append(msg)
    body["system"], body["messages"] = blocks, kept
    return ["%d system message(s) moved into system" % moved]


def _thinking(body):
    thinking = body.get("thinking")
    return thinking if isinstance(thinking, dict) else None


def thinking_adaptive_only(body):
    """Claude Opus 4.7 takes only adaptive thinking, its depth set by output_config.effort."""
    thinking = _thinking(body)
    if not thinking or thinking.get("type") != "enabled":
        return []
    budget = thinking.get("budget_tokens")
    effort = "low" if not isinstance(budget, int) or budget < 4096 else \
        "medium" if budget < 16384 else "high"
    body["thinking"] = {k: v for k, v in thinking.items() if k != "budget_tokens"}
    body["thinking"]["type"] = "adaptive"
    config = body.get("output_config") if isinstance(body.get("output_config"), dict) else {}
    body["output_config"] = dict({"effort": effort}, **config)
    return ["enabled thinking sent as adaptive (effort %s)" % body["output_config"]["effort"]]


def thinking_enabled_only(body):
    """Claude 4.5 and Opus 4.1 know no adaptive thinking: send enabled with a budget that
    follows output_config.effort."""
    thinking = _thinking(body)
    if not thinking or thinking.get("type") != "adaptive":
        return []
    config = body.get("output_config") if isinstance(body.get("output_config"), dict) else {}
    budget = _EFFORT_BUDGET.get(config.get("effort"), _EFFORT_BUDGET["medium"])
    body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    return ["adaptive thinking sent as enabled (budget %d)" % budget]


def thinking_budget_below_max_tokens(body):
    """budget_tokens must be at least 1024 and below max_tokens; else thinking goes."""
    thinking = _thinking(body)
    max_tokens = body.get("max_tokens")
    if not thinking or not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        return []
    if thinking.get("type") == "adaptive" and "budget_tokens" in thinking:
        body["thinking"] = {k: v for k, v in thinking.items() if k != "budget_tokens"}
        return ["budget_tokens dropped from adaptive thinking"]
    budget = thinking.get("budget_tokens")
    if thinking.get("type") != "enabled" or not isinstance(budget, int) or budget < max_tokens:
        return []
    if max_tokens - 1 < MIN_BUDGET:
        body["thinking"] = {"type": "disabled"}
        return ["thinking disabled: max_tokens %d leaves no room for a budget" % max_tokens]
    thinking["budget_tokens"] = max_tokens - 1
    return ["thinking budget lowered to %d (below max_tokens)" % (max_tokens - 1)]


def effort_at_least_low(body):
    """Opus 4.7 knows no effort below low."""
    config = body.get("output_config")
    if isinstance(config, dict) and config.get("effort") in ("none", "minimal"):
        old, config["effort"] = config["effort"], "low"
        return ["effort %r sent as low" % old]
    return []


# -- what each family needs on the legacy API ------------------------------------------

class Traits:
    """legacy_tool_shape: the vendor shape Argo's legacy /chat/ takes tools in ("openai",
    "anthropic", "google"), or None (tools are described in the prompt instead);
    tool_history_as_text: tool-call history sent without tools must be shown as text."""

    __slots__ = ("legacy_tool_shape", "tool_history_as_text")

    def __init__(self, legacy_tool_shape=None, tool_history_as_text=False):
        self.legacy_tool_shape = legacy_tool_shape
        self.tool_history_as_text = tool_history_as_text


FAMILY_TRAITS = {
    "openai": Traits("openai"),
    "anthropic": Traits("anthropic", tool_history_as_text=True),  # tool_use needs tool definitions
    "google": Traits("google", tool_history_as_text=True),
}
UNKNOWN_TRAITS = Traits()


def traits(family) -> Traits:
    return FAMILY_TRAITS.get(family, UNKNOWN_TRAITS)


# -- the table ---------------------------------------------------------------------

class Rule:
    def __init__(self, name, fix, family=None, prefix=None, needs=None, modes=("native", "standard"),
                 unless=None, with_model=False):
        # modes: the upstream APIs ("native" = Argo's OpenAI-compatible one, "standard" = legacy,
        # "anthropic" = Argo's Anthropic one); unless: id prefixes the rule skips;
        # with_model: the fix also takes the model id
        self.unless = unless
        self.with_model = with_model
        self.name = name
        self.fix = fix
        self.family = family    # "openai" | "anthropic" | "google" | None (all)
        self.prefix = prefix    # internal-id prefix, or None (all of the family)
        self.needs = needs      # a request key that must be present, or None
        self.modes = modes      # which upstream API it is a quirk of

    def applies(self, model_id, family, body, mode):
        return self.fits(model_id, family, mode) and (not self.needs or bool(body.get(self.needs)))

    def fits(self, model_id, family, mode):
        """Does the rule concern this model in this mode (whatever the body)?"""
        if mode not in self.modes or (self.family and self.family != family):
            return False
        if self.prefix and not str(model_id).lower().startswith(self.prefix):  # str or tuple
            return False
        return not (self.unless and str(model_id).lower().startswith(self.unless))


ANTHROPIC = ("anthropic",)
# models that take reasoning_effort on Argo's OpenAI-compatible and legacy APIs
REASONING_MODELS = ("gpto", "gpt5", "o1", "o3", "o4")
ALL_MODES = ("native", "standard", "anthropic")
# Claude models whose thinking is enabled + budget_tokens only (no adaptive)
ENABLED_THINKING_ONLY = ("claudeopus45", "claudesonnet45", "claudehaiku45", "claudeopus41",
                         "claudesonnet37")

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
    Rule("openai-max-output-tokens", cap_max_tokens, family="openai", prefix=("gpt4o", "gpt41"),
         with_model=True),
    Rule("reasoning-effort-needs-reasoning-model", drop_reasoning_effort, family="openai",
         needs="reasoning_effort", unless=REASONING_MODELS),
    Rule("gpt5-temperature", drop_temperature_unless_one, family="openai", prefix="gpt5"),
    Rule("gpt5-top-p", drop_top_p, family="openai", prefix="gpt5"),
    Rule("opus47-temperature", drop_temperature, family="anthropic", prefix="claudeopus47",
         modes=ALL_MODES),
    Rule("opus47-top-p", drop_top_p, family="anthropic", prefix="claudeopus47", modes=ALL_MODES),
    Rule("claude-temperature-xor-top-p", top_p_only_without_temperature, family="anthropic",
         modes=ALL_MODES),
    # Argo's Anthropic endpoint ("anthropic" mode: Messages bodies)
    Rule("claude-system-messages", system_messages_to_system, family="anthropic", modes=ANTHROPIC),
    Rule("opus47-adaptive-thinking", thinking_adaptive_only, family="anthropic",
         prefix="claudeopus47", modes=ANTHROPIC),
    Rule("claude-enabled-thinking", thinking_enabled_only, family="anthropic",
         prefix=ENABLED_THINKING_ONLY, modes=ANTHROPIC),
    Rule("claude-thinking-budget", thinking_budget_below_max_tokens, family="anthropic",
         modes=ANTHROPIC),
    Rule("opus47-effort", effort_at_least_low, family="anthropic", prefix="claudeopus47",
         modes=ANTHROPIC),
)


def apply(body: dict, model_id: str, family: str, mode: str, rules=RULES) -> list:
    """Fix an OpenAI chat body for this model in place; returns notes of what changed."""
    applied = []
    for rule in _concerning(rules, model_id, family, mode):
        if not rule.needs or body.get(rule.needs):
            for note in (rule.fix(body, str(model_id)) if rule.with_model else rule.fix(body)):
                applied.append("%s: %s" % (rule.name, note))
    for note in applied:
        log.debug("quirk for %s: %s", model_id, note)
    return applied


_CONCERNING = {}   # (id(rules), model, family, mode) -> the rules that fits() (at most 4096 kept)


def _concerning(rules, model_id, family, mode):
    key = (id(rules), model_id if isinstance(model_id, str) else repr(model_id), family, mode)
    found = _CONCERNING.get(key)
    if found is None:
        found = tuple(rule for rule in rules if rule.fits(model_id, family, mode))
        if len(_CONCERNING) >= 4096:
            _CONCERNING.clear()
        _CONCERNING[key] = (rules, found)   # rules kept alive: its id stays its own
        return found
    return found[1]


def _messages(body):
    msgs = body.get("messages")
    if not isinstance(msgs, list):
        return []
    return [m for m in msgs if isinstance(m, dict)]
