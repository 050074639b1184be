"""argo_proxy.logs: formats, request ids, the buffered access log, rotation, level gating; and
server.loggable's masking."""

import io
import json
import logging
import os
import re
import time

import pytest

from argo_proxy import logs
from argo_proxy.server import loggable
from tests.proxyproc import wait_until

log = logging.getLogger("argo_proxy")
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \| (\w+) +\| (.*)$")
ISO_UTC_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SLOW = 3600.0   # a flush interval that never comes during a test


@pytest.fixture(autouse=True)
def clean_logging():
    yield
    logs.unbind()
    logs.teardown()


def lines(stream):
    return stream.getvalue().splitlines()


def test_text_access_line_keeps_the_old_format_and_adds_the_request_id():
    out = io.StringIO()
    logs.setup(stream=out, flush_interval=SLOW)
    logs.access("GET", "/v1/models", None, 200, 1.234, request_id="req_1")
    logs.access("POST", "/v1/chat/completions", "gpt4o", None, 12.0)
    logs.flush()
    first, second = lines(out)
    assert TEXT_LINE.match(first).groups() == ("INFO", "GET /v1/models model=- status=200 1.2ms [req_1]")
    assert TEXT_LINE.match(second).groups() == ("INFO", "POST /v1/chat/completions model=gpt4o status=- 12.0ms")


def test_text_lines_carry_the_bound_request_id():
    out = io.StringIO()
    logs.setup(stream=out)
    rid = logs.bind()
    assert re.match(r"^req_[0-9a-f]{11,}$", rid) and logs.current() == rid
    log.warning("upstream slow")
    logs.access("GET", "/health", None, 200, 0.5)
    logs.unbind()
    log.warning("after")
    logs.flush()
    got = [TEXT_LINE.match(line).groups() for line in lines(out)]
    assert got == [("WARNING", "upstream slow [%s]" % rid),
                   ("INFO", "GET /health model=- status=200 0.5ms [%s]" % rid), ("WARNING", "after")]


def test_json_lines_parse_and_carry_request_id_and_access_fields():
    out = io.StringIO()
    logs.setup(stream=out, log_format="json", flush_interval=SLOW)
    logs.bind("req_abc")
    logs.access("POST", "/v1/messages", "claude-x", 200, 3.14159)
    log.info("model %s: %s", "claude-x", "quirk applied")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("internal error on %s", "/x")
    logs.unbind()
    log.warning("no request")
    entries = [json.loads(line) for line in lines(out)]
    assert [e["level"] for e in entries] == ["INFO", "INFO", "ERROR", "WARNING"]
    access = entries[0]
    assert {k: access[k] for k in ("method", "path", "model", "status", "ms", "request_id")} == {
        "method": "POST", "path": "/v1/messages", "model": "claude-x", "status": 200, "ms": 3.1,
        "request_id": "req_abc"}
    assert access["msg"] == "POST /v1/messages model=claude-x status=200 3.1ms"
    assert entries[1]["msg"] == "model claude-x: quirk applied" and entries[1]["request_id"] == "req_abc"
    assert "ValueError: boom" in entries[2]["exc"]
    assert "request_id" not in entries[3]
    assert all(ISO_UTC_MS.match(e["ts"]) for e in entries)


def test_json_timestamps_are_utc():
    stamp = logs.iso_time(86400 * 365 + 0.5)
    assert stamp == "1971-01-01T00:00:00.500Z"


def test_access_lines_wait_in_the_buffer_until_flush():
    out = io.StringIO()
    logs.setup(stream=out, flush_interval=SLOW)
    for i in range(100):
        logs.access("GET", "/health", None, 200, i)
    assert out.getvalue() == ""
    logs.flush()
    assert len(lines(out)) == 100


def test_the_flusher_thread_writes_the_buffer_on_its_own():
    out = io.StringIO()
    logs.setup(stream=out, flush_interval=0.05)
    logs.access("GET", "/health", None, 200, 1.0)
    assert wait_until(lambda: "GET /health" in out.getvalue())


