"""Each rule of the quirk table, applied through the table (so matching is tested too)."""

import pytest

from argo_proxy.convert import quirks


def call(cid, name="add", args='{"a":1}'):
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}


def run(body, model, family, mode="native"):
    notes = quirks.apply(body, model, family, mode)
    return body, notes


def test_every_rule_is_named_uniquely_and_tested_below():
    names = [r.name for r in quirks.RULES]
    assert len(names) == len(set(names))
    tested = {"developer-role", "tool-call-null-content", "orphan-tool-calls", "claude-tool-choice",
              "claude-needs-user-turn", "gemini-needs-user-turn", "gemini-system-text", "o1-mini-no-system",
              "o1-preview-no-system", "gemini-tool-result-name", "gemini-sequential-calls",
              "gpt5-temperature", "gpt5-top-p", "opus47-temperature", "opus47-top-p",
              "claude-temperature-xor-top-p", "claude-system-messages", "opus47-adaptive-thinking",
              "claude-enabled-thinking", "claude-thinking-budget", "opus47-effort",
              "openai-max-output-tokens", "reasoning-effort-needs-reasoning-model"}
    assert set(names) == tested


@pytest.mark.parametrize("family", ["openai", "anthropic", "google", "unknown"])
def test_developer_becomes_system_for_all(family):
    body, notes = run({"messages": [{"role": "developer", "content": "x"}]}, "m", family)
    assert body["messages"][0]["role"] == "system"
    assert any(n.startswith("developer-role") for n in notes)


def test_null_content_on_tool_call_turn():
    body, _ = run({"messages": [{"role": "assistant", "content": None, "tool_calls": [call("a")]},
                                {"role": "tool", "tool_call_id": "a", "content": "1"}]}, "gpt4o", "openai")
    assert body["messages"][0]["content"] == ""


def test_null_content_without_tool_calls_untouched():
    body, notes = run({"messages": [{"role": "assistant", "content": None}]}, "gpt4o", "openai")
    assert body["messages"][0]["content"] is None and notes == []


def test_orphan_tool_calls_get_results_in_place():
    msgs = [{"role": "assistant", "content": "", "tool_calls": [call("a"), call("b")]},
            {"role": "tool", "tool_call_id": "a", "content": "1"},
            {"role": "user", "content": "next"}]
    body, notes = run({"messages": msgs}, "gpt4o", "openai")
    roles = [(m["role"], m.get("tool_call_id")) for m in body["messages"]]
    assert roles == [("assistant", None), ("tool", "a"), ("tool", "b"), ("user", None)]
    assert body["messages"][2]["content"] == quirks.INTERRUPTED
    assert any("orphan" in n for n in notes)


def test_complete_history_untouched():
    msgs = [{"role": "assistant", "content": "", "tool_calls": [call("a")]},
            {"role": "tool", "tool_call_id": "a", "content": "1"}]
    body, notes = run({"messages": [dict(m) for m in msgs]}, "gpt4o", "openai")
    assert body["messages"] == msgs and notes == []


@pytest.mark.parametrize("given,sent", [
    ("auto", {"type": "auto"}), ("required", {"type": "any"}), ("none", {"type": "none"}),
    ({"type": "function", "function": {"name": "add"}}, {"type": "tool", "name": "add"}),
    ({"type": "any"}, {"type": "any"}),
])
def test_claude_tool_choice_object(given, sent):
    body, _ = run({"tool_choice": given, "tools": [{}]}, "claudesonnet45", "anthropic")
    assert body["tool_choice"] == sent


def test_claude_rule_not_applied_to_openai():
    body, _ = run({"tool_choice": "auto"}, "gpt4o", "openai")
    assert body["tool_choice"] == "auto"


