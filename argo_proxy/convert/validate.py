"""Shape checks for OpenAI chat bodies: a wrong type is the client's 400, never our 500."""

from __future__ import annotations

from ..errors import ProxyError


def bad(param, what):
    """The client's 400 for a field of the wrong type, naming the field's path."""
    raise ProxyError(400, "%s must be %s." % (param, what), param=param, code="invalid_type")


_bad = bad


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TESTS = {
    "a string": lambda v: isinstance(v, str),
    "an object": lambda v: isinstance(v, dict),
    "an array": lambda v: isinstance(v, list),
    "a number": _is_number,
    "an integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "true or false": lambda v: isinstance(v, bool),
}


def expect(value, path, what):
    """`value` if it is `what` (a key of _TESTS: "a string", "an object", ...), else a 400."""
    if not _TESTS[what](value):
        bad(path, what)
    return value


def expect_string(value, path):
    return expect(value, path, "a string")


def expect_object(value, path):
    return expect(value, path, "an object")


def expect_array(value, path):
    return expect(value, path, "an array")


def expect_number(value, path):
    return expect(value, path, "a number")


def expect_integer(value, path):
    return expect(value, path, "an integer")


def expect_boolean(value, path):
    return expect(value, path, "true or false")


# Scalar fields of an OpenAI chat body and what each must be (absent or null is fine).
_SCALARS = (("n", "an integer"), ("max_tokens", "an integer"), ("max_completion_tokens", "an integer"),
            ("temperature", "a number"), ("top_p", "a number"), ("stream", "true or false"),
            ("stream_options", "an object"), ("parallel_tool_calls", "true or false"),
            ("presence_penalty", "a number"), ("frequency_penalty", "a number"),
            ("seed", "an integer"), ("user", "a string"), ("logprobs", "true or false"),
            ("top_logprobs", "an integer"), ("response_format", "an object"))


def chat_body(body: dict, require_messages=True):
    """Every field the proxy or Argo reads has the right type, else a 400 naming it."""
    msgs = body.get("messages")
    if msgs is not None or require_messages:
        expect(msgs, "messages", "an array")
        for i, msg in enumerate(msgs):
            _message(msg, "messages[%d]" % i)
    tools = body.get("tools")
    if tools is not None:
        expect(tools, "tools", "an array")
        for i, tool in enumerate(tools):
            _tool(tool, "tools[%d]" % i)
    for key, what in _SCALARS:
        if body.get(key) is not None:
            expect(body[key], key, what)
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage") is not None:
        expect(options["include_usage"], "stream_options.include_usage", "true or false")
    _tool_choice(body.get("tool_choice"))


def _tool(tool, where):
    expect(tool, where, "an object")
    kind = tool.get("type", "function")
    expect(kind, where + ".type", "a string")
    if kind == "function":
        if "function" not in tool:
            _bad(where + ".function", "an object with a name (a function tool needs one)")
        _function(tool["function"], where + ".function")
        params = tool["function"].get("parameters")
        if params is not None:
            expect(params, where + ".function.parameters", "an object")


def _tool_choice(choice):
    if choice is None or isinstance(choice, str):
        return
    expect(choice, "tool_choice", "an object")
    if choice.get("type") is not None:
        expect(choice["type"], "tool_choice.type", "a string")
    if "function" in choice:
        _function(choice["function"], "tool_choice.function")


def _message(msg, where):
    if not isinstance(msg, dict):
        _bad(where, "an object with a role")
    expect(msg.get("role"), where + ".role", "a string")
    if msg.get("name") is not None:
        expect(msg["name"], where + ".name", "a string")
    content = msg.get("content")
    if content is not None and not isinstance(content, (str, list)):
        _bad(where + ".content", "a string or a list of content parts")
    if isinstance(content, list):
        for j, part in enumerate(content):
            _part(part, "%s.content[%d]" % (where, j))
    calls = msg.get("tool_calls")
    if calls is not None:
        expect(calls, where + ".tool_calls", "an array")
        for k, call in enumerate(calls):
            expect(call, "%s.tool_calls[%d]" % (where, k), "an object")
            _function(call.get("function"), "%s.tool_calls[%d].function" % (where, k))
    if msg.get("tool_call_id") is not None:
        expect(msg["tool_call_id"], where + ".tool_call_id", "a string")


def _part(part, where):
    if isinstance(part, str):
        return
    expect(part, where, "an object")
    kind = part.get("type")
    if kind is not None:
        expect(kind, where + ".type", "a string")
    if kind in ("text", "input_text") or (kind is None and "text" in part):
        expect(part.get("text"), where + ".text", "a string")
    elif kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        expect(url, where + ".image_url.url", "a string")


def _function(fn, where):
    if not isinstance(fn, dict):
        _bad(where, "an object with a name")
    expect(fn.get("name"), where + ".name", "a string")


# Top-level fields of an Anthropic Messages body and what each must be.
_MESSAGES_FIELDS = (("model", "a string"), ("max_tokens", "an integer"), ("temperature", "a number"),
                    ("top_p", "a number"), ("top_k", "an integer"), ("stream", "true or false"),
                    ("tools", "an array"), ("tool_choice", "an object"), ("metadata", "an object"),
                    ("thinking", "an object"), ("stop_sequences", "an array"))


def messages_body(body: dict):
    """The shape of a Messages request that goes to Argo's Anthropic API as it is: enough to
    answer a wrong type with a 400 naming the field instead of passing it on."""
    expect(body.get("messages"), "messages", "an array")
    for key, what in _MESSAGES_FIELDS:
        if body.get(key) is not None:
            expect(body[key], key, what)
    system = body.get("system")
    if system is not None and not isinstance(system, (str, list)):
        bad("system", "a string or an array of text blocks")
    for i, msg in enumerate(body["messages"]):
        where = "messages[%d]" % i
        expect(msg, where, "an object")
        expect(msg.get("role"), where + ".role", "a string")
        content = msg.get("content")
        if isinstance(content, list):
            for j, block in enumerate(content):
                expect(block, "%s.content[%d]" % (where, j), "an object")
                expect(block.get("type"), "%s.content[%d].type" % (where, j), "a string")
        elif not isinstance(content, str):
            bad(where + ".content", "a string or an array of content blocks")
    for i, tool in enumerate(body.get("tools") or ()):
        expect(tool, "tools[%d]" % i, "an object")
        expect(tool.get("name"), "tools[%d].name" % i, "a string")
