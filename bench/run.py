#!/usr/bin/env python3
"""argo-proxy benchmark: direct-to-fake vs ours (native, standard) vs argo-proxy 2.8.0.

    python3 bench/run.py            full run (~7-10 minutes), writes bench/RESULTS.md + results.json
    python3 bench/run.py --quick    smoke run (~2 minutes), same outputs

Everything runs on loopback (127.0.0.1). Every process this script starts is stopped on exit,
on Ctrl-C and on errors. See bench/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
WORK = os.path.join(BENCH, ".work")
PYZ = os.path.join(REPO, "argo-proxy.pyz")
REF_VERSION = "2.8.0"
REF_VENV = os.path.join(WORK, "refvenv")
HOST = "127.0.0.1"
CHAT_PATH = "/v1/chat/completions"
CHAT_BODY = json.dumps({"model": "gpt4o", "messages": [{"role": "user", "content": "Say hello."}],
                        "stream": False}, separators=(",", ":"))

FAKE_MCP = os.path.join(REPO, "tests", "fakes", "fake_mcp.py")
TOOL_BODY = json.dumps({"model": "gpt4o", "messages": [{"role": "user", "content": "What is 2 + 3?"}],
                        "stream": False, "bench_call_tool": "add"}, separators=(",", ":"))

SUBJECT_TITLES = {
    "direct": "direct (fake upstream)",
    "ours_native": "ours, native mode",
    "ours_standard": "ours, standard mode",
    "reference": "argo-proxy %s (native mode)" % REF_VERSION,
    "reference_wide": "argo-proxy %s, pool limit raised" % REF_VERSION,
}
# the raised-pool-limit reference only runs where its default limit of 50 upstream connections matters
ONLY_IN = {"reference_wide": ("s100",)}
WIDE_POOL_ENV = {"ARGO_PROXY_MAX_CONNECTIONS": "2000", "ARGO_PROXY_MAX_CONNECTIONS_PER_HOST": "2000"}

# The reference makes two HTTPS calls to PyPI (version check, 5 s timeout each) on every start.
# The benchmark stays on loopback, so they are stubbed out; its start-up figure is a lower bound.
REF_LAUNCHER = r"""
import sys
import argoproxy.cli as cli
async def _no_pypi():
    return None
cli.get_latest_pypi_version = _no_pypi
sys.argv = ["argo-proxy"] + sys.argv[1:]
sys.exit(cli.main())
"""

# ---------------------------------------------------------------- process bookkeeping

_PROCS = []
_LOG = None


def log(msg):
    line = "[%s] %s" % (time.strftime("%H:%M:%S"), msg)
    print(line, flush=True)
    if _LOG:
        _LOG.write(line + "\n")
        _LOG.flush()


def spawn(cmd, logfile, env=None, stdin=subprocess.DEVNULL):
    out = open(logfile, "ab")
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True, cwd=WORK)
    out.close()
    _PROCS.append(proc)
    return proc


def descendants(pid):
    """Pids of every process below pid (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
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


def _on_signal(signum, frame):
    raise KeyboardInterrupt


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ARGO_", "USE_NATIVE", "REAL_STREAM", "TOOL_PROMPT", "USERNAME_PASS"))
           and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "config_path", "port", "verbose")}
    env["HOME"] = os.path.join(WORK, "home")
    env.update(extra)
    return env


# ---------------------------------------------------------------- CPU pinning

class Pinning:
    """Proxy under test alone on the last CPU; fake upstream and load generators on the others."""

    def __init__(self, enabled):
        cpus = sorted(os.sched_getaffinity(0))
        self.enabled = bool(enabled and len(cpus) >= 2 and shutil.which("taskset"))
        self.all = ",".join(map(str, cpus))
        self.subject = str(cpus[-1])
        self.tools = ",".join(map(str, cpus[:-1]))

    def prefix(self, role):
        if not self.enabled:
            return []
        return ["taskset", "-c", self.subject if role == "subject" else self.tools]

    def describe(self):
        if not self.enabled:
            return "none (the scheduler places every process)"
        return ("proxy under test on CPU %s; fake upstream, load generator and stream client on CPU %s"
                % (self.subject, self.tools))

    @staticmethod
    def set_all_threads(pid, cpus):
        subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)


# ---------------------------------------------------------------- HTTP helpers

