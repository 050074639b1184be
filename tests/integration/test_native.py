"""Native OpenAI mode end to end: real proxy process, fake Argo, the official openai SDK."""

import json
import socket

import openai
import pytest

from tests import proxyproc

ADD_TOOL = {"type": "function", "function": {
    "name": "add", "description": "Add two integers.",
    "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                   "required": ["a", "b"], "additionalProperties": False}}}


def sdk(proxy, **kw):
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key="tester", max_retries=0, **kw)


def chat_requests(fake):
    return [r for r in fake.requests if r["path"] == "/v1/chat/completions"]


@pytest.mark.smoke
@pytest.mark.parametrize("model,internal", [("argo:gpt-4o", "gpt4o"), ("gpt4o", "gpt4o"),
                                            ("ARGO/GPT-4O", "gpt4o")])
def test_chat_resolves_model_and_sets_user(native_proxy, fake, model, internal):
    reply = sdk(native_proxy).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Hello!"}])
    assert reply.choices[0].message.content == "Hello from fake Argo."
    sent = chat_requests(fake)[-1]
    assert sent["body"]["model"] == internal
    assert sent["body"]["user"] == "tester"
    assert sent["headers"]["authorization"] == "Bearer tester"


def test_unknown_model_forwarded_unchanged_with_warning(native_proxy, fake):
    sdk(native_proxy).chat.completions.create(model="mystery-9", messages=[{"role": "user", "content": "x"}])
    assert chat_requests(fake)[-1]["body"]["model"] == "mystery-9"
    assert proxyproc.wait_until(lambda: "'mystery-9' is not in the model list" in native_proxy.log())


def test_missing_model_is_400(native_proxy):
    status, _, body = native_proxy.request("POST", "/v1/chat/completions",
                                           body={"messages": [{"role": "user", "content": "x"}]})
    assert status == 400 and body["error"]["param"] == "model"


def test_bad_bodies_get_clear_errors(native_proxy):
    p = native_proxy
    status, _, body = p.request("POST", "/v1/chat/completions", body=b"{not json")
    assert status == 400 and "Invalid JSON" in body["error"]["message"]
    status, _, body = p.request("POST", "/v1/chat/completions", body=b"[1, 2]")
    assert status == 400 and "JSON object" in body["error"]["message"]
    status, _, body = p.request("POST", "/v1/chat/completions", body=b"")
    assert status == 400 and "empty" in body["error"]["message"]
    status, _, body = p.request("POST", "/v1/chat/completions", body=b"a=1&b=2",
                                headers={"Content-Type": "text/plain"})
    assert status == 415 and "text/plain" in body["error"]["message"]
    assert p.request("GET", "/health")[0] == 200


@pytest.mark.smoke
def test_streaming_chat_relayed_byte_exact(native_proxy, fake):
    conn = native_proxy.conn()
    body = {"model": "argo:gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/event-stream")
    raw = resp.read()
    assert raw.endswith(b"data: [DONE]\n\n")
    # byte-exact: the same request straight to the fake gives the same events apart from ids/times
    events = [e for e in raw.split(b"\n\n") if e]
    assert all(e.startswith(b"data: ") for e in events)
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    assert len({c["id"] for c in chunks}) == 1
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) \
        == "Hello from fake Argo."


def test_streaming_tool_call_assembled_by_sdk(native_proxy):
    client = sdk(native_proxy)
    with client.chat.completions.stream(model="argo:gpt-4o", tools=[ADD_TOOL],
                                        messages=[{"role": "user", "content": "12+30?"}]) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert call.function.name == "add"
    assert json.loads(call.function.arguments) == {"a": 12, "b": 30}
    assert final.choices[0].finish_reason == "tool_calls"


def test_seed_tool_call_fragments_arrive_intact(native_proxy):
    conn = native_proxy.conn()
    body = {"model": "gpt4o", "stream": True, "tools": [ADD_TOOL],
            "messages": [{"role": "user", "content": "12+30?"}]}
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body),
                 headers={"Content-Type": "application/json"})
    raw = conn.getresponse().read()
    chunks = [json.loads(e[6:]) for e in raw.split(b"\n\n") if e and e != b"data: [DONE]"]
    fragments = [c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                 for c in chunks if c["choices"] and c["choices"][0]["delta"].get("tool_calls")]
    assert fragments == ["", '{"', "a", '":', "12", ',"', "b", '":', "30", "}"]


