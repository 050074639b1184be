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


def chat_body(body: dict, require_messages=True):
    msgs = body.get("messages")
    if msgs is None and not require_messages:
        pass
    elif not isinstance(msgs, list):
        _bad("messages", "a list of message objects")
    else:
        for i, msg in enumerate(msgs):
            _message(msg, "messages[%d]" % i)
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            _bad("tools", "a list of tool objects")
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict):
                _bad("tools[%d]" % i, "an object")
            if tool.get("type", "function") == "function" and "function" in tool:
                _function(tool["function"], "tools[%d].function" % i)
    for key, kinds, what in (("tool_choice", (str, dict), "a string or an object"),
                             ("stream", (bool,), "true or false"),
                             ("stream_options", (dict,), "an object")):
        if body.get(key) is not None and not isinstance(body[key], kinds):
            _bad(key, what)
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and "function" in choice and not isinstance(choice["function"], dict):
        _bad("tool_choice.function", "an object")


def _message(msg, where):
    if not isinstance(msg, dict):
        _bad(where, "an object with a role")
    if not isinstance(msg.get("role"), str):
        _bad(where + ".role", "a string")
    content = msg.get("content")
    if content is not None and not isinstance(content, (str, list)):
        _bad(where + ".content", "a string or a list of content parts")
    if isinstance(content, list):
        for j, part in enumerate(content):
            if not isinstance(part, (dict, str)):
                _bad("%s.content[%d]" % (where, j), "a content part object")
            if isinstance(part, dict) and part.get("text") is not None and not isinstance(part["text"], str):
                _bad("%s.content[%d].text" % (where, j), "a string")
    calls = msg.get("tool_calls")
    if calls is not None:
        if not isinstance(calls, list):
            _bad(where + ".tool_calls", "a list")
        for k, call in enumerate(calls):
            if not isinstance(call, dict):
                _bad("%s.tool_calls[%d]" % (where, k), "an object")
            _function(call.get("function"), "%s.tool_calls[%d].function" % (where, k))
    if msg.get("tool_call_id") is not None and not isinstance(msg["tool_call_id"], str):
        _bad(where + ".tool_call_id", "a string")


def _function(fn, where):
    if not isinstance(fn, dict):
        _bad(where, "an object with a name")
    if not isinstance(fn.get("name"), str):
        _bad(where + ".name", "a string")
