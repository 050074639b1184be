"""Responses tool types as chat functions, the ToolMap back, and tool_choice."""

from __future__ import annotations

import re

import pytest

from argo_proxy.convert import responses
from argo_proxy.convert.responses_tools import clip, custom_description
from argo_proxy.errors import ProxyError

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

FN = {"type": "function", "name": "shell", "description": "Run a command",
      "parameters": {"type": "object", "properties": {"command": {"type": "array"}}},
      "strict": False}
PATCH = {"type": "custom", "name": "apply_patch", "description": "Edit files",
         "format": {"type": "grammar", "syntax": "lark",
                    "definition": 'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch"'}}
AGENTS = {"type": "namespace", "name": "collaboration", "description": "Sub-agents.",
          "tools": [{"type": "function", "name": "spawn_agent", "description": "Spawn one.",
                     "parameters": {"type": "object", "properties": {"message": {"type": "string"}}}},
                    {"type": "function", "name": "wait_agent"},
                    {"type": "custom", "name": "note", "format": {"type": "text"}}]}


def convert(tools, **extra):
    body = dict({"model": "m", "input": "x", "tools": tools}, **extra)
    return responses.to_chat(body)


def fns(chat):
    return {t["function"]["name"]: t["function"] for t in chat.get("tools", [])}


# --- each tool type -------------------------------------------------------------------------

def test_function_tool():
    chat, tools = convert([FN])
    assert chat["tools"] == [{"type": "function", "function": {
        "name": "shell", "description": "Run a command", "parameters": FN["parameters"],
        "strict": False}}]
    ref = tools.ref("shell")
    assert (ref.kind, ref.name, ref.namespace) == ("function", "shell", None)


def test_function_without_parameters_gets_an_empty_object_schema():
    chat, _ = convert([{"type": "function", "name": "now"}])
    assert fns(chat)["now"]["parameters"] == {"type": "object", "properties": {}}
    assert "strict" not in fns(chat)["now"]


def test_custom_tool_becomes_a_function_with_one_string_input():
    chat, tools = convert([PATCH])
    fn = fns(chat)["apply_patch"]
    assert fn["parameters"]["properties"] == {"input": {
        "type": "string", "description": "The raw input for the tool."}}
    assert fn["parameters"]["required"] == ["input"]
    assert fn["description"].startswith("Edit files\n\n")
    assert "`input`" in fn["description"]
    assert "lark grammar" in fn["description"] and "*** Begin Patch" in fn["description"]
    assert tools.ref("apply_patch").kind == "custom"


def test_custom_tool_text_format_and_regex():
    text = custom_description({"name": "t", "format": {"type": "text"}}, "tools[0]")
    assert "grammar" not in text and "`input`" in text
    regex = custom_description({"name": "t", "format": {"type": "grammar", "syntax": "regex",
                                                         "definition": r"^\d+$"}}, "tools[0]")
    assert "regular expression" in regex and r"^\d+$" in regex


def test_long_grammar_is_clipped_at_a_line():
    grammar = "\n".join("rule%d: \"x\"" % i for i in range(2000))
    text = custom_description({"name": "t", "format": {"type": "grammar", "syntax": "lark",
                                                        "definition": grammar}}, "tools[0]")
    assert len(text) < 6500 and "grammar truncated" in text
    kept = text.split("lark grammar:\n", 1)[1].rsplit("\n[...", 1)[0]
    assert grammar.startswith(kept) and kept.endswith('"x"')
    assert clip("short", 10, "x") == "short"


def test_namespace_is_flattened_and_maps_back():
    chat, tools = convert([AGENTS])
    names = list(fns(chat))
    assert names == ["collaboration__spawn_agent", "collaboration__wait_agent",
                     "collaboration__note"]
    ref = tools.ref("collaboration__spawn_agent")
    assert (ref.kind, ref.namespace, ref.name) == ("function", "collaboration", "spawn_agent")
    assert tools.ref("collaboration__note").kind == "custom"
    desc = fns(chat)["collaboration__spawn_agent"]["description"]
    assert desc.startswith("Spawn one.") and "`collaboration`: Sub-agents." in desc
    assert fns(chat)["collaboration__wait_agent"]["parameters"] == {
        "type": "object", "properties": {}}


def test_mcp_namespace_reads_like_codex_mcp_names():
    chat, tools = convert([{"type": "namespace", "name": "mcp__github__", "description": "",
                            "tools": [{"type": "function", "name": "create_issue"}]}])
    assert list(fns(chat)) == ["mcp__github__create_issue"]
    assert tools.ref("mcp__github__create_issue").namespace == "mcp__github__"


