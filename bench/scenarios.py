"""The scenarios, how one run of one is measured, the interleaved rounds, and their medians.

A scenario is a load shape (request/response at some concurrency, N streams at once, or clients
streaming one request after another) with a request body. Each runs unpinned (what users get: the
headline); the core ones also pinned (key + ".pinned"), see procs.Pinning.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from bodies import BIG_STREAM_EVENTS
from common import get, http_get, log, median_of
from procs import Guard, cpu_seconds


class Scenario(NamedTuple):
    key: str
    title: str
    kind: str          # "http" (wrk), "stream" (N streams at once), "loop" (clients streaming in turn)
    conc: int
    body: str = "small"
    pin_too: bool = False


SCENARIOS = (
    Scenario("c1", "concurrency 1", "http", 1, pin_too=True),
    Scenario("c16", "concurrency 16", "http", 16, pin_too=True),
    Scenario("c64", "concurrency 64", "http", 64, pin_too=True),
    Scenario("s1", "1 stream", "stream", 1),
    Scenario("s100", "100 streams at once", "stream", 100, pin_too=True),
    Scenario("big100k_c1", "100 KB body, concurrency 1", "http", 1, "big100k"),
    Scenario("big100k_c8", "100 KB body, concurrency 8", "http", 8, "big100k"),
    Scenario("big2m_c1", "2 MB body, concurrency 1", "http", 1, "big2m"),
    Scenario("big2m_c8", "2 MB body, concurrency 8", "http", 8, "big2m"),
    Scenario("big100k_s1", "100 KB body, streamed answer, concurrency 1", "loop", 1, "big100k_stream"),
    Scenario("big100k_s8", "100 KB body, streamed answer, concurrency 8", "loop", 8, "big100k_stream"),
    Scenario("big2m_s1", "2 MB body, streamed answer, concurrency 1", "loop", 1, "big2m_stream"),
    Scenario("big2m_s8", "2 MB body, streamed answer, concurrency 8", "loop", 8, "big2m_stream"),
)
BY_KEY = {sc.key: sc for sc in SCENARIOS}
PARTS = ("startup", "tools", "hold")      # the measurements besides the scenarios, also for --only
PINNED = ".pinned"


def base_key(run_key):
    return run_key.split(".")[0]


def select(only):
    """(scenarios, parts) named by --only: a name is a scenario key, the start of keys up to an
    underscore (`big100k` = the four big100k_*, `big` = all eight), or a part; None = everything."""
    if not only:
        return list(SCENARIOS), list(PARTS)
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in PARTS and not any(_matches(sc.key, n) for sc in SCENARIOS)]
    if unknown:
        raise SystemExit("--only: unknown name(s) %s; scenarios: %s; parts: %s" % (
            ", ".join(unknown), ", ".join(BY_KEY), ", ".join(PARTS)))
    return ([sc for sc in SCENARIOS if any(_matches(sc.key, n) for n in names)],
            [p for p in PARTS if p in names])


def _matches(key, name):
    return key == name or key.startswith(name + "_") or (name == "big" and key.startswith("big"))


def plan(scenarios, pin_mode, pinning_possible):
    """[(scenario, pinned)]: every scenario unpinned; pinned too for the core ones (pin_mode "both",
    the default) or for all (pin_mode "all"); never pinned with pin_mode "off"."""
    out = []
    for sc in scenarios:
        out.append((sc, False))
        if pinning_possible and (pin_mode == "all" or (pin_mode == "both" and sc.pin_too)):
            out.append((sc, True))
    return out


class Bench:
    """What a measurement needs: the load generators, the pinning, the fake upstream, the settings."""

    def __init__(self, opts, drivers, pinning, fake_proc, fake_port):
        self.opts, self.drivers, self.pinning = opts, drivers, pinning
        self.fake_proc, self.fake_port = fake_proc, fake_port
        self.guard = Guard(opts.foreign_limit, opts.repeat_budget)

    def fake_stats(self):
        try:
            return json.loads(http_get(self.fake_port, "/_bench/stats")[1])
        except Exception:
            return {}

    def load(self, sc, port, pinned):
        o = self.opts
        if sc.kind == "http":
            return self.drivers.http(port, sc.conc, o.duration, sc.body, pinned)
        if sc.kind == "loop":
            return self.drivers.loop(port, sc.conc, BIG_STREAM_EVENTS, o.duration, sc.body, pinned)
        return self.drivers.streams(port, sc.conc, o.events, o.stream_timeout, pinned=pinned)

    def measure(self, sc, subject, pinned):
        """One run: the load, the gateway's CPU time, the upstream connections it opened."""
        if pinned:
            self.pinning.place(True, subject.pid, self.fake_proc.pid)
        try:
            before, cpu0 = self.fake_stats(), cpu_seconds(subject.pid) if subject.pid else None
            res = self.load(sc, subject.port, pinned)
            cpu1, after = cpu_seconds(subject.pid) if subject.pid else None, self.fake_stats()
        finally:
            if pinned:
                self.pinning.place(False, subject.pid, self.fake_proc.pid)
        if cpu0 is not None and cpu1 is not None and "error" not in res:
            res["cpu_s"] = cpu1 - cpu0
            done = res.get("events") if sc.kind == "stream" else res.get("requests")
            if done:
                res["cpu_us_per_item"] = res["cpu_s"] / done * 1e6
        if before and after:
            res["upstream_connections_opened"] = after["connections"] - before["connections"] - 1
        return res

    def rounds(self, subjects, runs):
        """Interleaved rounds: in each, every run of the plan measures every subject, in an order
        that rotates from round to round so that drift hits all alike. {run key: {subject: [results]}}"""
        names = list(subjects)
        raw = {}
        for rnd in range(self.opts.rounds):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for sc, pinned in runs:
                key = sc.key + (PINNED if pinned else "")
                for name in (n for n in order if subjects[n].runs_in(sc.key)):
                    res = self.guard.run(lambda: self.measure(sc, subjects[name], pinned))
                    raw.setdefault(key, {}).setdefault(name, []).append(res)
                    log("round %d %-17s %-13s %s" % (rnd + 1, key, name, brief(sc.kind, res)))
        return raw