def test_a_full_buffer_is_written_at_once():
    out = io.StringIO()
    logs.setup(stream=out, flush_interval=SLOW)
    path = "/" + "p" * 1000
    sent = 0
    while not out.getvalue() and sent < 1000:
        logs.access("GET", path, None, 200, 1.0)
        sent += 1
    written = out.getvalue()
    assert len(lines(out)) == sent and len(written) >= logs.FLUSH_BYTES > len(written) - 1100


def test_order_is_kept_between_access_lines_and_other_lines():
    out = io.StringIO()
    logs.setup(stream=out, flush_interval=SLOW)
    logs.access("GET", "/first", None, 200, 1.0)
    log.warning("second")
    logs.access("GET", "/third", None, 200, 1.0)
    logs.flush()
    assert [TEXT_LINE.match(line).group(2).split()[-1] for line in lines(out)] == [
        "1.0ms", "second", "1.0ms"]
    assert "/first" in lines(out)[0] and "/third" in lines(out)[2]


def test_quiet_turns_the_access_log_off_and_keeps_warnings():
    out = io.StringIO()
    sink = logs.setup(quiet=True, stream=out, flush_interval=SLOW)
    logs.access("GET", "/health", None, 200, 1.0)
    assert sink._parts == []
    log.info("not shown")
    log.warning("shown")
    logs.flush()
    assert [TEXT_LINE.match(line).group(2) for line in lines(out)] == ["shown"]


def test_verbose_shows_debug_and_default_does_not():
    out = io.StringIO()
    logs.setup(stream=out)
    log.debug("hidden")
    logs.setup(verbose=True, stream=out)
    log.debug("visible")
    assert [TEXT_LINE.match(line).group(2) for line in lines(out)] == ["visible"]


def test_a_model_name_cannot_forge_a_log_line():
    out = io.StringIO()
    logs.setup(stream=out, flush_interval=SLOW)
    logs.access("POST", "/v1/chat/completions", "gpt4o\n2099-01-01 | ERROR | forged", 200, 1.0)
    logs.flush()
    assert len(lines(out)) == 1 and "gpt4o\\x0a2099" in out.getvalue()


def test_without_setup_access_lines_go_through_the_logger(caplog):
    caplog.set_level(logging.INFO, logger="argo_proxy")
    logs.access("GET", "/nope", None, 404, 0.25)
    assert "GET /nope model=- status=404 0.2ms" in caplog.text


def test_after_the_exit_flush_lines_are_written_at_once():
    out = io.StringIO()
    logs.setup(stream=out, flush_interval=SLOW)
    logs._at_exit()
    logs.access("GET", "/late", None, 200, 1.0)
    assert "/late" in out.getvalue()


# -- the log file --------------------------------------------------------------------------------

def rotated(path):
    return sorted(p for p in os.listdir(os.path.dirname(path)) if p.startswith(os.path.basename(path)))


def test_rotation_keeps_at_most_keep_files_each_under_the_size(tmp_path):
    path = str(tmp_path / "proxy.log")
    f = logs.RotatingFile(path, 1000, 3)
    written = ["line %04d %s\n" % (i, "x" * (i % 90)) for i in range(400)]
    i = 0
    for size in (1, 7, 30, 2, 50, 1, 11, 300):   # chunks of lines, some larger than a file
        f.write("".join(written[i:i + size]).encode())
        i += size
    f.write("".join(written[i:]).encode())
    f.close()
    names = rotated(path)
    assert names == ["proxy.log", "proxy.log.1", "proxy.log.2", "proxy.log.3"]
    assert all(os.path.getsize(os.path.join(os.path.dirname(path), n)) <= 1000 for n in names)
    kept = "".join(open(path + suffix).read() for suffix in (".3", ".2", ".1", ""))
    assert kept.endswith(written[-1]) and "".join(written).endswith(kept)   # newest last, no gaps


