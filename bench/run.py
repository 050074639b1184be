#!/usr/bin/env python3
"""argo-proxy benchmark: ours vs direct access vs argo-proxy 2.8.0 and 3.3.3 (and ours at a git ref).

    python3 bench/run.py                      full run, writes bench/RESULTS.md + results.json
    python3 bench/run.py --quick              the same, shorter (one round, 2 s runs)
    python3 bench/run.py --baseline main      also ours built from git ref `main`, as "ours@main"
    python3 bench/run.py --only c16,big100k   a subset (RESULTS.md main tables are left as they are)
    python3 bench/run.py --label "TEXT" ...   append a row to the Changes table of RESULTS.md

Everything runs on loopback (127.0.0.1). Every process this script starts is stopped on exit,
on Ctrl-C and on errors. See bench/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import json
import os
import platform
import signal
import sys
import time

import bodies
import build
import changes
import report
import special
import targets
from common import BENCH, LOGS, WORK, clean_env, free_port, get, log, logfile, open_log, wait_health
from drivers import Drivers
from procs import Pinning, spawn, stop, stop_all, wait_until_quiet
from scenarios import Bench, plan, select, summarise
from subjects import REF280, REF333, Lineup, big_body_note, exited_note, probe

FORMAT = 2      # of results.json (1: the single-file run.py before issue 14)


def parse_args(argv):
    ap = argparse.ArgumentParser(description="argo-proxy benchmark (loopback only)")
    ap.add_argument("--quick", action="store_true", help="shorter run: 1 round, 2 s per run, 50 events per stream")
    ap.add_argument("--baseline", metavar="REF", help="also measure ours built from this git ref, as ours@REF")
    ap.add_argument("--only", metavar="NAME[,NAME]", help="run only these scenarios/parts (e.g. c16,big100k,hold)")
    ap.add_argument("--label", metavar="TEXT", help="append this run's ratios to the Changes table")
    ap.add_argument("--no-reference", action="store_true", help="skip argo-proxy %s and %s" % (REF280, REF333))
    pin = ap.add_mutually_exclusive_group()
    pin.add_argument("--no-pin", action="store_true", help="no pinned runs at all")
    pin.add_argument("--pin-all", action="store_true", help="every scenario pinned too (default: the core ones)")
    ap.add_argument("--quiet-variant", action="store_true", help="also measure ours with --quiet")
    ap.add_argument("--rounds", type=int, help="interleaved rounds per scenario (3; quick 1)")
    ap.add_argument("--duration", type=int, help="seconds per request/response or streaming-loop run (5; quick 2)")
    ap.add_argument("--events", type=int, help="events per stream (200; quick 50)")
    ap.add_argument("--interval-ms", type=float, default=20.0, help="upstream time between events (20)")
    ap.add_argument("--hold", type=int, default=500, help="concurrent streams held for the RSS figure (500)")
    ap.add_argument("--hold-seconds", type=float, help="length of each held stream (6; quick 3)")
    ap.add_argument("--foreign-limit", type=float, default=0.15,
                    help="re-measure a run when other processes used more than this many cores (0.15)")
    ap.add_argument("--repeat-budget", type=float, help="seconds all such re-measuring may take (600; quick 120)")
    ap.add_argument("--out", default=BENCH, help="where RESULTS.md and results.json go (bench/)")
    ap.add_argument("--render", action="store_true", help="measure nothing: rewrite RESULTS.md from results.json")
    opts = ap.parse_args(argv)
    opts.rounds = opts.rounds or (1 if opts.quick else 3)
    opts.duration = opts.duration or (2 if opts.quick else 5)
    opts.events = opts.events or (50 if opts.quick else 200)
    opts.startup_runs = 3 if opts.quick else 7
    opts.repeat_budget = opts.repeat_budget if opts.repeat_budget is not None else (120.0 if opts.quick else 600.0)
    opts.hold_seconds = opts.hold_seconds or (3.0 if opts.quick else 6.0)
    opts.stream_timeout = max(60.0, opts.events * opts.interval_ms / 1000.0 * 20)
    opts.hold_timeout = max(120.0, opts.hold_seconds * (opts.hold / 50 + 5))
    opts.pin_mode = "off" if opts.no_pin else "all" if opts.pin_all else "both"
    opts.scenarios, opts.parts = select(opts.only)
    opts.command = "python3 bench/run.py" + "".join(" " + a for a in (argv if argv is not None else sys.argv[1:]))
    return opts


def main(argv=None):
    opts = parse_args(argv)
    if opts.render:
        write_markdown(load_results(opts), changes.load(opts.out), opts)
        return 0
    os.makedirs(LOGS, exist_ok=True)
    os.makedirs(os.path.join(WORK, "home"), exist_ok=True)
    open_log(os.path.join(LOGS, "run.log"))
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        results = run(opts)
    except KeyboardInterrupt:
        log("interrupted: stopping every process started")
        return 130
    finally:
        stop_all()
    save(results, opts)
    return 0


def _on_signal(signum, frame):
    raise KeyboardInterrupt


def prepare(opts, notes):
    """Build ours (and the baseline), install the references: the Lineup's ingredients."""
    build.build_ours()
    baseline = None
    if opts.baseline:
        pyz, sha = build.build_baseline(opts.baseline)
        baseline = (pyz, opts.baseline, sha)
    refs = {"ref280": None, "ref333": None}
    if opts.no_reference:
        notes["references"] = "skipped (--no-reference)"
        return baseline, refs
    for name, version, venv, minor in (("ref280", REF280, "refvenv", 8), ("ref333", REF333, "ref333venv", 10)):
        refs[name], why = build.ensure_venv(version, os.path.join(WORK, venv), minor)
        if why:
            notes[name] = why
            log("%s: %s" % (name, why))
    return baseline, refs


