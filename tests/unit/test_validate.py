"""Wrongly typed chat fields are the client's 400 naming the field; odd numbers are refused."""

import pytest

from argo_proxy.convert import validate
from argo_proxy.errors import ProxyError
from argo_proxy.server import Request
from tests.inproc import Headers

OK = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("change,param", [
    ({"n": "2"}, "n"), ({"n": 1.5}, "n"), ({"max_tokens": True}, "max_tokens"),
    ({"max_tokens": [1]}, "max_tokens"), ({"max_completion_tokens": {}}, "max_completion_tokens"),
    ({"stream_options": {"include_usage": "yes"}}, "stream_options.include_usage"),
    ({"stream_options": {"include_usage": 5}}, "stream_options.include_usage"),
    ({"tools": [{"type": 5}]}, "tools[0].type"),
    ({"tools": [{"type": "function"}]}, "tools[0].function"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]},
     "tools[0].function.parameters"),
    ({"tool_choice": {"type": 3}}, "tool_choice.type"),
    ({"tool_choice": {"type": "function", "function": {"name": 4}}}, "tool_choice.function.name"),
    ({"messages": [{"role": "user", "content": [{"type": 7}]}]}, "messages[0].content[0].type"),
    ({"messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages[0].content[0].text"),
    ({"messages": [{"role": "user", "name": 1, "content": "x"}]}, "messages[0].name"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": 5}}]}]},
     "messages[0].content[0].image_url.url"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": ["x"]}]}]},
     "messages[0].content[0].image_url.url"),
    ({"temperature": "hot"}, "temperature"),
])
def test_wrong_types_name_the_field(change, param):
    with pytest.raises(ProxyError) as info:
        validate.chat_body(dict(OK, **change))
    assert info.value.status == 400 and info.value.param == param and param in info.value.message


def test_valid_bodies_pass():
    validate.chat_body(dict(OK, n=1, max_tokens=5, temperature=0, stream=True,
                            stream_options={"include_usage": True}, tool_choice="auto",
                            tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}]))


@pytest.mark.parametrize("raw", [b'{"temperature": NaN}', b'{"temperature": Infinity}',
                                 b'{"temperature": -Infinity}', b'{"temperature": 1e400}'])
def test_non_finite_numbers_are_refused(raw):
    req = Request("POST", "/v1/chat/completions", Headers({"Content-Type": "application/json"}),
                  lambda: raw)
    req.read_body()
    with pytest.raises(ProxyError) as info:
        req.json()
    assert info.value.status == 400 and info.value.param == "temperature"


@pytest.mark.parametrize("change,param", [
    ({"max_tokens": "100"}, "max_tokens"), ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": [{"type": 1}]}]}, "messages[0].content[0].type"),
    ({"system": 5}, "system"), ({"tools": [{"name": 3}]}, "tools[0].name"), ({"stream": "yes"}, "stream"),
])
def test_messages_bodies_for_argo_are_checked(change, param):
    body = dict({"model": "claudesonnet45", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]},
                **change)
    with pytest.raises(ProxyError) as info:
        validate.messages_body(body)
    assert info.value.status == 400 and info.value.param == param


# -- chat: the fields the fuzz found accepted (issue 12) ------------------------------------------

