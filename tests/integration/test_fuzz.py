"""Seeded bad-input fuzz of the proxy as a process (issue 12, "Standard and proof").

1,200 generated cases (tests/fuzzcases.py: the HTTP layer, JSON syntax and encodings, text,
and every typed field of every surface; about 15% valid requests that must be served), each
sent on its own connection over a raw socket, once to a proxy in standard mode and once to one
in native mode (2,400 requests), both against the fake Argo. Each answer is checked: a
well-formed HTTP answer within 5 s; valid requests 200; bad ones a 4xx in the surface's JSON
error envelope (OpenAI; Anthropic on /v1/messages*; Google on /v1beta and
/v1/models/...:method), or a clean close where HTTP itself is unparsable; a wrongly typed,
missing, out-of-enum or non-finite field a 400 whose message names the field path
(messages[2].content[0].text); never a 5xx (but 501/505 where RFC 9110/9112 prescribe them),
a reset, or a traceback in the proxy's log. Then the proxy's thread and fd counts must come
back to what they were before the fuzz.

A failing case prints its seed, index and request bytes; `python -m tests.fuzzcases SEED INDEX`
prints a case again. FUZZ_SEED / FUZZ_COUNT change the run; FUZZ_REPORT=/tmp/fuzz-{mode}.json
writes every failure there.

    .venv-test/bin/python -m pytest -p no:cacheprovider -q --timeout 300 tests/integration/test_fuzz.py
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import random
import re
import socket
import time

import pytest

from tests import fuzzcases
from tests.fakes.fake_argo import FakeArgo

SEED = int(os.environ.get("FUZZ_SEED", fuzzcases.SEED))
COUNT = int(os.environ.get("FUZZ_COUNT", fuzzcases.COUNT))
ANSWER_WITHIN = 5.0
MAX_SLOW = 12           # stop early when this many cases hang: the file must stay fast
THREAD_MARGIN = 2
FD_MARGIN = 4

_CASES = []


def cases():
    if not _CASES:
        _CASES.extend(fuzzcases.generate(SEED, COUNT))
    return _CASES


# -- reading one answer strictly ----------------------------------------------------------------

class Malformed(Exception):
    pass


_STATUS = re.compile(rb"HTTP/1\.[01] ([1-5][0-9][0-9]) [^\r\n]*\r\n")
_FIELD = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\r\n]*?)[ \t]*$")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}$")


class Answer:
    def __init__(self, status, headers, body, end):
        self.status = status
        self.headers = headers     # lower-case name -> value (str)
        self.body = body
        self.end = end             # bytes of the buffer this answer used

    @property
    def closes(self):
        return "close" in self.headers.get("connection", "").lower()


def parse_answer(buf, eof):
    """The first complete answer in buf (interim 1xx answers skipped), None if more bytes
    are needed; Malformed if the bytes cannot be a correct HTTP/1.1 answer."""
    pos = 0
    while True:
        if len(buf) - pos < 17:
            if eof:
                raise Malformed("truncated status line")
            if not b"HTTP/1.1 "[:len(buf) - pos].startswith(buf[pos:pos + 9]):
                raise Malformed("not an HTTP status line")
            return None
        found = _STATUS.match(buf, pos)
        if not found:
            if b"\r\n" in buf[pos:pos + 200] or len(buf) - pos > 200:
                raise Malformed("bad status line %r" % buf[pos:pos + 60])
            return None
        status = int(found.group(1))
        head_end = buf.find(b"\r\n\r\n", found.start())
        if head_end < 0:
            if eof:
                raise Malformed("truncated head")
            return None
        headers = {}
        for line in buf[found.end():head_end + 2].split(b"\r\n")[:-1]:
            field = _FIELD.match(line)
            if not field:
                raise Malformed("bad header line %r" % line[:80])
            name = field.group(1).decode().lower()
            if name in headers and name in ("content-length", "transfer-encoding", "content-type"):
                raise Malformed("duplicate %s" % name)
            headers[name] = field.group(2).decode("latin-1")
        start = head_end + 4
        if 100 <= status < 200:
            pos = start
            continue
        if status in (204, 304):
            return Answer(status, headers, b"", start)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body, end = _dechunk(buf, start, eof)
            if body is None:
                return None
            return Answer(status, headers, body, end)
        if "content-length" in headers:
            if not headers["content-length"].isdigit():
                raise Malformed("bad Content-Length %r" % headers["content-length"])
            length = int(headers["content-length"])
            if len(buf) - start < length:
                if eof:
                    raise Malformed("body shorter than its Content-Length")
                return None
            return Answer(status, headers, buf[start:start + length], start + length)
        if not eof:
            return None
        return Answer(status, headers, buf[start:], len(buf))   # delimited by the close


def _dechunk(buf, pos, eof):
    body = b""
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            if eof:
                raise Malformed("truncated chunked body")
            return None, None
        size_text = buf[pos:line_end].split(b";")[0].strip()
        if not _HEX.match(size_text):
            raise Malformed("bad chunk size %r" % size_text[:20])
        size = int(size_text, 16)
        start = line_end + 2
        if size == 0:
            end = buf.find(b"\r\n\r\n", line_end)
            if end < 0:
                if eof:
                    raise Malformed("truncated last chunk")
                return None, None
            return body, end + 4
        if len(buf) < start + size + 2:
            if eof:
                raise Malformed("truncated chunk")
            return None, None
        if buf[start + size:start + size + 2] != b"\r\n":
            raise Malformed("chunk not followed by CRLF")
        body += buf[start:start + size]
        pos = start + size + 2


class Outcome:
    def __init__(self):
        self.answer = None
        self.malformed = None
        self.raw = b""
        self.eof = False
        self.reset = None          # the error if the connection was reset / the pipe broke
        self.timed_out = False
        self.elapsed = 0.0


def exchange(addr, case, limit=ANSWER_WITHIN):
    """Send one case on a fresh connection and read its first answer (to the close, when the
    answer says it closes, so that a reset after it is seen)."""
    out = Outcome()
    started = time.monotonic()
    sock = socket.socket(socket.AF_INET6 if ":" in addr[0] else socket.AF_INET, socket.SOCK_STREAM)
    if case.sndbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, case.sndbuf)
    sock.settimeout(limit)
    try:
        sock.connect(addr)
        try:
            sock.sendall(case.data)
            if case.shutdown:
                sock.shutdown(socket.SHUT_WR)
        except OSError as exc:          # EPIPE / ECONNRESET: answered and closed unread
            out.reset = "while sending: %r" % exc
        while True:
            left = started + limit - time.monotonic()
            if left <= 0:
                out.timed_out = out.answer is None
                break
            sock.settimeout(left)
            try:
                data = sock.recv(65536)
            except socket.timeout:
                out.timed_out = out.answer is None
                break
            except OSError as exc:
                out.reset = out.reset or "while reading: %r" % exc
                break
            if not data:
                out.eof = True
                break
            out.raw += data
            if out.answer is None:
                try:
                    out.answer = parse_answer(out.raw, eof=False)
                except Malformed as exc:
                    out.malformed = str(exc)
                    break
                if out.answer is not None:
                    out.elapsed = time.monotonic() - started
                    if not out.answer.closes:
                        break        # a keep-alive answer: all this case needs
        if out.answer is None and out.malformed is None and out.raw and (out.eof or out.reset):
            try:
                out.answer = parse_answer(out.raw, eof=True)
            except Malformed as exc:
                out.malformed = str(exc)
            out.elapsed = time.monotonic() - started
    finally:
        sock.close()
    return out


# -- judging an answer ----------------------------------------------------------------------------

def envelope_problem(answer, style):
    """None if the answer carries the error envelope of `style` (None: any of them)."""
    ctype = answer.headers.get("content-type", "")
    if not ctype.lower().startswith("application/json"):
        return "error answer is %r, not application/json" % ctype
    try:
        body = json.loads(answer.body)
    except ValueError:
        return "error body is not JSON: %r" % answer.body[:120]
    styles = [style] if style else ["openai", "anthropic", "google"]
    problems = [_envelope(body, s, answer.status) for s in styles]
    if all(problems):
        return "not the %s error envelope: %s" % ("/".join(styles), json.dumps(body)[:200])
    return None


def _envelope(body, style, status):
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return "no error object"
    err = body["error"]
    if not isinstance(err.get("message"), str) or not err["message"]:
        return "no message"
    if style == "anthropic" and (body.get("type") != "error" or not isinstance(err.get("type"), str)):
        return "not anthropic"
    if style == "google" and (err.get("code") != status or not isinstance(err.get("status"), str)):
        return "not google"
    if style == "openai" and "type" in body:
        return "not openai"
    return None


def names_field(message, path):
    """The error message names `path` (bracket form, or Anthropic's dotted form)."""
    for form in (path, fuzzcases.dotted(path)):
        if re.search(r"(?<![\w.\]\[])" + re.escape(form) + r"(?![\w\[])", message):
            return True
    return False


def error_message(answer):
    try:
        return str(json.loads(answer.body)["error"].get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return ""


def judge(case, out, mode):
    """(kind, text) of what is wrong, or None."""
    a = out.answer
    if out.malformed:
        return "malformed-answer", "malformed HTTP answer: %s; got %r" % (out.malformed, out.raw[:200])
    if a is None:
        if out.timed_out:
            return "no-answer-in-5s", "no answer within %g s (got %r)" % (ANSWER_WITHIN, out.raw[:100])
        if out.reset:
            return "reset-no-answer", "connection reset without an answer (%s)" % out.reset
        if case.close_ok and not out.raw:
            return None
        return "closed-no-answer", "connection closed without an answer"
    status = a.status
    if out.elapsed > ANSWER_WITHIN:
        return "slow", "answered after %.1f s" % out.elapsed
    if status >= 500 and status not in case.allowed_5xx:
        return "5xx", "answered %d: %s" % (status, a.body[:200])
    if out.reset:
        return "reset-after-answer", ("answered %d, but the connection was reset (%s): a client "
                                      "that was still sending loses the answer" % (status, out.reset))
    if a.closes and not out.eof:
        return "no-close", "answered %d with Connection: close, then kept the connection open" % status
    ok = (200, 404) if mode == "native" and case.surface == "completions" else (200,)
    if case.expect == "ok":
        if status not in ok:
            return "valid-refused", "a valid request answered %d: %s" % (status, a.body[:300])
        return None
    if case.expect == "either" and status in ok:
        return None
    if status in (200, 201, 204):
        return "accepted", "invalid input accepted (%d): %s" % (status, a.body[:160])
    if not (400 <= status < 500 or status in case.allowed_5xx):
        return "wrong-status", "answered %d" % status
    if case.statuses and status not in case.statuses and status not in case.allowed_5xx:
        return "wrong-status", "answered %d, expected %s: %s" % (
            status, "/".join(map(str, case.statuses)), error_message(a)[:200])
    problem = envelope_problem(a, case.style)
    if problem:
        return "envelope", problem
    if case.expect == "field" and not names_field(error_message(a), case.field):
        return "field-not-named", "400 does not name %s: %s" % (case.field, error_message(a)[:200])
    return None


# -- the proxy process ---------------------------------------------------------------------------

def counts(pid):
    with open("/proc/%d/status" % pid) as f:
        threads = next(int(line.split()[1]) for line in f if line.startswith("Threads:"))
    return threads, len(os.listdir("/proc/%d/fd" % pid))


def settle(pid, ok, timeout=15.0):
    """Poll the counts until ok(threads, fds) holds (bounded); returns the last counts."""
    deadline = time.monotonic() + timeout
    last = counts(pid)
    while not ok(*last) and time.monotonic() < deadline:
        time.sleep(0.05)
        last = counts(pid)
    return last


def steady_counts(pid, timeout=10.0):
    """Counts once two readings 0.2 s apart agree (bounded)."""
    deadline = time.monotonic() + timeout
    last = counts(pid)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = counts(pid)
        if now == last:
            return now
        last = now
    return last


def settle_log(proxy, seen, timeout=0.3):
    """Give the log reader a moment to catch up with a traceback (bounded poll)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any("Traceback" in line for line in proxy.lines[seen:]):
        time.sleep(0.01)


def warm_up(addr, mode):
    """One valid request per surface (streams too): pools and monitor threads exist after it."""
    rng = random.Random(0)
    warm = []
    for name, (target, _style, base) in sorted(fuzzcases.SURFACES.items()):
        if name == "completions" and mode == "native":
            continue
        body = base(rng)
        for streaming in (False, True):
            path = target(rng)
            if name == "google":
                path = "/v1beta/models/gpt4o:" + ("streamGenerateContent?alt=sse" if streaming
                                                  else "generateContent")
            elif streaming and name not in ("embeddings", "count_tokens"):
                body = dict(body, stream=True)
            elif streaming:
                continue
            data = fuzzcases.request("POST", path, fuzzcases.dumps(body))
            warm.append(fuzzcases.Case("warm-up", name, data, "ok", None))
    for case in warm:
        case.index = -1
        out = exchange(addr, case, limit=30)
        assert out.answer is not None and out.answer.status == 200, (case.data[:200], out.raw[:300])


def report(failures, mode):
    """The failures grouped by (case group, kind), each group with one reproducer."""
    groups = collections.OrderedDict()
    for case, kind, text in failures:
        groups.setdefault((case.group, kind), []).append((case, text))
    lines = ["%d of %d cases failed in %s mode (seed %d); by group:" % (
        len(failures), len(cases()), mode, SEED)]
    for (group, kind), items in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
        case, text = items[0]
        lines.append("  %4d  %-34s %-20s e.g. index %d (%s): %s" % (
            len(items), group, kind, case.index, case.note[:60], text[:160]))
    return "\n".join(lines)


def show(case, kind, text, mode):
    data = case.data
    shown = repr(data[:600]) + ("... (%d bytes)" % len(data) if len(data) > 600 else "")
    return ("FUZZ FAILURE seed=%d index=%d mode=%s group=%s [%s] %s\n    %s\n    request: %s"
            % (SEED, case.index, mode, case.group, kind, case.note, text, shown))


# -- the tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["standard", "native"])
def test_bad_input_fuzz(start_proxy, mode):
    with FakeArgo(embeddings_native=True) as fake:
        args = ["--user", "tester"] + (["--native-openai"] if mode == "native" else [])
        proxy = start_proxy(*args, config={"argo_base_url": fake.url})
        addr = proxy.host_port
        pid = proxy.proc.pid
        warm_up(addr, mode)
        base_threads, base_fds = steady_counts(pid)

        failures = []
        tally = collections.Counter()
        started = time.monotonic()
        for case in cases():
            seen = len(proxy.lines)
            out = exchange(addr, case)
            if out.answer is not None and out.answer.status == 500:
                settle_log(proxy, seen)   # a 500's traceback is logged before the answer
            found = list(judge(case, out, mode) or ())
            if any("Traceback" in line for line in proxy.lines[seen:]):
                tb = "a traceback in the proxy's log: " + " | ".join(proxy.lines[seen:])[-400:]
                found = [found[0] + "+traceback", found[1] + "; " + tb] if found else ["traceback", tb]
            if proxy.proc.poll() is not None:
                found = ["proxy-died", "the proxy exited: %s" % proxy.log()[-500:]]
            if found:
                failures.append((case, found[0], found[1]))
            tally[case.expect, out.answer.status if out.answer else "no answer"] += 1
            if proxy.proc.poll() is not None:
                break
            if sum(1 for _, kind, _ in failures if kind == "no-answer-in-5s") >= MAX_SLOW:
                failures.append((case, "aborted", "stopped after %d cases without an answer in "
                                 "%g s (the file must stay fast)" % (MAX_SLOW, ANSWER_WITHIN)))
                break
        elapsed = time.monotonic() - started

        threads, fds = settle(pid, lambda t, f: t <= base_threads + THREAD_MARGIN
                              and f <= base_fds + FD_MARGIN)
        tracebacks = proxy.log().count("Traceback")

    for case, kind, text in failures:
        print(show(case, kind, text, mode))
    summary = report(failures, mode)
    print(summary)
    print("answers by expectation: " + ", ".join("%s->%s: %d" % (e, st, n) for (e, st), n
                                                   in sorted(tally.items(), key=str)))
    print("%d cases in %.1f s; threads %d -> %d, fds %d -> %d; %d tracebacks in the log"
          % (len(cases()), elapsed, base_threads, threads, base_fds, fds, tracebacks))
    if os.environ.get("FUZZ_REPORT"):
        path = os.environ["FUZZ_REPORT"].replace("{mode}", mode)
        with open(path, "w") as f:
            json.dump([{"mode": mode, "seed": SEED, "index": c.index, "group": c.group, "kind": k,
                        "note": c.note, "field": c.field, "text": t, "expect": c.expect,
                        "request": c.data.decode("latin-1")} for c, k, t in failures], f, indent=1)
    problems = []
    if failures:
        problems.append(summary)
    if threads > base_threads + THREAD_MARGIN:
        problems.append("threads did not come back: %d before, %d after" % (base_threads, threads))
    if fds > base_fds + FD_MARGIN:
        problems.append("open fds did not come back: %d before, %d after" % (base_fds, fds))
    assert not problems, "\n".join(problems)


OVERSIZE_TARGETS = (("/v1/chat/completions", "openai"), ("/v1/messages", "anthropic"),
                    ("/v1beta/models/gpt4o:generateContent", "google"),
                    ("/v1/responses", "openai"), ("/v1/embeddings", "openai"))


class _RemoteLikeConnection(http.client.HTTPConnection):
    """http.client as it is, with a send buffer of a client whose upload is still in flight
    when the answer comes (loopback's multi-megabyte buffers would otherwise take the whole
    body before the proxy answers, hiding the reset a client across a network sees)."""

    def connect(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 128 * 1024)
        self.sock.settimeout(self.timeout)
        self.sock.connect((self.host, self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def test_oversize_bodies_get_clean_413s(start_proxy, fake):
    """200 bodies of 2 MB to a proxy with max_body_mb: 1, from a plain client (no Expect:
    100-continue), each on its own connection and sent whole: 200 clean 413s, no reset."""
    proxy = start_proxy("--user", "tester", config={"argo_base_url": fake.url, "max_body_mb": 1})
    host, port = proxy.host_port
    body = (b'{"model": "gpt4o", "messages": [{"role": "user", "content": "'
            + b"x" * (2 * 1024 * 1024) + b'"}]}')
    failures = []
    for i in range(200):
        path, style = OVERSIZE_TARGETS[i % len(OVERSIZE_TARGETS)]
        conn = _RemoteLikeConnection(host, port, timeout=10)
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            raw = resp.read()
        except OSError as exc:
            failures.append("#%d %s: %r" % (i, path, exc))
            continue
        finally:
            conn.close()
        answer = Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, raw, 0)
        if resp.status != 413:
            failures.append("#%d %s: answered %d %r" % (i, path, resp.status, raw[:200]))
            continue
        problem = envelope_problem(answer, style)
        if problem:
            failures.append("#%d %s: %s" % (i, path, problem))
    assert "Traceback" not in proxy.log()
    assert not failures, "%d of 200 oversize uploads did not get a clean 413:\n%s" % (
        len(failures), "\n".join(failures[:20]))
