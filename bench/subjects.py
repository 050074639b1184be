"""The gateways measured, all against the same fake upstream, and how each one is started.

  direct         the load generator talks to the fake upstream itself: the physical limit
  ours           argo-proxy.pyz of this work tree, native mode, default log level (INFO: a line a request)
  ours_quiet     the same with --quiet (only with --quiet-variant)
  ours_standard  ours without --native-openai (legacy chat / streamchat upstream); core scenarios only
  baseline       ours built from the git ref given to --baseline, started exactly like `ours`
  ref280         argo-proxy 2.8.0 from PyPI, native mode (`use_native_openai: true`), verbose: false
  ref280_wide    the same with its upstream pool limit raised; 100-stream and 500-stream tests only
  ref333         argo-proxy 3.3.3 from PyPI (native OpenAI is its only mode), defaults, log at its
                 default level (verbose: DEBUG)

Both references make HTTPS calls to PyPI (version checks) at start-up; the benchmark stays on loopback,
so a launcher stubs them out before their CLI runs (their start-up figures are lower bounds).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess

from build import PYZ, ours_python
from common import CHAT_PATH, HOST, WORK, clean_env, free_port, http_post, logfile
from procs import spawn

REF280, REF333 = "2.8.0", "3.3.3"
REFERENCES = ("ref280", "ref333")   # the two references at their defaults: "the better one" is one of these
WIDE_POOL_ENV = {"ARGO_PROXY_MAX_CONNECTIONS": "2000", "ARGO_PROXY_MAX_CONNECTIONS_PER_HOST": "2000"}
CORE = ("c1", "c16", "c64", "s1", "s100", "hold")

# argo-proxy 2.8.0 calls cli.get_latest_pypi_version() (two PyPI requests, 5 s timeout each) on start.
REF280_LAUNCHER = r"""
import sys
import argoproxy.cli as cli
async def _no_pypi():
    return None
cli.get_latest_pypi_version = _no_pypi
sys.argv = ["argo-proxy"] + sys.argv[1:]
sys.exit(cli.main())
"""

# argo-proxy 3.3.3 asks PyPI through argoproxy.endpoints.extras.get_pypi_versions(pkg): for itself and
# for llm-rosetta, when its argument parser is built (the --version text), again in the start-up
# banner, and in GET /version. cli.display imports the function by name, so it is replaced in both.
REF333_LAUNCHER = r"""
import sys
import argoproxy.endpoints.extras as extras
async def _no_pypi(pkg="argo-proxy"):
    return {"stable": None, "pre": None}
