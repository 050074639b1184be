"""argo_proxy.dumps: what a dump holds (redacted), the folder's caps, the once-a-minute dedupe,
the bounded queue. Traces are built by hand; the clock is injected."""

import base64
import json
import logging
import os
import stat
import threading

import pytest

from argo_proxy import dumps
from argo_proxy.dumps import ErrorDumps, FolderError
from argo_proxy.errors import ProxyError
from argo_proxy.observe import Trace

URL = "https://argo.example/api/v1/resource/chat/"
KEY = "proxy-key-hunter9hunter9"
IMAGE = base64.b64encode(bytes(range(256)) * 40).decode()


class Clock:
    def __init__(self, now=1700000000.0):
        self.now = now

    def __call__(self):
        return self.now


def failed(rid, message="boom", status=500, source="upstream", body=None, answer=None,
           url=URL, style="openai", sent=True):
    trace = Trace(rid, "POST", "/v1/chat/completions")
    trace.surface, trace.model, trace.user, trace.upstream = style, "gpt4o", "tester", "Argo"
    trace.elapsed, trace.status = 0.25, status
    if sent:
        trace.sent = (url, body if body is not None else
                      json.dumps({"model": "gpt4o", "user": "tester", "messages": [
                          {"role": "user", "content": "hello %s" % rid}]}).encode())
    if source == "upstream":
        trace.answer = (status, answer if answer is not None else
                        json.dumps({"error": {"message": message}}).encode())
    trace.error = ProxyError(status, message, code="upstream_error" if source == "upstream"
                             else "upstream_unreachable", source=source)
    return trace


@pytest.fixture
def make(tmp_path):
    made = []

    def make(**kw):
        kw.setdefault("clock", Clock())
        d = ErrorDumps(str(tmp_path / "dumps"), kw.pop("max_files", 200), kw.pop("max_mb", 50.0),
                       **kw)
        made.append(d)
        return d
    yield make
    for d in made:
        d.stop()


def files(d):
    return sorted(n for n in os.listdir(d.folder) if n.endswith(".json"))


def load(d, name):
    with open(os.path.join(d.folder, name), encoding="utf-8") as fh:
        return json.load(fh)


def dump_one(d, trace):
    d.sink(trace)
    assert d.flush()


# -- what a dump holds ----------------------------------------------------------------------------

def test_a_dump_holds_the_exchange_and_what_the_client_was_told(make):
    d = make()
    dump_one(d, failed("req_one", "Internal trouble"))
    [name] = files(d)
    assert name.endswith("-req_one.json") and name.startswith("20231114T221320.000Z-")
    rec = load(d, name)
    assert rec["request_id"] == "req_one" and rec["method"] == "POST"
    assert rec["path"] == "/v1/chat/completions" and rec["model"] == "gpt4o"
    assert rec["user"] == "tester" and rec["elapsed_ms"] == 250.0 and rec["time"].endswith("Z")
    assert rec["failure"]["source"] == "upstream" and rec["failure"]["message"] == "Internal trouble"
    up = rec["upstream"]
    assert up["url"] == URL and up["request"]["body"]["messages"][0]["content"] == "hello req_one"
    assert up["answer"] == {"status": 500, "bytes": len(b'{"error": {"message": "Internal trouble"}}'),
                            "body": {"error": {"message": "Internal trouble"}}}
    client = rec["client"]["body"]["error"]
    assert rec["client"]["status"] == 500
    assert client["message"] == "Internal trouble (request req_one; Argo answered HTTP 500)"
    assert rec["repeats"] == 0 and rec["repeat_ids"] == []


def test_the_client_body_is_in_the_surfaces_style_and_network_failures_record_the_error(make):
    d = make()
    trace = failed("req_net", "Cannot connect to https://argo.example", status=503,
                   source="network", style="anthropic")
    dump_one(d, trace)
    rec = load(d, files(d)[0])
    assert "answer" not in rec["upstream"]
    assert rec["upstream"]["error"] == "Cannot connect to https://argo.example"
    assert rec["client"]["body"]["type"] == "error"
    assert rec["client"]["body"]["error"]["message"].endswith("(request req_net; a network problem)")


def test_an_error_after_the_stream_opened_says_so(make):
    d = make()
    trace = failed("req_st", "Argo went away")
    trace.status, trace.stream = 200, True
    dump_one(d, trace)
    rec = load(d, files(d)[0])
    assert rec["client"]["status"] == 200 and rec["client"]["in_stream"] is True
    assert rec["stream"] is True and rec["client"]["body"]["error"]["message"].startswith(
        "Argo went away (request req_st;")