def start_fake(opts):
    port = free_port()
    proc = spawn([sys.executable, os.path.join(BENCH, "fake_upstream.py"), "--port", str(port), "--events",
                  str(opts.events), "--interval-ms", str(opts.interval_ms)], logfile("fake"), env=clean_env())
    if wait_health(port, proc, 10.0) is None:
        raise SystemExit("the fake upstream did not start; see bench/.work/logs/fake.log")
    log("fake upstream on port %d" % port)
    return proc, port


def start_subjects(lineup, drivers, notes):
    """Every subject started, healthy and working; the others are stopped and noted."""
    subjects = {}
    for name in lineup.names():
        subjects[name] = lineup.start(name)
    for name, subj in list(subjects.items()):
        if subj.proc is None:
            continue
        why = ("did not start (see bench/.work/logs/%s.log)" % name if wait_health(subj.port, subj.proc, 60.0) is None
               else probe(subj, lambda port: drivers.streams(port, 2, 5, 30)))
        if why:
            log("%s: %s" % (name, why))
            notes[name] = why
            stop(subj.proc)
            del subjects[name]
            continue
        with open(drivers.bodies["big2m"], "rb") as f:
            why = big_body_note(subj, f.read())
        if why:
            log("%s: %s" % (name, why))
            notes[name + "_big_body"] = why + ("; so its 2 MB scenarios count no successful request (no latency "
                                               "shown) and its memory never holds such a body")
    return subjects


def run(opts):
    t_start = time.monotonic()
    notes = {}
    baseline, refs = prepare(opts, notes)
    pinning = Pinning()
    drivers = Drivers(pinning, bodies.write_files(os.path.join(WORK, "bodies")))
    log("load generator: %s %s" % (drivers.name, drivers.note))
    busy = wait_until_quiet()
    results = new_results(opts, drivers, pinning, notes, busy, baseline, refs)
    fake, fake_port = start_fake(opts)
    lineup = Lineup(fake_port, refs, baseline and (baseline[0], baseline[1]), opts.quiet_variant)
    bench = Bench(opts, drivers, pinning, fake, fake_port)
    if "startup" in opts.parts:
        names = [n for n in ("ours", "baseline", "ref280", "ref333") if n in lineup.names()]
        results["startup_s"] = special.measure_startup(lineup, names, opts.startup_runs)
    subjects = start_subjects(lineup, drivers, notes)
    results["subjects"] = {n: {"title": s.title, "port": s.port} for n, s in subjects.items()}
    time.sleep(1.5)  # let background model-list fetches finish
    special.rss_snapshot(subjects, "idle", results["rss_kb"])
    special.warm_up(bench, subjects)
    raw = bench.rounds(subjects, plan(opts.scenarios, opts.pin_mode, pinning.possible))
    results["raw"], results["scenarios"] = raw, summarise(raw)
    if "tools" in opts.parts:
        results["tool_injection"] = special.measure_tools(bench, get(results, "scenarios", "c1", "direct", "p50_ms"))
    time.sleep(1.0)
    special.rss_snapshot(subjects, "after_load", results["rss_kb"])
    if "hold" in opts.parts:
        results["hold"] = special.measure_hold(bench, subjects, results["rss_kb"])
    for name, subj in subjects.items():
        if exited_note(subj):
            notes[name + "_exit"] = exited_note(subj)
    results["elapsed_s"] = round(time.monotonic() - t_start, 1)
    results["loadavg_after"] = os.getloadavg()
    return results


