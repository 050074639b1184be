"""GET /metrics: Prometheus text format, parsed with prometheus_client, after real requests
against the built .pyz (fake Argo; a fake MCP server for the tool call)."""

import os
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import proxyproc

CHAT = {"model": "gpt4o", "messages": [{"role": "user", "content": "Hello!"}]}
FAKE_MCP = os.path.join(proxyproc.ROOT, "tests", "fakes", "fake_mcp.py")
ODD_MODEL = 'odd "model"\nline two\\end'


def scrape(proxy, headers=None):
    status, head, body = proxy.request("GET", "/metrics", headers=headers)
    assert status == 200, body
    assert head["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return body.decode("utf-8")


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(fams, family, sample=None, **labels):
    """{label-dict-as-tuple: value} of a family's samples (named `sample`) matching labels."""
    found = {}
    for s in fams[family].samples:
        if s.name == (sample or s.name) and all(s.labels.get(k) == v for k, v in labels.items()):
            found[tuple(sorted(s.labels.items()))] = s.value
    return found


def total(fams, family="argo_proxy_requests", sample=None, **labels):
    return sum(samples(fams, family, sample, **labels).values()) if family in fams else 0


def settled(proxy, check, headers=None, timeout=10.0):
    """The families once check(families) holds: a request is counted just after its answer
    went out, so a scrape right after it may not see it yet."""
    seen = {}

    def ready():
        seen["families"] = families(scrape(proxy, headers))
        return check(seen["families"])
    assert proxyproc.wait_until(ready, timeout), seen["families"]
    return seen["families"]


def value(fams, family, sample=None, **labels):
    found = samples(fams, family, sample, **labels)
    assert len(found) == 1, (family, labels, found)
    return next(iter(found.values()))


@pytest.mark.smoke
def test_requests_streams_tokens_and_errors_are_counted(native_proxy, fake):
    p = native_proxy
    assert p.request("POST", "/v1/chat/completions", body=CHAT)[0] == 200
    chunks = proxyproc.chat_stream(p, dict(CHAT, stream_options={"include_usage": True}))
    assert proxyproc.visible_text(chunks) == "Hello from fake Argo."
    fake.add_fault("/v1/chat/completions", times=1, status=500)
    status, head, _ = p.request("POST", "/v1/chat/completions", body=CHAT,
                                headers={"x-request-id": "metrics-fail-1"})
    assert status == 500 and head["x-request-id"] == "metrics-fail-1"
    fams = settled(p, lambda f: total(f, route="/v1/chat/completions") == 3)

    route = {"surface": "openai", "route": "/v1/chat/completions", "model": "gpt4o"}
    assert value(fams, "argo_proxy_requests", status="200", **route) == 2
    assert value(fams, "argo_proxy_requests", status="500", **route) == 1
    chat = {"surface": "openai", "route": "/v1/chat/completions"}
    assert value(fams, "argo_proxy_request_duration_seconds", "argo_proxy_request_duration_seconds_count",
                 **chat) == 3
    assert value(fams, "argo_proxy_request_duration_seconds", "argo_proxy_request_duration_seconds_bucket",
                 le="+Inf", **chat) == 3
    assert value(fams, "argo_proxy_upstream_first_byte_seconds",
                 "argo_proxy_upstream_first_byte_seconds_count", **chat) == 3
    assert value(fams, "argo_proxy_tokens", model="gpt4o", direction="in", kind="reported") > 0
    assert value(fams, "argo_proxy_tokens", model="gpt4o", direction="out", kind="reported") > 0
    assert value(fams, "argo_proxy_upstream_last_success_timestamp_seconds") > 1e9
    assert value(fams, "argo_proxy_streams_open") == 0   # the stream above has ended
    assert total(fams, "argo_proxy_models") > 0 and len(fams["argo_proxy_models"].samples) == 1
    assert value(fams, "argo_proxy_model_list_age_seconds") >= 0
    assert value(fams, "argo_proxy_process_start_time_seconds") > 1e9
    info = fams["argo_proxy_build_info"].samples[0]
    assert info.value == 1 and info.labels["mode"] == "native-openai" and info.labels["version"]


def test_upstream_failures_by_kind(proxy, fake):
    fake.add_fault("/api/v1/resource/chat/", times=1, status=500)
    status, _, body = proxy.request("POST", "/v1/chat/completions", body=CHAT)
    assert status == 500 and body["error"]["code"] == "upstream_error"
    fams = settled(proxy, lambda f: total(f, "argo_proxy_upstream_failures") == 1)
    assert value(fams, "argo_proxy_upstream_failures", kind="upstream_error") == 1
    assert value(fams, "argo_proxy_upstream_last_failure_timestamp_seconds") > 1e9
    assert value(fams, "argo_proxy_requests", route="/v1/chat/completions", status="500") == 1


def test_histogram_buckets_are_cumulative_and_complete(native_proxy):
    native_proxy.request("POST", "/v1/chat/completions", body=CHAT)
    fams = settled(native_proxy, lambda f: total(f, route="/v1/chat/completions") == 1)
    buckets = [s for s in fams["argo_proxy_request_duration_seconds"].samples
               if s.name.endswith("_bucket") and s.labels["route"] == "/v1/chat/completions"]
    counts = [s.value for s in buckets]
    assert counts == sorted(counts) and buckets[-1].labels["le"] == "+Inf" and len(buckets) == 16


def test_an_open_stream_is_counted_while_it_is_open(native_proxy, fake):
    fake.add_fault("/v1/chat/completions", times=1, delay=30)   # Argo thinks for a long time
    conn = native_proxy.conn()
    conn.request("POST", "/v1/chat/completions", body=_json(dict(CHAT, stream=True)),
                 headers={"Content-Type": "application/json"})
    try:
        # keep-alives open the client stream while the upstream is silent
        assert proxyproc.wait_until(lambda: value(families(scrape(native_proxy)),
                                                  "argo_proxy_streams_open") == 1, timeout=20)
    finally:
        conn.close()
    assert proxyproc.wait_until(lambda: value(families(scrape(native_proxy)),
                                              "argo_proxy_streams_open") == 0, timeout=20)


def test_label_values_with_quotes_newlines_and_backslashes_are_escaped(native_proxy):
    native_proxy.request("POST", "/v1/chat/completions", body=dict(CHAT, model=ODD_MODEL))
    settled(native_proxy, lambda f: total(f, route="/v1/chat/completions") == 1)
    text = scrape(native_proxy)
    assert 'model="odd \\"model\\"\\nline two\\\\end"' in text
    fams = families(text)   # the parser reads the escaped value back to the original
    assert sum(samples(fams, "argo_proxy_requests", model=ODD_MODEL).values()) == 1


def test_tool_calls_by_source_tool_and_outcome(start_proxy, fake):
    servers = {"calc": {"command": sys.executable, "args": [FAKE_MCP, "--stdio"]}}
    p = start_proxy("--user", "t", config={"argo_base_url": fake.url, "mcp_servers": servers})
    status, _, body = p.request("POST", "/v1/chat/completions",
                                body={"model": "gpt4o", "messages": [{"role": "user", "content": "12+30?"}]})
    assert status == 200 and body["choices"][0]["message"]["content"] == "Tool said: 42"
    fams = settled(p, lambda f: total(f, "argo_proxy_tool_calls") == 1)
    assert value(fams, "argo_proxy_tool_calls", source="calc", tool="add", outcome="ok") == 1
    assert value(fams, "argo_proxy_tool_duration_seconds", "argo_proxy_tool_duration_seconds_count",
                 source="calc", tool="add") == 1
    assert value(fams, "argo_proxy_tool_source_up", source="calc") == 1
    assert value(fams, "argo_proxy_tool_source_tools", source="calc") > 0


def test_per_user_counts_with_username_passthrough(start_proxy, fake):
    p = start_proxy("--user", "t", "--native-openai", "--username-passthrough",
                    config={"argo_base_url": fake.url})
    for user in ("alice", "alice", "bob"):
        p.request("POST", "/v1/chat/completions", body=CHAT, headers={"Authorization": "Bearer " + user})
    fams = settled(p, lambda f: total(f, "argo_proxy_user_requests") == 3)
    assert value(fams, "argo_proxy_user_requests", user="alice") == 2
    assert value(fams, "argo_proxy_user_requests", user="bob") == 1


def test_no_per_user_family_without_passthrough(native_proxy):
    assert "argo_proxy_user_requests" not in families(scrape(native_proxy))


def test_metrics_need_the_key_when_one_is_set(start_proxy, fake):
    p = start_proxy("--user", "t", "--api-key", "s3cret", config={"argo_base_url": fake.url})
    status, _, body = p.request("GET", "/metrics")
    assert status == 401 and body["error"]["code"] == "invalid_api_key"
    assert p.request("GET", "/metrics", headers={"Authorization": "Bearer wrong"})[0] == 401
    fams = settled(p, lambda f: total(f, route="/metrics", status="401") == 2,
                   headers={"Authorization": "Bearer s3cret"})
    assert value(fams, "argo_proxy_requests", route="/metrics", status="401") == 2


def test_metrics_refuse_foreign_hosts_and_origins(native_proxy):
    assert native_proxy.request("GET", "/metrics", headers={"Host": "evil.example"})[0] == 421
    assert native_proxy.request("GET", "/metrics", headers={"Origin": "http://evil.example"})[0] == 403


def _json(obj):
    import json
    return json.dumps(obj).encode()


@pytest.fixture
def native_proxy(start_proxy, fake):
    """Native mode with a short keep-alive interval (so a silent upstream opens the stream)."""
    return start_proxy("--user", "tester", "--native-openai",
                       config={"argo_base_url": fake.url, "keepalive_interval": 0.5})