def test_completions_and_embeddings_404_like_the_seed(native_proxy):
    client = sdk(native_proxy)
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="argo:gpt-4o", prompt="hi")
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="argo:text-embedding-3-small", input="hi")


def test_embeddings_work_when_upstream_has_them(start_proxy):
    from tests.fakes.fake_argo import FakeArgo
    with FakeArgo(embeddings_native=True) as f:
        p = start_proxy("--user", "t", "--native-openai", config={"argo_base_url": f.url})
        out = sdk(p).embeddings.create(model="argo:text-embedding-3-small", input=["a", "b"])
        assert len(out.data) == 2
        assert f.last("/v1/embeddings")["body"]["model"] == "v3small"


def test_openai_prefix_alias_and_passthrough(native_proxy, fake):
    reply = openai.OpenAI(base_url=native_proxy.url + "/openai/v1", api_key="x").chat.completions.create(
        model="gpt4o", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content
    status, _, body = native_proxy.request("POST", "/v1/messages?beta=true",
                                           body={"model": "claudesonnet45", "max_tokens": 10,
                                                 "messages": [{"role": "user", "content": "hi"}]},
                                           headers={"anthropic-version": "2023-06-01"})
    assert status == 200 and body["type"] == "message"
    sent = fake.last("/v1/messages")
    assert sent["query"].get("beta") == "true" and sent["headers"]["anthropic-version"] == "2023-06-01"


def test_upstream_errors_pass_through_unchanged(native_proxy, fake):
    fake.add_fault("/v1/chat/completions", status=418, body={"weird": "teapot"})
    status, headers, body = native_proxy.request(
        "POST", "/v1/chat/completions", body={"model": "gpt4o", "messages": [{"role": "user", "content": "x"}]})
    assert status == 418 and body == {"weird": "teapot"}


# -- the quirk table, proven against a fake that fails like Argo ----------------------

def history_with_parallel_calls():
    return [
        {"role": "developer", "content": "be brief"},
        {"role": "user", "content": "add twice"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a":1,"b":2}'}},
            {"id": "c2", "type": "function", "function": {"name": "add", "arguments": '{"a":3,"b":4}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "3"},
        {"role": "tool", "tool_call_id": "c2", "content": "7"},
    ]


@pytest.mark.parametrize("model", ["argo:claude-sonnet-4.5", "argo:gemini-2.5-pro", "argo:gpt-4o"])
@pytest.mark.parametrize("choice", ["auto", "required"])
def test_tool_calling_works_for_every_family(native_proxy, model, choice):
    reply = sdk(native_proxy).chat.completions.create(
        model=model, tools=[ADD_TOOL], tool_choice=choice, messages=[{"role": "user", "content": "12+30?"}])
    assert reply.choices[0].message.tool_calls[0].function.name == "add"


@pytest.mark.parametrize("model", ["argo:claude-sonnet-4.5", "argo:gemini-2.5-pro", "argo:gpt-4o"])
def test_agent_history_fixed_for_every_family(native_proxy, fake, model):
    reply = sdk(native_proxy).chat.completions.create(
        model=model, tools=[ADD_TOOL], tool_choice="auto", messages=history_with_parallel_calls())
    assert reply.choices[0].message.content.startswith("Tool said:")
    sent = chat_requests(fake)[-1]["body"]["messages"]
    assert sent[0]["role"] == "system"
    assert all(m.get("content") is not None for m in sent)


def test_gemini_history_sent_as_sequential_named_pairs(native_proxy, fake):
    sdk(native_proxy).chat.completions.create(
        model="argo:gemini-2.5-pro", tools=[ADD_TOOL], messages=history_with_parallel_calls())
    sent = chat_requests(fake)[-1]["body"]["messages"]
    roles = [m["role"] for m in sent]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert [m["tool_call_id"] for m in sent if m["role"] == "tool"] == ["c1", "c2"]
    assert all(m["name"] == "add" for m in sent if m["role"] == "tool")


def test_orphaned_tool_call_gets_synthetic_result(native_proxy, fake):
    messages = [{"role": "user", "content": "go"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"id": "lost", "type": "function", "function": {"name": "add", "arguments": "{}"}}]},
                {"role": "user", "content": "never mind, say hi"}]
    reply = sdk(native_proxy).chat.completions.create(model="gpt4o", messages=messages)
    assert reply.choices[0].message.content
    sent = chat_requests(fake)[-1]["body"]["messages"]
    assert sent[2]["role"] == "tool" and sent[2]["tool_call_id"] == "lost"


@pytest.mark.parametrize("model,params,dropped", [
    ("argo:gpt-5", {"temperature": 0.2, "top_p": 0.9}, {"temperature", "top_p"}),
    ("argo:claude-opus-4.7", {"temperature": 0.2, "top_p": 0.9}, {"temperature", "top_p"}),
    ("argo:claude-sonnet-4.5", {"temperature": 0.2, "top_p": 0.9}, {"top_p"}),
])
def test_sampling_parameter_rules(native_proxy, fake, model, params, dropped):
    sdk(native_proxy).chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}],
                                              **params)
    sent = chat_requests(fake)[-1]["body"]
    assert dropped.isdisjoint(sent)
    assert set(params) - dropped <= set(sent)


