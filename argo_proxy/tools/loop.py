"""The tool loop: inject tools, run the model's calls to them, call the model again.

Surface-neutral: the model is reached through an upstream adapter (hub interface, OpenAI
chat bodies in, chat.completion or chunk events out), and a streamed answer is written
through the client surface's encoder (convert.encoders interface) to the client stream.
"""

from __future__ import annotations

import copy
import time
import uuid

from .. import observe
from ..convert import usage


def inject(body, toolset, sources=None):
    """Merge the injected tools (of the named sources only, if given) into the body; returns
    their names (client tools win)."""
    client = body.get("tools") or []
    taken = {(t.get("function") or {}).get("name") for t in client if isinstance(t, dict)}
    if sources is not None:
        allowed = {d["name"] for d in toolset.describe() if d["source"] in sources}
        taken |= {t["function"]["name"] for t in toolset.tools()} - allowed
    extra = [t for t in toolset.tools() if t["function"]["name"] not in taken]
    if extra:
        body["tools"] = list(client) + extra
    return {t["function"]["name"] for t in extra}


def _name(call):
    return (call.get("function") or {}).get("name")


def _split(calls, injected):
    mine = [c for c in calls if _name(c) in injected]
    theirs = [c for c in calls if _name(c) not in injected]
    return mine, theirs


def cap_note(limit, calls):
    names = ", ".join(sorted({_name(c) or "?" for c in calls}))
    return ("[argo-proxy: stopped after %d rounds of tool calls (max_tool_iterations); "
            "the model still wanted to call: %s]" % (limit, names))


def _assistant_turn(content, calls):
    return {"role": "assistant", "content": content or "",
            "tool_calls": [{"id": c.get("id"), "type": "function", "function": {
                "name": _name(c), "arguments": (c.get("function") or {}).get("arguments") or "{}"}}
                for c in calls]}


def _later_round(body):
    """A forced tool_choice (required, or a named function) holds for the first round only:
    later rounds may answer."""
    if body.get("tool_choice") not in (None, "auto", "none"):
        return dict(body, tool_choice="auto")
    return body


def activity(calls, results, seconds) -> str:
    """One short line per injected call, for show_tool_activity."""
    lines = []
    for c, r in zip(calls, results):
        args = (c.get("function") or {}).get("arguments") or ""
        args = args if len(args) <= 80 else args[:77] + "..."
        failed = str(r.get("content") or "").lower().startswith("error")
        lines.append("[tool] %s(%s) -> %s in %.1f s\n" % (_name(c), args, "error" if failed else "ok",
                                                          seconds))
    return "".join(lines)


class Loop:
    def __init__(self, toolset, max_rounds, timeout, max_chars, show_activity=False):
        self.toolset = toolset
        self.max_rounds = max_rounds
        self.timeout = timeout
        self.max_chars = max_chars
        self.show_activity = show_activity

    def run_tools(self, calls, call):
        """The injected calls, run at once; the chat's model is what MCP sampling defaults to,
        and the client going away cancels them."""
        return self.toolset.execute(calls, self.timeout, self.max_chars, model=call.model,
                                    cancel=call.cancel)

    # -- non-streaming -------------------------------------------------------------------

    def complete(self, adapter, call, body, injected):
        """Loop until the reply calls no injected tool; returns the last chat.completion."""
        messages = list(body.get("messages") or [])
        totals = {}
        for rounds in range(self.max_rounds + 1):
            reply = adapter.complete(call, dict(body, messages=copy.deepcopy(messages)))
            _add_usage(totals, reply.get("usage"))
            choice = (reply.get("choices") or [{}])[0]
            msg = choice.get("message") or {}
            mine, theirs = _split(msg.get("tool_calls") or [], injected)
            if theirs:  # the client's own tool: the turn is the client's (without our calls)
                msg["tool_calls"] = theirs
                break
            if not mine:
                break
            if rounds == self.max_rounds:
                msg["tool_calls"] = None
                msg["content"] = ((msg.get("content") or "") + "\n\n" + cap_note(rounds, mine)).lstrip()
                choice["finish_reason"] = "stop"
                break
            messages.append(_assistant_turn(msg.get("content"), mine))
            messages.extend(self.run_tools(mine, call))
            body = _later_round(body)
        if totals:
            reply["usage"] = totals
        observe.note_usage(totals.get("prompt_tokens"), totals.get("completion_tokens"),
                           getattr(adapter, "estimates_usage", False))
        return reply

    # -- streaming -----------------------------------------------------------------------

    def stream(self, adapter, call, body, injected, encoder):
        """One well-formed client stream across every round; injected calls stay hidden."""
        out = _Out(call.out, encoder)
        messages = list(body.get("messages") or [])
        totals = {}
        tally = usage.Tally(usage.prompt_tokens(body))   # when the upstream reports no usage
        for rounds in range(self.max_rounds + 1):
            turn = _Turn(out, injected)
            for chunk in adapter.stream(call, dict(body, messages=copy.deepcopy(messages))):
                _add_usage(totals, chunk.get("usage"))
                tally.feed(chunk)
                if out.gone or not turn.take(chunk):
                    return
            mine, theirs = _split(turn.calls(), injected)
            if not mine or theirs:
                out.send(encoder.finish(turn.finish_reason or ("tool_calls" if theirs else "stop")))
                break
            if rounds == self.max_rounds:
                out.send(encoder.text(("\n\n" if turn.text else "") + cap_note(rounds, mine)))
                out.send(encoder.finish("stop"))
                break
            messages.append(_assistant_turn("".join(turn.text), mine))
            out.open()  # open now, so keep-alives flow while the tools run
            started = time.monotonic()
            results = self.run_tools(mine, call)
            if self.show_activity:   # shown as reasoning: never in the answer, never to the model
                out.send(encoder.reasoning(activity(mine, results, time.monotonic() - started)))
            messages.extend(results)
            body = _later_round(body)
        counts = totals or tally.usage()
        observe.note_usage(counts.get("prompt_tokens"), counts.get("completion_tokens"),
                           not totals or getattr(adapter, "estimates_usage", False))
        out.send(encoder.usage(counts))
        out.send(encoder.end())


