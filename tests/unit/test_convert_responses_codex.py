"""A Codex CLI conversation end to end: its request (every tool type it sends) -> chat ->
a scripted reply calling each kind of tool -> the Responses items Codex expects -> its next
request, replaying those items as history."""

from __future__ import annotations

import json

from argo_proxy.convert import responses
from argo_proxy.convert.encoders import encode_chunk

PATCH_GRAMMAR = r'''start: begin_patch hunk+ end_patch
begin_patch: "*** Begin Patch" LF
end_patch: "*** End Patch" LF?
hunk: add_hunk | delete_hunk | update_hunk
add_hunk: "*** Add File: " filename LF add_line+
delete_hunk: "*** Delete File: " filename LF
update_hunk: "*** Update File: " filename LF change_move? change?
filename: /(.+)/
add_line: "+" /(.*)/ LF -> line
change_move: "*** Move to: " filename LF
change: (change_context | change_line)+ eof_line?
change_context: ("@@" | "@@ " /(.+)/) LF
change_line: ("+" | "-" | " ") /(.*)/ LF
eof_line: "*** End of File" LF
%import common.LF
'''

SHELL = {"type": "function", "name": "shell", "strict": False,
         "description": "Runs a shell command and returns its output.",
         "parameters": {"type": "object", "additionalProperties": False, "required": ["command"],
                        "properties": {
                            "command": {"type": "array", "items": {"type": "string"}},
                            "workdir": {"type": "string"}, "timeout_ms": {"type": "number"},
                            "with_escalated_permissions": {"type": "boolean"},
                            "justification": {"type": "string"}}}}
UPDATE_PLAN = {"type": "function", "name": "update_plan", "strict": False,
               "description": "Updates the task plan.",
               "parameters": {"type": "object", "required": ["plan"], "properties": {
                   "explanation": {"type": "string"},
                   "plan": {"type": "array", "items": {"type": "object", "properties": {
                       "step": {"type": "string"}, "status": {"type": "string"}}}}}}}
VIEW_IMAGE = {"type": "function", "name": "view_image", "strict": False,
              "description": "Attach a local image.",
              "parameters": {"type": "object", "required": ["path"],
                             "properties": {"path": {"type": "string"}}}}
APPLY_PATCH = {"type": "custom", "name": "apply_patch",
               "description": "Use the `apply_patch` tool to edit files.",
               "format": {"type": "grammar", "syntax": "lark", "definition": PATCH_GRAMMAR}}
AGENTS = {"type": "namespace", "name": "collaboration",
          "description": "Tools in the collaboration namespace.", "tools": [
              {"type": "function", "name": name, "strict": False, "description": name,
               "parameters": {"type": "object", "properties": {"target": {"type": "string"},
                                                               "message": {"type": "string"}}}}
              for name in ("spawn_agent", "send_input", "wait_agent", "close_agent")]}
MCP = {"type": "namespace", "name": "mcp__docs", "description": "Docs server.", "tools": [
    {"type": "function", "name": "search", "strict": False, "description": "Search docs.",
     "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}]}

FIRST = {
    "model": "gpt-5-codex",
    "instructions": "You are Codex, a coding agent.",
    "input": [
        {"type": "message", "role": "developer",
         "content": [{"type": "input_text", "text": "<permissions>workspace-write</permissions>"}]},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "<environment_context>cwd=/repo</environment_context>"}]},
        {"type": "message", "role": "user",
         "content": [{"type": "input_text", "text": "Add a README and run the tests."}]}],
    "tools": [SHELL, UPDATE_PLAN, VIEW_IMAGE, APPLY_PATCH, AGENTS, MCP, {"type": "local_shell"},
              {"type": "web_search", "external_web_access": False}],
    "tool_choice": "auto", "parallel_tool_calls": False,
    "reasoning": {"effort": "medium", "summary": "auto"}, "store": False, "stream": True,
    "include": ["reasoning.encrypted_content"], "prompt_cache_key": "0199-abc",
    "text": {"verbosity": "medium"},
}

README_PATCH = "*** Begin Patch\n*** Add File: README.md\n+# Demo\n*** End Patch\n"
CALLS = [
    ("c_plan", "update_plan", {"plan": [{"step": "write README", "status": "in_progress"}]}),
    ("c_patch", "apply_patch", {"input": README_PATCH}),
    ("c_shell", "shell", {"command": ["pytest", "-q"], "workdir": "/repo"}),
    ("c_agent", "collaboration__spawn_agent", {"message": "review the README"}),
    ("c_mcp", "mcp__docs__search", {"q": "readme style"}),
    ("c_local", "local_shell", {"command": ["git", "status"], "timeout_ms": 10000}),
]


def scripted_reply():
    calls = [{"id": cid, "type": "function", "function": {"name": name,
                                                          "arguments": json.dumps(args)}}
             for cid, name, args in CALLS]
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-5-codex",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "I'll plan, write, and test.",
                "reasoning_content": "Need a README, then tests.", "tool_calls": calls}}],
            "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
                      "completion_tokens_details": {"reasoning_tokens": 120}}}


def test_codex_request_becomes_a_chat_body():
    chat, tools = responses.to_chat(FIRST)
    assert chat["model"] == "gpt-5-codex" and chat["stream"] is True
    assert chat["reasoning_effort"] == "medium" and chat["verbosity"] == "medium"
    assert chat["tool_choice"] == "auto" and chat["parallel_tool_calls"] is False
    assert [m["role"] for m in chat["messages"]] == ["system", "developer", "user", "user"]
    assert [t["function"]["name"] for t in chat["tools"]] == [
        "shell", "update_plan", "view_image", "apply_patch", "collaboration__spawn_agent",
        "collaboration__send_input", "collaboration__wait_agent", "collaboration__close_agent",
        "mcp__docs__search", "local_shell"]
    patch = chat["tools"][3]["function"]
    assert "*** Begin Patch" in patch["description"] and "lark grammar" in patch["description"]
    assert patch["parameters"]["properties"]["input"]["type"] == "string"
    assert tools.notes == ["tools[7]: hosted tool 'web_search' dropped (Argo has no counterpart)"]
    assert "encrypted" not in json.dumps(chat) and "prompt_cache_key" not in chat