def test_functions_namespace_is_the_default_one():
    chat, tools = convert([{"type": "namespace", "name": "functions", "description": "",
                            "tools": [{"type": "custom", "name": "exec"},
                                      {"type": "function", "name": "wait"}]}])
    assert list(fns(chat)) == ["exec", "wait"]
    assert tools.ref("exec").namespace == "functions"
    assert "Tool group" not in fns(chat)["wait"]["description"]


def test_names_are_valid_unique_and_long_ones_hashed():
    long_ns = "n" * 50
    chat, tools = convert([
        {"type": "function", "name": "a__b"},
        {"type": "namespace", "name": "a", "description": "", "tools": [
            {"type": "function", "name": "b"}]},
        {"type": "namespace", "name": long_ns, "description": "", "tools": [
            {"type": "function", "name": "x" * 40}, {"type": "function", "name": "x" * 41}]},
        {"type": "namespace", "name": "my.tools", "description": "", "tools": [
            {"type": "function", "name": "read"}]}])
    names = list(fns(chat))
    assert all(NAME_RE.match(n) for n in names) and len(set(names)) == len(names) == 5
    assert names[:2] == ["a__b", "a__b_2"] and names[4] == "my_tools__read"
    assert tools.ref("a__b_2").namespace == "a" and tools.ref("a__b").namespace is None
    assert tools.ref(names[2]).name == "x" * 40 and tools.ref(names[3]).name == "x" * 41
    assert responses.flat_name("x" * 40, long_ns) == names[2]      # deterministic


def test_local_shell():
    chat, tools = convert([{"type": "local_shell"}])
    fn = fns(chat)["local_shell"]
    assert set(fn["parameters"]["properties"]) == {"command", "workdir", "timeout_ms"}
    assert fn["parameters"]["properties"]["command"]["type"] == "array"
    assert fn["parameters"]["required"] == ["command"]
    assert tools.ref("local_shell").kind == "local_shell"


def test_local_shell_name_does_not_take_a_function_called_local_shell():
    chat, tools = convert([{"type": "function", "name": "local_shell"}, {"type": "local_shell"}])
    assert list(fns(chat)) == ["local_shell", "local_shell_2"]
    assert tools.ref("local_shell_2").kind == "local_shell"


def test_shell_apply_patch_and_client_tool_search_builtins():
    chat, tools = convert([{"type": "shell"}, {"type": "apply_patch"},
                           {"type": "tool_search", "execution": "client",
                            "description": "Find tools", "parameters": {
                                "type": "object", "properties": {"q": {"type": "string"}}}}])
    assert list(fns(chat)) == ["shell", "apply_patch", "tool_search"]
    assert fns(chat)["tool_search"]["description"] == "Find tools"
    assert [tools.ref(n).kind for n in fns(chat)] == ["shell", "apply_patch", "tool_search"]


@pytest.mark.parametrize("kind", sorted(responses.HOSTED) + ["tool_search"])
def test_hosted_tools_dropped_with_a_note(kind):
    chat, tools = convert([FN, {"type": kind}])
    assert list(fns(chat)) == ["shell"]
    assert tools.dropped == [kind] and kind in tools.notes[0]


def test_unknown_tool_type_dropped_with_a_note():
    chat, tools = convert([FN, {"type": "hologram"}, {"type": "namespace", "name": "n",
                                                       "description": "",
                                                       "tools": [{"type": "mcp"}]}])
    assert list(fns(chat)) == ["shell"]
    assert "hologram" in tools.notes[0] and "tools[2].tools[0]" in tools.notes[1]


def test_only_hosted_tools_leave_no_tools_and_no_parallel_flag():
    chat, tools = convert([{"type": "web_search"}], parallel_tool_calls=True, tool_choice="auto")
    assert "tools" not in chat and "tool_choice" not in chat
    assert "parallel_tool_calls" not in chat


@pytest.mark.parametrize("tools, path", [
    ("shell", "tools"),
    (["shell"], "tools[0]"),
    ([{"name": "x"}], "tools[0].type"),
    ([{"type": "function"}], "tools[0].name"),
    ([{"type": "function", "name": 3}], "tools[0].name"),
    ([{"type": "function", "name": "f", "parameters": "x"}], "tools[0].parameters"),
    ([{"type": "function", "name": "f", "strict": "yes"}], "tools[0].strict"),
    ([{"type": "function", "name": "f", "description": 1}], "tools[0].description"),
    ([{"type": "custom", "name": "c", "format": "lark"}], "tools[0].format"),
    ([{"type": "custom", "name": "c", "format": {"type": "grammar", "definition": 1}}],
     "tools[0].format.definition"),
    ([{"type": "namespace", "name": "n", "tools": {}}], "tools[0].tools"),
    ([{"type": "namespace", "name": "n", "tools": [{"type": "function"}]}],
     "tools[0].tools[0].name"),
    ([{"type": "namespace", "tools": []}], "tools[0].name"),
])
def test_wrong_types_name_the_field(tools, path):
    with pytest.raises(ProxyError) as err:
        convert(tools)
    assert err.value.status == 400 and err.value.param == path and path in err.value.message


