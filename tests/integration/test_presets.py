"""Agent presets: virtual models a chat UI can pick, which alone get tools once they exist."""

import os
import sys

import openai

from tests import proxyproc

FAKE_MCP = os.path.join(proxyproc.ROOT, "tests", "fakes", "fake_mcp.py")
SERVERS = {"calc": {"command": sys.executable, "args": [FAKE_MCP, "--stdio"]}}
PRESETS = {"research": {"model": "argo:gpt-4o", "tools": ["calc"], "system": "You research.",
                        "max_tool_iterations": 3, "temperature": 0.2, "show_tool_activity": True},
           "plain": {"model": "argo:gpt-4o", "system": "Be plain.", "tools": []}}


def start(start_proxy, fake, mode=(), **config):
    config = dict({"mcp_servers": SERVERS, "presets": PRESETS}, argo_base_url=fake.url, **config)
    return start_proxy("--user", "t", *mode, config=config)


def sdk(p):
    return openai.OpenAI(base_url=p.url + "/v1", api_key="t", max_retries=0)


def chats(fake):
    return [r["body"] for r in fake.requests
            if r["path"].endswith("/chat/completions") or r["path"].endswith("/resource/chat/")]


def test_presets_are_listed_and_only_they_get_tools(start_proxy, fake):
    p = start(start_proxy, fake, ("--native-openai",))
    ids = [m.id for m in sdk(p).models.list()]
    assert ids[:2] == ["research", "plain"]
    reply = sdk(p).chat.completions.create(model="research", messages=[{"role": "user", "content": "12+30?"}])
    assert reply.choices[0].message.content == "Tool said: 42"
    first = chats(fake)[0]
    assert first["model"] == "gpt4o" and first["temperature"] == 0.2   # the preset's name stays here
    assert first["messages"][0] == {"role": "system", "content": "You research."}
    assert "add" in [t["function"]["name"] for t in first["tools"]]
    plain = sdk(p).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "12+30?"}])
    assert plain.choices[0].message.content == "Hello from fake Argo."   # no preset: no tools
    assert "tools" not in chats(fake)[-1]
    sdk(p).chat.completions.create(model="plain", messages=[{"role": "user", "content": "hi"}])
    assert "tools" not in chats(fake)[-1] and chats(fake)[-1]["messages"][0]["content"] == "Be plain."


def test_preset_stream_shows_tool_activity_as_reasoning(start_proxy, fake):
    p = start(start_proxy, fake)
    chunks = proxyproc.chat_stream(p, {"model": "research", "messages": [{"role": "user", "content": "12+30?"}]})
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("content") or "" for d in deltas) == "Tool said: 42"
    assert "[tool] add(" in "".join(d.get("reasoning_content") or "" for d in deltas)
    second = chats(fake)[-1]["messages"]
    assert all("[tool]" not in str(m.get("content")) for m in second)


def test_inject_tools_all_keeps_the_old_behaviour(start_proxy, fake):
    p = start(start_proxy, fake, inject_tools="all")
    reply = sdk(p).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "12+30?"}])
    assert reply.choices[0].message.content == "Tool said: 42"


def test_a_preset_naming_an_unknown_source_is_a_config_error(start_proxy, fake):
    p = start(start_proxy, fake, presets={"x": {"model": "gpt-4o", "tools": ["nope"]}})
    assert p.wait_for_exit() == 1
    assert "tools names no configured tool source: nope" in p.log() and "Traceback" not in p.log()


def test_mcp_sampling_is_answered_by_a_model_through_argo(start_proxy, fake):
    servers = {"feat": {"command": sys.executable, "args": [FAKE_MCP, "--stdio", "--client-features"],
                        "sampling": True, "sampling_max_tokens": 64}}
    p = start_proxy("--user", "t", "--native-openai",
                    config={"argo_base_url": fake.url, "mcp_servers": servers})
    fake.tool_name = "sample"
    fake.tool_args = {"prompt": "say hello"}
    reply = sdk(p).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "go"}])
    assert "Hello from fake Argo." in reply.choices[0].message.content   # the sampled answer
    sampled = [b for b in chats(fake) if b["messages"][-1].get("content") == "say hello"]
    assert sampled and sampled[0]["model"] == "gpt4o" and sampled[0]["max_tokens"] <= 64
    assert "tools" not in sampled[0]
    assert proxyproc.wait_until(lambda: "sampling/createMessage" in p.log())
