"""Run every test on a fresh machine: venv + pinned deps, build the .pyz, the pinned coding
agents (npm, into .agents/), full suite, smoke per CPython.

    python3 tests/run_all.py            # everything
    python3 tests/run_all.py -k models  # extra arguments go to the main pytest run

Exit status is non-zero if anything fails.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv-test")
REQUIREMENTS = os.path.join(ROOT, "tests", "requirements.txt")
STAMP = os.path.join(VENV, "requirements.stamp")


def venv_python():
    return os.path.join(VENV, "bin", "python")


def ensure_venv():
    """Create .venv-test and install the pinned test dependencies (skipped when up to date)."""
    with open(REQUIREMENTS) as fh:
        wanted = fh.read()
    if os.path.exists(STAMP) and open(STAMP).read() == wanted and os.path.exists(venv_python()):
        return
    print("== creating %s with the pinned test dependencies" % VENV, flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    subprocess.check_call([venv_python(), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           "-r", REQUIREMENTS])
    with open(STAMP, "w") as fh:
        fh.write(wanted)


AGENTS = ("claude_code", "codex", "gemini_cli", "opencode", "mcp_everything")   # modules of tests/agents


def install_agents():
    """Install the pinned coding agents for tests/agents into <repo>/.agents (once; later runs
    only check the versions). Without npm or the registry, warn and go on: those tests skip."""
    import importlib
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    for name in AGENTS:
        try:
            module = importlib.import_module("tests.agents." + name)
        except ImportError:
            continue
        print("== installing %s@%s into %s" % (module.PACKAGE, module.PINNED_VERSION,
                                               module.DEFAULT_PREFIX), flush=True)
        try:
            path = module.install(module.DEFAULT_PREFIX, timeout=600)
        except Exception as exc:  # npm missing, registry unreachable, no binary for this platform...
            print("WARNING: could not install %s (%s: %s).\n"
                  "WARNING: the tests that run it (tests/agents) will be skipped."
                  % (module.PACKAGE, type(exc).__name__, str(exc).strip()[-2000:]), flush=True)
            continue
        print("   %s" % path, flush=True)


def other_pythons():
    """Every CPython 3.8-3.13 under ~/.pyenv/versions (one per minor version)."""
    found = {}
    for path in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3"))):
        m = re.search(r"/versions/3\.(\d+)\.", path)
        if m and 8 <= int(m.group(1)) <= 13:
            found.setdefault(int(m.group(1)), path)
    return [found[k] for k in sorted(found)]


def pytest(args, env=None):
    cmd = [venv_python(), "-m", "pytest", "-p", "no:cacheprovider"] + args
    print("== " + " ".join(cmd[2:]) + ("  [%s]" % ", ".join("%s=%s" % kv for kv in env.items()) if env else ""),
          flush=True)
    return subprocess.call(cmd, cwd=ROOT, env=dict(os.environ, **(env or {})))


def main(argv):
    ensure_venv()
    subprocess.check_call([sys.executable, os.path.join(ROOT, "build_zipapp.py")])
    install_agents()
    failures = []
    if pytest(["tests", "-q", "--timeout", "120"] + argv) != 0:
        failures.append("full suite (built .pyz)")
    if pytest(["tests/integration", "-q", "--timeout", "120", "-m", "smoke"],
              {"ARGO_PROXY_TARGET": "source"}) != 0:
        failures.append("smoke (source tree)")
    for python in other_pythons():
        if pytest(["tests/integration", "-q", "--timeout", "120", "-m", "smoke"],
                  {"ARGO_PROXY_PYTHON": python}) != 0:
            failures.append("smoke (%s)" % python)
    if failures:
        print("FAILED: " + "; ".join(failures), flush=True)
        return 1
    print("all test runs passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