def test_gpt5_keeps_temperature_one(native_proxy, fake):
    sdk(native_proxy).chat.completions.create(model="argo:gpt-5", temperature=1,
                                              messages=[{"role": "user", "content": "x"}])
    assert chat_requests(fake)[-1]["body"]["temperature"] == 1


@pytest.mark.parametrize("model,kwargs,error", [
    ("argo:claude-sonnet-4.5", {"tools": [ADD_TOOL], "tool_choice": "auto"}, openai.BadRequestError),
    ("argo:gemini-2.5-pro", {"tools": [ADD_TOOL], "messages": history_with_parallel_calls()[1:]},
     openai.APIStatusError),
    ("argo:gpt-4o", {"messages": [{"role": "developer", "content": "x"}, {"role": "user", "content": "y"}]},
     openai.BadRequestError),
    ("argo:gpt-5", {"temperature": 0.5}, openai.BadRequestError),
])
def test_failures_come_back_with_quirks_disabled(start_proxy, fake, model, kwargs, error):
    p = start_proxy("--user", "t", "--native-openai",
                    config={"argo_base_url": fake.url, "model_quirks": False})
    kwargs.setdefault("messages", [{"role": "user", "content": "12+30?"}])
    with pytest.raises(error):
        sdk(p).chat.completions.create(model=model, **kwargs)


# -- faults ----------------------------------------------------------------------------