# --- tool_choice --------------------------------------------------------------------------------

@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_tool_choice_strings(choice):
    chat, _ = convert([FN], tool_choice=choice)
    assert chat["tool_choice"] == choice


def test_tool_choice_function_custom_and_namespaced():
    tools = [FN, PATCH, AGENTS, {"type": "local_shell"}]
    cases = [({"type": "function", "name": "shell"}, "shell"),
             ({"type": "custom", "name": "apply_patch"}, "apply_patch"),
             ({"type": "function", "name": "spawn_agent", "namespace": "collaboration"},
              "collaboration__spawn_agent"),
             ({"type": "function", "name": "collaboration__spawn_agent"},
              "collaboration__spawn_agent"),
             ({"type": "function", "name": "spawn_agent"}, "collaboration__spawn_agent"),
             ({"type": "local_shell"}, "local_shell")]
    for choice, name in cases:
        chat, _ = convert(tools, tool_choice=choice)
        assert chat["tool_choice"] == {"type": "function", "function": {"name": name}}, choice
        assert len(chat["tools"]) == 6


def test_tool_choice_unknown_function_is_400():
    with pytest.raises(ProxyError) as err:
        convert([FN], tool_choice={"type": "function", "name": "nope"})
    assert err.value.status == 400 and err.value.param == "tool_choice" and "nope" in err.value.message


@pytest.mark.parametrize("kind", ["web_search_preview", "file_search", "image_generation",
                                  "code_interpreter", "mcp", "computer_use_preview"])
def test_tool_choice_forcing_a_hosted_tool_is_400_naming_it(kind):
    with pytest.raises(ProxyError) as err:
        convert([FN, {"type": kind}], tool_choice={"type": kind})
    assert err.value.status == 400 and kind in err.value.message
    assert err.value.param == "tool_choice"


def test_required_with_only_hosted_tools_is_400():
    with pytest.raises(ProxyError) as err:
        convert([{"type": "web_search"}], tool_choice="required")
    assert "web_search" in err.value.message


def test_allowed_tools_restricts_the_offer():
    choice = {"type": "allowed_tools", "mode": "required", "tools": [
        {"type": "function", "name": "shell"}, {"type": "custom", "name": "apply_patch"},
        {"type": "image_generation"}]}
    chat, _ = convert([FN, PATCH, AGENTS], tool_choice=choice)
    assert chat["tool_choice"] == "required" and list(fns(chat)) == ["shell", "apply_patch"]


def test_allowed_tools_by_namespace_and_auto_mode():
    choice = {"type": "allowed_tools", "mode": "auto",
              "tools": [{"type": "namespace", "name": "collaboration"}]}
    chat, _ = convert([FN, AGENTS], tool_choice=choice)
    assert chat["tool_choice"] == "auto" and len(chat["tools"]) == 3
    assert all(n.startswith("collaboration__") for n in fns(chat))


def test_allowed_tools_of_only_hosted_tools():
    choice = {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "web_search"}]}
    chat, _ = convert([FN, {"type": "web_search"}], tool_choice=choice)
    assert "tools" not in chat and "tool_choice" not in chat
    with pytest.raises(ProxyError):
        convert([FN, {"type": "web_search"}], tool_choice=dict(choice, mode="required"))


@pytest.mark.parametrize("choice, param", [
    ("sometimes", "tool_choice"), (3, "tool_choice"), ({"name": "shell"}, "tool_choice.type"),
    ({"type": "function"}, "tool_choice.name"), ({"type": "warp"}, "tool_choice.type"),
    ({"type": "allowed_tools", "mode": "maybe", "tools": []}, "tool_choice.mode"),
    ({"type": "allowed_tools", "tools": "shell"}, "tool_choice.tools"),
    ({"type": "allowed_tools", "tools": ["shell"]}, "tool_choice.tools[0]"),
])
def test_bad_tool_choice_is_400(choice, param):
    with pytest.raises(ProxyError) as err:
        convert([FN], tool_choice=choice)
    assert err.value.status == 400 and err.value.param == param


def test_parallel_tool_calls_passes_with_tools():
    chat, _ = convert([FN], parallel_tool_calls=False)
    assert chat["parallel_tool_calls"] is False


# --- the ToolMap ----------------------------------------------------------------------------------

def test_tool_map_history_entries_are_not_offered():
    tools = responses.ToolMap()
    ref = tools.add("function", "gone", "ns")
    assert ref.chat_name == "ns__gone" and ref.chat_tool is None
    assert tools.chat_tools() == [] and "ns__gone" in tools and len(tools) == 1
    assert tools.chat_name("function", "gone", "ns") == "ns__gone"
    assert tools.find("function", "gone", "ns") is ref and tools.ref("nope") is None
