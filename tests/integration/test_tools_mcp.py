"""Tools from MCP servers, executed by the proxy, in native and standard mode (fake Argo)."""

import os
import shlex
import sys

import openai
import pytest

from tests import proxyproc
from tests.fakes.fake_mcp import FakeMCPHttp

FAKE_MCP = os.path.join(proxyproc.ROOT, "tests", "fakes", "fake_mcp.py")
MODES = [(), ("--native-openai",)]


def stdio_server(*flags, **options):
    spec = {"command": sys.executable, "args": [FAKE_MCP, "--stdio"] + list(flags)}
    spec.update(options)
    return spec


def tool_proxy(start_proxy, fake, mode=(), servers=None, **config):
    config.update({"argo_base_url": fake.url, "mcp_servers": servers or {"calc": stdio_server()}})
    return start_proxy("--user", "t", *mode, config=config)


def sdk(p):
    return openai.OpenAI(base_url=p.url + "/v1", api_key="t", max_retries=0)


def ask(p, model="gpt4o", **kw):
    return sdk(p).chat.completions.create(model=model, messages=[{"role": "user", "content": "12+30?"}], **kw)


def stream_text(p, model="gpt4o"):
    chunks = proxyproc.chat_stream(p, {"model": model, "messages": [{"role": "user", "content": "12+30?"}]})
    return proxyproc.visible_text(chunks)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model", ["gpt4o", "argo:claude-sonnet-4.5", "argo:gemini-2.5-pro"])
def test_injected_tool_runs_every_mode_and_family(start_proxy, fake, mode, model):
    p = tool_proxy(start_proxy, fake, mode)
    assert ask(p, model).choices[0].message.content == "Tool said: 42"
    assert proxyproc.wait_until(lambda: "tool add source=calc" in p.log())  # stderr is read by a thread


@pytest.mark.parametrize("mode", MODES)
def test_streaming_with_execution(start_proxy, fake, mode):
    p = tool_proxy(start_proxy, fake, mode)
    assert stream_text(p) == "Tool said: 42"


def test_allow_and_prefix(start_proxy, fake):
    servers = {"calc": stdio_server(allow=["add"], prefix="calc")}
    p = tool_proxy(start_proxy, fake, servers=servers)
    status, _, body = p.request("GET", "/v1/tools")
    assert [t["name"] for t in body["data"]] == ["calc_add"] and body["data"][0]["source"] == "calc"
    assert ask(p).choices[0].message.content == "Tool said: 42"
    sent = [t["function"]["name"] for t in fake.last("/resource/chat/")["body"]["tools"]]
    assert sent == ["calc_add"]


@pytest.mark.parametrize("tool,args,expect", [
    ("boom", {}, "Tool said: Error executing tool boom"),
    ("pixel", {}, "Tool said: [image: image/png, "),
    ("slow", {"seconds": 30}, "timed out"),
])
def test_tool_failures_and_images_reach_the_model_as_text(start_proxy, fake, tool, args, expect):
    fake.set_tool_args(args)
    p = tool_proxy(start_proxy, fake, servers={"calc": stdio_server(allow=[tool])}, tool_timeout=1)
    content = ask(p).choices[0].message.content
    assert expect in content
    assert p.request("GET", "/health")[0] == 200


def test_server_dying_mid_session_is_restarted(start_proxy, fake, tmp_path):
    marker = str(tmp_path / "died")
    p = tool_proxy(start_proxy, fake, servers={"calc": stdio_server(
        "--die-after-calls", "1", env={"FAKE_MCP_DIE_ONCE": marker})})
    first = ask(p).choices[0].message.content
    assert first.startswith("Tool said: Error calling add")
    assert ask(p).choices[0].message.content == "Tool said: 42"


@pytest.mark.parametrize("json_response", [False, True])
def test_http_mcp_server(start_proxy, fake, json_response):
    with FakeMCPHttp(json_response=json_response) as server:
        p = tool_proxy(start_proxy, fake, ("--native-openai",), servers={"web": {"url": server.url}})
        assert ask(p).choices[0].message.content == "Tool said: 42"
        assert stream_text(p) == "Tool said: 42"