def test_gemini_names_and_sequencing():
    msgs = [{"role": "user", "content": "go"},
            {"role": "assistant", "content": "two calls", "tool_calls": [call("a", "add"), call("b", "mul")]},
            {"role": "tool", "tool_call_id": "b", "content": "B"},
            {"role": "tool", "tool_call_id": "a", "content": "A"}]
    body, notes = run({"messages": msgs}, "gemini25pro", "google")
    out = body["messages"]
    assert [m["role"] for m in out] == ["user", "assistant", "tool", "assistant", "tool"]
    assert out[1]["tool_calls"][0]["id"] == "a" and out[1]["content"] == "two calls"
    assert out[2] == {"role": "tool", "tool_call_id": "a", "content": "A", "name": "add"}
    assert out[3]["tool_calls"][0]["id"] == "b" and out[3]["content"] == ""
    assert out[4]["name"] == "mul"
    assert any("sequential" in n for n in notes)


def test_gemini_rules_not_applied_to_claude():
    msgs = [{"role": "assistant", "content": "", "tool_calls": [call("a"), call("b")]},
            {"role": "tool", "tool_call_id": "a", "content": "A"},
            {"role": "tool", "tool_call_id": "b", "content": "B"}]
    body, _ = run({"messages": msgs}, "claudesonnet45", "anthropic")
    assert len(body["messages"]) == 3 and "name" not in body["messages"][1]


@pytest.mark.parametrize("model", ["gpt5", "gpt5mini", "gpt55"])
def test_gpt5_sampling(model):
    body, _ = run({"temperature": 0.3, "top_p": 0.5}, model, "openai")
    assert "temperature" not in body and "top_p" not in body
    body, _ = run({"temperature": 1}, model, "openai")
    assert body["temperature"] == 1


def test_gpt4o_sampling_untouched():
    body, notes = run({"temperature": 0.3, "top_p": 0.5}, "gpt4o", "openai")
    assert body == {"temperature": 0.3, "top_p": 0.5} and notes == []


def test_opus47_drops_both():
    body, _ = run({"temperature": 0.3, "top_p": 0.5}, "claudeopus47", "anthropic")
    assert body == {}
    body, _ = run({"top_p": 0.5}, "claudeopus47", "anthropic")
    assert body == {}


@pytest.mark.parametrize("model", ["claudesonnet45", "claudeopus46", "claudehaiku45"])
def test_claude_keeps_temperature_drops_top_p_when_both(model):
    body, _ = run({"temperature": 0.3, "top_p": 0.5}, model, "anthropic")
    assert body == {"temperature": 0.3}
    body, _ = run({"top_p": 0.5}, model, "anthropic")
    assert body == {"top_p": 0.5}


def test_continue_turn_only_in_standard_mode():
    body, _ = run({"messages": [{"role": "system", "content": "s"}]}, "claudesonnet45", "anthropic", "native")
    assert len(body["messages"]) == 1
    body, _ = run({"messages": [{"role": "system", "content": "s"}]}, "claudesonnet45", "anthropic", "standard")
    assert body["messages"][-1] == {"role": "user", "content": "[continue]"}
    body, _ = run({"messages": [{"role": "system", "content": "s"}]}, "gpt4o", "openai", "standard")
    assert len(body["messages"]) == 1


def test_gemini_system_flattened_in_standard_mode():
    parts = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    body, _ = run({"messages": [{"role": "system", "content": list(parts)}, {"role": "user", "content": "u"}]},
                  "gemini25pro", "google", "standard")
    assert body["messages"][0]["content"] == "a\n\nb"
    body, _ = run({"messages": [{"role": "system", "content": list(parts)}, {"role": "user", "content": "u"}]},
                  "claudesonnet45", "anthropic", "standard")
    assert body["messages"][0]["content"] == parts


@pytest.mark.parametrize("model", ["gpto1mini", "gpto1preview"])
def test_o1_system_as_user(model):
    body, _ = run({"messages": [{"role": "system", "content": "s"}]}, model, "openai", "standard")
    assert body["messages"][0]["role"] == "user"
    body, _ = run({"messages": [{"role": "system", "content": "s"}]}, "gpto1", "openai", "standard")
    assert body["messages"][0]["role"] == "system"


# -- Argo's Anthropic endpoint (Messages bodies) -------------------------------------------

