"""Install and run the real Claude Code CLI, offline and non-interactive (helpers only, no tests).

    claude = install("/path/to/prefix")          # npm install of the pinned version, once
    rc, out, err = run_claude(claude, base_url, "Say hi", cwd, egress.url)

``install`` puts ``@anthropic-ai/claude-code@PINNED_VERSION`` into ``<prefix>/node_modules`` with the
ordinary npm client (the package carries a native binary per platform as an optional dependency;
nothing else is downloaded) and returns the path of that native executable.  It is idempotent:
when the pinned version is already there it only reads one small JSON file.

``run_claude`` runs ``claude -p`` with a throwaway HOME / CLAUDE_CONFIG_DIR / TMPDIR, the given
base URL (which must be on loopback), every switch that stops background traffic, and all proxy
variables pointed at ``egress_proxy_url`` (a refusing recorder, see tests/fakes/egress_proxy.py)
with NO_PROXY covering loopback, so anything that tries to leave the machine is seen and refused.

Tests find an installed copy with ``find_claude()``: ``$CLAUDE_CODE_BIN`` if set, else the one
under ``DEFAULT_PREFIX`` (``$ARGO_PROXY_AGENTS_PREFIX`` or ``<repo>/.agents``).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
from urllib.parse import urlsplit

from tests.agents.procs import run_in_group

__all__ = ["PINNED_VERSION", "PACKAGE", "DEFAULT_PREFIX", "install", "find_claude", "installed_version",
           "missing_reason", "claude_env", "claude_argv", "run_claude"]

PACKAGE = "@anthropic-ai/claude-code"
PINNED_VERSION = "2.1.332"

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_PREFIX = os.environ.get("ARGO_PROXY_AGENTS_PREFIX") or os.path.join(ROOT, ".agents")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
NO_PROXY = "127.0.0.1,localhost,::1"

# Switches that keep Claude Code from reaching anything but ANTHROPIC_BASE_URL.  The first one is
# what matters (it stops the bootstrap fetch, the MCP registry and fast-mode look-ups and Anthropic's
# event logging, all of which otherwise go to api.anthropic.com); the others are belt and braces.
OFFLINE_ENV = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_BUG_COMMAND": "1",
    "CLAUDE_CODE_ENABLE_TELEMETRY": "0",
}

# Parent variables that must not leak into the agent (credentials, provider switches, proxies).
_DROP_PREFIXES = ("ANTHROPIC_", "CLAUDE_", "CLAUDECODE", "AWS_", "GOOGLE_", "VERTEX_", "OTEL_")
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
_KEEP = ("PATH", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME")


# ---- install ------------------------------------------------------------------------------------

def _platform_key():
    system = platform.system().lower()
    machine = platform.machine().lower()
    cpu = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    if system == "linux":
        libc = platform.libc_ver()[0]
        musl = libc != "glibc" and any(name.startswith("ld-musl") for name in _listdir("/lib"))
        return "linux-%s%s" % (cpu, "-musl" if musl else "")
    if system == "darwin":
        return "darwin-%s" % cpu
    if system == "windows":
        return "win32-%s" % cpu
    return "%s-%s" % (system, cpu)


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def _is_native(path):
    """True for an executable ELF / Mach-O / PE file (not the 500-byte shell stub npm leaves when
    the postinstall did not run)."""
    try:
        if not os.access(path, os.X_OK) or os.path.getsize(path) < 1024 * 1024:
            return False
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError:
        return False
    return magic in (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe") or magic[:2] == b"MZ"


def installed_version(prefix):
    """The version of PACKAGE under ``prefix`` (None when absent)."""
    manifest = os.path.join(prefix, "node_modules", "@anthropic-ai", "claude-code", "package.json")
    try:
        with open(manifest) as fh:
            return json.load(fh).get("version")
    except (OSError, ValueError):
        return None


def _binary_in(prefix, version=PINNED_VERSION):
    if installed_version(prefix) != version:
        return None
    scoped = os.path.join(prefix, "node_modules", "@anthropic-ai")
    exe = "claude.exe" if platform.system().lower() == "windows" else "claude"
    candidates = [os.path.join(scoped, "claude-code-" + _platform_key(), exe),
                  os.path.join(scoped, "claude-code", "bin", "claude.exe")]
    for path in candidates:
        if _is_native(path):
            return path
    return None


def find_claude(prefix=None, version=PINNED_VERSION):
    """Path of an installed pinned Claude Code executable, or None.

    ``$CLAUDE_CODE_BIN`` wins when set (it is trusted as is); otherwise ``prefix`` (default
    ``DEFAULT_PREFIX``) is searched.
    """
    explicit = os.environ.get("CLAUDE_CODE_BIN")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return _binary_in(prefix or DEFAULT_PREFIX, version)


def missing_reason(prefix=None, version=PINNED_VERSION):
    """Why ``find_claude`` finds nothing: a skip reason for tests."""
    explicit = os.environ.get("CLAUDE_CODE_BIN")
    if explicit:
        return "CLAUDE_CODE_BIN=%s is not an executable file" % explicit
    prefix = prefix or DEFAULT_PREFIX
    found = installed_version(prefix)
    return ("Claude Code %s is not installed under %s%s (tests/run_all.py installs it with "
            "tests.agents.claude_code.install(); or set CLAUDE_CODE_BIN)"
            % (version, prefix, "" if found is None else " (found %s)" % found))


def install(prefix=None, version=PINNED_VERSION, npm="npm", timeout=900):
    """Install PACKAGE@version into ``prefix`` (if not already there) and return the executable's path.

    Uses ``npm install --prefix`` (the registry npm is configured for; the native binary arrives as
    the platform's optional dependency).  Safe to call from several processes: an flock on
    ``<prefix>/.claude-code-install.lock`` serialises installs.
    """
    prefix = os.path.abspath(prefix or DEFAULT_PREFIX)
    found = _binary_in(prefix, version)
    if found:
        return found
    os.makedirs(prefix, exist_ok=True)
    lock = open(os.path.join(prefix, ".claude-code-install.lock"), "w")
    try:
        try:
            import fcntl
            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # Windows: no locking
            pass
        found = _binary_in(prefix, version)  # another process may have finished meanwhile
        if found:
            return found
        if shutil.which(npm) is None:
            raise RuntimeError("npm not found on PATH; cannot install %s@%s" % (PACKAGE, version))
        cmd = [npm, "install", "--prefix", prefix, "--no-audit", "--no-fund", "--no-save",
               "--loglevel=error", "%s@%s" % (PACKAGE, version)]
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout)
        found = _binary_in(prefix, version)
        if not found:
            raise RuntimeError("%s failed (exit %s), or left no native binary for %s:\n%s" % (
                " ".join(cmd), proc.returncode, _platform_key(),
                proc.stdout.decode("utf-8", "replace")[-4000:]))
        return found
    finally:
        lock.close()


# ---- run ----------------------------------------------------------------------------------------

def _check_loopback(url, what):
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise ValueError("%s must be on loopback (127.0.0.1), got %r" % (what, url))


def claude_env(base_url, egress_proxy_url, home, api_key="sk-ant-test-key", auth="api_key", extra_env=None,
               max_retries=2):
    """The complete environment for an offline, non-interactive run (nothing inherited but PATH & co).

    ``auth``: "api_key" sends ``x-api-key: <api_key>`` (ANTHROPIC_API_KEY); "bearer" sends
    ``Authorization: Bearer <api_key>`` (ANTHROPIC_AUTH_TOKEN).  ``max_retries`` sets
    CLAUDE_CODE_MAX_RETRIES (Claude Code's own default is 10 with exponential back-off: a server
    that keeps failing holds a run for minutes); None leaves it unset.  ``extra_env`` wins; a value
    of None removes the variable.
    """
    _check_loopback(base_url, "base_url")
    _check_loopback(egress_proxy_url, "egress_proxy_url")
    env = {}
    for key, value in os.environ.items():
        if key in _KEEP:
            env[key] = value
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    env["TERM"] = "dumb"
    env["NO_COLOR"] = "1"
    env["HOME"] = home
    env["CLAUDE_CONFIG_DIR"] = os.path.join(home, ".claude")
    env["TMPDIR"] = os.path.join(home, "tmp")                     # its sockets and probe dirs
    for xdg, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache"),
                     ("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state")):
        env[xdg] = os.path.join(home, sub)
    env["ANTHROPIC_BASE_URL"] = base_url.rstrip("/")
    if auth == "api_key":
        env["ANTHROPIC_API_KEY"] = api_key
    elif auth == "bearer":
        env["ANTHROPIC_AUTH_TOKEN"] = api_key
    else:
        raise ValueError("auth must be 'api_key' or 'bearer'")
    env.update(OFFLINE_ENV)
    if max_retries is not None:
        env["CLAUDE_CODE_MAX_RETRIES"] = str(int(max_retries))
    for name in _PROXY_VARS:
        value = NO_PROXY if name == "NO_PROXY" else egress_proxy_url
        env[name] = value
        env[name.lower()] = value
    for key, value in (extra_env or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def claude_argv(claude_bin, prompt, model=None, extra_args=()):
    """``claude -p PROMPT`` plus the switches for a hermetic one-shot run."""
    argv = [claude_bin, "-p", prompt,
            "--output-format", "text",
            "--no-session-persistence",   # no transcript to resume
            "--strict-mcp-config"]        # only MCP servers given with --mcp-config (none)
    if model:
        argv += ["--model", model]
    return argv + list(extra_args)



def run_claude(claude_bin, base_url, prompt, cwd, egress_proxy_url, model=None, timeout=180, api_key="sk-ant-test-key",
               auth="api_key", extra_args=(), extra_env=None, home=None, max_retries=2):
    """Run ``claude -p prompt`` in ``cwd`` against ``base_url``; returns (returncode, stdout, stderr).

    Offline: every proxy variable points at ``egress_proxy_url`` (loopback exempt through NO_PROXY),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC and friends are set, HOME / CLAUDE_CONFIG_DIR / TMPDIR
    / XDG dirs are a throwaway directory (removed afterwards unless ``home`` is given).
    Non-interactive: ``-p`` skips the trust and onboarding dialogs; stdin is /dev/null.  Tool
    permissions stay at Claude Code's default: read-only tools and read-only Bash commands (echo,
    ls, cat, ...) run without asking, anything that would need approval comes back to the model as
    an error tool_result.  (``--dangerously-skip-permissions`` is refused when running as root; pass
    ``extra_args=["--allowedTools", "Bash(touch:*)"]`` and the like to allow more.)

    On timeout the whole process group is killed and ``subprocess.TimeoutExpired`` is raised with
    the output so far attached.
    """
    own_home = home is None
    if own_home:
        home = tempfile.mkdtemp(prefix="claude-home-")
    try:
        env = claude_env(base_url, egress_proxy_url, home, api_key=api_key, auth=auth, extra_env=extra_env,
                         max_retries=max_retries)
        for path in (env["CLAUDE_CONFIG_DIR"], env["TMPDIR"]):
            os.makedirs(path, exist_ok=True)
        argv = claude_argv(claude_bin, prompt, model=model, extra_args=extra_args)
        return run_in_group(argv, cwd, env, timeout)
    finally:
        if own_home:
            shutil.rmtree(home, ignore_errors=True)
