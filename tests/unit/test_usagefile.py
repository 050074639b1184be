"""The usage file: which requests leave a line, the line's format, the buffer and its flusher,
rotation, and the summaries (grouping, since, rotated files, torn and garbage lines), the
`usage` subcommand and the endpoint's parameters."""

import calendar
import io
import json
import os
import stat
import time
from contextlib import redirect_stderr, redirect_stdout

import pytest

from argo_proxy import observe, usagecmd, usagefile, usagesummary
from argo_proxy.usagesummary import BadParameter, Summary, parse_group, parse_since
from tests.inproc import drive, make_app
from tests.proxyproc import wait_until

SLOW = 3600.0   # a flush interval that never comes during a test
NOW = calendar.timegm((2025, 3, 10, 12, 0, 0))


def trace(model="gpt4o", route="/v1/chat/completions", status=200, user="ann", tokens=(10, 5),
          estimated=False, wall=NOW, stream=False, tools=0):
    t = observe.Trace(observe.new_id(), "POST", route, started=100.0)
    t.wall, t.model, t.route, t.user, t.status, t.stream = wall, model, route, user, status, stream
    t.surface = "openai"
    t.elapsed, t.ttfb = 0.25, 0.125
    t.usage(tokens[0], tokens[1], estimated)
    for i in range(tools):
        t.tool("mcp", "add", True, 0.01)
    return t


def read_lines(path):
    with open(path, encoding="ascii") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture
def usage_log(tmp_path):
    logs_made = []

    def make(max_bytes=1 << 20, keep=3, interval=SLOW, max_pending=1000, name="usage.jsonl"):
        log = usagefile.UsageLog(str(tmp_path / name), max_bytes, keep, interval, max_pending)
        logs_made.append(log)
        return log

    yield make
    for log in logs_made:
        log.close()
        log.file.close()


# -- what is recorded --------------------------------------------------------------------------

def test_a_model_call_becomes_one_line_with_every_field(usage_log):
    log = usage_log()
    t = trace(tokens=(12, 34), estimated=True, stream=True, tools=2)
    log.record(t)
    assert not os.path.getsize(log.path)   # buffered: nothing written by the request
    log.close()
    [line] = read_lines(log.path)
    assert list(line) == ["ts", "request_id", "user", "model", "surface", "route", "status",
                          "stream", "tokens_in", "tokens_out", "estimated", "elapsed_ms",
                          "ttfb_ms", "tool_calls"]
    assert line == {"ts": "2025-03-10T12:00:00.250Z", "request_id": t.id, "user": "ann",
                    "model": "gpt4o", "surface": "openai", "route": "/v1/chat/completions",
                    "status": 200, "stream": True, "tokens_in": 12, "tokens_out": 34,
                    "estimated": True, "elapsed_ms": 250.0, "ttfb_ms": 125.0, "tool_calls": 2}
    assert stat.S_IMODE(os.stat(log.path).st_mode) == 0o600


def test_only_model_calls_are_recorded(usage_log):
    log = usage_log()
    log.record(trace(model=None, route="/v1/models"))
    log.record(trace(model=None, route="/health"))
    log.record(trace(model="claudesonnet45", route="/v1/messages/count_tokens"))
    log.record(trace(model="gpt4o", route=None))          # matched no route
    log.record(trace(model="gpt4o", route="/v1/embeddings", tokens=(None, None), status=502))
    log.close()
    [line] = read_lines(log.path)
    assert line["route"] == "/v1/embeddings" and line["tokens_in"] is None
    assert line["status"] == 502 and line["ttfb_ms"] == 125.0


def test_client_chosen_text_stays_one_ascii_line(usage_log):
    log = usage_log()
    log.record(trace(model="evil\n{\"model\":\"x\"}\u00e9" + "m" * 300, user="b\u00f6b"))
    log.close()
    with open(log.path, "rb") as fh:
        raw = fh.read()
    assert raw.count(b"\n") == 1 and max(raw) < 128
    [line] = read_lines(log.path)
    assert line["model"].startswith("evil\n{") and len(line["model"]) == 203
    assert line["user"] == "b\u00f6b"