HISTORY = [{"role": "user", "content": "add"},
           {"role": "assistant", "content": None, "tool_calls": [
               {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{}"}}]},
           {"role": "tool", "tool_call_id": "call_1", "content": "3"}]


def _history(**call):
    msgs = [dict(m) for m in HISTORY]
    msgs[1]["tool_calls"] = [dict(msgs[1]["tool_calls"][0], **call)]
    return msgs


def _fn(**fields):
    return {"name": "add", "arguments": "{}", **fields}


def _image(**fields):
    return [{"role": "user", "content": [{"type": "image_url", "image_url": dict(
        {"url": "data:image/png;base64,AA"}, **fields)}]}]


@pytest.mark.parametrize("change,param", [
    ({"stop": 5}, "stop"), ({"stop": {"text": "x"}}, "stop"), ({"stop": ["END", 3]}, "stop[1]"),
    ({"stop": [[]]}, "stop[0]"),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
    ({"messages": [{"role": None, "content": "hi"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": [{"type": "bogus", "text": "x"}]}]},
     "messages[0].content[0].type"),
    ({"messages": [{"role": "user", "content": [{"type": None, "text": "x"}]}]},
     "messages[0].content[0].type"),
    ({"messages": [{"role": "user", "content": [{"text": "no type"}]}]}, "messages[0].content[0].type"),
    ({"messages": [{"role": "assistant", "content": [{"type": "refusal", "refusal": 1}]}]},
     "messages[0].content[0].refusal"),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": "x"}]}]},
     "messages[0].content[0].input_audio"),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio",
                                                 "input_audio": {"data": "AA", "format": 5}}]}]},
     "messages[0].content[0].input_audio.format"),
    ({"messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": 5}}]}]},
     "messages[0].content[0].file.file_id"),
    ({"messages": _image(detail=True)}, "messages[0].content[0].image_url.detail"),
    ({"messages": _history(id=["x"])}, "messages[1].tool_calls[0].id"),
    ({"messages": _history(id=None)}, "messages[1].tool_calls[0].id"),
    ({"messages": _history(function=_fn(arguments=5))}, "messages[1].tool_calls[0].function.arguments"),
    ({"messages": _history(function=_fn(arguments={"a": 1}))},
     "messages[1].tool_calls[0].function.arguments"),
    ({"messages": _history(function=_fn(arguments=None))},
     "messages[1].tool_calls[0].function.arguments"),
    ({"messages": HISTORY[:2] + [{"role": "tool", "content": "3"}]}, "messages[2].tool_call_id"),
    ({"response_format": {"type": 5}}, "response_format.type"),
    ({"response_format": {}}, "response_format.type"),
    ({"tool_choice": "sometimes"}, "tool_choice"),
    ({"tool_choice": {"function": {"name": "add"}}}, "tool_choice.type"),
    ({"tool_choice": {"type": "function"}}, "tool_choice.function"),
    ({"tools": [{"type": "function", "function": {"name": "add", "description": {}}}]},
     "tools[0].function.description"),
    ({"logit_bias": []}, "logit_bias"), ({"reasoning_effort": 3}, "reasoning_effort"),
])
def test_chat_fields_of_the_fuzz_name_the_field(change, param):
    with pytest.raises(ProxyError) as info:
        validate.chat_body(dict(OK, **change))
    assert info.value.status == 400 and info.value.param == param and param in info.value.message


def test_valid_chat_shapes_still_pass():
    validate.chat_body(dict(OK, stop="END", tool_choice="required", response_format={"type": "text"},
                            tools=[{"type": "function", "function": {"name": "add", "description": "d"}}],
                            messages=HISTORY + [
                                {"role": "developer", "content": "d"},
                                {"role": "user", "content": ["bare text shorthand",
                                                             {"type": "input_text", "text": "x"},
                                                             {"type": "image_url", "image_url": "https://x/i.png"}]},
                                {"role": "user", "content": _image(detail="low")[0]["content"]},
                                {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]}]))
    validate.chat_body(dict(OK, stop=["a", "b"], tool_choice={"type": "function", "function": {"name": "f"}}))
    validate.chat_body(dict(OK, stop=None, tool_choice=None, response_format=None))