class _Out:
    """The client's side: the surface's encoder writing to the client stream, opened on
    first use."""

    def __init__(self, stream, encoder):
        self.stream = stream
        self.encoder = encoder
        self.opened = False
        self.gone = False

    def open(self):
        if not self.opened:
            self.opened = True
            self.stream.open(200, self.encoder.content_type)
            self.send(self.encoder.start())

    def send(self, data):
        self.open()
        if data and not self.stream.write(data):
            self.gone = True
        return not self.gone


class _Turn:
    """One upstream stream: text goes out live, tool-call fragments are assembled; fragments
    of client tools go out too (re-indexed), injected ones stay hidden."""

    def __init__(self, out, injected):
        self.out = out
        self.injected = injected
        self.text = []
        self.finish_reason = None
        self._calls = {}       # upstream index -> {"id", "name", "args": [...], "client_index"}
        self._client_count = 0

    def take(self, chunk) -> bool:
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or {}
            thought = delta.get("reasoning_content") or delta.get("reasoning")
            if thought and not self.out.send(self.out.encoder.reasoning(thought)):
                return False
            if delta.get("content"):
                self.text.append(delta["content"])
                if not self.out.send(self.out.encoder.text(delta["content"])):
                    return False
            for frag in delta.get("tool_calls") or []:
                if not self._fragment(frag):
                    return False
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return True

    def _fragment(self, frag):
        index = frag.get("index", len(self._calls))
        call = self._calls.setdefault(index, {"id": None, "name": None, "args": [], "client_index": None})
        fn = frag.get("function") or {}
        call["id"] = frag.get("id") or call["id"]
        call["name"] = fn.get("name") or call["name"]
        call["args"].append(fn.get("arguments") or "")
        if call["name"] is None or call["name"] in self.injected:
            return True
        encoder = self.out.encoder
        if call["client_index"] is None:  # first sight of a client tool: send what we have
            call["client_index"] = self._client_count
            self._client_count += 1
            return self.out.send(encoder.tool_call(call["client_index"], call["id"], call["name"],
                                                   "".join(call["args"])))
        return self.out.send(encoder.tool_call(call["client_index"], None, None,
                                               fn.get("arguments") or ""))

    def calls(self):
        return [{"id": c["id"] or "call_" + uuid.uuid4().hex[:24], "type": "function",
                 "function": {"name": c["name"], "arguments": "".join(c["args"])}}
                for _, c in sorted(self._calls.items())]


def _add_usage(totals, usage):
    if not isinstance(usage, dict):
        return
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        if isinstance(usage.get(key), int):
            totals[key] = totals.get(key, 0) + usage[key]