def http_get(port, path, timeout=2.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def http_post(port, path, body, timeout=10.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("POST", path, body=body.encode(),
                     headers={"Content-Type": "application/json", "Authorization": "Bearer bench"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_health(port, proc, timeout, path="/health"):
    """Seconds until GET path answers 200 (polled every 2 ms), or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            return None
        try:
            status, _ = http_get(port, path, timeout=1.0)
            if status == 200:
                return time.monotonic() - t0
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.002)
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


def fake_stats(fake_port):
    try:
        return json.loads(http_get(fake_port, "/_bench/stats")[1])
    except Exception:
        return {}


# ---------------------------------------------------------------- memory

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


# ---------------------------------------------------------------- subjects

class Subject:
    def __init__(self, name, port, proc=None):
        self.name, self.port, self.proc = name, port, proc
        self.note = None


OURS_VENV = os.path.join(WORK, "oursvenv")


def ours_python():
    """A plain venv (no packages) of the same Python: ours runs under the same conditions as the
    reference, which runs from a venv. A venv skips the machine's site-packages, whose .pth files
    (here one imports certifi at every interpreter start) would otherwise load in ours only."""
    py = os.path.join(OURS_VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--clear", OURS_VENV], check=True,
                       timeout=120, capture_output=True)
    return py


def ours_cmd(config_path, port, native):
    cmd = [ours_python(), PYZ, config_path, "--user", "bench", "--port", str(port), "--quiet"]
    if native:
        cmd.append("--native-openai")
    return cmd


def write_ours_config(fake_port, name):
    path = os.path.join(WORK, "%s.yaml" % name)
    with open(path, "w") as f:
        f.write("argo_base_url: http://%s:%d\nmodel_refresh_interval_hours: 0\n" % (HOST, fake_port))
    return path


def write_ref_config(fake_port, port, name="reference"):
    base = "http://%s:%d" % (HOST, fake_port)
    path = os.path.join(WORK, "%s.yaml" % name)
    with open(path, "w") as f:
        f.write("\n".join([
            "host: %s" % HOST, "port: %d" % port, "user: bench", "verbose: false",
            "use_native_openai: true",
            "native_openai_base_url: %s/v1/" % base,
            "argo_url: %s/api/v1/resource/chat/" % base,
            "argo_stream_url: %s/api/v1/resource/streamchat/" % base,
            "argo_embedding_url: %s/api/v1/resource/embed/" % base,
            "_argo_model_url: %s/api/v1/models/" % base, ""]))
    return path


def ref_python():
    return os.path.join(REF_VENV, "bin", "python")


def ensure_reference():
    """(True, note) when argo-proxy==2.8.0 is importable from the throwaway venv."""
    py = ref_python()
    check = [py, "-c", "import importlib.metadata as m; print(m.version('argo-proxy'))"]
    try:
        if os.path.exists(py) and subprocess.run(check, capture_output=True, text=True,
                                                 timeout=60).stdout.strip() == REF_VERSION:
            return True, "installed from PyPI into bench/.work/refvenv"
    except (OSError, subprocess.SubprocessError):
        pass
    log("installing argo-proxy==%s into %s" % (REF_VERSION, REF_VENV))
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", REF_VENV], check=True, timeout=300,
                       capture_output=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "argo-proxy==%s" % REF_VERSION], check=True,
                       timeout=900, capture_output=True)
        out = subprocess.run(check, capture_output=True, text=True, timeout=60).stdout.strip()
        if out == REF_VERSION:
            return True, "installed from PyPI into bench/.work/refvenv"
        return False, "argo-proxy==%s installed but reports version %r" % (REF_VERSION, out)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        return False, "could not install argo-proxy==%s from PyPI: %s %s" % (REF_VERSION, exc, detail[-300:])


def start_ours(fake_port, native, pin, tag):
    port = free_port()
    cfg = write_ours_config(fake_port, tag)
    proc = spawn(pin.prefix("subject") + ours_cmd(cfg, port, native),
                 os.path.join(WORK, "logs", "%s.log" % tag), env=clean_env())
    return Subject(tag, port, proc)


def start_reference(fake_port, pin, tag="reference", extra_env=None):
    port = free_port()
    cfg = write_ref_config(fake_port, port, tag)
    proc = spawn(pin.prefix("subject") + [ref_python(), "-c", REF_LAUNCHER, cfg],
                 os.path.join(WORK, "logs", "%s.log" % tag), env=clean_env(**(extra_env or {})))
    return Subject(tag, port, proc)


# ---------------------------------------------------------------- load generators

WRK_LUA = r"""
wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON {"requests":%%d,"duration_us":%%d,"bytes":%%d,"err_connect":%%d,"err_read":%%d,"err_write":%%d,"err_status":%%d,"err_timeout":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d,"mean_us":%%.2f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


class LoadGen:
    def __init__(self, pin, allow_install=True):
        self.pin = pin
        self.wrk = shutil.which("wrk")
        self.note = ""
        if not self.wrk and allow_install:
            self.wrk = self._install_wrk()
        if self.wrk:
            ver = subprocess.run([self.wrk, "--version"], capture_output=True, text=True).stdout
            self.name = (ver.strip().splitlines() or ["wrk"])[0]
            self.lua = self.script(CHAT_BODY)
        else:
            self.name = "bench/loadgen.py http (Python threads + http.client keep-alive; wrk unavailable)"

    def script(self, body):
        """A wrk Lua script that POSTs `body` (one file per distinct body)."""
        path = os.path.join(WORK, "chat-%d.lua" % (abs(hash(body)) % 10**8))
        with open(path, "w") as f:
            f.write(WRK_LUA % body)
        return path

    def _install_wrk(self):
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            self.note = "wrk missing and not installable here (needs root + apt-get)"
            return None
        log("wrk missing: installing it with apt-get")
        for cmd in (["apt-get", "install", "-y", "-q", "wrk"], ["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "wrk"]):
            try:
                subprocess.run(cmd, capture_output=True, timeout=300, check=False,
                               env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
            except (OSError, subprocess.SubprocessError):
                pass
            if shutil.which("wrk"):
                return shutil.which("wrk")
        self.note = "apt-get install wrk failed; fell back to the Python load generator"
        return None

    def run(self, port, connections, duration, body=CHAT_BODY):
        if self.wrk:
            lua = self.lua if body == CHAT_BODY else self.script(body)
            cmd = self.pin.prefix("tools") + [self.wrk, "-t1", "-c%d" % connections, "-d%ds" % duration,
                                              "--timeout", "10s", "-s", lua,
                                              "http://%s:%d%s" % (HOST, port, CHAT_PATH)]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
            line = next((l for l in out.splitlines() if l.startswith("BENCHJSON ")), None)
            if line is None:
                return {"error": "wrk printed no result: %s" % out[-300:]}
            raw = json.loads(line[len("BENCHJSON "):])
            errors = sum(raw[k] for k in raw if k.startswith("err_"))
            return {"rps": raw["requests"] / (raw["duration_us"] / 1e6), "requests": raw["requests"],
                    "errors": errors, "p50_ms": raw["p50_us"] / 1000, "p90_ms": raw["p90_us"] / 1000,
                    "p99_ms": raw["p99_us"] / 1000, "max_ms": raw["max_us"] / 1000,
                    "mean_ms": raw["mean_us"] / 1000}
        cmd = self.pin.prefix("tools") + [sys.executable, os.path.join(BENCH, "loadgen.py"), "http",
                                          "--port", str(port), "--connections", str(connections),
                                          "--duration", str(duration), "--body", body]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
        return json.loads(out.strip().splitlines()[-1])


def run_streams(pin, port, streams, events, timeout, interval_ms=None):
    cmd = pin.prefix("tools") + [sys.executable, os.path.join(BENCH, "loadgen.py"), "stream",
                                 "--port", str(port), "--streams", str(streams), "--events", str(events),
                                 "--timeout", str(timeout)]
    if interval_ms is not None:
        cmd += ["--interval-ms", str(interval_ms)]
    drops = listen_drops()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 60)
    try:
        res = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": "stream client failed: %s" % proc.stderr[-500:]}
    after = listen_drops()
    if drops is not None and after is not None:
        res["listen_drops"] = after - drops
    return res


# ---------------------------------------------------------------- the run

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


def machine_description(loadgen, pin):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GiB" % (int(f.readline().split()[1]) / 1024 / 1024)
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": cpu, "cpus": os.cpu_count(), "memory": mem, "kernel": platform.release(),
            "os": platform.platform(), "python": platform.python_version(),
            "python_executable": sys.executable, "load_generator": loadgen.name,
            "load_generator_note": loadgen.note, "stream_client": "bench/loadgen.py stream "
            "(Python, one thread, non-blocking sockets + epoll)", "pinning": pin.describe()}


def median_of(results, key):
    vals = [r[key] for r in results if isinstance(r, dict) and r.get(key) is not None]
    return statistics.median(vals) if vals else None


def scenario_list(opts):
    return [("c1", "http", 1), ("c16", "http", 16), ("c64", "http", 64),
            ("s1", "stream", 1), ("s100", "stream", 100)]


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


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
        pids = set()
        for proc in _PROCS:
            if proc.poll() is None:
                pids.add(proc.pid)
                pids.update(descendants(proc.pid))
        total = sum(cpu_seconds(pid) or 0.0 for pid in pids)
        t = os.times()
        return total + t.children_user + t.children_system + t.user + t.system, pids

    def __enter__(self):
        self.t0 = time.monotonic()
        self.busy0 = self._busy()
        self.own0, self.pids0 = self._own()
        return self

    def __exit__(self, *exc):
        busy = self._busy() - self.busy0
        own, _ = self._own()
        own_delta = own - self.own0
        wall = max(1e-6, time.monotonic() - self.t0)
        self.seconds = max(0.0, busy - own_delta)
        self.share = self.seconds / wall   # in cores
        return False


def run_scenario(kind, arg, subject, opts, loadgen, pin, fake_port):
    return guarded(opts, lambda: _run_scenario_once(kind, arg, subject, opts, loadgen, pin, fake_port))


def guarded(opts, measure):
    """Run measure(); repeat it (up to twice) when other work used the CPUs meanwhile."""
    res = None
    for attempt in range(3):
        with ForeignCpu() as foreign:
            res = measure()
        res["foreign_cpu_cores"] = round(foreign.share, 3)
        res["attempt"] = attempt + 1
        if foreign.share <= opts.foreign_limit:
            break
        log("  other work used %.2f cores during that run: measuring it again" % foreign.share)
        wait_until_quiet(patience=60.0)
    return res


def _run_scenario_once(kind, arg, subject, opts, loadgen, pin, fake_port):
    before = fake_stats(fake_port)
    cpu0 = cpu_seconds(subject.proc.pid) if subject.proc is not None else None
    if kind == "http":
        res = loadgen.run(subject.port, arg, opts.duration)
    else:
        res = run_streams(pin, subject.port, arg, opts.events, opts.stream_timeout)
    cpu1 = cpu_seconds(subject.proc.pid) if subject.proc is not None else None
    if cpu0 is not None and cpu1 is not None and "error" not in res:
        res["cpu_s"] = cpu1 - cpu0
        done = res.get("requests") if kind == "http" else res.get("events")
        if done:
            res["cpu_us_per_item"] = res["cpu_s"] / done * 1e6
    after = fake_stats(fake_port)
    if before and after:
        res["upstream_connections_opened"] = after["connections"] - before["connections"] - 1
        res["upstream_peak_streams"] = after.get("peak_streams")
    return res


def measure_tools(opts, pin, loadgen, fake_port, direct_c1_p50):
    """One injected tool round (fake model calls `add` on the repo's fake MCP server over stdio)
    vs the same proxy answering without a tool call; concurrency 1, interleaved rounds."""
    if not os.path.exists(FAKE_MCP):
        return {"note": "not measured: tests/fakes/fake_mcp.py is missing"}
    cfg = os.path.join(WORK, "ours_tools.yaml")
    with open(cfg, "w") as f:
        f.write("argo_base_url: http://%s:%d\nmodel_refresh_interval_hours: 0\nmcp_servers:\n"
                "  bench:\n    command: %s\n    args: [%s, \"--stdio\"]\n"
                % (HOST, fake_port, json.dumps(sys.executable), json.dumps(FAKE_MCP)))
    port = free_port()
    proc = spawn(pin.prefix("subject") + ours_cmd(cfg, port, True),
                 os.path.join(WORK, "logs", "ours_tools.log"), env=clean_env())
    try:
        if wait_health(port, proc, 30.0) is None:
            return {"note": "not measured: ours with mcp_servers did not start (bench/.work/logs/ours_tools.log)"}
        try:
            status, body = http_get(port, "/v1/tools", timeout=30.0)
        except (OSError, http.client.HTTPException) as exc:
            status, body = None, str(exc).encode()
        if status != 200 or b'"add"' not in body:
            return {"note": "not measured: GET /v1/tools answered %s without the fake MCP tool `add`" % status}
        for _ in range(20):
            http_post(port, CHAT_PATH, TOOL_BODY)
        before = fake_stats(fake_port)
        status, answer = http_post(port, CHAT_PATH, TOOL_BODY)
        after = fake_stats(fake_port)
        model_calls = after.get("requests", 0) - before.get("requests", 0) - 1
        if status != 200 or model_calls != 2:
            return {"note": "not measured: a tool request answered HTTP %s after %d model calls (expected 200 "
                            "after 2): %r" % (status, model_calls, answer[:200])}
        loadgen.run(port, 1, 1, CHAT_BODY)
        loadgen.run(port, 1, 1, TOOL_BODY)
        raw = {"plain": [], "tool_round": []}
        for rnd in range(opts.rounds):
            for kind in (("plain", "tool_round") if rnd % 2 == 0 else ("tool_round", "plain")):
                res = guarded(opts, lambda k=kind: loadgen.run(port, 1, opts.duration,
                                                               CHAT_BODY if k == "plain" else TOOL_BODY))
                raw[kind].append(res)
                log("tools round %d %-10s %s" % (rnd + 1, kind, brief("http", res)))
        out = {"raw": raw, "model_calls_per_tool_request": model_calls}
        for kind, runs in raw.items():
            out[kind] = {"p50_ms": median_of(runs, "p50_ms"), "p99_ms": median_of(runs, "p99_ms"),
                         "rps": median_of(runs, "rps"), "errors": sum(r.get("errors", 0) for r in runs)}
        if out["plain"]["p50_ms"] is not None and out["tool_round"]["p50_ms"] is not None:
            extra = out["tool_round"]["p50_ms"] - out["plain"]["p50_ms"]
            out["round_p50_ms"] = extra
            out["direct_model_call_p50_ms"] = direct_c1_p50
            out["overhead_p50_ms"] = extra - (direct_c1_p50 or 0.0)
        return out
    finally:
        stop(proc)


def measure_startup(opts, pin, fake_port, have_ref):
    """Process start to first 200 from GET /health, alternating subjects; fresh process each time."""
    out = {"ours_native": [], "reference": []}
    for i in range(opts.startup_runs):
        order = ["ours_native", "reference"] if i % 2 == 0 else ["reference", "ours_native"]
        for name in order:
            if name == "reference" and not have_ref:
                continue
            t0 = time.monotonic()
            if name == "ours_native":
                subj = start_ours(fake_port, True, pin, "startup-ours")
            else:
                subj = start_reference(fake_port, pin, "startup-reference")
            healthy = wait_health(subj.port, subj.proc, 30.0)
            took = None if healthy is None else time.monotonic() - t0   # from just before spawn
            stop(subj.proc)
            out[name].append(took)
            time.sleep(0.2)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="argo-proxy benchmark (loopback only)")
    ap.add_argument("--quick", action="store_true", help="~2-minute smoke run")
    ap.add_argument("--no-reference", action="store_true", help="skip argo-proxy %s" % REF_VERSION)
    ap.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    ap.add_argument("--rounds", type=int, help="interleaved rounds per scenario (3; quick 1)")
    ap.add_argument("--duration", type=int, help="seconds per wrk run (5; quick 2)")
    ap.add_argument("--events", type=int, help="events per stream (200; quick 50)")
    ap.add_argument("--interval-ms", type=float, default=20.0, help="upstream time between events (20)")
    ap.add_argument("--hold", type=int, default=500, help="concurrent streams held for the RSS figure (500)")
    ap.add_argument("--hold-seconds", type=float, help="length of each held stream (6; quick 3)")
    ap.add_argument("--foreign-limit", type=float, default=0.15,
                    help="re-measure a run when other processes used more than this many cores (0.15)")
    ap.add_argument("--out", default=BENCH, help="where RESULTS.md and results.json go (bench/)")
    opts = ap.parse_args(argv)
    opts.rounds = opts.rounds or (1 if opts.quick else 3)
    opts.duration = opts.duration or (2 if opts.quick else 5)
    opts.events = opts.events or (50 if opts.quick else 200)
    opts.startup_runs = 3 if opts.quick else 7
    opts.hold_seconds = opts.hold_seconds or (3.0 if opts.quick else 6.0)
    opts.stream_timeout = max(60.0, opts.events * opts.interval_ms / 1000.0 * 20)
    opts.hold_timeout = max(120.0, opts.hold_seconds * (opts.hold / 50 + 5))
    opts.command = "python3 bench/run.py" + ("".join(" " + a for a in (argv if argv is not None else sys.argv[1:])))

    os.makedirs(os.path.join(WORK, "logs"), exist_ok=True)
    os.makedirs(os.path.join(WORK, "home"), exist_ok=True)
    global _LOG
    _LOG = open(os.path.join(WORK, "logs", "run.log"), "w")
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        results = run(opts)
    except KeyboardInterrupt:
        log("interrupted: stopping every process started")
        stop_all()
        return 130
    finally:
        stop_all()
    write_outputs(results, opts)
    log("wrote %s and %s" % (os.path.join(opts.out, "RESULTS.md"), os.path.join(opts.out, "results.json")))
    return 0


def run(opts):
    t_start = time.monotonic()
    pin = Pinning(not opts.no_pin)
    log("building %s" % PYZ)
    subprocess.run([sys.executable, os.path.join(REPO, "build_zipapp.py")], cwd=REPO, check=True,
                   capture_output=True, timeout=120)
    loadgen = LoadGen(pin)
    log("load generator: %s %s" % (loadgen.name, loadgen.note))
    have_ref, ref_note = (False, "skipped (--no-reference)") if opts.no_reference else ensure_reference()
    log("reference: %s" % ref_note)

    busy = wait_until_quiet()
    results = {"started": datetime.datetime.now().isoformat(timespec="seconds"),
               "command": opts.command, "machine": machine_description(loadgen, pin),
               "settings": {"quick": opts.quick, "rounds": opts.rounds, "wrk_duration_s": opts.duration,
                            "events_per_stream": opts.events, "event_interval_ms": opts.interval_ms,
                            "hold_streams": opts.hold, "hold_stream_seconds": opts.hold_seconds,
                            "startup_runs": opts.startup_runs, "foreign_limit": opts.foreign_limit,
                            "request_body": CHAT_BODY},
               "notes": {"reference": ref_note},
               "background_cpu_busy_before": round(busy, 3), "loadavg_before": os.getloadavg(), "subjects": {}, "scenarios": {}, "rss_kb": {},
               "startup_s": {}, "hold": {}, "unpinned_c16": {}, "tool_injection": {}}

    fake_port = free_port()
    fake = spawn(pin.prefix("tools") + [sys.executable, os.path.join(BENCH, "fake_upstream.py"),
                                        "--port", str(fake_port), "--events", str(opts.events),
                                        "--interval-ms", str(opts.interval_ms)],
                 os.path.join(WORK, "logs", "fake.log"), env=clean_env())
    if wait_health(fake_port, fake, 10.0) is None:
        raise SystemExit("the fake upstream did not start; see bench/.work/logs/fake.log")
    log("fake upstream on port %d" % fake_port)

    # start-up first, on a quiet machine
    log("start-up: %d fresh starts per subject" % opts.startup_runs)
    startup = measure_startup(opts, pin, fake_port, have_ref)
    for name, vals in startup.items():
        ok = [v for v in vals if v is not None]
        results["startup_s"][name] = {"runs": vals, "median": statistics.median(ok) if ok else None,
                                      "min": min(ok) if ok else None, "failed": len(vals) - len(ok)}
        log("start-up %-12s %s" % (name, " ".join("-" if v is None else "%.3fs" % v for v in vals)))

    subjects = {"direct": Subject("direct", fake_port)}
    subjects["ours_native"] = start_ours(fake_port, True, pin, "ours_native")
    subjects["ours_standard"] = start_ours(fake_port, False, pin, "ours_standard")
    if have_ref:
        subjects["reference"] = start_reference(fake_port, pin)
        subjects["reference_wide"] = start_reference(fake_port, pin, "reference_wide", WIDE_POOL_ENV)
    for name, subj in list(subjects.items()):
        if subj.proc is None:
            continue
        if wait_health(subj.port, subj.proc, 30.0) is None:
            log("%s did not become healthy; see bench/.work/logs/%s.log" % (name, name))
            stop(subj.proc)
            del subjects[name]
            results["notes"][name] = "did not start (see bench/.work/logs/%s.log)" % name
    time.sleep(1.5)  # let background model-list fetches finish
    for name, subj in subjects.items():
        if subj.proc is not None:
            results["rss_kb"].setdefault(name, {})["idle"] = rss_kb(subj.proc.pid)

    # standard mode only when its chat route exists
    if "ours_standard" in subjects:
        try:
            status, body = http_post(subjects["ours_standard"].port, CHAT_PATH, CHAT_BODY)
        except (OSError, http.client.HTTPException) as exc:
            status, body = None, str(exc).encode()
        if status != 200:
            why = ("not available yet (POST /v1/chat/completions answers 404)" if status == 404 else
                   "not working (POST /v1/chat/completions answered %s: %s)" % (status, body[:200]))
            results["notes"]["ours_standard"] = why
            log("ours, standard mode: %s" % why)
            stop(subjects.pop("ours_standard").proc)
            results["rss_kb"].pop("ours_standard", None)
    results["subjects"] = {n: {"title": SUBJECT_TITLES[n], "port": s.port} for n, s in subjects.items()}
    names = list(subjects)

    # warm-up: same for everyone
    for name in names:
        loadgen.run(subjects[name].port, 16, 1)
        run_streams(pin, subjects[name].port, 4, min(20, opts.events), 60)

    # interleaved rounds: each scenario runs every subject, in a rotating order
    runs_in = lambda key, n: key in ONLY_IN.get(n, (key,))  # noqa: E731
    raw = {sc[0]: {n: [] for n in names if runs_in(sc[0], n)} for sc in scenario_list(opts)}
    for rnd in range(opts.rounds):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        for key, kind, arg in scenario_list(opts):
            for name in order:
                if not runs_in(key, name):
                    continue
                res = run_scenario(kind, arg, subjects[name], opts, loadgen, pin, fake_port)
                raw[key][name].append(res)
                log("round %d %-4s %-14s %s" % (rnd + 1, key, name, brief(kind, res)))
    results["scenarios"] = summarise(raw)
    results["raw"] = raw

    # tool injection: one injected tool round through ours (native mode + the repo's fake MCP server)
    results["tool_injection"] = measure_tools(opts, pin, loadgen, fake_port,
                                              get(results, "scenarios", "c1", "direct", "p50_ms"))
    if results["tool_injection"].get("note"):
        log("tool injection: %s" % results["tool_injection"]["note"])

    # sensitivity: c16 with nobody pinned (what a user who does not pin gets)
    if pin.enabled:
        proxies = [n for n in names if n != "direct"]
        for n in names:
            if subjects[n].proc is not None:
                Pinning.set_all_threads(subjects[n].proc.pid, pin.all)
        Pinning.set_all_threads(fake.pid, pin.all)
        unpinned = Pinning(False)
        ul = LoadGen(unpinned, allow_install=False)
        ul.wrk, ul.name, ul.lua = loadgen.wrk, loadgen.name, getattr(loadgen, "lua", None)
        c16_names = [n for n in names if runs_in("c16", n)]
        for rnd in range(max(1, opts.rounds - 1)):
            for name in (c16_names if rnd % 2 == 0 else list(reversed(c16_names))):
                res = guarded(opts, lambda n=name: ul.run(subjects[n].port, 16, opts.duration))
                results["unpinned_c16"].setdefault(name, []).append(res)
                log("unpinned c16 %-14s %s" % (name, brief("http", res)))
        for n in proxies:
            Pinning.set_all_threads(subjects[n].proc.pid, pin.subject)
        Pinning.set_all_threads(fake.pid, pin.tools)

    time.sleep(1.0)
    for name, subj in subjects.items():
        if subj.proc is not None and name not in ONLY_IN:   # (a partial load is not comparable)
            results["rss_kb"][name]["after_load"] = rss_kb(subj.proc.pid)

    # hold many streams at once: peak RSS while they run, and all must complete
    for name in names:
        subj = subjects[name]
        sampler = RssSampler(subj.proc.pid if subj.proc is not None else fake.pid)
        sampler.start()
        res = run_streams(pin, subj.port, opts.hold, opts.events, opts.hold_timeout,
                          interval_ms=opts.hold_seconds * 1000.0 / opts.events)
        peak = sampler.finish()
        res["peak_rss_kb"] = peak
        if subj.proc is not None:
            results["rss_kb"][name]["holding_%d_streams_peak" % opts.hold] = peak
            time.sleep(1.0)
            results["rss_kb"][name]["after_hold"] = rss_kb(subj.proc.pid)
        results["hold"][name] = res
        log("hold %d streams %-14s completed %s/%s errors %s peak flowing %s peak RSS %.1f MB, "
            "first event p50 %.0f ms, listen drops %s" % (
                opts.hold, name, res.get("completed"), opts.hold, res.get("errors"), res.get("peak_flowing"),
                peak / 1024, get(res, "ttfe", "p50_ms") or -1, res.get("listen_drops")))

    for name, subj in subjects.items():
        if subj.proc is not None and subj.proc.poll() is not None:
            results["notes"][name + "_exit"] = "exited during the run with code %s" % subj.proc.returncode
    results["elapsed_s"] = round(time.monotonic() - t_start, 1)
    results["loadavg_after"] = os.getloadavg()
    return results


def brief(kind, res):
    if "error" in res:
        return "ERROR %s" % res["error"]
    return _brief(kind, res) + ("" if res.get("foreign_cpu_cores") is None else
                                ", other work %.2f cores" % res["foreign_cpu_cores"])


def _brief(kind, res):
    if "error" in res:
        return "ERROR %s" % res["error"]
    if kind == "http":
        return "%.0f req/s p50 %.3f ms p99 %.3f ms errors %d" % (res["rps"], res["p50_ms"], res["p99_ms"],
                                                                   res["errors"])
    return "lag p50 %.3f p99 %.3f ms, first event p50 %.1f ms, %d/%d ok, peak flowing %s, listen drops %s" % (
        res["lag"].get("p50_ms", 0) or 0, res["lag"].get("p99_ms", 0) or 0, res["ttfe"].get("p50_ms", 0) or 0,
        res.get("completed", 0), res.get("streams", 0), res.get("peak_flowing"), res.get("listen_drops"))


def summarise(raw):
    out = {}
    for key, per in raw.items():
        out[key] = {}
        for name, runs in per.items():
            good = [r for r in runs if "error" not in r]
            if key.startswith("c"):
                rps_all = [r["rps"] for r in good if r.get("rps") is not None]
                out[key][name] = {"rps": median_of(good, "rps"), "p50_ms": median_of(good, "p50_ms"),
                                  "rps_min": min(rps_all) if rps_all else None,
                                  "rps_max": max(rps_all) if rps_all else None,
                                  "p99_ms": median_of(good, "p99_ms"),
                                  "cpu_us_per_request": median_of(good, "cpu_us_per_item"),
                                  "upstream_connections_opened": median_of(good, "upstream_connections_opened"),
                                  "errors": sum(r.get("errors", 0) for r in good),
                                  "failed_runs": len(runs) - len(good), "runs": len(runs)}
            else:
                out[key][name] = {
                    "lag_p50_ms": median_of([r["lag"] for r in good], "p50_ms"),
                    "lag_p99_ms": median_of([r["lag"] for r in good], "p99_ms"),
                    "ttfe_p50_ms": median_of([r["ttfe"] for r in good], "p50_ms"),
                    "ttfe_p99_ms": median_of([r["ttfe"] for r in good], "p99_ms"),
                    "completed": sum(r.get("completed", 0) for r in good),
                    "streams": sum(r.get("streams", 0) for r in good),
                    "peak_flowing": max([r.get("peak_flowing", 0) for r in good] or [0]),
                    "listen_drops": sum(r.get("listen_drops", 0) or 0 for r in good),
                    "cpu_us_per_event": median_of(good, "cpu_us_per_item"),
                    "failed_runs": len(runs) - len(good), "runs": len(runs)}
    return out


# ---------------------------------------------------------------- report

def fmt(v, digits=2, unit=""):
    if v is None:
        return "–"
    if isinstance(v, float):
        return ("%." + str(digits) + "f%s") % (v, unit)
    return "%s%s" % (v, unit)


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return "–"
    return ("%." + str(digits) + "f×") % (a / b)


def get(results, *path):
    cur = results
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return cur


def lag_met(ours_added, ref_added):
    """None (inconclusive) when direct's own p99 is not below both gateways': noise, not a figure."""
    if ours_added is None or ref_added is None:
        return None
    if ref_added <= 0:
        return "inconclusive"
    return ours_added <= ref_added / 3


def targets(results):
    sc = results["scenarios"]
    g = lambda *p: get(sc, *p)  # noqa: E731
    rows = []

    def add(name, value_text, goal_text, met):
        rows.append({"target": name, "value": value_text, "goal": goal_text,
                     "met": met if met is None or isinstance(met, str) else bool(met)})

    d1, o1, r1 = g("c1", "direct", "p50_ms"), g("c1", "ours_native", "p50_ms"), g("c1", "reference", "p50_ms")
    added_o = None if None in (d1, o1) else o1 - d1
    added_r = None if None in (d1, r1) else r1 - d1
    add("added latency at concurrency 1 (p50 over direct)", fmt(added_o, 3, " ms"), "≤ 0.5 ms",
        None if added_o is None else added_o <= 0.5)
    add("added latency vs the reference's added latency", "%s vs reference %s" % (
        fmt(added_o, 3, " ms"), fmt(added_r, 3, " ms")), "≤ half the reference's",
        None if None in (added_o, added_r) else added_o <= added_r / 2)
    o16, r16 = g("c16", "ours_native", "rps"), g("c16", "reference", "rps")
    add("throughput at concurrency 16, ours / reference", ratio(o16, r16), "≥ 1.30×",
        None if None in (o16, r16) else o16 >= 1.3 * r16)
    dl, ol, rl = g("s100", "direct", "lag_p99_ms"), g("s100", "ours_native", "lag_p99_ms"), g("s100", "reference", "lag_p99_ms")
    ao = None if None in (dl, ol) else ol - dl
    ar = None if None in (dl, rl) else rl - dl
    add("100 streams: added per-event lag p99 vs the reference's", "%s vs reference %s" % (
        fmt(ao, 3, " ms"), fmt(ar, 3, " ms")), "≤ 1/3 of the reference's", lag_met(ao, ar))
    rw = g("s100", "reference_wide", "lag_p99_ms")
    if rw is not None and ao is not None:
        aw = None if dl is None else rw - dl
        add("(same, against the reference with its upstream pool limit raised, all 100 streams flowing)",
            "%s vs reference %s" % (fmt(ao, 3, " ms"), fmt(aw, 3, " ms")), "≤ 1/3 of the reference's",
            lag_met(ao, aw))
    dt, ot = g("s100", "direct", "ttfe_p50_ms"), g("s100", "ours_native", "ttfe_p50_ms")
    at = None if None in (dt, ot) else ot - dt
    add("100 streams: time to first event over direct (median stream)", fmt(at, 2, " ms"), "≤ 5 ms",
        None if at is None else at <= 5.0)
    su = get(results, "startup_s", "ours_native", "median")
    add("start-up to first healthy /health (median)", fmt(su, 3, " s"), "≤ 0.25 s",
        None if su is None else su <= 0.25)
    ro = get(results, "rss_kb", "ours_native", "after_load")
    rr = get(results, "rss_kb", "reference", "after_load")
    add("RSS after load, ours / reference", "%s vs %s (%s)" % (
        fmt(ro and ro / 1024, 1, " MB"), fmt(rr and rr / 1024, 1, " MB"), ratio(ro, rr, 3)), "≤ 0.50×",
        None if None in (ro, rr) else ro <= rr / 2)
    h = get(results, "hold", "ours_native")
    hold_n = results["settings"]["hold_streams"]
    add("%d concurrent streams complete with no error" % hold_n,
        "%s/%d completed, errors %s" % (h.get("completed") if h else "–", hold_n,
                                         (h or {}).get("errors") or "none"), "all, no error",
        None if not h else (h.get("completed") == hold_n and not h.get("errors")))
    return rows


def write_outputs(results, opts):
    results["targets"] = targets(results)
    os.makedirs(opts.out, exist_ok=True)
    with open(os.path.join(opts.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1, sort_keys=False)
        f.write("\n")
    with open(os.path.join(opts.out, "RESULTS.md"), "w") as f:
        f.write(render_markdown(results))


def render_markdown(res):
    names = list(res["subjects"])
    sc = res["scenarios"]
    m = res["machine"]
    st = res["settings"]
    L = []
    L.append("# Benchmark results")
    L.append("")
    L.append("Produced by `%s` on %s (%s, %.0f s). Raw figures: [results.json](results.json). "
             "How it works: [README.md](README.md)." % (res["command"], res["started"],
                                                       "quick smoke run" if st["quick"] else "full run",
                                                       res.get("elapsed_s", 0)))
    L.append("")
    L.append("## Targets (issue 6)")
    L.append("")
    L.append("| target | measured | goal | met |")
    L.append("|---|---|---|---|")
    for t in res["targets"]:
        met = ("n/a" if t["met"] is None else t["met"] if isinstance(t["met"], str)
               else "**met**" if t["met"] else "**not met**")
        L.append("| %s | %s | %s | %s |" % (t["target"], t["value"], t["goal"], met))
    L.append("")
    L.append("## Figures")
    L.append("")
    L.append("Each figure is the median over %d interleaved round(s); subjects run in a rotating order "
             "within each scenario so drift hits all alike. Non-streaming: `POST /v1/chat/completions` "
             "(model `gpt4o`, %d-byte body, keep-alive connections), %d s per run. Streams: %d events, "
             "%g ms apart, each stamped by the fake upstream; lag = arrival − stamp."
             % (st["rounds"], len(st["request_body"]), st["wrk_duration_s"], st["events_per_stream"],
                st["event_interval_ms"]))
    L.append("")
    has_ref = "reference" in names
    head = "| figure | " + " | ".join(res["subjects"][n]["title"] for n in names) + " | ours/direct |"
    head += " ours/reference |" if has_ref else ""
    L.append(head)
    L.append("|---" * (len(names) + 2 + (1 if has_ref else 0)) + "|")

    def row(label, getter, digits=2, unit="", ratio_digits=2, added=False):
        vals = {n: getter(n) for n in names}
        cells = [fmt(vals[n], digits, unit) for n in names]
        o, d, r = vals.get("ours_native"), vals.get("direct"), vals.get("reference")
        line = "| %s | %s | %s |" % (label, " | ".join(cells), ratio(o, d, ratio_digits))
        if has_ref:
            line += " %s |" % ratio(o, r, ratio_digits)
        L.append(line)

    for key, label in (("c1", "concurrency 1"), ("c16", "concurrency 16"), ("c64", "concurrency 64")):
        row("%s: latency p50" % label, lambda n, k=key: get(sc, k, n, "p50_ms"), 3, " ms")
        row("%s: latency p99" % label, lambda n, k=key: get(sc, k, n, "p99_ms"), 3, " ms")
        row("%s: throughput" % label, lambda n, k=key: get(sc, k, n, "rps"), 0, " req/s")
        spread = lambda n, k=key: (None if get(sc, k, n, "rps_min") is None else  # noqa: E731
                                   "%.0f–%.0f" % (get(sc, k, n, "rps_min"), get(sc, k, n, "rps_max")))
        L.append("| %s: throughput, lowest–highest round | %s |%s" % (
            label, " | ".join(spread(n) or "–" for n in names), "  |  |" if has_ref else "  |"))
        row("%s: gateway CPU per request" % label, lambda n, k=key: get(sc, k, n, "cpu_us_per_request"), 0, " µs")
        row("%s: upstream connections opened per run" % label,
            lambda n, k=key: None if n == "direct" else get(sc, k, n, "upstream_connections_opened"), 0)
    for key, label in (("s1", "1 stream"), ("s100", "100 streams")):
        row("%s: relay lag p50" % label, lambda n, k=key: get(sc, k, n, "lag_p50_ms"), 3, " ms")
        row("%s: relay lag p99" % label, lambda n, k=key: get(sc, k, n, "lag_p99_ms"), 3, " ms")
        row("%s: first event p50" % label, lambda n, k=key: get(sc, k, n, "ttfe_p50_ms"), 2, " ms")
        row("%s: first event p99" % label, lambda n, k=key: get(sc, k, n, "ttfe_p99_ms"), 2, " ms")
        row("%s: peak streams flowing at once" % label, lambda n, k=key: get(sc, k, n, "peak_flowing"), 0)
        row("%s: SYNs dropped by a full accept queue" % label, lambda n, k=key: get(sc, k, n, "listen_drops"), 0)
        row("%s: gateway CPU per event" % label, lambda n, k=key: get(sc, k, n, "cpu_us_per_event"), 0, " µs")
    row("start-up to healthy (median)", lambda n: get(res, "startup_s", n, "median"), 3, " s")
    mb = lambda v: None if v is None else v / 1024.0  # noqa: E731
    row("RSS idle", lambda n: mb(get(res, "rss_kb", n, "idle")), 1, " MB")
    row("RSS after load", lambda n: mb(get(res, "rss_kb", n, "after_load")), 1, " MB")
    hk = "holding_%d_streams_peak" % st["hold_streams"]
    row("RSS peak holding %d streams" % st["hold_streams"], lambda n: mb(get(res, "rss_kb", n, hk)), 1, " MB")
    row("%d streams completed" % st["hold_streams"], lambda n: get(res, "hold", n, "completed"), 0)
    row("%d streams: peak flowing at once" % st["hold_streams"], lambda n: get(res, "hold", n, "peak_flowing"), 0)
    row("%d streams: first event p50" % st["hold_streams"], lambda n: get(res, "hold", n, "ttfe", "p50_ms"), 0, " ms")
    row("%d streams: first event p99" % st["hold_streams"], lambda n: get(res, "hold", n, "ttfe", "p99_ms"), 0, " ms")
    row("%d streams: SYNs dropped by a full accept queue" % st["hold_streams"],
        lambda n: get(res, "hold", n, "listen_drops"), 0)
    L.append("")
    L.append("Direct has no process of its own to measure for start-up and RSS (the fake upstream is not "
             "a gateway). Errors in any run: %s." % (", ".join(
                 "%s %s %d" % (k, n, v["errors"]) for k in ("c1", "c16", "c64") for n, v in sc.get(k, {}).items()
                 if v.get("errors")) or "none"))
    if res.get("unpinned_c16"):
        L.append("")
        L.append("### Sensitivity: concurrency 16 without CPU pinning")
        L.append("")
        L.append("Same load, every process free to run on any CPU (what a user who does not pin gets):")
        L.append("")
        L.append("| subject | throughput | p99 |")
        L.append("|---|---|---|")
        for n, runs in res["unpinned_c16"].items():
            L.append("| %s | %s | %s |" % (res["subjects"][n]["title"], fmt(median_of(runs, "rps"), 0, " req/s"),
                                          fmt(median_of(runs, "p99_ms"), 3, " ms")))
    ti = res.get("tool_injection") or {}
    L.append("")
    L.append("### Tool injection: one injected tool round")
    L.append("")
    if ti.get("note"):
        L.append(ti["note"])
    else:
        L.append("Ours in native mode with `mcp_servers` = the repo's fake MCP server (tests/fakes/fake_mcp.py, "
                 "stdio). The fake model calls the injected tool `add` once, then answers (%d model calls per "
                 "request, checked). Concurrency 1, %d interleaved round(s), medians. The overhead subtracts "
                 "the extra model call as measured direct (%s)." % (
                     ti.get("model_calls_per_tool_request", 0), st["rounds"],
                     fmt(ti.get("direct_model_call_p50_ms"), 3, " ms")))
        L.append("")
        L.append("| request | latency p50 | latency p99 |")
        L.append("|---|---|---|")
        L.append("| ours native, no tools configured (from the table above) | %s | %s |" % (
            fmt(get(sc, "c1", "ours_native", "p50_ms"), 3, " ms"), fmt(get(sc, "c1", "ours_native", "p99_ms"), 3, " ms")))
        L.append("| ours + MCP tools injected, model answers without a call | %s | %s |" % (
            fmt(get(ti, "plain", "p50_ms"), 3, " ms"), fmt(get(ti, "plain", "p99_ms"), 3, " ms")))
        L.append("| ours + MCP tools, one tool round (2 model calls + 1 MCP call) | %s | %s |" % (
            fmt(get(ti, "tool_round", "p50_ms"), 3, " ms"), fmt(get(ti, "tool_round", "p99_ms"), 3, " ms")))
        L.append("")
        L.append("Overhead of one injected tool round, excluding the fake model's time: **%s** (p50)." %
                 fmt(ti.get("overhead_p50_ms"), 3, " ms"))
    L.append("")
    L.append("## Subjects and notes")
    L.append("")
    for n in names:
        L.append("- **%s**: %s" % (res["subjects"][n]["title"], {
            "direct": "the load generator talks to the fake upstream itself: the physical limit.",
            "ours_native": "`python3 argo-proxy.pyz CONFIG --user bench --port P --native-openai --quiet`, "
                           "CONFIG = `argo_base_url` + `model_refresh_interval_hours: 0`; python3 is a plain "
                           "venv of the same interpreter, like the reference's (a venv skips the machine's "
                           "site-packages .pth files: this machine's imports certifi at every start).",
            "ours_standard": "same without `--native-openai` (legacy chat / streamchat upstream).",
            "reference": "argo-proxy %s from PyPI in a throwaway venv, `use_native_openai: true`, "
                         "`verbose: false`, defaults otherwise (so its upstream pool allows 50 connections "
                         "per host: beyond 50 concurrent streams the rest wait, which shows in its "
                         "first-event times and 'peak flowing'). Its two PyPI version checks at start-up "
                         "are stubbed out to stay on loopback, so its start-up figure is a lower bound. A stream "
                         "that waits longer than its 10 s connect timeout for a pool slot fails with HTTP 503 "
                         "'Connection timeout to host' (seen in the %d-stream test)." % (REF_VERSION, st["hold_streams"]),
            "reference_wide": "the same reference started with ARGO_PROXY_MAX_CONNECTIONS=2000 and "
                              "ARGO_PROXY_MAX_CONNECTIONS_PER_HOST=2000, so that all streams flow at once; "
                              "run only in the 100-stream and %d-stream tests (a fairer streaming comparison: "
                              "by default the reference relays 50 streams at a time, half the event rate)."
                              % st["hold_streams"],
        }[n]))
    for key, note in res["notes"].items():
        if key == "reference" and has_ref:
            continue
        L.append("- %s: %s" % (key.replace("_", " "), note))
    L.append("")
    L.append("## Machine and method")
    L.append("")
    for k in ("cpu", "cpus", "memory", "kernel", "os", "python", "load_generator", "load_generator_note",
              "stream_client", "pinning"):
        if m.get(k):
            L.append("- %s: %s" % (k.replace("_", " "), m[k]))
    L.append("- fake upstream: bench/fake_upstream.py (asyncio, one thread, TCP_NODELAY, HTTP/1.1 keep-alive)")
    kept = [r for per in (res.get("raw") or {}).values() for runs in per.values() for r in runs
            if isinstance(r, dict) and r.get("foreign_cpu_cores") is not None]
    if kept:
        L.append("- interference: a run during which processes outside the benchmark used more than %.2f cores "
                 "is measured again (at most twice); %d of %d scenario runs were repeated; the highest "
                 "outside CPU in a kept run was %.2f cores" % (
                     st.get("foreign_limit", 0), sum(1 for r in kept if r.get("attempt", 1) > 1), len(kept),
                     max(r["foreign_cpu_cores"] for r in kept)))
    L.append("- other work on the machine before the run: %.0f%% CPU busy; load average before %s, after %s "
             "(the run itself raises it)" % (100 * (res.get("background_cpu_busy_before") or 0),
                                             "/".join("%.2f" % x for x in res.get("loadavg_before") or ()),
                                             "/".join("%.2f" % x for x in res.get("loadavg_after") or ())))
    L.append("- settings: %s" % json.dumps({k: v for k, v in st.items() if k != "request_body"}))
    L.append("")
    return "\n".join(L)


if __name__ == "__main__":
    sys.exit(main())