@pytest.mark.parametrize("change,param", [
    ({"prompt": 5}, "prompt"), ({"prompt": {"text": "x"}}, "prompt"), ({"prompt": ["a", {}]}, "prompt[1]"),
    ({"prompt": ["a", None]}, "prompt[1]"), ({"prompt": [1, 2]}, "prompt"),
    ({"echo": "yes"}, "echo"), ({"suffix": []}, "suffix"), ({"best_of": 1.5}, "best_of"),
    ({"logprobs": True}, "logprobs"), ({"stop": [1]}, "stop[0]"), ({"n": "2"}, "n"),
    ({"max_tokens": [16]}, "max_tokens"), ({"temperature": "0.3"}, "temperature"),
    ({"stream_options": {"include_usage": 1}}, "stream_options.include_usage"),
])
def test_completions_fields_name_the_field(change, param):
    with pytest.raises(ProxyError) as info:
        validate.completions_body(dict({"model": "m", "prompt": "Say hi"}, **change))
    assert info.value.status == 400 and info.value.param == param and param in info.value.message


def test_valid_completions_pass():
    validate.completions_body({"model": "m", "prompt": ["a", "b"], "echo": False, "suffix": "s",
                               "best_of": 1, "logprobs": 2, "stop": "END", "max_tokens": 5})


@pytest.mark.parametrize("change,param", [
    ({"input": 5}, "input"), ({"input": {"text": "x"}}, "input"), ({"input": ["a", 2.5]}, "input[1]"),
    ({"input": ["a", None]}, "input[1]"), ({"input": None}, "input"), ({"input": [1, 2]}, "input"),
    ({"input": ""}, "input"), ({"input": ["a", ""]}, "input"),
    ({"encoding_format": "hex"}, "encoding_format"), ({"encoding_format": 2.5}, "encoding_format"),
    ({"dimensions": [8]}, "dimensions"), ({"dimensions": "8"}, "dimensions"), ({"user": 5}, "user"),
])
def test_embeddings_fields_name_the_field(change, param):
    with pytest.raises(ProxyError) as info:
        validate.embeddings_body(dict({"model": "m", "input": "hello"}, **change))
    assert info.value.status == 400 and info.value.param == param and param in info.value.message


def test_valid_embeddings_pass():
    validate.embeddings_body({"model": "m", "input": ["a", "b"], "encoding_format": "base64",
                              "dimensions": 8, "user": "u"})
    validate.embeddings_body({"model": "m", "prompt": ["argo style"]})


# -- Anthropic Messages relayed to Argo as they are ----------------------------------------------

PNG = {"type": "base64", "media_type": "image/png", "data": "AA"}
TOOL = {"name": "add", "description": "d", "input_schema": {"type": "object"}}
TOOL_TURNS = [{"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "add",
                                                 "input": {}}]},
              {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "3"}]}]


def _msgs(*blocks):
    return [{"role": "user", "content": list(blocks)}]


def _tool_turns(use=None, result=None):
    turns = [dict(t, content=[dict(t["content"][0])]) for t in TOOL_TURNS]
    turns[0]["content"][0].update(use or {})
    turns[1]["content"][0].update(result or {})
    return [{"role": "user", "content": "hi"}] + turns


