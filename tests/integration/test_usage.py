"""usage_file through the built .pyz and the fake Argo: one line per model call with the
tokens the client was told, nothing lost on SIGTERM, appended to after a restart, and the same
numbers from GET /v1/usage and `argo-proxy usage`."""

import collections
import json
import os
import stat
import subprocess
import threading

import pytest

from tests import proxyproc

CHAT = {"model": "gpt4o", "messages": [{"role": "user", "content": "hi"}]}
CLAUDE = {"model": "claudesonnet45", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
LEGACY_CHAT = "/api/v1/resource/chat/"


def usage_lines(path):
    with open(path, encoding="ascii") as fh:
        return [json.loads(line) for line in fh]


def config(fake, path, **more):
    return dict({"argo_base_url": fake.url, "usage_file": path, "model_refresh_interval_hours": 0},
                **more)


def final_usage(chunks):
    [found] = [c["usage"] for c in chunks if c.get("usage")]
    return found["prompt_tokens"], found["completion_tokens"]


def model_calls(p, fake, chat_path):
    """A chat, a streamed chat with usage, a Claude message, a failure; and calls that use no
    model. Returns [(route, stream, status, (tokens in, out) the client was told, or None)]."""
    told = []
    status, _, body = p.request("POST", "/v1/chat/completions", body=CHAT)
    told.append(("/v1/chat/completions", False, status,
                 (body["usage"]["prompt_tokens"], body["usage"]["completion_tokens"])))
    chunks = proxyproc.chat_stream(p, dict(CHAT, stream_options={"include_usage": True}))
    told.append(("/v1/chat/completions", True, 200, final_usage(chunks)))
    status, _, body = p.request("POST", "/v1/messages", body=CLAUDE)
    told.append(("/v1/messages", False, status,
                 (body["usage"]["input_tokens"], body["usage"]["output_tokens"])))
    fake.add_fault(chat_path, times=1, status=400, body={"error": {"message": "no"}})
    status, _, _ = p.request("POST", "/v1/chat/completions", body=CHAT)
    assert status == 400   # Argo refused it: a model call all the same, and an error
    told.append(("/v1/chat/completions", False, status, None))
    assert p.request("POST", "/v1/chat/completions", body={"messages": []})[0] == 400   # no model
    for path in ("/health", "/v1/models", "/version"):
        assert p.request("GET", path)[0] == 200
    assert p.request("POST", "/v1/messages/count_tokens", body=CLAUDE)[0] == 200
    return told


@pytest.mark.parametrize("mode, chat_path", [([], LEGACY_CHAT),
                                             (["--native-openai"], "/v1/chat/completions")])
def test_each_model_call_leaves_one_line_with_the_tokens_the_client_was_told(
        start_proxy, fake, tmp_path, mode, chat_path):
    path = str(tmp_path / "usage.jsonl")
    p = start_proxy("--user", "tester", *mode, config=config(fake, path))
    told = model_calls(p, fake, chat_path)
    assert p.stop() == 0
    lines = usage_lines(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [(e["route"], e["stream"], e["status"]) for e in lines] == [t[:3] for t in told]
    for entry, (_, _, status, tokens) in zip(lines, told):
        if tokens is not None:
            assert (entry["tokens_in"], entry["tokens_out"]) == tokens and tokens[1] > 0
        assert entry["user"] == "tester" and entry["request_id"].startswith("req_")
        assert entry["elapsed_ms"] >= entry["ttfb_ms"] > 0 and entry["tool_calls"] == 0
        assert entry["ts"].endswith("Z")
    assert [e["model"] for e in lines] == ["gpt4o", "gpt4o", "claudesonnet45", "gpt4o"]
    assert [e["surface"] for e in lines] == ["openai", "openai", "anthropic", "openai"]
    if mode:   # the native endpoint reports usage, Argo's Anthropic endpoint too
        assert not any(e["estimated"] for e in lines)


def test_standard_mode_estimates_are_marked_estimated(start_proxy, fake, tmp_path):
    path = str(tmp_path / "usage.jsonl")
    p = start_proxy("--user", "tester", config=config(fake, path))
    p.request("POST", "/v1/chat/completions", body=CHAT)
    proxyproc.chat_stream(p, dict(CHAT, stream_options={"include_usage": True}))
    assert p.stop() == 0
    assert [e["estimated"] for e in usage_lines(path)] == [True, True]


def test_nothing_is_lost_on_sigterm_and_a_restart_appends(start_proxy, fake, tmp_path):
    path = str(tmp_path / "usage.jsonl")
    cfg = config(fake, path, username_passthrough=True)
    p = start_proxy(config=cfg)
    statuses = []

    def client(user, n):
        for i in range(n):
            body = dict(CHAT, model="gpt4o" if i % 2 else "gpt4omini")
            statuses.append(p.request("POST", "/v1/chat/completions", body=body,
                                      headers={"Authorization": "Bearer %s" % user})[0])

    threads = [threading.Thread(target=client, args=("user%d" % n, 6)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # one more request is in flight when SIGTERM comes: it finishes, and its line is written
    fake.add_fault(LEGACY_CHAT, times=1, delay=1.0)
    seen = len(fake.requests)
    late = threading.Thread(target=client, args=("late", 1))
    late.start()
    assert proxyproc.wait_until(lambda: len(fake.requests) > seen)
    assert p.stop() == 0
    late.join(30)
    assert statuses == [200] * 19
    first = usage_lines(path)
    assert collections.Counter(e["user"] for e in first) == {"user0": 6, "user1": 6, "user2": 6,
                                                             "late": 1}

    again = start_proxy(config=cfg)
    again.request("POST", "/v1/chat/completions", body=CHAT, headers={"Authorization": "Bearer zed"})
    assert again.stop() == 0
    lines = usage_lines(path)
    assert lines[:19] == first and [e["user"] for e in lines[19:]] == ["zed"]


def expected(lines, key):
    rows = {}
    for e in lines:
        k = e["ts"][:10] if key == "day" else e[key]
        row = rows.setdefault(k, {"key": k, "requests": 0, "tokens_in": 0, "tokens_out": 0,
                                  "estimated_requests": 0, "errors": 0})
        row["requests"] += 1
        row["tokens_in"] += e["tokens_in"] or 0
        row["tokens_out"] += e["tokens_out"] or 0
        row["estimated_requests"] += e["estimated"]
        row["errors"] += e["status"] >= 400
    return sorted(rows.values(), key=lambda r: r["key"])


def test_summaries_by_model_user_and_day_match_the_file_and_the_subcommand(
        start_proxy, fake, tmp_path):
    path = str(tmp_path / "usage.jsonl")
    cfg = config(fake, path, username_passthrough=True, use_native_openai=True,
                 proxy_api_key="proxy-key")
    p = start_proxy(config=cfg)
    for n, user in enumerate(["ann", "bob", "ann", "cy"]):
        body = dict(CHAT, model=["gpt4o", "gpt4omini", "claudesonnet45"][n % 3],
                    messages=[{"role": "user", "content": "hi " * (n + 1)}])
        headers = {"Authorization": "Bearer " + user, "x-api-key": "proxy-key"}
        assert p.request("POST", "/v1/chat/completions", body=body, headers=headers)[0] == 200
    fake.add_fault("/v1/chat/completions", times=1, status=400, body={"error": {"message": "no"}})
    assert p.request("POST", "/v1/chat/completions", body=CHAT,
                     headers={"Authorization": "Bearer bob", "x-api-key": "proxy-key"})[0] == 400
    key = {"x-api-key": "proxy-key"}
    assert p.request("GET", "/v1/usage")[0] == 401
    answers = {}
    for group in ("model", "user", "day"):   # read at once: mostly from the buffer
        status, _, answers[group] = p.request("GET", "/v1/usage?group_by=" + group, headers=key)
        assert status == 200 and answers[group]["group_by"] == group
    status, _, body = p.request("GET", "/v1/usage?since=tomorrow", headers=key)
    assert status == 400 and body["error"]["param"] == "since"
    assert p.stop() == 0
    lines = usage_lines(path)
    assert len(lines) == 5
    for group in ("model", "user", "day"):
        assert sorted(answers[group]["data"], key=lambda r: r["key"]) == expected(lines, group)
        assert answers[group]["total"]["requests"] == 5 and answers[group]["total"]["errors"] == 1
    assert answers["model"]["total"]["tokens_in"] == sum(e["tokens_in"] or 0 for e in lines) > 0

    result = subprocess.run(proxyproc.command() + ["usage", str(tmp_path / "config-0.yaml"),
                                                   "--by", "user"],
                            cwd=str(tmp_path), env=proxyproc.clean_env(str(tmp_path)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    table = {line.split()[0]: line.split()[1:] for line in out.splitlines()[3:]
             if line.strip() and not line.startswith("-")}
    for row in expected(lines, "user"):
        assert table[row["key"]] == ["{:,}".format(row[c]) for c in (
            "requests", "tokens_in", "tokens_out", "estimated_requests", "errors")]
    assert table["total"][0] == "5" and out.startswith("Usage all recorded, by user (%s)" % path)


def test_an_unopenable_usage_file_is_a_clear_error(start_proxy, fake, tmp_path):
    p = start_proxy("--user", "t", config=config(fake, str(tmp_path / "missing" / "usage.jsonl")))
    assert p.wait_for_exit(20) == 1
    assert proxyproc.wait_until(lambda: "argo-proxy: cannot open the usage file" in p.log())
    assert "(usage_file)" in p.log() and "missing" in p.log()
    assert "Traceback" not in p.log() and "Listening on" not in p.log()


def test_the_subcommand_without_a_usage_file(tmp_path):
    result = subprocess.run(proxyproc.command() + ["usage"], cwd=str(tmp_path),
                            env=proxyproc.clean_env(str(tmp_path)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=60)
    assert result.returncode == 1 and not result.stdout
    assert "no usage_file is configured" in result.stderr.decode()
    assert b"Traceback" not in result.stderr
