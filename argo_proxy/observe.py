"""What the proxy saw: one Trace per request, finished into the Observer's sinks.

The server core starts a Trace for every request (its id: the client's `x-request-id` when sane,
else a new one), binds it to the handling thread (`current()`), and finishes it when the answer
is out. Code deeper down adds to the current trace without being handed it: the upstream's
first byte (`upstream_answered`), token usage, tool calls, a failed upstream exchange. At
finish, the trace goes to `Stats` (counters for /metrics and the status page) and to every
sink registered with `Observer.add_sink` (the usage file, the error dumps), in that thread.
Recording costs a few dict updates under one lock; rendering happens only when asked.
"""

from __future__ import annotations

import bisect
import collections
import itertools
import os
import re
import threading
import time

_local = threading.local()
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}\Z")
_PREFIX = "req_%s" % os.urandom(3).hex()
_counter = itertools.count(1)

# Histogram bucket upper bounds, seconds (Prometheus `le`); +Inf is implied.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
MAX_LABELS = 200        # distinct values of a client-chosen label (model, user, tool) kept; then "other"
RECENT_ERRORS = 50
MINUTES = 60            # the status page's window
OWN_ROUTES = ("/", "/metrics", "/health")   # left out of the per-minute traffic


def new_id(offered=None) -> str:
    """The client's request id when it is a sane token, else a fresh one."""
    if offered and _SANE_ID.match(offered):
        return offered
    return "%s%05x" % (_PREFIX, next(_counter))


def current():
    """The trace of the request this thread is handling, or None."""
    return getattr(_local, "trace", None)


def bind(trace):
    _local.trace = trace


class Trace:
    """One request as observed. Times are time.monotonic() seconds."""

    __slots__ = ("id", "started", "wall", "method", "path", "surface", "route", "model", "user",
                 "status", "error", "stream", "ttfb", "elapsed", "tokens_in", "tokens_out",
                 "estimated", "tools", "sent", "answer", "upstream")

    def __init__(self, request_id, method, path, started=None):
        self.id = request_id
        self.started = time.monotonic() if started is None else started
        self.wall = time.time()
        self.method = method
        self.path = path
        self.surface = "openai"
        self.route = None        # the route's pattern; None when no route matched
        self.model = None
        self.user = None
        self.status = None
        self.error = None        # the ProxyError the client was told, if any
        self.stream = False
        self.ttfb = None         # seconds to the upstream's answer head
        self.elapsed = None
        self.tokens_in = None
        self.tokens_out = None
        self.estimated = False
        self.tools = []          # (source, tool, ok, seconds)
        self.sent = None         # the last upstream request: (url, body bytes)
        self.answer = None       # the upstream's failed answer: (status, body bytes)
        self.upstream = None     # the upstream's name for attribution ("Argo", "LlamaStack")

    def upstream_answered(self):
        if self.ttfb is None:
            self.ttfb = time.monotonic() - self.started

    def usage(self, prompt, completion, estimated=False):
        """Token counts for this request (a later report replaces an earlier one)."""
        if prompt is not None:
            self.tokens_in = int(prompt)
        if completion is not None:
            self.tokens_out = int(completion)
        self.estimated = bool(estimated)

    def tool(self, source, name, ok, seconds):
        self.tools.append((source or "-", name, bool(ok), seconds))


def note_usage(prompt, completion, estimated=False):
    trace = current()
    if trace is not None:
        trace.usage(prompt, completion, estimated)


def note_upstream_answer():
    trace = current()
    if trace is not None:
        trace.upstream_answered()


def note_tool(source, name, ok, seconds):
    trace = current()
    if trace is not None:
        trace.tool(source, name, ok, seconds)


def note_sent(url, body):
    """The upstream request about to go (kept by reference, for the error dumps)."""
    trace = current()
    if trace is not None:
        trace.sent = (url, body)


def note_failed_answer(status, body):
    """The upstream's answer to a failed exchange (for the error dumps)."""
    trace = current()
    if trace is not None:
        trace.answer = (status, body)


class Observer:
    """Starts and finishes traces; holds the Stats and the sinks."""

    def __init__(self, upstream_name="Argo", per_user=False):
        self.stats = Stats(per_user)
        self.upstream_name = upstream_name
        self._sinks = []

    def add_sink(self, sink):
        """sink(trace) is called for every finished trace, in the request's thread; it must
        not raise (failures are its own to log)."""
        self._sinks.append(sink)

    def start(self, method, path, offered_id=None, started=None) -> Trace:
        trace = Trace(new_id(offered_id), method, path, started)
        trace.upstream = self.upstream_name
        _local.trace = trace
        return trace

    def finish(self, trace, status, error=None):
        trace.status = status
        trace.error = error
        trace.elapsed = time.monotonic() - trace.started
        _local.trace = None
        self.stats.record(trace)
        for sink in self._sinks:
            try:
                sink(trace)
            except Exception:   # an observer never breaks a request
                pass