def test_secrets_images_and_the_proxy_key_never_reach_a_dump(make):
    d = make(secrets=[KEY])
    body = json.dumps({"model": "gpt4o", "api_key": "hunter2hunter2", "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "my key is %s and Bearer hunter3hunter3" % KEY},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + IMAGE}}]}]})
    answer = json.dumps({"error": {"message": "bad", "token": "hunter4hunter4", "echo": IMAGE}})
    url = "https://someone:hunter5@argo.example/chat/?key=hunter6&x=1"
    dump_one(d, failed("req_s", "bad %s" % KEY, body=body.encode(), answer=answer.encode(), url=url))
    with open(os.path.join(d.folder, files(d)[0]), encoding="utf-8") as fh:
        text = fh.read()
    for secret in ("hunter2", "hunter3", "hunter4", "hunter5", "hunter6", KEY, IMAGE[16:80]):
        assert secret not in text
    rec = json.loads(text)
    sent = rec["upstream"]["request"]["body"]   # still JSON: readable
    assert sent["api_key"] == "***" and sent["model"] == "gpt4o"
    assert sent["messages"][0]["content"][1]["image_url"]["url"].endswith("...")
    assert rec["upstream"]["url"] == "https://***@argo.example/chat/?key=%2A%2A%2A&x=1"
    assert rec["upstream"]["request"]["bytes"] == len(body)


def test_a_big_body_is_cut_and_its_size_said(make):
    d = make()
    body = b'{"messages": "' + b"word " * 40000 + b'"}'
    dump_one(d, failed("req_big", body=body, answer=b"<html>" + b"x y " * 25000))
    rec = load(d, files(d)[0])
    sent = rec["upstream"]["request"]["body"]
    assert isinstance(sent, str) and sent.endswith("...[%d bytes in all]" % len(body))
    assert len(sent) < dumps.BODY_CAP + 100
    assert rec["upstream"]["answer"]["body"].endswith("...[100006 bytes in all]")


def test_files_are_private_in_a_private_folder(make, tmp_path):
    d = make()
    dump_one(d, failed("req_p"))
    assert stat.S_IMODE(os.stat(d.folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(d.folder, files(d)[0])).st_mode) == 0o600


def test_an_unusable_folder_is_a_clear_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(FolderError, match="cannot create the error-dump folder .*afile.*dump_errors"):
        ErrorDumps(str(tmp_path / "afile" / "dumps"), 10, 1.0)


def test_only_failed_upstream_exchanges_are_dumped(make):
    d = make()
    ok = Trace("req_ok", "POST", "/v1/chat/completions")
    ok.sent, ok.status = (URL, b"{}"), 200
    client = failed("req_client", "bad request", status=400)
    client.error = ProxyError(400, "messages is required")          # source: client
    proxy = failed("req_proxy")
    proxy.error = ProxyError(500, "Internal proxy error")           # source: proxy
    unsent = failed("req_unsent", sent=False)
    for trace in (ok, client, proxy, unsent):
        d.sink(trace)
    dump_one(d, failed("req_real"))
    assert [n.rsplit("-", 1)[1] for n in files(d)] == ["req_real.json"]


# -- the caps -----------------------------------------------------------------------------------

def test_the_file_cap_holds_and_the_oldest_go_first(make):
    clock = Clock()
    d = make(max_files=4, clock=clock)
    for i in range(11):
        clock.now += 1
        dump_one(d, failed("req_%02d" % i, "failure %d" % i))
        assert len(files(d)) <= 4
    assert [n.rsplit("-", 1)[1] for n in files(d)] == ["req_%02d.json" % i for i in range(7, 11)]
    assert d.stats()["removed"] == 7 and d.stats()["files"] == 4


def test_the_byte_cap_holds_and_the_oldest_go_first(make):
    clock = Clock()
    d = make(max_mb=0.05, clock=clock)   # 52428 bytes; each dump is about 12 KB
    limit = int(0.05 * 1024 * 1024)
    for i in range(15):
        clock.now += 1
        body = json.dumps({"messages": "%d %s" % (i, "words " * 2000)}).encode()
        dump_one(d, failed("req_%02d" % i, "failure %d" % i, body=body))
        sizes = [os.path.getsize(os.path.join(d.folder, n)) for n in files(d)]
        assert sum(sizes) <= limit and d.stats()["bytes"] == sum(sizes)
    kept = [int(n.rsplit("_", 1)[1][:2]) for n in files(d)]
    assert kept == list(range(15 - len(kept), 15)) and 2 <= len(kept) < 15


def test_the_folders_earlier_dumps_count_and_other_files_are_left_alone(tmp_path, make):
    folder = tmp_path / "dumps"
    folder.mkdir()
    old = ["20200101T000000.000Z-000001-req_a.json", "20200101T000001.000Z-000002-req_b.json",
           "20200101T000002.000Z-000003-req_c.json"]
    for name in old:
        (folder / name).write_text("{}")
    (folder / "notes.txt").write_text("mine")
    (folder / ".tmp-20200101T000003.000Z-000004-req_d.json").write_text("{")
    d = make(max_files=3)
    assert sorted(os.listdir(str(folder))) == old + ["notes.txt"]   # the stale temp file went
    dump_one(d, failed("req_new"))
    assert files(d)[:2] == old[1:] and files(d)[2].endswith("req_new.json")
    assert (folder / "notes.txt").read_text() == "mine"


# -- the dedupe --------------------------------------------------------------------------------

def test_identical_failures_within_a_minute_are_counted_in_the_first_dump(make):
    clock = Clock()
    d = make(clock=clock)
    for i, at in enumerate((0, 5, 30, 59.9)):
        clock.now = 1700000000.0 + at
        d.sink(failed("req_%d" % i, "Argo is down"))
    assert d.flush()
    [name] = files(d)
    rec = load(d, name)
    assert rec["request_id"] == "req_0" and rec["repeats"] == 3
    assert rec["repeat_ids"] == ["req_1", "req_2", "req_3"]
    assert rec["last_repeat"] == "2023-11-14T22:14:19.900Z"
    clock.now = 1700000000.0 + 60.5     # a minute after the first dump: dumped again
    dump_one(d, failed("req_4", "Argo is down"))
    assert len(files(d)) == 2 and load(d, files(d)[1])["repeats"] == 0
    d.sink(failed("req_5", "Argo is down"))
    assert d.flush() and load(d, files(d)[1])["repeat_ids"] == ["req_5"]


def test_failures_that_differ_are_each_dumped(make):
    d = make()
    d.sink(failed("req_a", "Argo is down"))
    d.sink(failed("req_b", "Argo is down", status=502))
    d.sink(failed("req_c", "Argo is up"))
    d.sink(failed("req_d", "Argo is down", url=URL + "other"))
    d.sink(failed("req_e", "Argo is down", status=503, source="network"))
    assert d.flush() and len(files(d)) == 5
    assert all(load(d, n)["repeats"] == 0 for n in files(d))


def test_a_repeat_of_a_dump_removed_by_the_caps_is_dumped_again(make):
    clock = Clock()
    d = make(max_files=1, clock=clock)
    dump_one(d, failed("req_a", "one"))
    dump_one(d, failed("req_b", "two"))     # removes req_a's dump
    dump_one(d, failed("req_c", "one"))
    assert [n.rsplit("-", 1)[1] for n in files(d)] == ["req_c.json"]


def test_repeat_counts_are_saved_without_a_flush(make):
    d = make()
    dump_one(d, failed("req_a"))
    d.sink(failed("req_b"))
    from tests.proxyproc import wait_until
    assert wait_until(lambda: load(d, files(d)[0])["repeats"] == 1, timeout=5)


# -- the queue ------------------------------------------------------------------------------

def test_a_full_queue_drops_with_one_warning_and_never_blocks(make, monkeypatch, caplog):
    writing, release = threading.Event(), threading.Event()
    real = dumps.write_file

    def slow(*args):
        writing.set()
        release.wait(10)
        real(*args)
    monkeypatch.setattr(dumps, "write_file", slow)
    d = make(queue_size=2)
    with caplog.at_level(logging.WARNING, logger="argo_proxy"):
        d.sink(failed("req_0", "f0"))
        assert writing.wait(5)              # the writer holds req_0; two fit in the queue
        for i in range(1, 8):
            d.sink(failed("req_%d" % i, "f%d" % i))
        assert d.stats()["dropped"] == 5
        release.set()
        assert d.flush()
    assert [n.rsplit("-", 1)[1] for n in files(d)] == ["req_0.json", "req_1.json", "req_2.json"]
    drops = [r.getMessage() for r in caplog.records if "dropping" in r.getMessage()]
    assert len(drops) == 1
    assert any("5 dump(s) dropped" in r.getMessage() for r in caplog.records)
    dump_one(d, failed("req_3", "f3"))      # a dropped failure is not a dedupe window
    assert files(d)[-1].endswith("req_3.json")


def test_stop_writes_what_is_queued(make):
    d = make()
    for i in range(5):
        d.sink(failed("req_%d" % i, "f%d" % i))
    d.stop()
    assert len(files(d)) == 5
    d.sink(failed("req_late", "late"))   # after stop: ignored, never blocks
    assert len(files(d)) == 5
