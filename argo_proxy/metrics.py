"""GET /metrics: the Prometheus text exposition format (version 0.0.4), rendered at scrape time.

Everything comes from a Stats snapshot (observe.Stats.snapshot) and a few gauges read when the
scrape arrives (`Gauges`); a request pays nothing here beyond what Stats.record already does.
"""

from __future__ import annotations

import math
import platform
import time

from . import __version__, build_info
from .clientstream import OPEN
from .observe import LATENCY_BUCKETS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "argo_proxy_"


class Gauges:
    """What a scrape reads besides the Stats: filled by the route from the app and the server."""

    def __init__(self, started, info, models, model_age, streams_open, tool_sources=None):
        self.started = started            # process start, wall seconds
        self.info = info                  # build info labels: version, commit, dirty, python, mode
        self.models = models              # models.stats(): "models", "aliases", "source"
        self.model_age = model_age        # seconds since the model list in use was made
        self.streams_open = streams_open  # client streams open now
        self.tool_sources = tool_sources or []   # toolset.stats()


def gauges(app, stream, now=None) -> Gauges:
    """The scrape-time gauges of a running app; `stream` is the scrape's own ClientStream, whose
    monitor (the server's) watches every open client stream."""
    now = time.time() if now is None else now
    models = app.models.stats()
    made = models.get("updated", app.started)
    monitor = getattr(stream, "monitor", None)
    build = build_info()
    info = {"version": __version__, "commit": build["commit"], "python": platform.python_version(),
            "dirty": {True: "true", False: "false"}.get(build["dirty"], "unknown"),
            "mode": app.config.mode}
    return Gauges(app.started, info, models, max(0.0, now - made),
                  monitor.count(OPEN) if monitor is not None else 0,
                  app.toolset.stats() if app.toolset is not None else [])


def escape_label(value) -> str:
    """A label value as the text format wants it: backslash, double quote and newline escaped."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text):
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def number(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


def _labels(names, values, extra=()):
    pairs = list(zip(names, values)) + list(extra)
    if not pairs:
        return ""
    return "{%s}" % ",".join('%s="%s"' % (n, escape_label(v)) for n, v in pairs)


class Exposition:
    """Builds the text: one family at a time (HELP, TYPE, samples)."""

    def __init__(self):
        self.lines = []

    def family(self, name, kind, help_text):
        self.lines.append("# HELP %s%s %s" % (PREFIX, name, _escape_help(help_text)))
        self.lines.append("# TYPE %s%s %s" % (PREFIX, name, kind))

    def sample(self, name, value, names=(), values=(), extra=()):
        self.lines.append("%s%s%s %s" % (PREFIX, name, _labels(names, values, extra), number(value)))

    def simple(self, name, kind, help_text, series, names=()):
        """A counter or gauge family from {label values tuple (or one value): number}."""
        self.family(name, kind, help_text)
        for key in sorted(series, key=_sort_key):
            values = key if isinstance(key, tuple) else (key,)
            self.sample(name, series[key], names, values if names else ())

    def histogram(self, name, help_text, hists, names):
        """A histogram family from {label values tuple: observe.Histogram}."""
        self.family(name, "histogram", help_text)
        for key in sorted(hists, key=_sort_key):
            hist, seen = hists[key], 0
            for edge, count in zip(LATENCY_BUCKETS + (math.inf,), hist.counts):
                seen += count
                self.sample(name + "_bucket", seen, names, key, (("le", number(edge)),))
            self.sample(name + "_sum", hist.total, names, key)
            self.sample(name + "_count", hist.count, names, key)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _sort_key(key):
    return tuple(str(k) for k in key) if isinstance(key, tuple) else (str(key),)


def render(snap, gauges, per_user=False) -> str:
    """The whole exposition from a Stats snapshot and the scrape-time gauges."""
    out = Exposition()
    _traffic(out, snap)
    _upstream(out, snap)
    _tools(out, snap, gauges.tool_sources)
    _process(out, gauges)
    if per_user:
        out.simple("user_requests_total", "counter", "Requests by Argo user (username passthrough).",
                   snap["users"], ("user",))
    return out.text()


def _traffic(out, snap):
    out.simple("requests_total", "counter", "Requests answered, by client surface, route pattern, "
               "model and HTTP status.", snap["requests"], ("surface", "route", "model", "status"))
    out.histogram("request_duration_seconds", "Time from the request's arrival to the end of its "
                  "answer.", snap["latency"], ("surface", "route"))
    out.histogram("upstream_first_byte_seconds", "Time from the request's arrival to the upstream's "
                  "first answer byte (requests that reached an upstream).", snap["ttfb"],
                  ("surface", "route"))
    out.simple("tokens_total", "counter", "Tokens by model, direction (in: prompt, out: completion) "
               "and kind (reported by the upstream or estimated by the proxy).", snap["tokens"],
               ("model", "direction", "kind"))


def _upstream(out, snap):
    out.simple("upstream_failures_total", "counter", "Failures of the upstream or the network to "
               "it, by kind (the error code, else network or upstream).", snap["failures"], ("kind",))
    ok, failed = snap["last_ok"], snap["last_failure"]
    out.simple("upstream_last_success_timestamp_seconds", "gauge", "When the upstream last answered "
               "without failure (Unix time; absent before the first).", {(): ok} if ok else {})
    out.simple("upstream_last_failure_timestamp_seconds", "gauge", "When the upstream or the network "
               "last failed (Unix time; absent before the first).", {(): failed[0]} if failed else {})


def _tools(out, snap, sources):
    out.simple("tool_calls_total", "counter", "Injected tool calls the proxy ran, by tool source, "
               "tool and outcome (ok or error).", snap["tool_calls"], ("source", "tool", "outcome"))
    out.histogram("tool_duration_seconds", "How long injected tool calls took.",
                  snap["tool_seconds"], ("source", "tool"))
    out.simple("tool_source_up", "gauge", "1 when the tool source's last tool listing worked.",
               {(s["source"],): int(bool(s.get("ok"))) for s in sources}, ("source",))
    out.simple("tool_source_tools", "gauge", "Tools offered by the tool source.",
               {(s["source"],): s.get("tools", 0) for s in sources}, ("source",))


def _process(out, gauges):
    out.simple("streams_open", "gauge", "Client streams open now.", {(): gauges.streams_open})
    out.simple("models", "gauge", "Models in the model list in use, by where the list came from "
               "(builtin table or upstream).", {(gauges.models.get("source", "-"),):
                                                gauges.models.get("models", 0)}, ("source",))
    out.simple("model_list_age_seconds", "gauge", "Seconds since the model list in use was made.",
               {(): gauges.model_age})
    out.simple("process_start_time_seconds", "gauge", "When the proxy started (Unix time).",
               {(): gauges.started})
    names = tuple(sorted(gauges.info))
    out.simple("build_info", "gauge", "Version and build of the running proxy (always 1).",
               {tuple(gauges.info[n] for n in names): 1}, names)