extras.get_pypi_versions = _no_pypi
import argoproxy.cli.display as display
display.get_pypi_versions = _no_pypi
import argoproxy.cli as cli
sys.argv = ["argo-proxy"] + sys.argv[1:]
sys.exit(cli.main())
"""


class Subject:
    def __init__(self, name, title, port, proc=None, only_in=None):
        self.name, self.title, self.port, self.proc = name, title, port, proc
        self.only_in = only_in      # scenario keys it runs in (None: all)

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def runs_in(self, key):
        return self.only_in is None or key.split(".")[0] in self.only_in


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def ours_cmd(pyz, config_path, port, native=True, quiet=False):
    cmd = [ours_python(), pyz, config_path, "--user", "bench", "--port", str(port)]
    return cmd + (["--native-openai"] if native else []) + (["--quiet"] if quiet else [])


def ours_config(fake_port, tag, extra=""):
    return write(os.path.join(WORK, "%s.yaml" % tag), "argo_base_url: http://%s:%d\n"
                 "model_refresh_interval_hours: 0\n%s" % (HOST, fake_port, extra))


def ref280_config(fake_port, port, tag):
    base = "http://%s:%d" % (HOST, fake_port)
    return write(os.path.join(WORK, "%s.yaml" % tag), "\n".join([
        "host: %s" % HOST, "port: %d" % port, "user: bench", "verbose: false", "use_native_openai: true",
        "native_openai_base_url: %s/v1/" % base, "argo_url: %s/api/v1/resource/chat/" % base,
        "argo_stream_url: %s/api/v1/resource/streamchat/" % base,
        "argo_embedding_url: %s/api/v1/resource/embed/" % base,
        "_argo_model_url: %s/api/v1/models/" % base, ""]))


def ref333_config(fake_port, port, tag):
    """A complete v3 config (nothing for its validation to change, so it never prompts). Its data
    (gateway.db, attack logs) goes next to the config: one directory per instance."""
    return write(os.path.join(WORK, tag, "config.yaml"), "\n".join([
        'config_version: "3"', "host: %s" % HOST, "port: %d" % port, "user: bench",
        "argo_base_url: http://%s:%d" % (HOST, fake_port), ""]))


class Lineup:
    """Knows how to start every subject: the pyz files and reference venvs it was given."""

    def __init__(self, fake_port, ref_python, baseline=None, quiet_variant=False):
        self.fake_port = fake_port
        self.ref_python = ref_python          # {"ref280": python or None, "ref333": python or None}
        self.baseline = baseline              # (pyz, label) or None
        self.quiet_variant = quiet_variant

    def names(self):
        out = ["direct", "ours"] + (["ours_quiet"] if self.quiet_variant else []) + ["ours_standard"]
        out += ["baseline"] if self.baseline else []
        if self.ref_python.get("ref280"):
            out += ["ref280", "ref280_wide"]
        return out + (["ref333"] if self.ref_python.get("ref333") else [])

    def title(self, name):
        return {"direct": "direct (fake upstream)", "ours": "ours", "ours_quiet": "ours --quiet",
                "ours_standard": "ours, standard mode",
                "baseline": "ours@%s" % (self.baseline[1] if self.baseline else "?"),
                "ref280": "argo-proxy %s" % REF280, "ref280_wide": "argo-proxy %s, pool limit raised" % REF280,
                "ref333": "argo-proxy %s" % REF333}[name]

    def start(self, name, tag=None):
        """Start subject `name` (not yet healthy); tag names its config and log files."""
        tag = tag or name
        if name == "direct":
            return Subject(name, self.title(name), self.fake_port)
        port = free_port()
        cmd, env, only_in = self._command(name, port, tag)
        proc = spawn(cmd, logfile(tag), env=env)
        return Subject(name, self.title(name), port, proc, only_in)

    def _command(self, name, port, tag):
        """(command, environment, scenarios it runs in) of a subject."""
        if name in ("ours", "ours_quiet", "ours_standard", "baseline"):
            pyz = self.baseline[0] if name == "baseline" else PYZ
            cmd = ours_cmd(pyz, ours_config(self.fake_port, tag), port, native=name != "ours_standard",
                           quiet=name == "ours_quiet")
            return cmd, clean_env(), CORE if name == "ours_standard" else None
        if name in ("ref280", "ref280_wide"):
            cfg = ref280_config(self.fake_port, port, tag)
            env = clean_env(**(WIDE_POOL_ENV if name == "ref280_wide" else {}))
            return ([self.ref_python["ref280"], "-c", REF280_LAUNCHER, cfg], env,
                    ("s100", "hold") if name == "ref280_wide" else None)
        if name == "ref333":
            cfg = ref333_config(self.fake_port, port, tag)
            return [self.ref_python["ref333"], "-c", REF333_LAUNCHER, "serve", cfg], clean_env(), None
        raise KeyError(name)


def probe(subject, stream_check):
    """None when the subject answers a small chat request (200) and relays a short stream
    completely; otherwise why not (the subject is then left out and RESULTS.md says so)."""
    try:
        status, body = http_post(subject.port, CHAT_PATH, b'{"model":"gpt4o","messages":[{"role":"user",'
                                 b'"content":"Say hello."}],"stream":false}')
    except (OSError, http.client.HTTPException) as exc:
        status, body = None, str(exc).encode()
    if status == 404:
        return "not available (POST /v1/chat/completions answers 404)"
    if status != 200:
        return "not working (POST /v1/chat/completions answered %s: %r)" % (status, body[:200])
    res = stream_check(subject.port)
    if res.get("completed") != res.get("streams"):
        return "streams do not complete (%s)" % (res.get("errors") or res.get("error"))
    return None


def big_body_note(subject, body):
    """None when the subject answers a big request (a 2 MB conversation) with 200, else what it did."""
    try:
        status, answer = http_post(subject.port, CHAT_PATH, body, timeout=60.0)
    except (OSError, http.client.HTTPException) as exc:
        return "a %d-byte request failed: %s" % (len(body), exc)
    if status == 200:
        return None
    return "answers HTTP %s to a %d-byte request: %s" % (status, len(body),
                                                          answer[:160].decode("utf-8", "replace"))


def exited_note(subject):
    if subject.proc is not None and subject.proc.poll() is not None:
        return "exited during the run with code %s" % subject.proc.returncode
    return None


def ours_tool_server(fake_port, mcp_command):
    """Start ours (native mode) with `mcp_servers` = one stdio MCP server; returns the Subject."""
    extra = "mcp_servers:\n  bench:\n    command: %s\n    args: [%s]\n" % (
        json.dumps(mcp_command[0]), ", ".join(json.dumps(a) for a in mcp_command[1:]))
    port = free_port()
    proc = spawn(ours_cmd(PYZ, ours_config(fake_port, "ours_tools", extra), port), logfile("ours_tools"),
                 env=clean_env(), stdin=subprocess.DEVNULL)
    return Subject("ours_tools", "ours + MCP tools", port, proc)
