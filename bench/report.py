"""RESULTS.md from the results of a run (and the per-change table)."""

from __future__ import annotations

import json

from changes import render as render_changes
from common import get
from scenarios import PINNED, SCENARIOS
from subjects import REF280, REF333, REFERENCES
from targets import better_of

REF_TITLES = {"ref280": REF280, "ref333": REF333, "baseline": "baseline"}


def fmt(v, digits=2, unit=""):
    if v is None:
        return "–"
    if isinstance(v, float):
        return ("%." + str(digits) + "f%s") % (v, unit)
    return "%s%s" % (v, unit)


def fmt_ratio(r, digits=2):
    return "–" if r is None else ("%." + str(digits) + "f×") % r


def div(a, b):
    numbers = isinstance(a, (int, float)) and isinstance(b, (int, float))
    return a / b if numbers and b != 0 else None


def render(res, change_rows):
    L = header(res) + targets_section(res) + figures_section(res) + tools_section(res)
    L += subjects_section(res) + machine_section(res) + render_changes(change_rows)
    return "\n".join(L)


def header(res):
    st = res["settings"]
    base = res.get("baseline")
    return ["# Benchmark results", "",
            "Produced by `%s` on %s (%s, %.0f s) at commit %s%s. Raw figures: [results.json](results.json). "
            "How it works: [README.md](README.md)." % (
                res["command"], res["started"], "quick run" if st["quick"] else "full run",
                res.get("elapsed_s", 0), res.get("commit"),
                "; baseline ours@%s = %s" % (base["label"], base["commit"][:12]) if base else ""), "",
            "Headline figures are **unpinned** (every process free to run on any CPU, as users run it) and "
            "ours runs at its **default log level** (INFO, one line a request, to a file). Ratios compare "
            "ours with the **better** of argo-proxy %s and %s in the same run, figure by figure." % (
                REF280, REF333), ""] + caution(res)


def caution(res):
    """A warning when other work on the machine disturbed many runs, or the run was a quick one."""
    st = res["settings"]
    kept = [r for per in (res.get("raw") or {}).values() for runs in per.values() for r in runs
            if isinstance(r, dict) and r.get("foreign_cpu_cores") is not None]
    over = [r for r in kept if r["foreign_cpu_cores"] > st["foreign_limit"]]
    if not (st["quick"] or st["rounds"] < 3 or len(over) > len(kept) / 4):
        return []
    why = []
    if st["quick"] or st["rounds"] < 3:
        why.append("%d round(s) of %d s runs" % (st["rounds"], st["wrk_duration_s"]))
    if len(over) > len(kept) / 4:
        why.append("other work on the machine used more than %.2f cores during %d of %d runs (up to %.2f)" % (
            st["foreign_limit"], len(over), len(kept), max(r["foreign_cpu_cores"] for r in over)))
    return ["**Caution**: %s, so single figures can be off by tens of percent and pinned and unpinned "
            "ratios can disagree; a full run on a quiet machine settles a target." % "; ".join(why), ""]


def targets_section(res):
    L = ["## Targets (issue 14)", "",
         "| target | ours | compared with | ratio | goal | met | ratio, pinned runs |", "|---|---|---|---|---|---|---|"]
    for t in res.get("targets") or []:
        met = "n/a" if t["met"] is None else "**met**" if t["met"] else "**not met**"
        if t["metric"] == "hold":
            L.append("| %s | %s/%d completed | – | – | all | %s | – |" % (t["target"], t["ours"], t["goal"], met))
            continue
        unit, digits = _unit(t["metric"])
        goal = ("≥ %.1f× the better reference" if t["op"] == "ge" else "≤ %.1f× the better reference") % t["goal"]
        if t["against"] == "baseline":
            goal = "not worse than the baseline (≤ %.2f×)" % t["goal"]
        other = "%s %s" % (REF_TITLES.get(t["other"], t["other"] or "–"), fmt(t["other_value"], digits, unit))
        L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            t["target"], fmt(t["ours"], digits, unit), other, fmt_ratio(t["ratio"]), goal, met,
            fmt_ratio(t["pinned_ratio"])))
    return L + ["", "A target is n/a when a figure is missing (not measured, or the reference adds no "
                "measurable latency). Baseline targets need `--baseline`.", ""]