class Histogram:
    __slots__ = ("counts", "total", "count")

    def __init__(self):
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0
        self.count = 0

    def add(self, seconds):
        self.counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds
        self.count += 1

    def quantile(self, q):
        """An upper bound of the q-quantile (the bucket's edge); None when empty."""
        if not self.count:
            return None
        rank, seen = q * self.count, 0
        for i, n in enumerate(self.counts):
            seen += n
            if seen >= rank and n:
                return LATENCY_BUCKETS[i] if i < len(LATENCY_BUCKETS) else float("inf")
        return None


class Stats:
    """Counters since start, the last hour by minute, recent errors, upstream reachability."""

    def __init__(self, per_user=False):
        self.lock = threading.Lock()
        self.per_user = per_user
        self.requests = collections.Counter()      # (surface, route, model, status)
        self.latency = collections.defaultdict(Histogram)   # (surface, route)
        self.ttfb = collections.defaultdict(Histogram)      # (surface, route)
        self.tokens = collections.Counter()        # (model, "in"|"out", "reported"|"estimated")
        self.failures = collections.Counter()      # kind (the error's code or source)
        self.tool_calls = collections.Counter()    # (source, tool, "ok"|"error")
        self.tool_seconds = collections.defaultdict(Histogram)   # (source, tool)
        self.users = collections.Counter()
        self.minutes = collections.deque(maxlen=MINUTES)   # [minute, requests, errors, Histogram]
        self.errors = collections.deque(maxlen=RECENT_ERRORS)
        self.last_ok = None        # wall time of the last upstream answer that was not a failure
        self.last_failure = None   # (wall time, reason)
        self._labels = {"model": set(), "user": set(), "tool": set()}

    def label(self, kind, value):
        """A client-chosen label value, or "other" once MAX_LABELS distinct ones were seen."""
        if value is None:
            return "-"
        seen = self._labels[kind]
        if value in seen:
            return value
        if len(seen) >= MAX_LABELS:
            return "other"
        seen.add(value)
        return value

    def record(self, trace):
        route = trace.route or "(none)"
        key = (trace.surface, route)
        err = trace.error
        with self.lock:
            model = self.label("model", trace.model)
            self.requests[(trace.surface, route, model, trace.status or 0)] += 1
            self.latency[key].add(trace.elapsed)
            if trace.ttfb is not None:
                self.ttfb[key].add(trace.ttfb)
            self._tokens(model, trace)
            self._minute(trace, err is not None)
            if self.per_user and trace.user:
                self.users[self.label("user", trace.user)] += 1
            for source, tool, ok, seconds in trace.tools:
                tool = self.label("tool", tool)
                self.tool_calls[(source, tool, "ok" if ok else "error")] += 1
                self.tool_seconds[(source, tool)].add(seconds)
            if err is not None:
                self._error(trace, err)
            elif trace.ttfb is not None:
                self.last_ok = trace.wall

    def _tokens(self, model, trace):
        kind = "estimated" if trace.estimated else "reported"
        if trace.tokens_in:
            self.tokens[(model, "in", kind)] += trace.tokens_in
        if trace.tokens_out:
            self.tokens[(model, "out", kind)] += trace.tokens_out

    def _minute(self, trace, failed):
        if trace.route in OWN_ROUTES:
            return   # the status page polling itself is not traffic
        minute = int((trace.wall + trace.elapsed) // 60)   # when it finished: slots stay in order
        if not self.minutes or self.minutes[-1][0] != minute:
            self.minutes.append([minute, 0, 0, Histogram()])
        slot = self.minutes[-1]
        slot[1] += 1
        slot[2] += failed
        slot[3].add(trace.elapsed)

    def _error(self, trace, err):
        if err.source in ("network", "upstream"):
            self.failures[err.code or err.source] += 1
            self.last_failure = (trace.wall, err.message[:300])
        self.errors.append({"time": trace.wall, "request_id": trace.id, "method": trace.method,
                            "path": trace.path[:200], "model": trace.model, "status": err.status,
                            "source": err.source, "message": err.message[:500]})

    def snapshot(self) -> dict:
        """Copies of everything, taken under the lock (for rendering outside it)."""
        with self.lock:
            return {"requests": dict(self.requests), "latency": _copy(self.latency),
                    "ttfb": _copy(self.ttfb), "tokens": dict(self.tokens),
                    "failures": dict(self.failures), "tool_calls": dict(self.tool_calls),
                    "tool_seconds": _copy(self.tool_seconds), "users": dict(self.users),
                    "minutes": [(m, n, e, _clone(h)) for m, n, e, h in self.minutes],
                    "errors": list(self.errors), "last_ok": self.last_ok,
                    "last_failure": self.last_failure}


def _clone(hist):
    copy = Histogram()
    copy.counts, copy.total, copy.count = list(hist.counts), hist.total, hist.count
    return copy


def _copy(hists):
    return {key: _clone(h) for key, h in hists.items()}
