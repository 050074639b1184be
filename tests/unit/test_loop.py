"""The tool loop with a scripted model and a recording tool set (no sockets)."""

import io
import json

from argo_proxy.clientstream import ClientStream
from argo_proxy.convert.encoders import ChatEncoder
from argo_proxy.hub import Call
from argo_proxy.sse import DONE
from argo_proxy.tools.loop import Loop, inject
from tests.inproc import Headers, Result

ADD = {"type": "function", "function": {"name": "add", "description": "", "parameters": {}}}
MINE = {"type": "function", "function": {"name": "mine", "description": "", "parameters": {}}}


class Tools:
    def __init__(self):
        self.batches = []

    def tools(self):
        return [ADD]

    def execute(self, calls, timeout, max_chars, model=None, cancel=None):
        self.batches.append([c["function"]["name"] for c in calls])
        return [{"role": "tool", "tool_call_id": c["id"], "content": "5"} for c in calls]


def call(cid, name, args='{"a": 2, "b": 3}'):
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}


class Model:
    """Replays scripted turns; records the messages it was given."""

    def __init__(self, turns):
        self.turns = list(turns)
        self.seen = []

    def complete(self, call, body):
        self.seen.append(body["messages"])
        content, calls = self.turns.pop(0)
        return {"id": "x", "object": "chat.completion", "model": "m",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content,
                                                     "tool_calls": calls or None},
                             "finish_reason": "tool_calls" if calls else "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}}

    def stream(self, call, body):
        self.seen.append(body["messages"])
        content, calls = self.turns.pop(0)
        chunks = [{"id": "up", "choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
        if content:
            chunks += [{"id": "up", "choices": [{"index": 0, "delta": {"content": content[:3]}}]},
                       {"id": "up", "choices": [{"index": 0, "delta": {"content": content[3:]}}]}]
        for i, c in enumerate(calls or []):
            args = c["function"]["arguments"]
            chunks.append({"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": i, "id": c["id"], "type": "function",
                 "function": {"name": c["function"]["name"], "arguments": ""}}]}}]})
            chunks += [{"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": i, "function": {"arguments": args[j:j + 4]}}]}}]} for j in range(0, len(args), 4)]
        chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls" if calls else "stop"}]})
        chunks.append({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}})
        return iter(chunks)


class Req:
    headers = Headers()

    def header(self, name, default=None):
        return default


def make_call(include_usage=True):
    return Call(Req(), ClientStream(io.BytesIO()), "m", "openai", "tester", True, include_usage)


CALL = make_call()