def test_system_messages_move_into_system_in_order():
    body = {"system": "S", "messages": [
        {"role": "user", "content": "u"},
        {"role": "system", "content": [{"type": "text", "text": "B", "cache_control": {"type": "ephemeral"}}],
         "output_config": {"effort": "low"}},
        {"role": "system", "content": "C"}]}
    body, notes = run(body, "claudesonnet46", "anthropic", "anthropic")
    assert [m["role"] for m in body["messages"]] == ["user"]
    assert body["system"] == [{"type": "text", "text": "S"},
                              {"type": "text", "text": "B", "cache_control": {"type": "ephemeral"}},
                              {"type": "text", "text": "C"}]
    assert notes == ["claude-system-messages: 2 system message(s) moved into system"]
    assert run({"messages": [{"role": "system", "content": "x"}]}, "gpt4o", "openai", "anthropic")[0][
        "messages"] == [{"role": "system", "content": "x"}]   # Claude only


@pytest.mark.parametrize("budget,effort", [(1024, "low"), (8000, "medium"), (31999, "high")])
def test_opus47_gets_adaptive_thinking(budget, effort):
    body, _ = run({"max_tokens": 64000, "thinking": {"type": "enabled", "budget_tokens": budget}},
                  "claudeopus47", "anthropic", "anthropic")
    assert body["thinking"] == {"type": "adaptive"} and body["output_config"] == {"effort": effort}
    body, _ = run({"max_tokens": 64000, "thinking": {"type": "enabled", "budget_tokens": budget},
                   "output_config": {"effort": "max"}}, "claudeopus47", "anthropic", "anthropic")
    assert body["output_config"] == {"effort": "max"}   # the client's own effort wins


@pytest.mark.parametrize("model", ["claudesonnet45", "claudeopus45", "claudehaiku45", "claudeopus41"])
def test_older_claude_gets_enabled_thinking_below_max_tokens(model):
    body, _ = run({"max_tokens": 32000, "thinking": {"type": "adaptive", "display": "omitted"},
                   "output_config": {"effort": "high"}}, model, "anthropic", "anthropic")
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 24000}
    body, _ = run({"max_tokens": 2000, "thinking": {"type": "adaptive"}}, model, "anthropic", "anthropic")
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1999}


def test_adaptive_models_keep_adaptive_without_budget():
    body, _ = run({"max_tokens": 500, "thinking": {"type": "adaptive", "budget_tokens": 9}},
                  "claudesonnet46", "anthropic", "anthropic")
    assert body["thinking"] == {"type": "adaptive"}


def test_budget_with_no_room_disables_thinking():
    body, _ = run({"max_tokens": 900, "thinking": {"type": "enabled", "budget_tokens": 2000}},
                  "claudesonnet46", "anthropic", "anthropic")
    assert body["thinking"] == {"type": "disabled"}


def test_opus47_effort_floor_and_sampling_on_messages():
    body, _ = run({"output_config": {"effort": "minimal"}, "temperature": 0.2, "top_p": 0.5},
                  "claudeopus47", "anthropic", "anthropic")
    assert body == {"output_config": {"effort": "low"}}
    body, _ = run({"temperature": 0.2, "top_p": 0.5}, "claudesonnet45", "anthropic", "anthropic")
    assert body == {"temperature": 0.2}


def test_max_tokens_capped_to_the_models_limit():
    body, notes = run({"max_tokens": 32000, "max_completion_tokens": 9}, "gpt4o", "openai")
    assert body == {"max_tokens": 16384, "max_completion_tokens": 9} and len(notes) == 1
    assert run({"max_tokens": 40000}, "gpt41mini", "openai")[0] == {"max_tokens": 32768}
    assert run({"max_tokens": 32000}, "gpt5", "openai")[0] == {"max_tokens": 32000}


@pytest.mark.parametrize("model,family,kept", [("gpt4o", "openai", False), ("gpto3", "openai", True),
                                                ("gpt5mini", "openai", True), ("gemini25pro", "google", True),
                                                ("claudesonnet45", "anthropic", True)])
def test_reasoning_effort_only_for_reasoning_models(model, family, kept):
    body, _ = run({"reasoning_effort": "high"}, model, family, "standard")
    assert ("reasoning_effort" in body) is kept