def test_upstream_refused_is_503_and_proxy_survives(start_proxy):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = start_proxy("--user", "t", "--native-openai", config={"argo_base_url": "http://127.0.0.1:%d" % port,
                                                               "model_refresh_interval_hours": 0})
    with pytest.raises(openai.APIStatusError) as info:
        sdk(p).chat.completions.create(model="gpt4o", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 503
    assert "127.0.0.1:%d" % port in info.value.message and "tunnel" in info.value.message
    assert p.request("GET", "/health")[0] == 200


def test_upstream_503_passes_through_after_retries(native_proxy, fake):
    fake.add_fault("/v1/chat/completions", status=503, retry_after=0)
    with pytest.raises(openai.APIStatusError) as info:
        sdk(native_proxy).chat.completions.create(model="gpt4o", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 503
    assert len(chat_requests(fake)) == 3


def test_reset_mid_stream_ends_with_error_event(native_proxy, fake):
    fake.add_fault("/v1/chat/completions", reset_after=2)
    conn = native_proxy.conn()
    conn.request("POST", "/v1/chat/completions", headers={"Content-Type": "application/json"},
                 body=json.dumps({"model": "gpt4o", "stream": True,
                                  "messages": [{"role": "user", "content": "x"}]}))
    raw = conn.getresponse().read()  # a complete chunked body: the stream was ended, not cut
    events = [e for e in raw.split(b"\n\n") if e]
    assert b"[DONE]" not in raw
    last = json.loads(events[-1][6:])
    assert last["error"]["code"] == "upstream_disconnected"
    assert native_proxy.request("GET", "/health")[0] == 200


def test_sdk_raises_on_mid_stream_failure(native_proxy, fake):
    fake.add_fault("/v1/chat/completions", reset_after=2)
    with pytest.raises(openai.APIError):
        for _ in sdk(native_proxy).chat.completions.create(
                model="gpt4o", stream=True, messages=[{"role": "user", "content": "x"}]):
            pass


def test_hang_past_read_timeout_is_504(start_proxy, fake):
    p = start_proxy("--user", "t", "--native-openai",
                    env={"ARGO_PROXY_READ_TIMEOUT": "0.5"}, config={"argo_base_url": fake.url})
    fake.add_fault("/v1/chat/completions", hang=True)
    with pytest.raises(openai.APIStatusError) as info:
        sdk(p).chat.completions.create(model="gpt4o", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 504
    assert p.request("GET", "/health")[0] == 200


def send_then_hang_up(proxy, fake, body):
    """Send a chat, wait until it has reached the fake Argo, then close the client socket."""
    host, port = proxy.host_port
    s = socket.create_connection((host, port), timeout=10)
    data = json.dumps(body)
    s.sendall(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n%s" % (len(data), data)).encode())
    assert fake.wait_for(1, "/v1/chat/completions", timeout=10)
    s.close()


def test_client_disconnect_mid_stream_frees_upstream_and_thread(start_proxy, fake):
    p = start_proxy("--user", "t", "--native-openai", config={"argo_base_url": fake.url,
                                                              "model_refresh_interval_hours": 0})
    fake.add_fault("/v1/chat/completions", hang=True)
    send_then_hang_up(p, fake, {"model": "gpt4o", "stream": True,
                                "messages": [{"role": "user", "content": "x"}]})
    # the access-log line is written when the handler returns: the upstream wait was cut short
    assert proxyproc.wait_until(lambda: "POST /v1/chat/completions model=gpt4o" in p.log(), timeout=10)
    assert p.request("GET", "/health")[0] == 200


def test_keepalive_comments_during_silence(start_proxy, fake):
    p = start_proxy("--user", "t", "--native-openai", config={"argo_base_url": fake.url,
                                                              "keepalive_interval": 0.2})
    fake.add_fault("/v1/chat/completions", delay=1.0)
    conn = p.conn()
    conn.request("POST", "/v1/chat/completions", headers={"Content-Type": "application/json"},
                 body=json.dumps({"model": "gpt4o", "stream": True,
                                  "messages": [{"role": "user", "content": "x"}]}))
    resp = conn.getresponse()
    assert resp.status == 200
    raw = resp.read()
    # comments flowed while the upstream was silent, then the real stream followed intact
    assert raw.startswith(b": keep-alive\n\n")
    assert raw.endswith(b"data: [DONE]\n\n")
    assert b"Hello" in raw


def test_error_after_keepalives_becomes_error_event(start_proxy, fake):
    p = start_proxy("--user", "t", "--native-openai", config={"argo_base_url": fake.url,
                                                              "keepalive_interval": 0.2})
    fake.add_fault("/v1/chat/completions", delay=1.0, status=400,
                   body={"error": {"message": "bad thing", "type": "BadRequestError"}})
    with pytest.raises(openai.APIError) as info:
        for _ in sdk(p).chat.completions.create(model="gpt4o", stream=True,
                                                messages=[{"role": "user", "content": "x"}]):
            pass
    assert "bad thing" in str(info.value)


# -- images ------------------------------------------------------------------------------

@pytest.fixture
def image_server():
    from tests.fakes.image_server import ImageServer
    with ImageServer() as srv:
        yield srv.url


def image_message(url):
    return [{"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                         {"type": "image_url", "image_url": {"url": url}}]}]


def test_image_url_arrives_upstream_as_data_url(start_proxy, fake, image_server):
    p = start_proxy("--user", "t", "--native-openai",
                    config={"argo_base_url": fake.url, "allow_private_image_urls": True})
    sdk(p).chat.completions.create(model="gpt4o", messages=image_message(image_server + "/cat.png"))
    sent = chat_requests(fake)[-1]["body"]["messages"][0]["content"][1]["image_url"]["url"]
    assert sent.startswith("data:image/png;base64,iVBORw0KGgo")


@pytest.mark.parametrize("path,words", [("/missing.png", "404"), ("/page.html", "not an image"),
                                        ("/big.png", "max_payload_size")])
def test_bad_image_urls_are_clear_400s(start_proxy, fake, image_server, path, words):
    p = start_proxy("--user", "t", "--native-openai", config={
        "argo_base_url": fake.url, "allow_private_image_urls": True, "max_payload_size": 0.1})
    with pytest.raises(openai.BadRequestError) as info:
        sdk(p).chat.completions.create(model="gpt4o", messages=image_message(image_server + path))
    assert image_server + path in info.value.message and words in info.value.message
    assert chat_requests(fake) == []  # nothing reached Argo


def test_private_image_url_refused_by_default(native_proxy, fake, image_server):
    with pytest.raises(openai.BadRequestError) as info:
        sdk(native_proxy).chat.completions.create(model="gpt4o",
                                                  messages=image_message(image_server + "/cat.png"))
    assert "private" in info.value.message


@pytest.mark.parametrize("body,param", [
    ({"model": "gpt4o", "messages": 5}, "messages"),
    ({"model": "gpt4o", "messages": ["hi"]}, "messages[0]"),
    ({"model": "gpt4o", "messages": [{"role": "assistant", "tool_calls": 5}]}, "messages[0].tool_calls"),
    ({"model": "gemini25pro", "messages": [{"role": "assistant", "tool_calls": [{"function": "x"}]}]},
     "messages[0].tool_calls[0].function"),
    ({"model": "gpt4o", "messages": [{"role": "tool", "tool_call_id": ["a"], "content": "x"}]},
     "messages[0].tool_call_id"),
    ({"model": "claudesonnet45", "messages": [], "tool_choice": {"type": "function", "function": "f"}},
     "tool_choice.function"),
    ({"model": "gpt4o", "messages": [], "tools": {"a": 1}}, "tools"),
    ({"model": "gpt4o", "messages": [], "stream": "false"}, "stream"),
    ({"model": "gpt4o", "messages": [], "stream_options": "x"}, "stream_options"),
])
@pytest.mark.parametrize("mode", ["native", "standard"])
def test_wrong_shapes_are_400_naming_the_field(start_proxy, fake, body, param, mode):
    args = ("--native-openai",) if mode == "native" else ()
    p = start_proxy("--user", "t", *args, config={"argo_base_url": fake.url})
    status, _, out = p.request("POST", "/v1/chat/completions", body=body)
    assert status == 400 and out["error"]["param"] == param
    assert "Traceback" not in p.log()


def test_deeply_nested_json_is_400(native_proxy):
    status, _, out = native_proxy.request("POST", "/v1/chat/completions", body=b"[" * 100000)
    assert status == 400 and "nested" in out["error"]["message"]


def test_client_disconnect_cancels_non_streaming_request(start_proxy, fake):
    p = start_proxy("--user", "t", "--native-openai", config={"argo_base_url": fake.url,
                                                              "model_refresh_interval_hours": 0})
    fake.add_fault("/v1/chat/completions", hang=True)
    send_then_hang_up(p, fake, {"model": "gpt4o", "messages": [{"role": "user", "content": "x"}]})
    assert proxyproc.wait_until(lambda: "status=499" in p.log(), timeout=10)


def test_passthrough_never_sends_the_proxys_own_key(start_proxy, fake):
    p = start_proxy("--api-key", "PROXYKEY", "--username-passthrough", "--user", "fallback", "--native-openai",
                    config={"argo_base_url": fake.url})
    sdk_client = openai.OpenAI(base_url=p.url + "/v1", api_key="PROXYKEY", max_retries=0)
    sdk_client.chat.completions.create(model="gpt4o", messages=[{"role": "user", "content": "x"}])
    sent = chat_requests(fake)[-1]
    assert "PROXYKEY" not in json.dumps(sent["headers"]) and sent["body"]["user"] == "fallback"


def test_big_body_is_relayed_as_the_clients_own_text(native_proxy, fake):
    """Only `model` and `user` change at the top: the rest of a large conversation reaches Argo
    as the client wrote it (key order, spacing, raw UTF-8, escapes), not re-encoded."""
    turns = [{"role": "user" if i % 2 == 0 else "assistant",
              "content": "caf\u00e9 \u6f22\u5b57 \\\"q\\\" line %d\n" % i * 20} for i in range(200)]
    text = '{ "messages" :%s,\n  "temperature": 0.25, "model": "gpt4o", "user": "someone-else" }' \
        % json.dumps(turns, ensure_ascii=False)
    status, _, body = native_proxy.request("POST", "/v1/chat/completions", text.encode("utf-8"),
                                           {"Content-Type": "application/json"})
    assert status == 200, body
    raw = chat_requests(fake)[-1]["raw"].decode("utf-8")
    assert len(text) > 100_000
    assert raw == text.replace('"someone-else"', '"tester"')