def test_a_line_longer_than_the_limit_gets_a_file_of_its_own(tmp_path):
    path = str(tmp_path / "p.log")
    f = logs.RotatingFile(path, 100, 2)
    f.write(b"short\n" + b"L" * 250 + b"\nnext\n")
    f.close()
    assert open(path + ".2").read() == "short\n" and open(path + ".1").read() == "L" * 250 + "\n"
    assert open(path).read() == "next\n"


def test_setup_writes_the_file_rotated_and_private(tmp_path):
    path = str(tmp_path / "proxy.log")
    out = io.StringIO()
    logs.setup(stream=out, log_file=path, log_max_mb=0.002, log_keep=2, flush_interval=SLOW)
    for i in range(200):
        logs.access("GET", "/health/%d" % i, None, 200, 1.0)
    log.warning("the end")
    logs.flush()
    assert rotated(path) == ["proxy.log", "proxy.log.1", "proxy.log.2"]
    assert all(os.path.getsize(str(tmp_path / n)) <= 0.002 * 1024 * 1024 for n in rotated(path))
    newest = open(path).read().splitlines()
    assert newest[-1].endswith("| WARNING | the end") and "/health/199 " in newest[-2]
    assert out.getvalue().splitlines()[-1].endswith("the end")   # stderr still gets every line
    if os.name == "posix":
        assert os.stat(path).st_mode & 0o777 == 0o600


def test_a_log_file_that_cannot_be_opened_raises_and_changes_nothing(tmp_path):
    out = io.StringIO()
    logs.setup(stream=out)
    with pytest.raises(OSError):
        logs.setup(stream=io.StringIO(), log_file=str(tmp_path / "no" / "such" / "dir.log"))
    log.warning("still here")
    assert "still here" in out.getvalue()


class FailingFile:
    path = "/full/disk.log"

    def write(self, data):
        raise OSError(28, "No space left on device")


def test_a_failing_log_file_is_reported_once_and_stderr_keeps_working():
    out = io.StringIO()
    sink = logs.Sink(out, FailingFile())
    sink.write_now("one\n")
    sink.write_now("two\n")
    text = out.getvalue()
    assert text.count("cannot write the log file /full/disk.log (No space left on device)") == 1
    assert "one\n" in text and "two\n" in text


# -- server.loggable ----------------------------------------------------------------------------

def test_loggable_masks_secrets_and_cuts_base64():
    image = "iVBORw0KGgo" + "A" * 5000
    body = json.dumps({"api_key": 'a\\"b-hunter2', "key": "hunter3", "x-goog-api-key": "hunter4",
                       "note": "Bearer hunter5hunter5 and sk-proj-hunter6hunter6", "max_tokens": 5,
                       "messages": [{"content": [
                           {"type": "image", "source": {"type": "base64", "data": image}},
                           {"type": "image_url", "image_url": {"url": "data:image/png;base64," + image}},
                           {"inline_data": {"mime_type": "image/png", "data": image}}]}]}).encode()
    text = loggable(body)
    assert not re.search("hunter[2-6]", text) and "A" * 64 not in text
    assert '"max_tokens": 5' in text and "base64,iVBORw0KGgoAAAAA..." in text


def test_loggable_masks_a_secret_cut_by_the_window_and_says_the_size():
    body = b'{"pad": "' + b"x " * 40000 + b'", "token": "abc"}'
    text = loggable(body)
    assert text.endswith("...[%d bytes in all]" % len(body)) and "abc" not in text
    head = b'{"a": "' + b"y z " * 20000 + b'", "password": "'
    cut = head[len(head) - 65536 + 3:] + b'hunter2hunter2"}'   # the window ends after "hun"
    assert "hun" not in loggable(cut, limit=100000) and '"password": "***"' in loggable(cut, limit=100000)