def test_the_flusher_writes_within_its_interval(usage_log):
    log = usage_log(interval=0.05)
    log.record(trace())
    assert wait_until(lambda: os.path.getsize(log.path) > 0)
    assert len(read_lines(log.path)) == 1


def test_a_full_buffer_wakes_the_flusher(usage_log):
    log = usage_log(max_pending=3)
    for _ in range(2):
        log.record(trace())
    assert os.path.getsize(log.path) == 0
    log.record(trace())
    assert wait_until(lambda: os.path.getsize(log.path) > 0)
    assert len(read_lines(log.path)) == 3


def test_a_line_recorded_after_close_is_written_at_once(usage_log):
    log = usage_log()
    log.record(trace(user="early"))
    log.close()
    log.record(trace(user="late"))
    assert [line["user"] for line in read_lines(log.path)] == ["early", "late"]


def test_a_torn_last_line_costs_only_itself(usage_log, tmp_path):
    path = tmp_path / "usage.jsonl"
    path.write_bytes(b'{"ts":"2025-03-10T11:00:00.000Z","model":"a","status":200}\n{"ts":"2025-03')
    log = usage_log()
    log.record(trace(model="b"))
    log.close()
    found = Summary()
    found.read(usagefile.open_files(str(path)))
    result = found.result()
    assert [row["key"] for row in result["data"]] == ["b", "a"] and result["skipped_lines"] == 1


def test_rotation_keeps_at_most_keep_plus_one_files_of_whole_lines(usage_log, tmp_path):
    log = usage_log(max_bytes=2000, keep=3)
    sent = 0
    for round_ in range(12):            # about 35 KB: the files fill and rotate many times
        for _ in range(10):
            log.record(trace(user="u%d" % sent))
            sent += 1
        log.flush()
    log.close()
    names = sorted(os.listdir(tmp_path))
    assert names == ["usage.jsonl", "usage.jsonl.1", "usage.jsonl.2", "usage.jsonl.3"]
    kept = []
    for name in ("usage.jsonl.3", "usage.jsonl.2", "usage.jsonl.1", "usage.jsonl"):
        assert os.path.getsize(tmp_path / name) <= 2000
        kept += [line["user"] for line in read_lines(tmp_path / name)]
    # the newest lines survive, in order, none torn
    assert kept == ["u%d" % n for n in range(sent - len(kept), sent)] and len(kept) > 20


def test_snapshot_counts_every_line_once(usage_log):
    log = usage_log()
    for n in range(5):
        log.record(trace(tokens=(n, 1)))
    log.flush()
    log.record(trace(tokens=(100, 1)))
    files, pending = log.snapshot()
    log.flush()                          # written after the snapshot: the snapshot's size stops it
    found = Summary()
    found.read(files)
    for item in pending:
        found.add(item)
    assert found.result()["total"]["requests"] == 6
    assert found.result()["total"]["tokens_in"] == 110


def test_an_unopenable_usage_file_is_a_clear_error(tmp_path):
    with pytest.raises(usagefile.UsageFileError) as err:
        usagefile.open_log(_cfg(usage_file=str(tmp_path / "missing" / "usage.jsonl")))
    assert "cannot open the usage file" in str(err.value) and "usage_file" in str(err.value)
    assert "No such file" in str(err.value)


def test_the_path_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    log = usagefile.open_log(_cfg(usage_file="~/u.jsonl", usage_keep=2, usage_max_mb=1))
    try:
        assert log.path == str(tmp_path / "u.jsonl") and os.path.exists(log.path)
        assert log.file.keep == 2 and log.file.max_bytes == 1024 * 1024
    finally:
        log.close()
        log.file.close()
    assert usagefile.open_log(_cfg()) is None


def _cfg(**settings):
    from argo_proxy import config as configmod
    cfg = configmod.load(explicit_path=None, environ={}, cli={"user": "tester"}, search=False)
    for name, value in settings.items():
        cfg.set(name, value, "test")
    return cfg


