"""The per-change table: a run with --label appends one row (each decisive ratio vs the baseline and
vs the better reference) to changes.json next to RESULTS.md (bench/), which RESULTS.md shows under "Changes"."""

from __future__ import annotations

import datetime
import json
import os

from targets import METRICS, compare

FILE = "changes.json"     # next to RESULTS.md


def make_row(res, label, only):
    """The row of this run: {metric: [ours/baseline, ours/better reference, which reference]}."""
    ratios = {}
    for m in METRICS:
        vs_base = compare(res, m, "baseline")[3]
        _, ref, _, vs_ref = compare(res, m, "ref")
        if vs_base is not None or vs_ref is not None:
            ratios[m.key] = [vs_base, vs_ref, ref]
    return {"label": label, "date": datetime.datetime.now().isoformat(timespec="minutes"),
            "commit": res.get("commit"), "baseline": (res.get("baseline") or {}).get("label"),
            "only": only or "all", "quick": res["settings"]["quick"], "ratios": ratios}


def load(out):
    try:
        with open(os.path.join(out, FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return []


def append(out, row):
    rows = load(out) + [row]
    with open(os.path.join(out, FILE), "w") as f:
        json.dump(rows, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return rows


def _cell(pair):
    if not pair:
        return "–"
    vs_base, vs_ref, ref = pair
    fmt = lambda r: "–" if r is None else "%.2f×" % r  # noqa: E731
    return "%s / %s" % (fmt(vs_base), fmt(vs_ref))


def render(rows):
    """Markdown lines of the Changes section."""
    out = ["## Changes", "",
           "One row per `python3 bench/run.py --label TEXT` run (newest last). Each cell: ours / baseline "
           "(the `--baseline` ref, same run) and ours / the better of argo-proxy 2.8.0 and 3.3.3 (same run). "
           "Higher is better for throughput; lower is better for latency, first event, lag and RSS. "
           "`c1 added` compares the latency each gateway adds over direct.", ""]
    if not rows:
        return out + ["No labelled run yet.", ""]
    short = {"c16_rps": "c16 thr", "c1_added": "c1 added", "s100_ttfe": "100 streams 1st event",
             "s100_lag99": "100 streams lag p99", "rss": "RSS"}
    heads = [short.get(m.key) or m.key.replace("_rps", " thr").replace("big", "") for m in METRICS]
    out.append("| label | date | commit | baseline | scope | " + " | ".join(heads) + " |")
    out.append("|---" * (5 + len(heads)) + "|")
    for r in rows:
        scope = r.get("only", "all") + (" (quick)" if r.get("quick") else "")
        out.append("| %s | %s | %s | %s | %s | %s |" % (
            r["label"], r["date"], r.get("commit") or "–", r.get("baseline") or "–", scope,
            " | ".join(_cell(r["ratios"].get(m.key)) for m in METRICS)))
    return out + [""]
