"""Install and run the real Gemini CLI, offline and non-interactive (helpers only, no tests).

    gemini = install("/path/to/prefix")          # npm install of the pinned version, once
    rc, out, err = run_gemini(gemini, "http://127.0.0.1:PORT", "Say hi", cwd, egress.url)

``install`` puts ``@google/gemini-cli@PINNED_VERSION`` into ``<prefix>/gemini-cli/node_modules``
with the ordinary npm client and returns the path of its entry script ``bundle/gemini.js`` (a
node program: Node.js >= 20 must be on PATH; its optional native deps -- node-pty, keytar -- come
from the npm registry too, nothing else is downloaded).  Each agent gets its own npm prefix under
``prefix`` because ``npm install --no-save`` prunes every package of a prefix that is not in its
package.json.  It is idempotent: when the pinned version is already there it only reads one small
JSON file.

``run_gemini`` runs ``gemini -p`` with a throwaway HOME / TMPDIR whose ``~/.gemini/settings.json``
selects API-key auth, turns folder trust, usage statistics (Clearcut to play.googleapis.com),
telemetry, auto-update and IDE integration off, with ``GOOGLE_GEMINI_BASE_URL`` at ``base_url``
(which must be on loopback) and all proxy variables pointed at ``egress_proxy_url`` (a refusing
recorder, see tests/fakes/egress_proxy.py) with NO_PROXY covering loopback.

Tests find an installed copy with ``find_gemini()``: ``$GEMINI_CLI_BIN`` if set, else the one under
``DEFAULT_PREFIX`` (``$ARGO_PROXY_AGENTS_PREFIX`` or ``<repo>/.agents``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from urllib.parse import urlsplit

from tests.agents.procs import run_in_group

__all__ = ["PINNED_VERSION", "PACKAGE", "DEFAULT_PREFIX", "DEFAULT_MODEL", "install", "find_gemini", "find_node",
           "installed_version", "gemini_settings", "gemini_env", "gemini_argv", "run_gemini"]

PACKAGE = "@google/gemini-cli"
PINNED_VERSION = "0.61.0"
SUBDIR = "gemini-cli"                  # npm prefix of this agent under the shared prefix
MIN_NODE = (20, 0)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_PREFIX = os.environ.get("ARGO_PROXY_AGENTS_PREFIX") or os.path.join(ROOT, ".agents")

# An explicit model skips the CLI's model router (a gemini-3.5-flash-lite classifier call before
# every turn; when that call answers 5xx it is retried 5 times, ~70 s, before falling back).
DEFAULT_MODEL = "gemini-2.5-pro"

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
NO_PROXY = "127.0.0.1,localhost,::1"

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
_KEEP = ("PATH", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME")


# ---- install ------------------------------------------------------------------------------------

def _npm_prefix(prefix):
    return os.path.join(os.path.abspath(prefix), SUBDIR)


def _package_dir(prefix):
    return os.path.join(_npm_prefix(prefix), "node_modules", "@google", "gemini-cli")


def installed_version(prefix):
    """The version of PACKAGE installed under ``prefix`` (None when absent)."""
    try:
        with open(os.path.join(_package_dir(prefix), "package.json")) as fh:
            return json.load(fh).get("version")
    except (OSError, ValueError):
        return None


def _script_in(prefix, version=PINNED_VERSION):
    if installed_version(prefix) != version:
        return None
    path = os.path.join(_package_dir(prefix), "bundle", "gemini.js")
    return path if os.path.isfile(path) else None


def find_node(node="node"):
    """Path of a Node.js >= 20 (the CLI's ``engines``), or None."""
    path = shutil.which(node)
    if not path:
        return None
    try:
        out = subprocess.run([path, "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=30).stdout.decode()
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"v(\d+)\.(\d+)", out.strip())
    if not match or (int(match.group(1)), int(match.group(2))) < MIN_NODE:
        return None
    return path


def find_gemini(prefix=None, version=PINNED_VERSION):
    """Path of an installed pinned Gemini CLI entry script (``bundle/gemini.js``), or None.

    ``$GEMINI_CLI_BIN`` wins when set (a ``gemini.js`` or any executable; trusted as is);
    otherwise ``prefix`` (default ``DEFAULT_PREFIX``) is searched.
    """
    explicit = os.environ.get("GEMINI_CLI_BIN")
    if explicit:
        return explicit if os.path.isfile(explicit) else None
    return _script_in(prefix or DEFAULT_PREFIX, version)


def install(prefix=None, version=PINNED_VERSION, npm="npm", timeout=900):
    """Install PACKAGE@version under ``prefix`` (if not already there) and return ``bundle/gemini.js``.

    Runs ``npm install --prefix <prefix>/gemini-cli``.  Safe to call from several processes: an
    flock on ``<prefix>/gemini-cli/.install.lock`` serialises installs.
    """
    prefix = os.path.abspath(prefix or DEFAULT_PREFIX)
    found = _script_in(prefix, version)
    if found:
        return found
    npm_prefix = _npm_prefix(prefix)
    os.makedirs(npm_prefix, exist_ok=True)
    lock = open(os.path.join(npm_prefix, ".install.lock"), "w")
    try:
        try:
            import fcntl
            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # Windows: no locking
            pass
        found = _script_in(prefix, version)
        if found:
            return found
        if shutil.which(npm) is None:
            raise RuntimeError("npm not found on PATH; cannot install %s@%s" % (PACKAGE, version))
        cmd = [npm, "install", "--prefix", npm_prefix, "--no-audit", "--no-fund", "--no-save",
               "--loglevel=error", "%s@%s" % (PACKAGE, version)]
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout)
        found = _script_in(prefix, version)
        if not found:
            raise RuntimeError("%s failed (exit %s):\n%s" % (" ".join(cmd), proc.returncode,
                                                            proc.stdout.decode("utf-8", "replace")[-4000:]))
        return found
    finally:
        lock.close()


# ---- run ----------------------------------------------------------------------------------------

def _check_loopback(url, what):
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise ValueError("%s must be on loopback (127.0.0.1), got %r" % (what, url))


def gemini_settings(max_attempts=2, extra_settings=None):
    """The user ``settings.json`` (as a dict) for an offline, non-interactive run.

    ``max_attempts`` is ``general.maxAttempts`` for the main chat model (the CLI's default, 10,
    with back-off: a server that keeps answering 500 holds a run for ~4 minutes).
    ``extra_settings`` is merged in (one level deep per top-level key).
    """
    settings = {
        "security": {
            "auth": {"selectedType": "gemini-api-key"},   # else: GOOGLE_GEMINI_BASE_URL means "gateway",
                                                          # which -p rejects ("Invalid auth method selected.")
            "folderTrust": {"enabled": False},            # else: exit 55 in an untrusted folder
        },
        "privacy": {"usageStatisticsEnabled": False},     # else: Clearcut logging to play.googleapis.com
        "telemetry": {"enabled": False},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False,
                    "maxAttempts": int(max_attempts)},
        "ide": {"enabled": False},
        "advanced": {"autoConfigureMemory": False},
    }
    for key, value in (extra_settings or {}).items():
        if isinstance(value, dict) and isinstance(settings.get(key), dict):
            settings[key] = dict(settings[key], **value)
        else:
            settings[key] = value
    return settings