def test_client_tool_with_same_name_wins(start_proxy, fake):
    p = tool_proxy(start_proxy, fake)
    own = {"type": "function", "function": {"name": "add", "description": "client add",
                                            "parameters": {"type": "object", "properties": {}}}}
    reply = ask(p, tools=[own])
    assert reply.choices[0].message.tool_calls[0].function.name == "add"  # back to the client
    assert "tool add source=calc" not in p.log()


def test_mcp_flag_and_startup_connect(start_proxy, fake):
    cmd = "%s %s --stdio" % (shlex.quote(sys.executable), shlex.quote(FAKE_MCP))
    p = start_proxy("--user", "t", "--mcp", "calc=" + cmd,
                    config={"argo_base_url": fake.url, "mcp_startup": "startup"})
    assert proxyproc.wait_until(lambda: "tool source calc: 6 tools" in p.log())
    assert ask(p).choices[0].message.content == "Tool said: 42"


def test_bad_mcp_config_is_a_clear_error(tmp_path):
    from tests.integration.test_cli import run
    cfg = tmp_path / "c.yaml"
    cfg.write_text("user: t\nmcp_servers:\n  bad:\n    args: [x]\n")
    code, _, err = run(tmp_path, str(cfg), "--validate")
    assert code == 1 and "'bad'" in err and "command" in err


def test_real_mcp_server_time(start_proxy, fake):
    script = os.path.join(os.path.dirname(sys.executable), "mcp-server-time")
    if not os.path.exists(script):
        pytest.skip("mcp-server-time is not installed next to %s" % sys.executable)
    fake.set_tool_args({"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Kolkata"})
    servers = {"time": {"command": script, "args": ["--local-timezone", "UTC"], "allow": ["convert_time"]}}
    p = tool_proxy(start_proxy, fake, servers=servers)
    content = ask(p).choices[0].message.content
    assert content.startswith("Tool said: ") and "17:30:00+05:30" in content


# ---- sessions, tasks and client features (issue 13) ------------------------------------------------

def sent_tools(fake):
    return [t["function"]["name"] for t in fake.last("/resource/chat/")["body"]["tools"]]


def test_tool_requiring_tasks_runs_as_a_task(start_proxy, fake):
    fake.set_tool_args({"topic": "tides", "seconds": 0.2})
    p = tool_proxy(start_proxy, fake, servers={"calc": stdio_server("--task-tools", allow=["research"])})
    assert ask(p).choices[0].message.content == "Tool said: findings on tides"
    assert stream_text(p) == "Tool said: findings on tides"


def test_tool_requiring_tasks_is_not_offered_without_server_support(start_proxy, fake):
    fake.set_tool_args({})
    servers = {"calc": stdio_server("--task-tools", "--no-tasks-capability", allow=["research", "report"])}
    p = tool_proxy(start_proxy, fake, servers=servers)
    assert ask(p).choices[0].message.content == "Tool said: report done (direct)"
    assert sent_tools(fake) == ["report"]
    assert "not offering research: it requires MCP tasks" in p.log()


def test_http_server_restart_answering_400_keeps_its_tools(start_proxy, fake):
    with FakeMCPHttp(stale_status=400) as server:
        p = tool_proxy(start_proxy, fake, servers={"web": {"url": server.url}})
        assert ask(p).choices[0].message.content == "Tool said: 42"
        server.restart()
        assert ask(p).choices[0].message.content == "Tool said: 42"
        assert proxyproc.wait_until(lambda: "starting a new session" in p.log())
        assert len(server.messages("initialize")) == 2


def test_roots_and_sampling_options_reach_the_client(start_proxy, fake, tmp_path):
    fake.set_tool_args({"prompt": "hi"})
    servers = {"feat": stdio_server("--client-features", allow=["roots", "sample"], sampling=True,
                                    sampling_max_tokens=50, roots=[str(tmp_path)])}
    p = tool_proxy(start_proxy, fake, servers=servers)
    fake.set_tool_name("roots")
    assert ask(p).choices[0].message.content == 'Tool said: ["%s"]' % tmp_path.as_uri()
    fake.set_tool_name("sample")
    assert ask(p).choices[0].message.content.startswith("Tool said: ")
    assert proxyproc.wait_until(lambda: "asks the client: sampling/createMessage" in p.log())