# -- since and group_by ------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("30m", NOW - 1800), ("24h", NOW - 86400), ("7d", NOW - 7 * 86400), ("2w", NOW - 14 * 86400),
    (" 1.5H ", NOW - 5400), ("2025-03-01", calendar.timegm((2025, 3, 1, 0, 0, 0))),
    ("2025-03-01T06:30", calendar.timegm((2025, 3, 1, 6, 30, 0))),
    ("2025-03-01T06:30:00Z", calendar.timegm((2025, 3, 1, 6, 30, 0))),
    ("2025-03-01T06:30:00+02:00", calendar.timegm((2025, 3, 1, 4, 30, 0))),
    ("", None), (None, None), ("99999999999d", 0.0)])
def test_since_is_a_date_a_time_or_a_span_back(text, expected):
    assert parse_since(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "7", "7y", "-7d", "2025-13-01", "2025-03-01T25:00"])
def test_a_bad_since_names_the_parameter(text):
    with pytest.raises(BadParameter) as err:
        parse_since(text, now=NOW)
    assert err.value.param == "since" and "since:" in str(err.value) and "24h" in str(err.value)


def test_group_by_defaults_to_model_and_refuses_others():
    assert parse_group(None) == "model" and parse_group("Day") == "day"
    with pytest.raises(BadParameter) as err:
        parse_group("route")
    assert err.value.param == "group_by" and "model, user, day" in str(err.value)


# -- summaries ---------------------------------------------------------------------------------

def line(ts, model="gpt4o", user="ann", tin=10, tout=5, estimated=False, status=200):
    return json.dumps({"ts": ts, "request_id": "r", "user": user, "model": model,
                       "status": status, "tokens_in": tin, "tokens_out": tout,
                       "estimated": estimated}) + "\n"


LINES = [line("2025-03-08T23:59:59.000Z", tin=1, tout=1),
         line("2025-03-09T10:00:00.000Z", model="claude", user="bob", tin=100, tout=50),
         line("2025-03-09T11:00:00.000Z", estimated=True, status=502, tin=None, tout=None),
         line("2025-03-10T09:00:00.000Z", user="bob", tin=7, tout=3, estimated=True),
         line("2025-03-10T11:00:00.000Z", model="claude", user=None, status=400, tin=2, tout=0)]


def summarise(lines, group_by="model", since=None):
    found = Summary(group_by, since)
    for raw in lines:
        found.add_line(raw.encode())
    return found.result()


def rows(result):
    return {r["key"]: [r[c] for c in usagesummary.COUNTS] for r in result["data"]}


def test_grouped_by_model():
    result = summarise(LINES)
    assert result["object"] == "usage.summary" and result["group_by"] == "model"
    assert rows(result) == {"claude": [2, 102, 50, 0, 1], "gpt4o": [3, 8, 4, 2, 1]}
    assert [r["key"] for r in result["data"]] == ["claude", "gpt4o"]   # most tokens first
    assert result["total"] == {"requests": 5, "tokens_in": 110, "tokens_out": 54,
                               "estimated_requests": 2, "errors": 2}
    assert result["since"] is None and result["skipped_lines"] == 0


def test_grouped_by_user_and_by_day():
    assert rows(summarise(LINES, "user")) == {"bob": [2, 107, 53, 1, 0], "ann": [2, 1, 1, 1, 1],
                                              None: [1, 2, 0, 0, 1]}
    by_day = summarise(LINES, "day")
    assert [r["key"] for r in by_day["data"]] == ["2025-03-08", "2025-03-09", "2025-03-10"]
    assert rows(by_day)["2025-03-09"] == [2, 100, 50, 1, 1]


def test_since_keeps_the_lines_at_or_after_it():
    result = summarise(LINES, "day", since=parse_since("2025-03-09T11:00Z"))
    assert result["since"] == "2025-03-09T11:00:00.000Z"
    assert rows(result) == {"2025-03-09": [1, 0, 0, 1, 1], "2025-03-10": [2, 9, 3, 1, 1]}
    assert summarise(LINES, since=parse_since("12h", now=NOW))["total"]["requests"] == 2


