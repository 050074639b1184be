"""The figures that decide (metrics), the better of the two references for each, and the targets of
issue 14. Used by the report and by the per-change table."""

from __future__ import annotations

from typing import NamedTuple

from common import get
from scenarios import PINNED
from subjects import REFERENCES

NOISE = 1.10     # "not worse than the baseline" allows 10 % for run-to-run noise


class Metric(NamedTuple):
    key: str
    label: str
    better: str        # "high" or "low"
    scenario: str      # the scenario it comes from ("" for RSS)
    figure: str        # the field of that scenario's summary


METRICS = (
    Metric("c16_rps", "throughput at concurrency 16", "high", "c16", "rps"),
    Metric("c1_added", "added latency at concurrency 1 (p50 − direct p50)", "low", "c1", "p50_ms"),
) + tuple(
    Metric("%s_rps" % key, "throughput, %s" % title, "high", key, "rps") for key, title in (
        ("big100k_c1", "100 KB body, c1"), ("big100k_c8", "100 KB body, c8"), ("big2m_c1", "2 MB body, c1"),
        ("big2m_c8", "2 MB body, c8"), ("big100k_s1", "100 KB body, streamed, c1"),
        ("big100k_s8", "100 KB body, streamed, c8"), ("big2m_s1", "2 MB body, streamed, c1"),
        ("big2m_s8", "2 MB body, streamed, c8"))
) + (
    Metric("s100_ttfe", "100 streams at once: median time to first event", "low", "s100", "ttfe_p50_ms"),
    Metric("s100_lag99", "100 streams at once: relay lag p99", "low", "s100", "lag_p99_ms"),
    Metric("rss", "RSS after load", "low", "", "after_load"),
)
BY_KEY = {m.key: m for m in METRICS}

# (metric, compared with, goal on ours / that, "ge" or "le")
TARGETS = (("c16_rps", "ref", 1.2, "ge"), ("c1_added", "ref", 0.5, "le")) + tuple(
    (m.key, "ref", 2.0, "ge") for m in METRICS if m.key.startswith("big")) + (
    ("s100_ttfe", "ref", 0.5, "le"), ("s100_lag99", "baseline", NOISE, "le"), ("rss", "baseline", NOISE, "le"))


def value(res, metric, subject, pinned=False):
    """The metric's figure for one subject (None when not measured)."""
    if metric.key == "rss":
        return None if pinned else get(res, "rss_kb", subject, "after_load")
    key = metric.scenario + (PINNED if pinned else "")
    v = get(res, "scenarios", key, subject, metric.figure)
    if metric.key == "c1_added" and v is not None:
        d = get(res, "scenarios", key, "direct", metric.figure)
        return None if d is None else v - d
    return v


def better_of(a, b, better):
    """The better of two (name, value) pairs; a missing value never wins."""
    if b[1] is None:
        return a
    if a[1] is None:
        return b
    return a if (a[1] >= b[1] if better == "high" else a[1] <= b[1]) else b


def best_reference(res, metric, pinned=False, names=REFERENCES):
    """(name, value) of the better reference for this metric, or (None, None)."""
    best = (None, None)
    for name in names:
        best = better_of(best, (name, value(res, metric, name, pinned)), metric.better)
    return best


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def compare(res, metric, against, pinned=False):
    """(ours, other subject, its value, ours/its value) for `against` "ref" or "baseline"."""
    ours = value(res, metric, "ours", pinned)
    if against == "ref":
        name, other = best_reference(res, metric, pinned)
    else:
        name, other = "baseline", value(res, metric, "baseline", pinned)
    if metric.key == "c1_added" and other is not None and other <= 0:
        return ours, name, other, None        # the reference adds nothing measurable: no ratio
    return ours, name, other, ratio(ours, other)


def targets(res):
    """Rows {target, metric, against, goal, ours, other, other_value, ratio, pinned_ratio, met}."""
    rows = []
    for key, against, goal, op in TARGETS:
        metric = BY_KEY[key]
        ours, other, other_value, r = compare(res, metric, against)
        if ours is None and other_value is None:
            continue                                   # not measured in this run
        met = None if r is None else (r >= goal if op == "ge" else r <= goal)
        rows.append({"target": metric.label, "metric": key, "against": against, "goal": goal, "op": op,
                     "ours": ours, "other": other, "other_value": other_value, "ratio": r,
                     "pinned_ratio": compare(res, metric, against, pinned=True)[3], "met": met})
    hold = res.get("hold") or {}
    if "ours" in hold:
        n = res["settings"]["hold_streams"]
        h = hold["ours"]
        rows.append({"target": "%d concurrent streams all complete" % n, "metric": "hold", "against": "",
                     "goal": n, "op": "all", "ours": h.get("completed"), "other": None, "other_value": None,
                     "ratio": None, "pinned_ratio": None,
                     "met": h.get("completed") == n and not h.get("errors")})
    return rows
