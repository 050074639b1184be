"""The load generators, as the scenarios call them: wrk for request/response load, loadgen.py for
streams (N at once, or clients streaming one request after another)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from common import BENCH, CHAT_PATH, HOST, WORK, log
from procs import listen_drops

LOADGEN = os.path.join(BENCH, "loadgen.py")

WRK_LUA = r"""
local f = assert(io.open([[%s]], "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON {"requests":%%d,"duration_us":%%d,"bytes":%%d,"err_connect":%%d,"err_read":%%d,"err_write":%%d,"err_status":%%d,"err_timeout":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d,"mean_us":%%.2f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def install_wrk():
    """wrk's path after `apt-get install wrk` (root only), or (None, why not)."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, "wrk missing and not installable here (needs root + apt-get)"
    log("wrk missing: installing it with apt-get")
    for cmd in (["apt-get", "install", "-y", "-q", "wrk"], ["apt-get", "update", "-q"],
                ["apt-get", "install", "-y", "-q", "wrk"]):
        try:
            subprocess.run(cmd, capture_output=True, timeout=300, check=False,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        except (OSError, subprocess.SubprocessError):
            pass
        if shutil.which("wrk"):
            return shutil.which("wrk"), ""
    return None, "apt-get install wrk failed; fell back to the Python load generator"


class Drivers:
    """Runs the load generators against a port, pinned (on the tool CPUs) or not."""

    def __init__(self, pinning, body_paths):
        self.pinning, self.bodies = pinning, body_paths
        self.wrk, self.note = shutil.which("wrk"), ""
        if not self.wrk:
            self.wrk, self.note = install_wrk()
        if self.wrk:
            ver = subprocess.run([self.wrk, "--version"], capture_output=True, text=True).stdout
            self.name = (ver.strip().splitlines() or ["wrk"])[0]
        else:
            self.name = "bench/loadgen.py http (Python threads + http.client keep-alive; wrk unavailable)"
        self.scripts = {}

    def _script(self, body):
        """A wrk Lua script that POSTs the body file `body` (one script per body)."""
        if body not in self.scripts:
            path = os.path.join(WORK, "wrk-%s.lua" % body)
            with open(path, "w") as f:
                f.write(WRK_LUA % self.bodies[body])
            self.scripts[body] = path
        return self.scripts[body]

    def http(self, port, connections, duration, body="small", pinned=False):
        """Request/response load: throughput (successful answers only) and latency percentiles."""
        prefix = self.pinning.prefix(pinned)
        if not self.wrk:
            return self._loadgen(prefix, ["http", "--port", str(port), "--connections", str(connections),
                                          "--duration", str(duration), "--body-file", self.bodies[body]],
                                 duration + 60)
        cmd = prefix + [self.wrk, "-t1", "-c%d" % connections, "-d%ds" % duration, "--timeout", "10s",
                        "-s", self._script(body), "http://%s:%d%s" % (HOST, port, CHAT_PATH)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
        line = next((l for l in out.splitlines() if l.startswith("BENCHJSON ")), None)
        if line is None:
            return {"error": "wrk printed no result: %s" % out[-300:]}
        raw = json.loads(line[len("BENCHJSON "):])
        ok = raw["requests"] - raw["err_status"]     # wrk counts non-2xx/3xx answers as requests too
        return {"rps": ok / (raw["duration_us"] / 1e6), "requests": ok, "responses": raw["requests"],
                "errors": sum(raw[k] for k in raw if k.startswith("err_")), "p50_ms": raw["p50_us"] / 1000,
                "p90_ms": raw["p90_us"] / 1000, "p99_ms": raw["p99_us"] / 1000, "max_ms": raw["max_us"] / 1000,
                "mean_ms": raw["mean_us"] / 1000}

    def streams(self, port, streams, events, timeout, interval_ms=None, pinned=False):
        """`streams` streams opened at once: relay lag, time to first event, completeness."""
        args = ["stream", "--port", str(port), "--streams", str(streams), "--events", str(events),
                "--timeout", str(timeout)]
        if interval_ms is not None:
            args += ["--interval-ms", str(interval_ms)]
        drops = listen_drops()
        res = self._loadgen(self.pinning.prefix(pinned), args, timeout + 60)
        after = listen_drops()
        if drops is not None and after is not None and "error" not in res:
            res["listen_drops"] = after - drops
        return res

    def loop(self, port, connections, events, duration, body, pinned=False):
        """Clients streaming one request after another: throughput, latency to the end of the
        stream, time to first event."""
        return self._loadgen(self.pinning.prefix(pinned), [
            "loop", "--port", str(port), "--connections", str(connections), "--events", str(events),
            "--duration", str(duration), "--body-file", self.bodies[body]], duration + 120)

    @staticmethod
    def _loadgen(prefix, args, timeout):
        proc = subprocess.run(prefix + [sys.executable, LOADGEN] + args, capture_output=True, text=True,
                              timeout=timeout)
        try:
            return json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            return {"error": "load generator failed: %s" % proc.stderr[-500:]}
