"""Processes the benchmark starts, what /proc says about them, CPU pinning, and quiet-machine guards.

Every process started goes through spawn() and is stopped by stop() / stop_all() (also on Ctrl-C,
SIGTERM and errors: run.py registers stop_all).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time

from common import WORK, log

_PROCS = []


def spawn(cmd, logfile, env=None, stdin=subprocess.DEVNULL, cwd=WORK):
    out = open(logfile, "ab")
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True, cwd=cwd)
    out.close()
    _PROCS.append(proc)
    return proc


def _children_table():
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return children


def descendants(pid):
    """Pids of every process below pid (from /proc)."""
    children, out, todo = _children_table(), [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def stop(proc, grace=5.0):
    """SIGTERM (then SIGKILL) the process, then any of its own children it left behind."""
    if proc is None:
        return
    kids = descendants(proc.pid) if proc.poll() is None else []
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        except ProcessLookupError:
            pass
    for kid in kids:
        try:
            os.kill(kid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    if proc in _PROCS:
        _PROCS.remove(proc)


def stop_all():
    for proc in list(_PROCS):
        try:
            stop(proc, 3.0)
        except Exception:
            pass


def running_pids():
    """Our long-lived processes and their children."""
    pids = set()
    for proc in _PROCS:
        if proc.poll() is None:
            pids.add(proc.pid)
            pids.update(descendants(proc.pid))
    return pids


# ---------------------------------------------------------------- /proc figures

def rss_kb(pid):
    """VmRSS of pid plus all its descendants, in kB."""
    total = 0
    for p in [pid] + descendants(pid):
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class RssSampler(threading.Thread):
    """Peak RSS of a process tree, sampled every `every` seconds until finish()."""

    def __init__(self, pid, every=0.05):
        super().__init__(daemon=True)
        self.pid, self.every, self.peak = pid, every, 0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            self.peak = max(self.peak, rss_kb(self.pid))
            self._halt.wait(self.every)

    def finish(self):
        self._halt.set()
        self.join(5)
        return self.peak


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def listen_drops():
    """TcpExt ListenDrops from /proc/net/netstat: connections the kernel dropped because an
    accept queue was full (the client then retries its SYN after ~1 s)."""
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
        for names, values in zip(lines[0::2], lines[1::2]):
            if names.startswith("TcpExt:"):
                table = dict(zip(names.split()[1:], values.split()[1:]))
                return int(table.get("ListenDrops", 0))
    except (OSError, ValueError):
        pass
    return None


# ---------------------------------------------------------------- CPU pinning

class Pinning:
    """Pinned runs: the gateway under test alone on the last CPU, the fake upstream and the load
    generators on the others. Processes start unpinned; a pinned run moves the subject and the
    fake (every thread, with taskset) and moves them back afterwards."""

    def __init__(self):
        cpus = sorted(os.sched_getaffinity(0))
        self.possible = len(cpus) >= 2 and shutil.which("taskset") is not None
        self.all = ",".join(map(str, cpus))
        self.subject = str(cpus[-1])
        self.tools = ",".join(map(str, cpus[:-1])) or self.all

    def prefix(self, pinned):
        """Command prefix for a load generator of a pinned (or unpinned) run."""
        return ["taskset", "-c", self.tools] if pinned and self.possible else []

    def place(self, pinned, subject_pid, fake_pid):
        """Move the subject and the fake for a pinned run (pinned=True) or back to every CPU."""
        if not self.possible:
            return
        if subject_pid is not None:
            self._set(subject_pid, self.subject if pinned else self.all)
        self._set(fake_pid, self.tools if pinned else self.all)

    @staticmethod
    def _set(pid, cpus):
        subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)

    def describe(self):
        if not self.possible:
            return "pinned runs impossible here (needs 2 CPUs and taskset): every run unpinned"
        return ("unpinned runs: the scheduler places every process; pinned runs: gateway under test on "
                "CPU %s, fake upstream and load generators on CPU %s" % (self.subject, self.tools))


# ---------------------------------------------------------------- a quiet machine

def cpu_busy(seconds=2.0):
    """Fraction of all CPUs busy over `seconds` (from /proc/stat)."""
    def snap():
        with open("/proc/stat") as f:
            vals = [int(x) for x in f.readline().split()[1:]]
        return sum(vals), vals[3] + (vals[4] if len(vals) > 4 else 0)
    t0, i0 = snap()
    time.sleep(seconds)
    t1, i1 = snap()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_until_quiet(limit=0.25, patience=120.0):
    """Wait (up to `patience` s) until other work leaves the CPUs mostly idle; returns the busy share."""
    deadline = time.monotonic() + patience
    busy = cpu_busy()
    while busy > limit and time.monotonic() < deadline:
        log("machine busy (%.0f%% CPU used by other processes): waiting before measuring" % (busy * 100))
        busy = cpu_busy(5.0)
    return busy


class ForeignCpu:
    """CPU used during a measurement by processes this harness did not start (other sessions' test
    runs, cron, ...): all non-idle CPU time from /proc/stat minus the CPU time of our own long-lived
    processes (and their children) and of the load generators we waited for."""

    def __init__(self):
        self.tick = os.sysconf("SC_CLK_TCK")

    def _busy(self):
        with open("/proc/stat") as f:
            vals = [int(x) for x in f.readline().split()[1:]]
        # user + nice + system only: irq/softirq time (loopback networking) belongs to no process
        return (vals[0] + vals[1] + vals[2]) / self.tick

    def _own(self):
        total = sum(cpu_seconds(pid) or 0.0 for pid in running_pids())
        t = os.times()
        return total + t.children_user + t.children_system + t.user + t.system

    def __enter__(self):
        self.t0 = time.monotonic()
        self.busy0 = self._busy()
        self.own0 = self._own()
        return self

    def __exit__(self, *exc):
        busy = self._busy() - self.busy0
        own_delta = self._own() - self.own0
        wall = max(1e-6, time.monotonic() - self.t0)
        self.seconds = max(0.0, busy - own_delta)
        self.share = self.seconds / wall   # in cores
        return False


class Guard:
    """Runs a measurement again (up to twice) when other work used more than `limit` cores during it,
    after waiting for the machine to calm down; all this repeating and waiting shares one time
    budget, so that a machine that never gets quiet cannot stretch a run without end (once the
    budget is spent, runs are kept as they are; each records the outside CPU it saw)."""

    def __init__(self, limit, budget_s):
        self.limit, self.budget, self.spent = limit, budget_s, 0.0

    def run(self, measure):
        res = None
        for attempt in range(3):
            t0 = time.monotonic()
            with ForeignCpu() as foreign:
                res = measure()
            res["foreign_cpu_cores"] = round(foreign.share, 3)
            res["attempt"] = attempt + 1
            if attempt:
                self.spent += time.monotonic() - t0
            if foreign.share <= self.limit or self.spent >= self.budget or attempt == 2:
                break
            log("  other work used %.2f cores during that run: measuring it again" % foreign.share)
            t1 = time.monotonic()
            wait_until_quiet(patience=min(60.0, max(0.0, self.budget - self.spent)))
            self.spent += time.monotonic() - t1
        return res