def _unit(metric):
    if metric.endswith("_rps"):
        return " req/s", 1
    if metric == "rss":
        return " kB", 0
    return " ms", 3


class Table:
    """The figures table: a column per subject, then ours / direct, ours / the better reference
    (which one, per row), and ours / baseline when there is one."""

    def __init__(self, res):
        self.res, self.names = res, list(res["subjects"])
        self.has_base = "baseline" in self.names
        titles = [res["subjects"][n]["title"] for n in self.names]
        extra = ["ours/direct", "ours/better reference"] + (["ours/baseline"] if self.has_base else [])
        self.lines = ["| figure | " + " | ".join(titles + extra) + " |", "|---" * (1 + len(titles) + len(extra)) + "|"]

    def row(self, label, getter, digits=2, unit="", better=None):
        vals = {n: getter(n) for n in self.names}
        if all(v is None for v in vals.values()):
            return
        o = vals.get("ours")
        cells = [fmt(vals[n], digits, unit) for n in self.names] + [fmt_ratio(div(o, vals.get("direct")))]
        if better:
            best = (None, None)
            for n in REFERENCES:
                best = better_of(best, (n, vals.get(n)), better)
            cells.append("%s (vs %s)" % (fmt_ratio(div(o, best[1])), REF_TITLES[best[0]]) if best[0] else "–")
        else:
            cells.append("–")
        if self.has_base:
            cells.append(fmt_ratio(div(o, vals.get("baseline"))))
        self.lines.append("| %s | %s |" % (label, " | ".join(cells)))

    def note_row(self, label, getter):
        """A row of text cells (no ratios)."""
        vals = [getter(n) for n in self.names]
        if any(v is not None for v in vals):
            self.lines.append("| %s | %s |" % (label, " | ".join(
                [fmt(v) for v in vals] + ["–"] * (2 + self.has_base))))


def figures_section(res):
    st = res["settings"]
    t = Table(res)
    for sc in SCENARIOS:
        for pinned in (False, True):
            key = sc.key + (PINNED if pinned else "")
            if key in res["scenarios"]:
                scenario_rows(t, res["scenarios"][key], sc, "%s%s" % (sc.title, ", pinned" if pinned else ""))
    other_rows(t, res)
    errs = ["%s %s %s" % (k, n, v["errors"]) for k, per in res["scenarios"].items() for n, v in per.items()
            if v.get("errors")]
    bodies = res.get("bodies") or {}
    return ["## Figures", "",
            "Medians over %d interleaved round(s); in each round every subject runs every scenario, in an order "
            "that rotates. Request/response runs: wrk, %d s, keep-alive. Streams: %d events, %g ms apart, stamped "
            "by the fake upstream; lag = arrival − stamp. Big bodies: a coding agent's conversation (%s); streamed "
            "answers: %s events back to back, clients sending one request after another (a new connection each), "
            "latency = to the end of the stream." % (
                st["rounds"], st["wrk_duration_s"], st["events_per_stream"], st["event_interval_ms"],
                "; ".join("%s %d bytes, %d messages, %d non-ASCII characters, %d backslash escapes" % (
                    n, b["bytes"], b["messages"], b["non_ascii_chars"], b["escaped_chars"])
                    for n, b in bodies.items() if not n.endswith("_stream") and n.startswith("big")),
                st.get("big_stream_events")), ""] + t.lines + [
            "", "Errors (failed requests or streams) in any run: %s." % (", ".join(errs) or "none"), ""]


