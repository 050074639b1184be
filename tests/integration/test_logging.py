"""The log through a real proxy process: log_file + log_format json, nothing lost on SIGTERM,
no secret or image in the file at --verbose."""

import base64
import json
import os
import threading

from tests import proxyproc

CHAT = {"model": "gpt4o", "messages": [{"role": "user", "content": "hi"}]}


def json_lines(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh.read().splitlines()]


def test_every_access_line_reaches_the_json_log_file_despite_sigterm(start_proxy, fake, tmp_path):
    path = str(tmp_path / "proxy.log")
    p = start_proxy("--user", "t", config={"argo_base_url": fake.url, "log_file": path,
                                            "log_format": "json", "model_refresh_interval_hours": 0})
    sent = []

    def client(n):
        for i in range(10):
            if i % 2:
                sent.append(("/health", p.request("GET", "/health")[0]))
            else:
                sent.append(("/v1/chat/completions", p.request("POST", "/v1/chat/completions", body=CHAT)[0]))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # one more request is in flight when SIGTERM comes: it finishes, and its line is written
    fake.add_fault("/api/v1/resource/chat/", times=1, delay=1.0)
    seen = len(fake.requests)
    late = threading.Thread(target=client_late, args=(p, sent))
    late.start()
    assert proxyproc.wait_until(lambda: len(fake.requests) > seen)
    assert p.stop() == 0
    late.join(30)
    entries = json_lines(path)   # every line is one JSON object
    access = [e for e in entries if "method" in e]
    assert len(sent) == 41 and sent[-1][1] == 200
    assert sorted((e["path"], e["status"]) for e in access) == sorted(sent)
    assert {e["model"] for e in access if e["path"] == "/v1/chat/completions"} == {"gpt4o"}
    for e in access:
        assert e["level"] == "INFO" and e["ms"] >= 0 and e["ts"].endswith("Z")
        assert e["msg"].startswith("%s %s model=" % (e["method"], e["path"]))
    assert entries[-1]["msg"] == "stopped"
    assert any(e["msg"].startswith("argo-proxy ") and "mode standard" in e["msg"] for e in entries)
    assert "Listening on http://" in p.log()   # printed separately, still there for scripts


def client_late(p, sent):
    sent.append(("/v1/chat/completions", p.request("POST", "/v1/chat/completions", body=CHAT)[0]))


def test_verbose_log_file_holds_no_secret_and_no_image(start_proxy, fake, tmp_path):
    path = str(tmp_path / "proxy.log")
    p = start_proxy("--user", "t", "--verbose", config={
        "argo_base_url": fake.url, "log_file": path, "log_format": "json",
        "model_refresh_interval_hours": 0})
    image = base64.b64encode(os.urandom(6000)).decode()
    body = {"model": "claudesonnet45", "api_key": "sk-proj-hunter2hunter2", "max_tokens": 50,
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "my token is Bearer hunter3hunter3"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": image}}]}]}
    p.request("POST", "/v1/messages", body=body, headers={"x-api-key": "hunter4hunter4"})
    chat = dict(CHAT, messages=[{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + image}}]}])
    p.request("POST", "/v1/chat/completions", body=chat,
              headers={"Authorization": "Bearer hunter5hunter5"})
    assert p.stop() == 0
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    assert text.count("request body:") == 2 and text.count('"method":"POST"') == 2
    for secret in ("hunter2", "hunter3", "hunter4", "hunter5", image[16:80]):
        assert secret not in text and secret not in p.log()
    assert "Traceback" not in text


def test_a_log_file_that_cannot_be_opened_is_a_clear_error(start_proxy, tmp_path):
    p = start_proxy("--user", "t", config={"log_file": str(tmp_path / "missing" / "proxy.log")})
    assert p.wait_for_exit(20) == 1
    assert proxyproc.wait_until(lambda: "argo-proxy: cannot open the log file" in p.log())
    assert "missing" in p.log() and "Traceback" not in p.log() and "Listening on" not in p.log()