def new_results(opts, drivers, pinning, notes, busy, baseline, refs):
    return {"format": FORMAT, "started": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": opts.command,
            "commit": build.head_commit(), "machine": machine_description(drivers, pinning),
            "baseline": {"label": baseline[1], "commit": baseline[2]} if baseline else None,
            "ref333_python": _python_version(refs.get("ref333")),
            "settings": {"quick": opts.quick, "only": opts.only, "rounds": opts.rounds,
                         "wrk_duration_s": opts.duration, "events_per_stream": opts.events,
                         "event_interval_ms": opts.interval_ms, "big_stream_events": bodies.BIG_STREAM_EVENTS,
                         "hold_streams": opts.hold, "hold_stream_seconds": opts.hold_seconds,
                         "startup_runs": opts.startup_runs, "foreign_limit": opts.foreign_limit,
                         "repeat_budget_s": opts.repeat_budget,
                         "pin_mode": opts.pin_mode},
            "bodies": {n: bodies.describe(open(p, "rb").read()) for n, p in drivers.bodies.items()},
            "notes": notes, "background_cpu_busy_before": round(busy, 3), "loadavg_before": os.getloadavg(),
            "subjects": {}, "scenarios": {}, "rss_kb": {}, "startup_s": {}, "hold": {}, "tool_injection": {}}


def _python_version(py):
    if not py:
        return None
    real = os.path.realpath(py)
    return real.split("/versions/")[1].split("/")[0] if "/versions/" in real else real


def machine_description(drivers, pinning):
    cpu, mem = "unknown", ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
        with open("/proc/meminfo") as f:
            mem = "%.1f GiB" % (int(f.readline().split()[1]) / 1024 / 1024)
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": cpu, "cpus": os.cpu_count(), "memory": mem, "kernel": platform.release(),
            "os": platform.platform(), "python": platform.python_version(), "python_executable": sys.executable,
            "load_generator": drivers.name, "load_generator_note": drivers.note,
            "stream_client": "bench/loadgen.py (Python, one thread, non-blocking sockets + epoll)",
            "pinning": pinning.describe()}


def save(results, opts):
    """A run of everything replaces results.json and RESULTS.md's main tables; a --only run leaves
    them (its figures go to bench/.work/runs/). --label appends the run's row to the Changes table."""
    row = changes.make_row(results, opts.label or "", opts.only)
    for key, (vs_base, vs_ref, ref) in row["ratios"].items():
        log("ours %-12s vs baseline %s, vs %s %s" % (key, report.fmt_ratio(vs_base), ref, report.fmt_ratio(vs_ref)))
    rows = changes.append(opts.out, row) if opts.label else changes.load(opts.out)
    if opts.only:
        runs = os.path.join(WORK, "runs")
        os.makedirs(runs, exist_ok=True)
        path = os.path.join(runs, "%s.json" % results["started"].replace(":", ""))
        _dump(results, path)
        log("figures of this --only run: %s" % path)
        results = load_results(opts)
    else:
        results["targets"] = targets.targets(results)
        _dump(results, os.path.join(opts.out, "results.json"))
    write_markdown(results, rows, opts)


def load_results(opts):
    """The figures of the latest run of everything (results.json), or None."""
    try:
        with open(os.path.join(opts.out, "results.json")) as f:
            results = json.load(f)
    except (OSError, ValueError):
        return None
    return results if results.get("format") == FORMAT else None


def write_markdown(results, rows, opts):
    md = os.path.join(opts.out, "RESULTS.md")
    with open(md, "w") as f:
        f.write(report.render(results, rows) if results else "\n".join(
            ["# Benchmark results", "", "No full run yet.", ""] + changes.render(rows)))
    log("wrote %s" % md)


def _dump(results, path):
    with open(path, "w") as f:
        json.dump(results, f, indent=1, sort_keys=False, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