def scenario_rows(t, figures, sc, title):
    g = lambda field: (lambda n: get(figures, n, field))  # noqa: E731
    if sc.kind == "stream":
        t.row("%s: relay lag p50" % title, g("lag_p50_ms"), 3, " ms", "low")
        t.row("%s: relay lag p99" % title, g("lag_p99_ms"), 3, " ms", "low")
        t.row("%s: first event p50" % title, g("ttfe_p50_ms"), 2, " ms", "low")
        t.row("%s: first event p99" % title, g("ttfe_p99_ms"), 2, " ms", "low")
        t.note_row("%s: streams complete" % title, lambda n: _complete(figures, n))
        t.row("%s: peak streams flowing at once" % title, g("peak_flowing"), 0)
        t.row("%s: SYNs dropped by a full accept queue" % title, g("listen_drops"), 0)
        t.row("%s: gateway CPU per event" % title, g("cpu_us_per_event"), 0, " µs", "low")
        return
    t.row("%s: throughput" % title, g("rps"), 1 if sc.body != "small" else 0, " req/s", "high")
    t.row("%s: latency p50" % title, g("p50_ms"), 3, " ms", "low")
    t.row("%s: latency p99" % title, g("p99_ms"), 3, " ms", "low")
    if sc.kind == "loop":
        t.row("%s: first event p50" % title, g("ttfe_p50_ms"), 2, " ms", "low")
    t.row("%s: gateway CPU per request" % title, g("cpu_us_per_request"), 0, " µs", "low")
    t.row("%s: failed requests" % title, g("errors"), 0)
    if sc.key in ("c16", "c64"):
        t.note_row("%s: throughput, lowest–highest round" % title, lambda n: None if get(figures, n, "rps_min") is None
              else "%.0f–%.0f" % (get(figures, n, "rps_min"), get(figures, n, "rps_max")))
        t.row("%s: upstream connections opened per run" % title,
              lambda n: None if n == "direct" else get(figures, n, "upstream_connections_opened"), 0)


def _complete(figures, n):
    f = figures.get(n)
    return None if not f else "%d/%d" % (f["completed"], f["streams"])


def other_rows(t, res):
    n = res["settings"]["hold_streams"]
    mb = lambda v: None if v is None else v / 1024.0  # noqa: E731
    t.row("start-up to healthy (median)", lambda s: get(res, "startup_s", s, "median"), 3, " s", "low")
    t.row("RSS idle", lambda s: mb(get(res, "rss_kb", s, "idle")), 1, " MB", "low")
    t.row("RSS after load", lambda s: mb(get(res, "rss_kb", s, "after_load")), 1, " MB", "low")
    t.row("RSS peak holding %d streams" % n, lambda s: mb(get(res, "rss_kb", s, "holding_streams_peak")), 1,
          " MB", "low")
    t.row("%d streams completed" % n, lambda s: get(res, "hold", s, "completed"), 0, "", "high")
    t.row("%d streams: peak flowing at once" % n, lambda s: get(res, "hold", s, "peak_flowing"), 0)
    t.row("%d streams: first event p50" % n, lambda s: get(res, "hold", s, "ttfe", "p50_ms"), 0, " ms", "low")
    t.row("%d streams: first event p99" % n, lambda s: get(res, "hold", s, "ttfe", "p99_ms"), 0, " ms", "low")
    t.row("%d streams: SYNs dropped by a full accept queue" % n, lambda s: get(res, "hold", s, "listen_drops"), 0)


def tools_section(res):
    ti = res.get("tool_injection")
    if not ti:
        return []
    L = ["### Tool injection: one injected tool round", ""]
    if ti.get("note"):
        return L + [ti["note"], ""]
    L += ["Ours in native mode with `mcp_servers` = the repo's fake MCP server (tests/fakes/fake_mcp.py, stdio). "
          "The fake model calls the injected tool `add` once, then answers (2 model calls per request, checked). "
          "Concurrency 1, medians. The overhead subtracts the extra model call as measured direct (%s)." %
          fmt(ti.get("direct_model_call_p50_ms"), 3, " ms"), "",
          "| request | latency p50 | latency p99 |", "|---|---|---|"]
    for kind, text in (("plain", "ours + MCP tools injected, model answers without a call"),
                       ("tool_round", "ours + MCP tools, one tool round (2 model calls + 1 MCP call)")):
        L.append("| %s | %s | %s |" % (text, fmt(get(ti, kind, "p50_ms"), 3, " ms"), fmt(get(ti, kind, "p99_ms"), 3, " ms")))
    return L + ["", "Overhead of one injected tool round, excluding the fake model's time: **%s** (p50)." %
                fmt(ti.get("overhead_p50_ms"), 3, " ms"), ""]