@pytest.mark.parametrize("change,param", [
    ({"system": [{"type": "text", "text": 2.5}]}, "system[0].text"),
    ({"system": [{"type": 5, "text": "x"}]}, "system[0].type"),
    ({"system": ["x"]}, "system[0]"),
    ({"metadata": {"user_id": 5}}, "metadata.user_id"),
    ({"stop_sequences": ["END", True]}, "stop_sequences[1]"),
    ({"messages": _msgs({"type": "text", "text": []})}, "messages[0].content[0].text"),
    ({"messages": _msgs({"type": "text"})}, "messages[0].content[0].text"),
    ({"messages": _msgs({"type": "bogus", "text": "x"})}, "messages[0].content[0].type"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
    ({"messages": _msgs({"type": "image", "source": True})}, "messages[0].content[0].source"),
    ({"messages": _msgs({"type": "image", "source": dict(PNG, type=5)})},
     "messages[0].content[0].source.type"),
    ({"messages": _msgs({"type": "image", "source": dict(PNG, media_type={})})},
     "messages[0].content[0].source.media_type"),
    ({"messages": _msgs({"type": "image", "source": dict(PNG, data=None)})},
     "messages[0].content[0].source.data"),
    ({"messages": _msgs({"type": "image", "source": {"type": "url", "url": 5}})},
     "messages[0].content[0].source.url"),
    ({"messages": _msgs({"type": "document", "source": {"type": "text", "data": []}})},
     "messages[0].content[0].source.data"),
    ({"messages": _tool_turns(use={"id": 5})}, "messages[1].content[0].id"),
    ({"messages": _tool_turns(use={"id": None})}, "messages[1].content[0].id"),
    ({"messages": _tool_turns(use={"input": None})}, "messages[1].content[0].input"),
    ({"messages": _tool_turns(result={"tool_use_id": None})}, "messages[2].content[0].tool_use_id"),
    ({"messages": _tool_turns(result={"content": [{"type": "text", "text": 1}]})},
     "messages[2].content[0].content[0].text"),
    ({"tools": [dict(TOOL, input_schema=None)]}, "tools[0].input_schema"),
    ({"tools": [dict(TOOL, input_schema=[])]}, "tools[0].input_schema"),
    ({"tools": [dict(TOOL, description={})]}, "tools[0].description"),
    ({"tools": [TOOL], "tool_choice": {"name": "add"}}, "tool_choice.type"),
    ({"tools": [TOOL], "tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
    ({"tools": [TOOL], "tool_choice": {"type": "tool", "name": {}}}, "tool_choice.name"),
    ({"tools": [TOOL], "tool_choice": {"type": "tool"}}, "tool_choice.name"),
    ({"thinking": {"type": {}, "budget_tokens": 2048}}, "thinking.type"),
    ({"thinking": {"type": "sometimes"}}, "thinking.type"),
    ({"thinking": {"type": "enabled"}}, "thinking.budget_tokens"),
    ({"thinking": {"type": "enabled", "budget_tokens": "2048"}}, "thinking.budget_tokens"),
])
def test_messages_bodies_are_checked_deeper(change, param):
    body = dict({"model": "claudesonnet45", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]},
                **change)
    with pytest.raises(ProxyError) as info:
        validate.messages_body(body)
    assert info.value.status == 400 and info.value.param == param and param in info.value.message


def test_messages_max_tokens_is_required_except_for_count_tokens():
    body = {"model": "claudesonnet45", "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(ProxyError) as info:
        validate.messages_body(body)
    assert info.value.param == "max_tokens"
    validate.messages_body(body, count_tokens=True)


def test_what_claude_accepts_still_passes():
    validate.messages_body({
        "model": "claudesonnet45", "max_tokens": 10, "metadata": {"user_id": "u"},
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "stop_sequences": ["END"], "thinking": {"type": "adaptive"},
        "tools": [TOOL, {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
                  {"type": "bash_20250124", "name": "bash"}],
        "tool_choice": {"type": "tool", "name": "add", "disable_parallel_tool_use": True},
        "messages": _tool_turns() + [
            {"role": "user", "content": [
                {"type": "image", "source": PNG}, {"type": "image", "source": {"type": "url", "url": "https://x"}},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "d"},
                 "title": "t"},
                {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "c"}]}},
                {"type": "document", "source": {"type": "file", "file_id": "file_1"}},
                {"type": "search_result", "source": "s", "title": "t", "content": [{"type": "text", "text": "x"}]},
                {"type": "text", "text": "q"}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "redacted_thinking", "data": "xyz"},
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                {"type": "some_future_tool_result", "tool_use_id": "x"},
                {"type": "text", "text": "a"}]}]})
    validate.messages_body({"model": "m", "max_tokens": 1, "thinking": {"type": "disabled"},
                            "messages": [{"role": "user", "content": "hi"}]})