def run_stream(turns, body=None, max_rounds=10, include_usage=True):
    tools, model, call = Tools(), Model(turns), make_call(include_usage)
    body = body or {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    injected = inject(body, tools)
    Loop(tools, max_rounds, 5, 1000).stream(model, call, body, injected, ChatEncoder("m", include_usage))
    call.out.close()
    result = Result(call.out._wfile.getvalue())
    events = [e for e in result.body.split(b"\n\n") if e]
    events = [e + b"\n\n" for e in events]
    chunks = [json.loads(e[6:]) for e in events if e != DONE]
    return chunks, events, tools, model


def test_inject_merges_and_client_wins():
    body = {"tools": [dict(ADD, function=dict(ADD["function"], description="client's"))]}
    assert inject(body, Tools()) == set()
    assert body["tools"][0]["function"]["description"] == "client's" and len(body["tools"]) == 1
    body = {"tools": [MINE]}
    assert inject(body, Tools()) == {"add"} and [t["function"]["name"] for t in body["tools"]] == ["mine", "add"]


def test_complete_runs_rounds_until_text():
    tools, model = Tools(), Model([(None, [call("a", "add"), call("b", "add")]), ("", [call("c", "add")]),
                                   ("It is 5.", None)])
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    reply = Loop(tools, 10, 5, 1000).complete(model, CALL, body, inject(body, tools))
    assert reply["choices"][0]["message"]["content"] == "It is 5."
    assert tools.batches == [["add", "add"], ["add"]]
    last = model.seen[-1]
    assert [m["role"] for m in last] == ["user", "assistant", "tool", "tool", "assistant", "tool"]
    assert last[1]["content"] == "" and len(last[1]["tool_calls"]) == 2
    assert reply["usage"] == {"prompt_tokens": 30, "completion_tokens": 6, "total_tokens": 36}
    assert body["messages"] == [{"role": "user", "content": "hi"}]  # the client's body is untouched


def test_decided_by_tool_calls_not_finish_reason():
    class StopModel(Model):
        def complete(self, call, body):
            reply = super().complete(call, body)
            reply["choices"][0]["finish_reason"] = "stop"  # some backends say stop with calls
            return reply
    tools, model = Tools(), StopModel([(None, [call("a", "add")]), ("done", None)])
    body = {"model": "m", "messages": []}
    reply = Loop(tools, 10, 5, 1000).complete(model, CALL, body, inject(body, tools))
    assert reply["choices"][0]["message"]["content"] == "done" and tools.batches == [["add"]]


def test_cap_reached_removes_calls_and_says_so():
    tools, model = Tools(), Model([("thinking", [call(str(i), "add")]) for i in range(3)])
    body = {"model": "m", "messages": []}
    reply = Loop(tools, 2, 5, 1000).complete(model, CALL, body, inject(body, tools))
    msg = reply["choices"][0]["message"]
    assert msg["tool_calls"] is None and reply["choices"][0]["finish_reason"] == "stop"
    assert "max_tool_iterations" in msg["content"] and msg["content"].startswith("thinking")
    assert len(tools.batches) == 2


def test_client_tool_call_ends_loop():
    tools, model = Tools(), Model([(None, [call("a", "mine")])])
    body = {"model": "m", "messages": [], "tools": [MINE]}
    reply = Loop(tools, 10, 5, 1000).complete(model, CALL, body, inject(body, tools))
    assert reply["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "mine"
    assert tools.batches == []


def test_mixed_turn_gives_client_only_its_calls():
    tools, model = Tools(), Model([(None, [call("a", "add"), call("b", "mine")])])
    body = {"model": "m", "messages": [], "tools": [MINE]}
    reply = Loop(tools, 10, 5, 1000).complete(model, CALL, body, inject(body, tools))
    names = [c["function"]["name"] for c in reply["choices"][0]["message"]["tool_calls"]]
    assert names == ["mine"] and tools.batches == []


def test_stream_is_one_well_formed_stream_across_rounds():
    chunks, events, tools, _ = run_stream([("Let me", [call("a", "add")]), ("It is 5.", None)])
    assert events[-1] == DONE and events.count(DONE) == 1
    assert len({c["id"] for c in chunks}) == 1
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert sum("role" in d for d in deltas) == 1
    assert not any("tool_calls" in d for d in deltas)  # injected calls stay hidden
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert [f for f in finishes if f] == ["stop"]
    assert "".join(d.get("content") or "" for d in deltas) == "Let meIt is 5."
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 24
    assert tools.batches == [["add"]]


def test_stream_without_usage_request_has_no_usage_chunk():
    chunks, _, _, _ = run_stream([("hi", None)], include_usage=False)
    assert all(c["choices"] for c in chunks)


def test_stream_client_tool_fragments_forwarded_reindexed():
    body = {"model": "m", "messages": [], "tools": [MINE]}
    chunks, _, tools, _ = run_stream([(None, [call("a", "add"), call("b", "mine", '{"x": 1}')])], body=body)
    frags = [tc for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert frags[0]["index"] == 0 and frags[0]["function"]["name"] == "mine" and frags[0]["id"] == "b"
    assert "".join(f["function"]["arguments"] for f in frags) == '{"x": 1}'
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finishes == ["tool_calls"] and tools.batches == []


def test_stream_cap_note():
    chunks, events, tools, _ = run_stream([("", [call(str(i), "add")]) for i in range(2)], max_rounds=1)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert "max_tool_iterations" in text and events[-1] == DONE
    assert len(tools.batches) == 1


def test_stream_assembles_fragmented_arguments_for_execution():
    _, _, _, model = run_stream([(None, [call("a", "add", '{"a": 20, "b": 22}')]), ("ok", None)])
    sent = model.seen[1][1]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(sent) == {"a": 20, "b": 22}


def test_a_forced_tool_choice_holds_for_the_first_round_only():
    tools, model = Tools(), Model([(None, [call("a", "add")]), ("done", None)])
    seen = []

    class Recording(Model):
        def complete(self, call_, body):
            seen.append(body.get("tool_choice"))
            return Model.complete(self, call_, body)
    model = Recording([(None, [call("a", "add")]), ("done", None)])
    body = {"model": "m", "messages": [], "tool_choice": "required"}
    Loop(tools, 10, 5, 1000).complete(model, CALL, body, inject(body, tools))
    assert seen == ["required", "auto"]
    named = {"type": "function", "function": {"name": "add"}}
    chunks, _, _, streamed = run_stream([("", [call("a", "add")]), ("ok", None)],
                                        body={"model": "m", "messages": [], "tool_choice": named})
    assert len(streamed.seen) == 2


def test_tool_activity_is_reasoning_never_answer_text():
    tools, model, c = Tools(), Model([("Let me", [call("a", "add")]), ("It is 5.", None)]), make_call()
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    Loop(tools, 10, 5, 1000, show_activity=True).stream(model, c, body, inject(body, tools),
                                                        ChatEncoder("m"))
    c.out.close()
    events = [json.loads(e[6:]) for e in Result(c.out._wfile.getvalue()).body.split(b"\n\n")
              if e.startswith(b"data: {")]
    deltas = [e["choices"][0]["delta"] for e in events if e["choices"]]
    thoughts = "".join(d.get("reasoning_content") or "" for d in deltas)
    assert thoughts.startswith("[tool] add(") and " -> ok in " in thoughts
    assert "".join(d.get("content") or "" for d in deltas) == "Let meIt is 5."
    assert all("[tool]" not in json.dumps(m) for turn in model.seen for m in turn)


def test_inject_only_the_named_sources():
    class Two(Tools):
        def tools(self):
            return [ADD, MINE]

        def describe(self):
            return [{"name": "add", "source": "calc"}, {"name": "mine", "source": "other"}]
    body = {"messages": []}
    assert inject(body, Two(), ["calc"]) == {"add"}
    assert [t["function"]["name"] for t in body["tools"]] == ["add"]