SUBJECT_NOTES = {
    "direct": "the load generator talks to the fake upstream itself: the physical limit.",
    "ours": "`python3 argo-proxy.pyz CONFIG --user bench --port P --native-openai` at its default log level "
            "(INFO: one line a request; stderr to bench/.work/logs/ours.log); CONFIG = `argo_base_url` + "
            "`model_refresh_interval_hours: 0`. python3 is a plain venv of the same interpreter, like the "
            "references' (a venv skips the machine's site-packages .pth files).",
    "ours_quiet": "the same with `--quiet` (warnings only).",
    "ours_standard": "ours without `--native-openai` (legacy chat / streamchat upstream); core scenarios only.",
    "baseline": "ours built from the `--baseline` git ref (git archive + its build_zipapp.py), started like ours.",
    "ref280": "argo-proxy %s from PyPI in a throwaway venv, `use_native_openai: true`, `verbose: false` (its "
              "default, true, logs every request body in full; the quieter setting is its fastest), defaults "
              "otherwise: its upstream pool allows 50 connections per host, so beyond 50 concurrent streams the "
              "rest wait (see 'peak flowing'), and a stream waiting over 10 s fails with HTTP 503." % REF280,
    "ref280_wide": "the same with ARGO_PROXY_MAX_CONNECTIONS(_PER_HOST)=2000, in the 100- and 500-stream tests "
                   "only, so that all streams flow at once.",
    "ref333": "argo-proxy %s from PyPI (needs Python >= 3.10; its venv uses %%s), a complete v3 config "
              "(`argo_base_url` = the fake; native OpenAI is its only mode), defaults otherwise, so it logs at "
              "its default level (`verbose: true`: DEBUG) to its stdout, kept in bench/.work/logs/ref333.log. "
              "It renames `max_tokens` to `max_completion_tokens` and drops unknown body keys, which is why the "
              "fake reads the stream shape from a marker in the last message." % REF333,
}


def subjects_section(res):
    L = ["## Subjects and notes", ""]
    for n, s in res["subjects"].items():
        note = SUBJECT_NOTES.get(n, "")
        if n == "ref333":
            note = note % res.get("ref333_python", "?")
        L.append("- **%s**: %s" % (s["title"], note))
    L.append("- Both references ask PyPI for newer versions when they start (2.8.0: `cli.get_latest_pypi_version`; "
             "3.3.3: `endpoints.extras.get_pypi_versions`, also imported by `cli.display`). A launcher replaces "
             "those functions so everything stays on loopback; their start-up figures are lower bounds.")
    for key, note in res["notes"].items():
        L.append("- %s: %s" % (key.replace("_", " "), note))
    return L + [""]


def machine_section(res):
    m, st = res["machine"], res["settings"]
    L = ["## Machine and method", ""]
    for k in ("cpu", "cpus", "memory", "kernel", "os", "python", "load_generator", "load_generator_note",
              "stream_client", "pinning"):
        if m.get(k):
            L.append("- %s: %s" % (k.replace("_", " "), m[k]))
    L.append("- fake upstream: bench/fake_upstream.py (asyncio, one thread, TCP_NODELAY, HTTP/1.1 keep-alive; "
             "bodies over 64 KB are scanned, not parsed)")
    kept = [r for per in (res.get("raw") or {}).values() for runs in per.values() for r in runs
            if isinstance(r, dict) and r.get("foreign_cpu_cores") is not None]
    if kept:
        over = [r for r in kept if r["foreign_cpu_cores"] > st["foreign_limit"]]
        L.append("- interference: a run during which processes outside the benchmark used more than %.2f cores is "
                 "measured again (at most twice, within a budget of %s s for all repeats and waits); %d of %d runs "
                 "were repeated; %d kept runs still saw more than that (the most: %.2f cores)" % (
                     st["foreign_limit"], fmt(st.get("repeat_budget_s"), 0),
                     sum(1 for r in kept if r.get("attempt", 1) > 1), len(kept), len(over),
                     max(r["foreign_cpu_cores"] for r in kept)))
    L.append("- other work on the machine before the run: %.0f%% CPU busy; load average before %s, after %s" % (
        100 * (res.get("background_cpu_busy_before") or 0),
        "/".join("%.2f" % x for x in res.get("loadavg_before") or ()),
        "/".join("%.2f" % x for x in res.get("loadavg_after") or ())))
    L.append("- settings: %s" % json.dumps(st))
    return L + [""]
