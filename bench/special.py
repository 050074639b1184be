"""The measurements besides the scenarios: start-up, memory, 500 streams held at once, and one
injected tool round."""

from __future__ import annotations

import http.client
import os
import statistics
import sys
import time

from common import CHAT_PATH, REPO, get, http_get, http_post, log, median_of, wait_health
from procs import RssSampler, rss_kb, stop
from scenarios import brief
from subjects import ours_tool_server

FAKE_MCP = os.path.join(REPO, "tests", "fakes", "fake_mcp.py")
TOOL_BODY = (b'{"model":"gpt4o","messages":[{"role":"user","content":"What is 2 + 3?"}],"stream":false,'
             b'"bench_call_tool":"add"}')


def measure_startup(lineup, names, runs):
    """Process start to the first 200 from GET /health, a fresh process each time, the subjects
    alternating. {name: {"runs": [...], "median", "min", "failed"}}"""
    raw = {n: [] for n in names}
    for i in range(runs):
        for name in names[i % len(names):] + names[:i % len(names)]:
            t0 = time.monotonic()
            subj = lineup.start(name, "startup-%s" % name)
            healthy = wait_health(subj.port, subj.proc, 30.0)
            raw[name].append(None if healthy is None else time.monotonic() - t0)   # from just before spawn
            stop(subj.proc)
            time.sleep(0.2)
    out = {}
    for name, vals in raw.items():
        ok = [v for v in vals if v is not None]
        out[name] = {"runs": vals, "median": statistics.median(ok) if ok else None,
                     "min": min(ok) if ok else None, "failed": len(vals) - len(ok)}
        log("start-up %-13s %s" % (name, " ".join("-" if v is None else "%.3fs" % v for v in vals)))
    return out


def warm_up(bench, subjects):
    """The same for everyone: 1 s of small requests at concurrency 16, 4 short streams, 2 big requests."""
    for subj in subjects.values():
        bench.drivers.http(subj.port, 16, 1)
        bench.drivers.streams(subj.port, 4, min(20, bench.opts.events), 60)
        if subj.runs_in("big2m_c1"):
            bench.drivers.http(subj.port, 1, 1, "big2m")


def rss_snapshot(subjects, label, rss):
    """RSS of every gateway that ran the whole load, now, under `label`."""
    for name, subj in subjects.items():
        if subj.proc is not None and subj.only_in is None:
            rss.setdefault(name, {})[label] = rss_kb(subj.pid)


def measure_hold(bench, subjects, rss):
    """Many streams at once (--hold, 500): peak RSS while they run; all must complete."""
    o = bench.opts
    out = {}
    for name, subj in subjects.items():
        if not subj.runs_in("hold"):
            continue
        sampler = RssSampler(subj.pid if subj.proc is not None else bench.fake_proc.pid)
        sampler.start()
        res = bench.drivers.streams(subj.port, o.hold, o.events, o.hold_timeout,
                                    interval_ms=o.hold_seconds * 1000.0 / o.events)
        res["peak_rss_kb"] = peak = sampler.finish()
        if subj.proc is not None:
            rss.setdefault(name, {})["holding_streams_peak"] = peak
            time.sleep(1.0)
            rss[name]["after_hold"] = rss_kb(subj.pid)
        out[name] = res
        log("hold %d streams %-13s completed %s/%s errors %s peak flowing %s peak RSS %.1f MB, first event "
            "p50 %.0f ms, listen drops %s" % (o.hold, name, res.get("completed"), o.hold, res.get("errors"),
                                               res.get("peak_flowing"), peak / 1024,
                                               get(res, "ttfe", "p50_ms") or -1, res.get("listen_drops")))
    return out


def measure_tools(bench, direct_c1_p50):
    """One injected tool round (the fake model calls `add` on the repo's fake MCP server over stdio)
    vs the same proxy answering without a tool call; concurrency 1, interleaved rounds."""
    if not os.path.exists(FAKE_MCP):
        return {"note": "not measured: tests/fakes/fake_mcp.py is missing"}
    subj = ours_tool_server(bench.fake_port, [sys.executable, FAKE_MCP, "--stdio"])
    try:
        why = _tools_ready(bench, subj)
        if why:
            return {"note": why}
        return _tool_rounds(bench, subj.port, direct_c1_p50)
    finally:
        stop(subj.proc)


def _tools_ready(bench, subj):
    """None when ours with mcp_servers is up, offers `add`, and a tool request makes 2 model calls."""
    if wait_health(subj.port, subj.proc, 30.0) is None:
        return "not measured: ours with mcp_servers did not start (bench/.work/logs/ours_tools.log)"
    try:
        status, body = http_get(subj.port, "/v1/tools", timeout=30.0)
    except (OSError, http.client.HTTPException) as exc:
        status, body = None, str(exc).encode()
    if status != 200 or b'"add"' not in body:
        return "not measured: GET /v1/tools answered %s without the fake MCP tool `add`" % status
    for _ in range(20):
        http_post(subj.port, CHAT_PATH, TOOL_BODY)
    before = bench.fake_stats()
    status, answer = http_post(subj.port, CHAT_PATH, TOOL_BODY)
    calls = bench.fake_stats().get("requests", 0) - before.get("requests", 0) - 1
    if status != 200 or calls != 2:
        return ("not measured: a tool request answered HTTP %s after %d model calls (expected 200 after 2): "
                "%r" % (status, calls, answer[:200]))
    return None


def _tool_rounds(bench, port, direct_c1_p50):
    o, bodies = bench.opts, {"plain": "small", "tool_round": "tool"}
    bench.drivers.bodies.setdefault("tool", _tool_body_file(bench))
    raw = {"plain": [], "tool_round": []}
    for kind in raw:
        bench.drivers.http(port, 1, 1, bodies[kind])
    for rnd in range(o.rounds):
        for kind in (("plain", "tool_round") if rnd % 2 == 0 else ("tool_round", "plain")):
            res = bench.guard.run(lambda k=kind: bench.drivers.http(port, 1, o.duration, bodies[k]))
            raw[kind].append(res)
            log("tools round %d %-10s %s" % (rnd + 1, kind, brief("http", res)))
    out = {"raw": raw, "model_calls_per_tool_request": 2}
    for kind, runs in raw.items():
        out[kind] = {"p50_ms": median_of(runs, "p50_ms"), "p99_ms": median_of(runs, "p99_ms"),
                     "rps": median_of(runs, "rps"), "errors": sum(r.get("errors", 0) for r in runs)}
    if None not in (out["plain"]["p50_ms"], out["tool_round"]["p50_ms"], direct_c1_p50):
        out["round_p50_ms"] = out["tool_round"]["p50_ms"] - out["plain"]["p50_ms"]
        out["direct_model_call_p50_ms"] = direct_c1_p50
        out["overhead_p50_ms"] = out["round_p50_ms"] - direct_c1_p50
    return out


def _tool_body_file(bench):
    path = os.path.join(os.path.dirname(bench.drivers.bodies["small"]), "tool.json")
    with open(path, "wb") as f:
        f.write(TOOL_BODY)
    return path