def expect_items(output):
    types = [i["type"] for i in output]
    assert types == ["reasoning", "message", "function_call", "custom_tool_call",
                     "function_call", "function_call", "function_call", "local_shell_call"]
    rs, msg, plan, patch, shell, agent, mcp, local = output
    assert rs["summary"][0]["text"] == "Need a README, then tests."
    assert msg["content"][0]["text"] == "I'll plan, write, and test."
    assert plan["name"] == "update_plan" and "namespace" not in plan
    assert json.loads(plan["arguments"]) == CALLS[0][2]
    assert patch["name"] == "apply_patch" and patch["input"] == README_PATCH
    assert json.loads(shell["arguments"]) == {"command": ["pytest", "-q"], "workdir": "/repo"}
    assert (agent["namespace"], agent["name"]) == ("collaboration", "spawn_agent")
    assert (mcp["namespace"], mcp["name"]) == ("mcp__docs", "search")
    assert local["action"] == {"type": "exec", "command": ["git", "status"], "env": {},
                               "timeout_ms": 10000, "working_directory": None, "user": None}
    assert [i.get("call_id") for i in output[2:]] == [c[0] for c in CALLS]


def test_scripted_reply_becomes_codex_items():
    chat, tools = responses.to_chat(FIRST)
    reply = responses.response_from_completion(scripted_reply(), "gpt-5-codex", FIRST, tools)
    expect_items(reply["output"])
    assert reply["usage"]["output_tokens_details"]["reasoning_tokens"] == 120
    assert reply["status"] == "completed"


def stream_reply(tools, size=5):
    """The scripted reply as a stream of hub chunks, arguments in small fragments."""
    ev = responses.ResponsesEncoder("gpt-5-codex", FIRST, tools, id="resp_c", created=1)
    msg = scripted_reply()["choices"][0]["message"]
    chunks = [{"choices": [{"index": 0, "delta": {"reasoning_content": msg["reasoning_content"]}}]},
              {"choices": [{"index": 0, "delta": {"content": msg["content"]}}]}]
    for i, c in enumerate(msg["tool_calls"]):
        args = c["function"]["arguments"]
        for j in range(0, len(args), size):
            frag = {"index": i, "function": {"arguments": args[j:j + size]}}
            if j == 0:
                frag.update(id=c["id"], type="function")
                frag["function"]["name"] = c["function"]["name"]
            chunks.append({"choices": [{"index": 0, "delta": {"tool_calls": [frag]}}]})
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
                   "usage": scripted_reply()["usage"]})
    return ev.start() + b"".join(encode_chunk(ev, c) for c in chunks) + ev.end()


def test_streamed_reply_becomes_codex_items():
    _, tools = responses.to_chat(FIRST)
    events = []
    for block in stream_reply(tools).decode("utf-8").split("\n\n"):
        if block:
            events.append(json.loads(block.split("\n", 1)[1][len("data: "):]))
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[-1]["type"] == "response.completed"
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    expect_items(done)
    assert done == events[-1]["response"]["output"]
    patch_deltas = [e["delta"] for e in events if e["type"] == "response.custom_tool_call_input.delta"]
    assert "".join(patch_deltas) == README_PATCH and len(patch_deltas) > 3


def test_next_codex_request_replays_the_items():
    chat, tools = responses.to_chat(FIRST)
    reply = responses.response_from_completion(scripted_reply(), "gpt-5-codex", FIRST, tools)
    history = [dict(i) for i in reply["output"]]
    history[0]["encrypted_content"] = "gAAAA-opaque"          # as Codex replays reasoning
    outputs = [{"type": "function_call_output", "call_id": "c_plan", "output": "Plan updated"},
               {"type": "custom_tool_call_output", "call_id": "c_patch",
                "output": "Success. Updated the following files:\nA README.md"},
               {"type": "function_call_output", "call_id": "c_shell",
                "output": json.dumps({"output": "3 passed", "metadata": {"exit_code": 0}})},
               {"type": "function_call_output", "call_id": "c_agent", "output": '{"agent_id": "a1"}'},
               {"type": "function_call_output", "call_id": "c_mcp", "output": [
                   {"type": "input_text", "text": "Use headings."}]},
               {"type": "function_call_output", "call_id": "c_local", "output": "clean"}]
    second = dict(FIRST, input=FIRST["input"] + history + outputs)
    chat2, _ = responses.to_chat(second)
    roles = [m["role"] for m in chat2["messages"]]
    assert roles == ["system", "developer", "user", "user", "assistant"] + ["tool"] * 6
    turn = chat2["messages"][4]
    assert turn["content"] == "I'll plan, write, and test."
    assert [(c["id"], c["function"]["name"]) for c in turn["tool_calls"]] == [
        (cid, name) for cid, name, _ in CALLS]
    assert json.loads(turn["tool_calls"][1]["function"]["arguments"]) == {"input": README_PATCH}
    assert json.loads(turn["tool_calls"][5]["function"]["arguments"]) == {
        "command": ["git", "status"], "timeout_ms": 10000}
    assert chat2["messages"][9]["content"] == "Use headings."
    assert "gAAAA" not in json.dumps(chat2)
    assert chat2["tools"] == chat["tools"]