def gemini_env(base_url, egress_proxy_url, home, api_key="gemini-test-key", extra_env=None):
    """The complete environment for an offline, non-interactive run (nothing inherited but PATH & co).

    ``GOOGLE_GEMINI_BASE_URL`` is ``base_url`` (the root: the SDK adds ``/v1beta/models/...``);
    ``GEMINI_API_KEY`` is sent as ``x-goog-api-key``.  ``extra_env`` wins; None removes a variable.
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
    env["TMPDIR"] = os.path.join(home, "tmp")                 # error reports land here
    for xdg, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache"),
                     ("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state")):
        env[xdg] = os.path.join(home, sub)
    env["GEMINI_API_KEY"] = api_key
    env["GOOGLE_GEMINI_BASE_URL"] = base_url.rstrip("/")
    env["GEMINI_CLI_NO_RELAUNCH"] = "1"      # no second node process (saves ~1 s)
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


def gemini_argv(gemini_bin, prompt, model=DEFAULT_MODEL, approval_mode="yolo", node=None, extra_args=()):
    """``gemini -p PROMPT`` plus the switches for a hermetic one-shot run.

    ``approval_mode``: "yolo" offers and auto-approves every tool (run_shell_command included);
    "default" offers only the read-only tools in -p mode (no run_shell_command, write_file, ...).
    """
    if gemini_bin.endswith(".js"):
        argv = [node or find_node() or "node", gemini_bin]
    else:
        argv = [gemini_bin]
    argv += ["-p", prompt, "--output-format", "text", "--skip-trust"]
    if model:
        argv += ["-m", model]
    if approval_mode:
        argv += ["--approval-mode", approval_mode]
    return argv + list(extra_args)



def run_gemini(gemini_bin, base_url, prompt, cwd, egress_proxy_url, model=DEFAULT_MODEL, timeout=180,
               api_key="gemini-test-key", approval_mode="yolo", max_attempts=2, extra_args=(), extra_env=None,
               extra_settings=None, home=None):
    """Run ``gemini -p prompt`` in ``cwd`` against ``base_url``; returns (returncode, stdout, stderr).

    ``base_url`` is the API root (``http://127.0.0.1:PORT``).  stdout holds the model's answer
    text; stderr warnings and errors (exit 1 with "Error when talking to Gemini API" on API
    errors, 41 for auth set-up problems, 55 for an untrusted folder).

    Offline: see ``gemini_settings``; every proxy variable points at ``egress_proxy_url``
    (loopback exempt through NO_PROXY); HOME / TMPDIR / XDG dirs are a throwaway directory
    (removed afterwards unless ``home`` is given).  Non-interactive: ``-p``, ``--skip-trust``,
    ``--approval-mode yolo`` (so a shell command runs without a prompt); stdin is /dev/null.
    ``model`` None leaves the CLI's default ("auto": a router call picks the model per turn).

    On timeout the whole process group is killed and ``subprocess.TimeoutExpired`` is raised with
    the output so far attached.
    """
    own_home = home is None
    if own_home:
        home = tempfile.mkdtemp(prefix="gemini-home-")
    try:
        env = gemini_env(base_url, egress_proxy_url, home, api_key=api_key, extra_env=extra_env)
        config_dir = os.path.join(home, ".gemini")
        for path in (config_dir, env["TMPDIR"]):
            os.makedirs(path, exist_ok=True)
        with open(os.path.join(config_dir, "settings.json"), "w") as fh:
            json.dump(gemini_settings(max_attempts, extra_settings), fh, indent=2)
        argv = gemini_argv(gemini_bin, prompt, model=model, approval_mode=approval_mode, extra_args=extra_args)
        return run_in_group(argv, cwd, env, timeout)
    finally:
        if own_home:
            shutil.rmtree(home, ignore_errors=True)
