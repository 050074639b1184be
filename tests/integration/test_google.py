"""Google's generateContent API through the proxy with the official google-genai SDK, any
model, both modes (the SDK's default v1 paths and Gemini CLI's v1beta ones)."""

import json

import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

MODES = [(), ("--native-openai",)]
ADD = types.Tool(function_declarations=[types.FunctionDeclaration(
    name="add", description="Add two numbers",
    parameters=types.Schema(type="OBJECT", properties={"a": types.Schema(type="NUMBER"),
                                                       "b": types.Schema(type="NUMBER")}))])


def start(start_proxy, fake, mode=(), *args):
    return start_proxy("--user", "tester", *(mode + args), config={"argo_base_url": fake.url})


_CLIENTS = []


def client(p, version="v1beta", key="jdoe"):
    """A google-genai client (kept alive for the test: the SDK closes a dropped client's pool)."""
    made = genai.Client(api_key=key, http_options={"base_url": p.url, "api_version": version})
    _CLIENTS.append(made)
    del _CLIENTS[:-8]
    return made


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model", ["gemini-2.5-pro", "gpt-4o", "claude-sonnet-4-5"])
def test_generate_any_model(start_proxy, fake, mode, model):
    p = start(start_proxy, fake, mode)
    out = client(p).models.generate_content(
        model=model, contents="hi", config=types.GenerateContentConfig(
            system_instruction="Be brief.", max_output_tokens=100, temperature=0.5))
    assert out.text == "Hello from fake Argo."
    assert out.candidates[0].finish_reason == types.FinishReason.STOP
    assert out.usage_metadata.total_token_count > 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("version", ["v1beta", "v1"])
def test_stream_text(start_proxy, fake, mode, version):
    p = start(start_proxy, fake, mode)
    pieces = [c.text or "" for c in client(p, version).models.generate_content_stream(
        model="gemini-2.5-flash", contents="hi")]
    assert "".join(pieces) == "Hello from fake Argo." and len(pieces) > 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stream", [False, True])
def test_function_calling_round(start_proxy, fake, mode, stream):
    p = start(start_proxy, fake, mode)
    config = types.GenerateContentConfig(
        tools=[ADD], automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    if stream:
        chunks = list(client(p).models.generate_content_stream(model="gpt-4o", contents="12+30?",
                                                               config=config))
        calls = [fc for c in chunks for fc in (c.function_calls or [])]
    else:
        calls = client(p).models.generate_content(model="gpt-4o", contents="12+30?",
                                                  config=config).function_calls
    assert calls[0].name == "add" and calls[0].args == {"a": 12, "b": 30}
    contents = [types.Content(role="user", parts=[types.Part(text="12+30?")]),
                types.Content(role="model", parts=[types.Part(function_call=calls[0])]),
                types.Content(role="user", parts=[types.Part.from_function_response(
                    name="add", response={"result": 42})])]
    follow = client(p).models.generate_content(model="gpt-4o", contents=contents, config=config)
    assert follow.text.startswith("Tool said:") and "42" in follow.text


def test_count_tokens_and_models(start_proxy, fake):
    p = start(start_proxy, fake)
    count = client(p).models.count_tokens(model="gemini-2.5-pro", contents="hello there")
    assert count.total_tokens > 0
    names = [m.name for m in client(p).models.list()]
    assert "models/gemini25pro" in names
    for version in ("v1beta", "v1"):
        model = client(p, version).models.get(model="gemini-2.5-pro")
        assert model.name == "models/gemini-2.5-pro"


def test_errors_in_googles_envelope(start_proxy, fake):
    p = start(start_proxy, fake, (), "--api-key", "sekret")
    with pytest.raises(genai_errors.ClientError) as info:
        client(p, key="wrong").models.generate_content(model="gpt-4o", contents="hi")
    assert info.value.code == 401 and info.value.status == "UNAUTHENTICATED"
    status, _, body = p.request("POST", "/v1beta/models/gpt-4o:generateContent?key=sekret",
                                body={"contents": [{"role": "user", "parts": [{"text": 5}]}]})
    assert status == 400 and body["error"]["status"] == "INVALID_ARGUMENT"
    assert "parts[0].text" in body["error"]["message"]
    status, _, body = p.request("POST", "/v1beta/models/gpt-4o:fly?key=sekret", body={})
    assert status == 404 and body["error"]["status"] == "NOT_FOUND"
    out = client(p, key="sekret").models.generate_content(model="gpt-4o", contents="hi")
    assert out.text == "Hello from fake Argo."
    assert all("sekret" not in json.dumps(r["headers"]) for r in fake.requests)


def test_json_array_stream_without_alt_sse(start_proxy, fake):
    p = start(start_proxy, fake)
    status, headers, body = p.request("POST", "/v1beta/models/gpt-4o:streamGenerateContent",
                                      body={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    text = "".join(part.get("text", "") for chunk in body
                   for part in chunk["candidates"][0]["content"]["parts"])
    assert text == "Hello from fake Argo." and body[-1]["candidates"][0]["finishReason"] == "STOP"
