"""Shape checks for the client surfaces' bodies (OpenAI chat, completions and embeddings,
Anthropic Messages): a wrong type is the client's 400 naming the field path
(`messages[2].content[0].text`), never our 500 nor a body passed on to Argo. `expect` and `bad`
are the one mechanism the converters of the other surfaces use too."""

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


def expect_strings(value, path):
    """A string, or an array of strings (a bad element is named: `stop[1]`)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        bad(path, "a string or an array of strings")
    for i, item in enumerate(value):
        expect(item, "%s[%d]" % (path, i), "a string")
    return value


def expect_choice(value, path, choices):
    """`value` if it is one of the strings `choices`, else a 400 naming the path and the choices."""
    if not isinstance(value, str) or value not in choices:
        bad(path, "one of " + ", ".join('"%s"' % c for c in choices))
    return value


def _scalars(body, table, root=""):
    for key, what in table:
        if body.get(key) is not None:
            expect(body[key], root + key, what)


# -- OpenAI chat completions, completions and embeddings ----------------------------------

# Scalar fields every OpenAI generation body shares, and what each must be (absent or null is fine).
_COMMON = (("n", "an integer"), ("max_tokens", "an integer"), ("temperature", "a number"),
           ("top_p", "a number"), ("stream", "true or false"), ("stream_options", "an object"),
           ("presence_penalty", "a number"), ("frequency_penalty", "a number"),
           ("seed", "an integer"), ("user", "a string"), ("logit_bias", "an object"))
_SCALARS = _COMMON + (
    ("max_completion_tokens", "an integer"), ("parallel_tool_calls", "true or false"),
    ("logprobs", "true or false"), ("top_logprobs", "an integer"),
    ("response_format", "an object"), ("reasoning_effort", "a string"), ("verbosity", "a string"),
    ("metadata", "an object"), ("store", "true or false"), ("modalities", "an array"),
    ("service_tier", "a string"))
# /v1/completions: `logprobs` is a count there, not a flag.
_COMPLETION_SCALARS = _COMMON + (("echo", "true or false"), ("suffix", "a string"),
                                 ("best_of", "an integer"), ("logprobs", "an integer"))
ROLES = ("system", "user", "assistant", "tool", "developer", "function")
# OpenAI's content parts (refusal: assistant turns), plus the Responses-style text parts some
# clients send to chat.
PART_TYPES = ("text", "image_url", "input_audio", "file", "refusal", "input_text", "output_text")
TOOL_CHOICES = ("none", "auto", "required")
ENCODING_FORMATS = ("float", "base64")


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
    _scalars(body, _SCALARS)
    _stop_and_stream_options(body)
    fmt = body.get("response_format")
    if fmt is not None:
        expect(fmt.get("type"), "response_format.type", "a string")
    _tool_choice(body.get("tool_choice"))


def completions_body(body: dict):
    """A /v1/completions body: `prompt` a string or strings, the scalars of a completion."""
    if body.get("prompt") is not None:
        expect_texts(body["prompt"], "prompt")
    _scalars(body, _COMPLETION_SCALARS)
    _stop_and_stream_options(body)


def expect_texts(value, path):
    """A prompt or embedding input: a string or an array of strings. Token arrays (OpenAI
    allows them; Argo's models take text) are refused as such."""
    if isinstance(value, list) and value and all(_is_tokens(v) for v in value):
        raise ProxyError(400, "%s: token arrays are not supported; send strings" % path,
                         param=path, code="invalid_type")
    return expect_strings(value, path)


def _is_tokens(value):
    if isinstance(value, list):
        return all(_is_tokens(v) for v in value) and not any(isinstance(v, list) for v in value)
    return isinstance(value, int) and not isinstance(value, bool)


def embedding_texts(body: dict):
    """(field, value) of the texts to embed: OpenAI `input`, else Argo's `prompt`; each a
    string or an array of non-empty strings (a bad element named: `input[1]`)."""
    field = "input" if body.get("input") is not None else "prompt"
    value = body.get(field)
    if value is None:
        raise ProxyError(400, "input is required (OpenAI 'input' or Argo 'prompt'): a string "
                         "or an array of strings", param="input", code="missing_required")
    expect_texts(value, field)
    if value == "" or value == [] or (isinstance(value, list) and "" in value):
        raise ProxyError(400, "%s must be a non-empty string or list of strings (no empty "
                         "strings)" % field, param=field, code="invalid_value")
    return field, value


def embeddings_body(body: dict):
    """A /v1/embeddings body: the texts, `encoding_format`, `dimensions`, `user`."""
    embedding_texts(body)
    if body.get("encoding_format") is not None:
        expect_choice(body["encoding_format"], "encoding_format", ENCODING_FORMATS)
    _scalars(body, (("dimensions", "an integer"), ("user", "a string")))


def _stop_and_stream_options(body):
    if body.get("stop") is not None:
        expect_strings(body["stop"], "stop")
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage") is not None:
        expect(options["include_usage"], "stream_options.include_usage", "true or false")


def _tool(tool, where):
    expect(tool, where, "an object")
    kind = tool.get("type", "function")
    expect(kind, where + ".type", "a string")
    if kind == "function":
        if "function" not in tool:
            _bad(where + ".function", "an object with a name (a function tool needs one)")
        fn = tool["function"]
        _function(fn, where + ".function")
        if fn.get("description") is not None:
            expect(fn["description"], where + ".function.description", "a string")
        if fn.get("parameters") is not None:
            expect(fn["parameters"], where + ".function.parameters", "an object")
        if fn.get("strict") is not None:
            expect(fn["strict"], where + ".function.strict", "true or false")


def _tool_choice(choice):
    if choice is None:
        return
    if isinstance(choice, str):
        if choice not in TOOL_CHOICES:
            bad("tool_choice", '"none", "auto", "required" or an object naming a function')
        return
    expect(choice, "tool_choice", "an object")
    kind = expect(choice.get("type"), "tool_choice.type", "a string")
    if kind == "function" or "function" in choice:
        _function(choice.get("function"), "tool_choice.function")


def _message(msg, where):
    if not isinstance(msg, dict):
        _bad(where, "an object with a role")
    expect_choice(msg.get("role"), where + ".role", ROLES)
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
            _tool_call(call, "%s.tool_calls[%d]" % (where, k))
    if msg.get("tool_call_id") is not None or msg["role"] == "tool":
        expect(msg.get("tool_call_id"), where + ".tool_call_id", "a string")


def _tool_call(call, where):
    expect(call, where, "an object")
    _function(call.get("function"), where + ".function")
    expect(call["function"].get("arguments"), where + ".function.arguments", "a string")
    expect(call.get("id"), where + ".id", "a string")
    if call.get("type") is not None:
        expect(call["type"], where + ".type", "a string")


def _part(part, where):
    if isinstance(part, str):
        return
    expect(part, where, "an object")
    kind = expect_choice(part.get("type"), where + ".type", PART_TYPES)
    if kind in ("text", "input_text", "output_text"):
        expect(part.get("text"), where + ".text", "a string")
    elif kind == "refusal":
        expect(part.get("refusal"), where + ".refusal", "a string")
    elif kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        expect(url, where + ".image_url.url", "a string")
        if isinstance(image, dict) and image.get("detail") is not None:
            expect(image["detail"], where + ".image_url.detail", "a string")
    elif kind == "input_audio":
        audio = expect(part.get("input_audio"), where + ".input_audio", "an object")
        expect(audio.get("data"), where + ".input_audio.data", "a string")
        expect(audio.get("format"), where + ".input_audio.format", "a string")
    elif kind == "file":
        found = expect(part.get("file"), where + ".file", "an object")
        _scalars(found, (("file_data", "a string"), ("file_id", "a string"),
                         ("filename", "a string")), where + ".file.")


def _function(fn, where):
    if not isinstance(fn, dict):
        _bad(where, "an object with a name")
    expect(fn.get("name"), where + ".name", "a string")


# -- Anthropic Messages --------------------------------------------------------------------

# Top-level fields of an Anthropic Messages body and what each must be.
_MESSAGES_FIELDS = (("model", "a string"), ("max_tokens", "an integer"), ("temperature", "a number"),
                    ("top_p", "a number"), ("top_k", "an integer"), ("stream", "true or false"),
                    ("tools", "an array"), ("tool_choice", "an object"), ("metadata", "an object"),
                    ("thinking", "an object"), ("stop_sequences", "an array"))
# `system` turns are the converter's leniency (Claude itself takes only user and assistant).
MESSAGE_ROLES = ("user", "assistant", "system")
ANTHROPIC_CHOICES = ("auto", "any", "tool", "none")
THINKING_TYPES = ("enabled", "disabled", "adaptive")
# The content block types a Messages request may carry (Anthropic's SDK, stable and beta);
# server-tool blocks Anthropic adds later are recognised by their suffix.
BLOCK_TYPES = ("text", "image", "document", "search_result", "thinking", "redacted_thinking",
               "tool_use", "tool_result", "server_tool_use", "web_search_tool_result",
               "web_fetch_tool_result", "code_execution_tool_result",
               "bash_code_execution_tool_result", "text_editor_code_execution_tool_result",
               "tool_search_tool_result", "advisor_tool_result", "container_upload",
               "mcp_tool_use", "mcp_tool_result", "mcp_tool_listing", "compaction",
               "tool_addition", "tool_removal", "fallback")
_SERVER_BLOCK_SUFFIXES = ("_tool_use", "_tool_result", "_tool_listing")


def messages_body(body: dict, count_tokens=False):
    """The shape of a Messages request (also what goes to Argo's Anthropic API as it is):
    every field it names has the type Anthropic documents, else a 400 naming the field path.
    Unknown block types and fields are left for the upstream to judge. `max_tokens` is
    required except for count_tokens."""
    expect(body.get("messages"), "messages", "an array")
    if not count_tokens:
        expect(body.get("max_tokens"), "max_tokens", "an integer")
    _scalars(body, _MESSAGES_FIELDS)
    system = body.get("system")
    if system is not None and not isinstance(system, str):
        if not isinstance(system, list):
            bad("system", "a string or an array of text blocks")
        for i, block in enumerate(system):
            _block(block, "system[%d]" % i)
    if body.get("metadata") is not None and body["metadata"].get("user_id") is not None:
        expect(body["metadata"]["user_id"], "metadata.user_id", "a string")
    for i, stop in enumerate(body.get("stop_sequences") or ()):
        expect(stop, "stop_sequences[%d]" % i, "a string")
    for i, msg in enumerate(body["messages"]):
        where = "messages[%d]" % i
        expect(msg, where, "an object")
        expect_choice(msg.get("role"), where + ".role", MESSAGE_ROLES)
        _blocks(msg.get("content"), where + ".content", known=True)
    for i, tool in enumerate(body.get("tools") or ()):
        _anthropic_tool(tool, "tools[%d]" % i)
    choice = body.get("tool_choice")
    if choice is not None:
        kind = expect_choice(choice.get("type"), "tool_choice.type", ANTHROPIC_CHOICES)
        if kind == "tool":
            expect(choice.get("name"), "tool_choice.name", "a string")
        if choice.get("disable_parallel_tool_use") is not None:
            expect(choice["disable_parallel_tool_use"], "tool_choice.disable_parallel_tool_use",
                   "true or false")
    thinking = body.get("thinking")
    if thinking is not None:
        kind = expect_choice(thinking.get("type"), "thinking.type", THINKING_TYPES)
        if kind == "enabled" or thinking.get("budget_tokens") is not None:
            expect(thinking.get("budget_tokens"), "thinking.budget_tokens", "an integer")


def _blocks(content, where, known=False):
    """Message content: a string, or an array of content blocks (`known`: of a type Claude
    knows, a message's own blocks; nested ones are left to the upstream)."""
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        bad(where, "a string or an array of content blocks")
    for j, block in enumerate(content):
        _block(block, "%s[%d]" % (where, j), known)


def _block(block, where, known=False):
    expect(block, where, "an object")
    kind = expect(block.get("type"), where + ".type", "a string")
    if known and kind not in BLOCK_TYPES and not kind.endswith(_SERVER_BLOCK_SUFFIXES):
        bad(where + ".type", "a content block type (text, image, document, tool_use, "
                             "tool_result, thinking...), not %r" % kind[:40])
    if kind == "text":
        expect(block.get("text"), where + ".text", "a string")
    elif kind in ("image", "document"):
        _source(block.get("source"), where + ".source")
        if kind == "document":
            _scalars(block, (("title", "a string"), ("context", "a string")), where + ".")
    elif kind == "tool_use":
        expect(block.get("id"), where + ".id", "a string")
        expect(block.get("name"), where + ".name", "a string")
        expect(block.get("input"), where + ".input", "an object")
    elif kind == "tool_result":
        expect(block.get("tool_use_id"), where + ".tool_use_id", "a string")
        if block.get("content") is not None:
            _blocks(block["content"], where + ".content")
        if block.get("is_error") is not None:
            expect(block["is_error"], where + ".is_error", "true or false")
    elif kind == "thinking":
        expect(block.get("thinking"), where + ".thinking", "a string")
        if block.get("signature") is not None:
            expect(block["signature"], where + ".signature", "a string")
    elif kind == "redacted_thinking":
        expect(block.get("data"), where + ".data", "a string")


def _source(source, where):
    """An image or document source: base64 (media_type, data), url, text, content or file."""
    expect(source, where, "an object")
    kind = expect(source.get("type"), where + ".type", "a string")
    if kind == "base64":
        expect(source.get("media_type"), where + ".media_type", "a string")
        expect(source.get("data"), where + ".data", "a string")
    elif kind == "url":
        expect(source.get("url"), where + ".url", "a string")
    elif kind == "text":
        expect(source.get("data"), where + ".data", "a string")
        if source.get("media_type") is not None:
            expect(source["media_type"], where + ".media_type", "a string")
    elif kind == "content":
        _blocks(source.get("content"), where + ".content")
    elif kind == "file":
        expect(source.get("file_id"), where + ".file_id", "a string")


def _anthropic_tool(tool, where):
    expect(tool, where, "an object")
    expect(tool.get("name"), where + ".name", "a string")
    kind = tool.get("type")
    if kind is not None:
        expect(kind, where + ".type", "a string")
    if kind in (None, "custom"):     # server tools (web_search_..., bash_...) carry no schema
        expect(tool.get("input_schema"), where + ".input_schema", "an object")
    if tool.get("description") is not None:
        expect(tool["description"], where + ".description", "a string")