def test_garbage_and_torn_lines_are_skipped_and_counted():
    bad = ["not json\n", "[1, 2]\n", '{"model": "no ts"}\n', "\n", b"\xff\xfe{".decode("latin-1"),
           '{"ts": "2025-03-10T10:00:00.000Z", "model": ["odd"], "tokens_in": "9", '
           '"tokens_out": true}\n', LINES[0][:25]]
    result = summarise(LINES[:2] + bad)
    assert result["skipped_lines"] == 5
    assert result["total"]["requests"] == 3 and result["total"]["tokens_in"] == 101
    assert rows(result)['["odd"]'] == [1, 0, 0, 0, 1]   # no status: not a success


def test_rotated_files_are_read_oldest_first(tmp_path):
    path = str(tmp_path / "usage.jsonl")
    for name, chunk in ((path + ".2", LINES[0:2]), (path + ".1", LINES[2:4]), (path, LINES[4:])):
        with open(name, "w") as fh:
            fh.writelines(chunk)
    with open(path + ".4", "w") as fh:    # not consecutive: not one of ours
        fh.writelines(LINES)
    assert usagefile.rotated_paths(path) == [path + ".2", path + ".1", path]
    seen = []
    for fh, size in usagefile.open_files(path):
        usagesummary.read_to(fh, size, lambda raw: seen.append(json.loads(raw)["ts"]))
        fh.close()
    assert seen == sorted(seen) and len(seen) == 5
    found = Summary("user")
    found.read(usagefile.open_files(path))
    assert found.result()["total"]["requests"] == 5


def test_reading_stops_at_the_snapshot_size():
    data = "".join(LINES).encode()
    seen = []
    usagesummary.read_to(io.BytesIO(data), len(LINES[0]) + len(LINES[1]) + 3, seen.append)
    assert seen == [LINES[0].encode(), LINES[1].encode()]


def test_the_table_is_aligned_with_a_total():
    text = usagesummary.table(summarise(LINES + [line("2025-03-10T11:00:00.000Z", tin=12345)]))
    out = text.splitlines()
    assert out[0].split() == ["model", "requests", "tokens", "in", "tokens", "out", "estimated",
                              "errors"]
    assert out[2].split() == ["gpt4o", "4", "12,353", "9", "2", "1"]
    assert out[-1].split() == ["total", "6", "12,455", "59", "2", "2"]
    assert set(out[1]) == set(out[-2]) == {"-", " "} and len(out[1]) >= len(out[0])
    assert out[2].index("12,353") == out[-1].index("12,455")         # right-aligned columns
    assert out[2].index(" 9 ") + 1 == out[-1].index(" 59 ") + 2


# -- the endpoint --------------------------------------------------------------------------------

@pytest.fixture
def apps():
    made = []

    def make(**settings):
        app = make_app(**settings)
        made.append(app)
        return app

    yield make
    for app in made:
        app.stop()


@pytest.mark.parametrize("path", ["/v1/usage", "/argo/usage"])
def test_without_usage_file_the_endpoint_says_how_to_turn_it_on(apps, path):
    r = drive(apps(), "GET", path)
    assert r.status == 404
    err = r.json()["error"]
    assert err["code"] == "usage_not_configured" and "usage_file" in err["message"]
    assert "restart" in err["message"]


def test_the_endpoint_summarises_the_files_and_the_buffer(apps, tmp_path):
    app = apps(usage_file=str(tmp_path / "usage.jsonl"))
    for user in ("ann", "ann", "bob"):
        app.usage.record(trace(user=user, wall=time.time()))
    app.usage.flush()
    app.usage.record(trace(user="bob", tokens=(1, 1), estimated=True, wall=time.time()))
    r = drive(app, "GET", "/v1/usage?group_by=user&since=1h")
    assert r.status == 200
    body = r.json()
    assert rows(body) == {"ann": [2, 20, 10, 0, 0], "bob": [2, 11, 6, 1, 0]}
    assert body["group_by"] == "user" and body["since"].endswith("Z")
    assert body["total"]["requests"] == 4 and body["skipped_lines"] == 0
    assert drive(app, "GET", "/argo/usage").json()["data"][0]["key"] == "gpt4o"
    assert drive(app, "GET", "/v1/usage?since=2999-01-01").json()["data"] == []


