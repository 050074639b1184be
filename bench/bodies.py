"""Request bodies for the benchmark: the small chat body, and a coding agent's whole conversation.

A big body is what an agent (Claude Code, Codex, aider...) sends on every turn: a system prompt,
the tool definitions, then many turns of user text, assistant text with tool calls (their
arguments are JSON inside a JSON string, so full of \\"), and tool results holding source files
and command output (newlines, tabs, quotes, backslashes), with some non-ASCII (accents, dashes,
quotes, CJK, emoji). Generated deterministically (fixed seed): the same bytes on every run.
Serialized like the JavaScript and httpx clients do: compact, non-ASCII left as UTF-8.

A streaming body asks for a fixed number of events; the count and the time between events are
also written in the last message as `[bench events=N interval_ms=X]`, which the fake upstream
reads, because some gateways drop or rename the body keys it would otherwise use.
"""

from __future__ import annotations

import json
import os
import random

MODEL = "gpt4o"
SMALL_CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello."}], "stream": False}

WORDS = ("the function returns a list of parsed records and the caller filters them before writing "
         "results to disk while the cache keeps recent entries so repeated lookups stay cheap when "
         "tests run in parallel on the build machine after each commit").split()
NON_ASCII = ("café", "naïve", "Zürich", "—", "“quoted”", "résumé", "数据", "ファイル", "✓", "🙂", "½", "…")
CODE_LINES = (
    'def load(path: str) -> dict:',
    '    with open(path, encoding="utf-8") as fh:',
    '        return json.loads(fh.read())',
    '\tif not items:  # nothing to do',
    '\t\treturn {"status": "empty", "path": "C:\\\\temp\\\\out"}',
    'raise ValueError(f"bad value: {value!r}")',
    'print("done: %d files, %.1f s" % (count, elapsed))',
    'SELECT id, name FROM users WHERE name LIKE \'%smith%\';',
    'const re = /^\\s*(\\w+)=("[^"]*"|\\S+)$/;',
)
TOOLS = ("read_file", "write_file", "run_command", "search_code", "list_dir", "apply_patch")


def sentence(rng, words=14):
    out = [rng.choice(WORDS) for _ in range(words)]
    if rng.random() < 0.3:
        out.insert(rng.randrange(len(out)), rng.choice(NON_ASCII))
    return " ".join(out).capitalize() + "."


def source_file(rng, lines):
    return "\n".join(rng.choice(CODE_LINES) for _ in range(lines))


def tool_defs():
    return [{"type": "function", "function": {
        "name": name, "description": "%s in the workspace; returns its output as text." % name.replace("_", " "),
        "parameters": {"type": "object", "properties": {
            "path": {"type": "string", "description": "file or directory, relative to the repo root"},
            "content": {"type": "string"}, "args": {"type": "array", "items": {"type": "string"}}},
            "required": ["path"]}}} for name in TOOLS]


def turn(rng, n):
    """One agent turn: the user asks, the assistant calls a tool, the tool answers."""
    call_id = "call_%06d" % n
    tool = rng.choice(TOOLS)
    args = json.dumps({"path": "src/module_%d.py" % rng.randrange(500),
                       "content": source_file(rng, rng.randint(2, 6))}, ensure_ascii=False)
    result = source_file(rng, rng.randint(20, 60)) + "\n\n" + " ".join(sentence(rng) for _ in range(3))
    return [
        {"role": "user", "content": " ".join(sentence(rng) for _ in range(rng.randint(1, 4)))},
        {"role": "assistant", "content": sentence(rng),
         "tool_calls": [{"id": call_id, "type": "function", "function": {"name": tool, "arguments": args}}]},
        {"role": "tool", "tool_call_id": call_id, "content": result},
    ]


def conversation(target_bytes, seed=14):
    """Messages and tools of about target_bytes once serialized (never less)."""
    rng = random.Random(seed)
    system = "You are a coding agent working in a git repository. " + " ".join(sentence(rng) for _ in range(30))
    messages = [{"role": "system", "content": system}]
    size = len(json.dumps(messages, ensure_ascii=False).encode())
    n = 0
    while size < target_bytes:
        new = turn(rng, n)
        messages.extend(new)
        size += len(json.dumps(new, ensure_ascii=False).encode())
        n += 1
    return messages


def marker(events, interval_ms=None):
    if interval_ms is None:
        return "[bench events=%d]" % events
    return "[bench events=%d interval_ms=%g]" % (events, interval_ms)


def chat_body(messages, stream, events=None, interval_ms=None):
    """The serialized request: non-streaming, or streaming `events` events `interval_ms` apart."""
    msgs = list(messages)
    body = {"model": MODEL, "messages": msgs, "stream": bool(stream)}
    if stream:
        last = dict(msgs[-1])
        last["content"] = "%s %s" % (last.get("content") or "", marker(events, interval_ms))
        msgs[-1] = last
        body["max_tokens"] = events
        if interval_ms is not None:
            body["bench_interval_ms"] = interval_ms
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def big_body(target_bytes, stream, events=20, interval_ms=0.0):
    """A coding agent's conversation of about target_bytes, with the tool definitions."""
    messages = conversation(target_bytes)
    messages.append({"role": "user", "content": "Now run the tests and fix what fails."})
    raw = json.loads(chat_body(messages, stream, events, interval_ms))
    raw["tools"] = tool_defs()
    return json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode()


def stream_body(events, interval_ms=None):
    """The small streaming request of the 1/100/500-stream tests."""
    return chat_body([{"role": "user", "content": "Count to %d." % events}], True, events, interval_ms)


def describe(body):
    """Size and make-up of a body, for the report."""
    req = json.loads(body)
    text = body.decode("utf-8")
    return {"bytes": len(body), "messages": len(req.get("messages") or []),
            "non_ascii_chars": sum(1 for ch in text if ord(ch) > 127),
            "escaped_chars": text.count("\\")}


BIG_SIZES = {"big100k": 100 * 1024, "big2m": 2 * 1024 * 1024}
BIG_STREAM_EVENTS = 20     # events in each answer of the big-body streaming scenarios, sent back to back


def write_files(directory):
    """Every body the benchmark sends, written once to `directory`: {name: path}."""
    os.makedirs(directory, exist_ok=True)
    made = {"small": json.dumps(SMALL_CHAT, separators=(",", ":")).encode()}
    for name, size in BIG_SIZES.items():
        made[name] = big_body(size, False)
        made[name + "_stream"] = big_body(size, True, BIG_STREAM_EVENTS, 0.0)
    paths = {}
    for name, body in made.items():
        paths[name] = os.path.join(directory, name + ".json")
        with open(paths[name], "wb") as f:
            f.write(body)
    return paths
