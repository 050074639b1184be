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