@pytest.mark.parametrize("query, param", [("since=lastweek", "since"), ("group_by=route", "group_by"),
                                          ("group_by=day&since=7x", "since")])
def test_a_bad_parameter_is_a_400_naming_it(apps, tmp_path, query, param):
    app = apps(usage_file=str(tmp_path / "usage.jsonl"))
    r = drive(app, "GET", "/v1/usage?" + query)
    assert r.status == 400
    err = r.json()["error"]
    assert err["param"] == param and err["type"] == "invalid_request_error"
    assert err["message"].startswith(param + ":")


def test_the_endpoint_needs_the_proxy_key(apps, tmp_path):
    app = apps(usage_file=str(tmp_path / "usage.jsonl"), proxy_api_key="sekrit-key")
    assert drive(app, "GET", "/v1/usage").status == 401
    assert drive(app, "GET", "/v1/usage", headers={"Authorization": "Bearer sekrit-key"}).status == 200


def test_which_path_serves_usage_in_which_mode(apps):
    native = apps(use_native_openai=True)
    assert native.router.match("GET", "/v1/usage")[0].handler.__name__ == "summary"
    stack = apps(llamastack_url="http://127.0.0.1:9", llamastack_mode=True)
    assert stack.router.match("GET", "/argo/usage")[0].handler.__name__ == "summary"
    assert stack.router.match("GET", "/v1/usage")[0].handler.__name__ == "forward_any"


# -- the subcommand ------------------------------------------------------------------------------

def run_usage(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = usagecmd.main(list(argv))
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(path, **values):
    from argo_proxy import yamlish
    path.write_text(yamlish.dumps(values))
    return str(path)


def test_the_subcommand_prints_a_table(home):
    usage = home / "usage.jsonl"
    usage.write_text("".join(LINES) + "garbage\n")
    config = write_config(home / "config.yaml", usage_file="~/usage.jsonl")
    code, out, err = run_usage(config, "--by", "day", "--since", "2025-03-09")
    assert code == 0 and not err
    lines = out.splitlines()
    assert lines[0] == "Usage since 2025-03-09T00:00:00.000Z, by day (%s)" % usage
    assert lines[2].split()[0] == "day" and lines[-2].split() == ["total", "4", "109", "53", "2", "2"]
    assert [x.split()[0] for x in lines[4:6]] == ["2025-03-09", "2025-03-10"]
    assert out.endswith("(1 unreadable line(s) skipped)\n")
    code, out, _ = run_usage("--json", "--by", "user")   # ./config.yaml, as the server finds it
    assert code == 0 and json.loads(out)["total"]["requests"] == 5
    assert json.loads(out)["group_by"] == "user"


def test_the_subcommand_says_when_there_is_nothing_to_read(home):
    code, _, err = run_usage()
    assert code == 1 and "no usage_file is configured" in err and "no config file found" in err
    assert "usage_file: ~/.argoproxy/usage.jsonl" in err
    config = write_config(home / "c.yaml", user="ann")
    code, _, err = run_usage(config)
    assert code == 1 and "no usage_file is configured (%s)" % config in err
    config = write_config(home / "c.yaml", usage_file="~/later/usage.jsonl")
    code, _, err = run_usage(config)
    assert code == 1 and "%s does not exist yet" % (home / "later" / "usage.jsonl") in err
    code, _, err = run_usage(str(home / "nope.yaml"))
    assert code == 1 and "configuration error" in err and "not found" in err


def test_the_subcommand_refuses_bad_flags(home):
    code, _, err = run_usage("--since", "soon")
    assert code == 2 and "--since: 'soon' is not" in err
    code, _, err = run_usage("--by", "route")
    assert code == 2 and "--by: 'route' is not one of model, user, day" in err


def test_an_empty_summary_says_so(home):
    (home / "usage.jsonl").write_text(LINES[0])
    config = write_config(home / "config.yaml", usage_file=str(home / "usage.jsonl"))
    code, out, _ = run_usage(config, "--since", "2025-03-10")
    assert code == 0 and out.splitlines()[-1] == "No model calls recorded since then."