def brief(kind, res):
    """One log line for a run."""
    if "error" in res:
        return "ERROR %s" % res["error"]
    if kind == "http":
        text = "%.0f req/s p50 %.3f ms p99 %.3f ms errors %d" % (res["rps"], res["p50_ms"], res["p99_ms"],
                                                                   res["errors"])
    elif kind == "loop":
        text = "%.1f req/s p50 %.1f ms p99 %.1f ms, first event p50 %.1f ms, failed %d" % (
            res["rps"], res.get("p50_ms") or 0, res.get("p99_ms") or 0, get(res, "ttfe", "p50_ms") or 0,
            res.get("errors", 0))
    else:
        text = "lag p50 %.3f p99 %.3f ms, first event p50 %.1f p99 %.1f ms, %d/%d ok, peak flowing %s" % (
            get(res, "lag", "p50_ms") or 0, get(res, "lag", "p99_ms") or 0, get(res, "ttfe", "p50_ms") or 0,
            get(res, "ttfe", "p99_ms") or 0, res.get("completed", 0), res.get("streams", 0),
            res.get("peak_flowing"))
    if res.get("foreign_cpu_cores") is not None:
        text += ", other work %.2f cores" % res["foreign_cpu_cores"]
    return text


def summarise(raw):
    """Medians over rounds: {run key: {subject: figures}}."""
    out = {}
    for key, per in raw.items():
        kind = BY_KEY[base_key(key)].kind
        out[key] = {name: (_stream_summary if kind == "stream" else _request_summary)(runs, kind)
                    for name, runs in per.items()}
    return out


def _request_summary(runs, kind):
    good = [r for r in runs if "error" not in r]
    # latency and CPU per request only from runs where (almost) every request succeeded: the
    # latency of quick refusals (HTTP 4xx/5xx) is no latency of the work
    sound = [r for r in good if r.get("errors", 0) <= 0.01 * (r.get("requests", 0) + r.get("errors", 0))
             and r.get("requests")]
    rps_all = [r["rps"] for r in good if r.get("rps") is not None]
    out = {"rps": median_of(good, "rps"), "rps_min": min(rps_all) if rps_all else None,
           "rps_max": max(rps_all) if rps_all else None, "p50_ms": median_of(sound, "p50_ms"),
           "p99_ms": median_of(sound, "p99_ms"), "cpu_us_per_request": median_of(sound, "cpu_us_per_item"),
           "upstream_connections_opened": median_of(good, "upstream_connections_opened"),
           "errors": sum(r.get("errors", 0) for r in good), "failed_runs": len(runs) - len(good),
           "runs": len(runs)}
    if kind == "loop":
        out["ttfe_p50_ms"] = median_of([r["ttfe"] for r in sound if "ttfe" in r], "p50_ms")
        out["ttfe_p99_ms"] = median_of([r["ttfe"] for r in sound if "ttfe" in r], "p99_ms")
        kinds = {}
        for r in good:
            for why, n in (r.get("error_kinds") or {}).items():
                kinds[why] = kinds.get(why, 0) + n
        out["error_kinds"] = kinds
    return out


def _stream_summary(runs, kind):
    good = [r for r in runs if "error" not in r]
    errors = {}
    for r in good:
        for why, n in (r.get("errors") or {}).items():
            errors[why] = errors.get(why, 0) + n
    return {"lag_p50_ms": median_of([r["lag"] for r in good], "p50_ms"),
            "lag_p99_ms": median_of([r["lag"] for r in good], "p99_ms"),
            "ttfe_p50_ms": median_of([r["ttfe"] for r in good], "p50_ms"),
            "ttfe_p99_ms": median_of([r["ttfe"] for r in good], "p99_ms"),
            "completed": sum(r.get("completed", 0) for r in good),
            "streams": sum(r.get("streams", 0) for r in good),
            "peak_flowing": max([r.get("peak_flowing", 0) for r in good] or [0]),
            "listen_drops": sum(r.get("listen_drops", 0) or 0 for r in good),
            "cpu_us_per_event": median_of(good, "cpu_us_per_item"), "error_kinds": errors,
            "failed_runs": len(runs) - len(good), "runs": len(runs)}
