"""Install and run the real OpenAI Codex CLI, offline and non-interactive (helpers only, no tests).

    codex = install("/path/to/prefix")          # npm install of the pinned version, once
    rc, out, err = run_codex(codex, "http://127.0.0.1:PORT/v1", "Say hi", cwd, egress.url)

``install`` puts ``@openai/codex@PINNED_VERSION`` into ``<prefix>/codex/node_modules`` with the
ordinary npm client and returns the path of the native executable it carries (the package is a
thin node wrapper; the Rust binary comes as the platform's optional dependency, e.g.
``@openai/codex-linux-x64``; nothing else is downloaded).  Each agent gets its own npm prefix
under ``prefix`` because ``npm install --no-save`` prunes every package of a prefix that is not
in its package.json -- a shared prefix would let one agent's install delete another's.  It is
idempotent: when the pinned version is already there it only reads one small JSON file.

``run_codex`` runs ``codex exec`` with a throwaway HOME / CODEX_HOME / TMPDIR whose
``config.toml`` defines one model provider (``wire_api = "responses"``) at ``base_url`` (which
must be on loopback), switches off everything that would leave the machine (curated-plugin sync
from github.com / chatgpt.com, analytics and OTel metrics to ab.chatgpt.com, update checks), and
points all proxy variables at ``egress_proxy_url`` (a refusing recorder, see
tests/fakes/egress_proxy.py) with NO_PROXY covering loopback.

Tests find an installed copy with ``find_codex()``: ``$CODEX_BIN`` if set, else the one under
``DEFAULT_PREFIX`` (``$ARGO_PROXY_AGENTS_PREFIX`` or ``<repo>/.agents``).
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

__all__ = ["PINNED_VERSION", "PACKAGE", "DEFAULT_PREFIX", "DEFAULT_MODEL", "API_KEY_ENV", "PROVIDER_ID",
           "install", "find_codex", "installed_version", "codex_config", "codex_env", "codex_argv", "run_codex"]

PACKAGE = "@openai/codex"
PINNED_VERSION = "0.171.0"
SUBDIR = "codex"                       # npm prefix of this agent under the shared prefix

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_PREFIX = os.environ.get("ARGO_PROXY_AGENTS_PREFIX") or os.path.join(ROOT, ".agents")

DEFAULT_MODEL = "gpt-5.5"              # in Codex's bundled catalogue; other ids work with a warning
PROVIDER_ID = "argo-proxy-test"
API_KEY_ENV = "ARGO_PROXY_TEST_OPENAI_KEY"   # the provider's env_key; sent as "Authorization: Bearer <value>"

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
NO_PROXY = "127.0.0.1,localhost,::1"

# Parent variables that must not leak into the agent (credentials, provider switches, proxies, logs).
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
_KEEP = ("PATH", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME")

# Rust target triple and npm platform package, as the package's own bin/codex.js picks them.
_TARGETS = {
    ("linux", "x64"): ("x86_64-unknown-linux-musl", "codex-linux-x64"),
    ("linux", "arm64"): ("aarch64-unknown-linux-musl", "codex-linux-arm64"),
    ("darwin", "x64"): ("x86_64-apple-darwin", "codex-darwin-x64"),
    ("darwin", "arm64"): ("aarch64-apple-darwin", "codex-darwin-arm64"),
    ("windows", "x64"): ("x86_64-pc-windows-msvc", "codex-win32-x64"),
    ("windows", "arm64"): ("aarch64-pc-windows-msvc", "codex-win32-arm64"),
}


# ---- install ------------------------------------------------------------------------------------

def _target():
    system = platform.system().lower()
    machine = platform.machine().lower()
    cpu = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return _TARGETS.get((system, cpu))


def _npm_prefix(prefix):
    return os.path.join(os.path.abspath(prefix), SUBDIR)


def installed_version(prefix):
    """The version of PACKAGE installed under ``prefix`` (None when absent)."""
    manifest = os.path.join(_npm_prefix(prefix), "node_modules", "@openai", "codex", "package.json")
    try:
        with open(manifest) as fh:
            return json.load(fh).get("version")
    except (OSError, ValueError):
        return None


def _is_native(path):
    try:
        if not os.access(path, os.X_OK) or os.path.getsize(path) < 1024 * 1024:
            return False
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError:
        return False
    return magic in (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe") or magic[:2] == b"MZ"


def _binary_in(prefix, version=PINNED_VERSION):
    if installed_version(prefix) != version:
        return None
    target = _target()
    if target is None:
        return None
    triple, platform_package = target
    exe = "codex.exe" if triple.endswith("msvc") else "codex"
    scoped = os.path.join(_npm_prefix(prefix), "node_modules", "@openai")
    for root in (os.path.join(scoped, platform_package), os.path.join(scoped, "codex")):
        path = os.path.join(root, "vendor", triple, "bin", exe)
        if _is_native(path):
            return path
    return None


def find_codex(prefix=None, version=PINNED_VERSION):
    """Path of an installed pinned Codex executable, or None.

    ``$CODEX_BIN`` wins when set (it is trusted as is); otherwise ``prefix`` (default
    ``DEFAULT_PREFIX``) is searched.
    """
    explicit = os.environ.get("CODEX_BIN")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return _binary_in(prefix or DEFAULT_PREFIX, version)


def install(prefix=None, version=PINNED_VERSION, npm="npm", timeout=900):
    """Install PACKAGE@version under ``prefix`` (if not already there) and return the executable's path.

    Runs ``npm install --prefix <prefix>/codex`` (the registry npm is configured for; the native
    binary arrives as the platform's optional dependency).  Safe to call from several processes:
    an flock on ``<prefix>/codex/.install.lock`` serialises installs.
    """
    prefix = os.path.abspath(prefix or DEFAULT_PREFIX)
    found = _binary_in(prefix, version)
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
        found = _binary_in(prefix, version)  # another process may have finished meanwhile
        if found:
            return found
        if shutil.which(npm) is None:
            raise RuntimeError("npm not found on PATH; cannot install %s@%s" % (PACKAGE, version))
        cmd = [npm, "install", "--prefix", npm_prefix, "--no-audit", "--no-fund", "--no-save",
               "--loglevel=error", "%s@%s" % (PACKAGE, version)]
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout)
        found = _binary_in(prefix, version)
        if not found:
            raise RuntimeError("%s failed (exit %s), or left no native binary for %s:\n%s" % (
                " ".join(cmd), proc.returncode, _target(), proc.stdout.decode("utf-8", "replace")[-4000:]))
        return found
    finally:
        lock.close()


# ---- run ----------------------------------------------------------------------------------------

def _check_loopback(url, what):
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise ValueError("%s must be on loopback (127.0.0.1), got %r" % (what, url))


def _toml_str(value):
    return json.dumps(str(value))    # a JSON string is a valid TOML basic string


def codex_config(base_url, model=DEFAULT_MODEL, sandbox="read-only", max_retries=1, extra_config=""):
    """The ``config.toml`` for an offline, non-interactive run against ``base_url``.

    ``base_url`` is used verbatim as the provider's base URL: Codex appends ``/responses``, so
    pass ``http://127.0.0.1:PORT/v1`` for a server that serves ``/v1/responses``.
    ``max_retries`` sets both ``request_max_retries`` and ``stream_max_retries`` (Codex's defaults,
    4 and 5, multiply: a server that keeps answering 500 gets 30 requests over ~25 s).
    ``extra_config`` is appended verbatim (TOML).
    """
    _check_loopback(base_url, "base_url")
    lines = [
        "model = %s" % _toml_str(model),
        "model_provider = %s" % _toml_str(PROVIDER_ID),
        'approval_policy = "never"',                    # never ask; failures go back to the model
        "sandbox_mode = %s" % _toml_str(sandbox),
        "check_for_update_on_startup = false",
        "",
        "[model_providers.%s]" % PROVIDER_ID,
        'name = "argo-proxy under test"',
        "base_url = %s" % _toml_str(base_url.rstrip("/")),
        "env_key = %s" % _toml_str(API_KEY_ENV),
        'wire_api = "responses"',
        "request_max_retries = %d" % int(max_retries),
        "stream_max_retries = %d" % int(max_retries),
        "",
        "[features]",
        "plugins = false          # else: curated plugin sync from github.com, api.github.com, chatgpt.com",
        "",
        "[analytics]",
        "enabled = false          # else: OTel metrics to ab.chatgpt.com",
        "",
        "[feedback]",
        "enabled = false",
        "",
        "[otel]",
        'exporter = "none"',
        'trace_exporter = "none"',
        'metrics_exporter = "none"',
        "",
    ]
    text = "\n".join(lines)
    if extra_config:
        text += "\n" + extra_config.strip() + "\n"
    return text


def codex_env(egress_proxy_url, home, api_key="sk-codex-test-key", extra_env=None):
    """The complete environment for an offline, non-interactive run (nothing inherited but PATH & co).

    ``extra_env`` wins; a value of None removes the variable.
    """
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
    env["CODEX_HOME"] = os.path.join(home, ".codex")
    env["TMPDIR"] = os.path.join(home, "tmp")
    for xdg, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache"),
                     ("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state")):
        env[xdg] = os.path.join(home, sub)
    env[API_KEY_ENV] = api_key
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


def codex_argv(codex_bin, prompt, model=None, extra_args=()):
    """``codex exec`` plus the switches for a hermetic one-shot run."""
    argv = [codex_bin, "exec",
            "--skip-git-repo-check",    # cwd need not be a (trusted) git repository
            "--ephemeral",              # no session files
            "--color", "never"]
    if model:
        argv += ["-m", model]
    return argv + list(extra_args) + ["--", prompt]



def run_codex(codex_bin, base_url, prompt, cwd, egress_proxy_url, model=DEFAULT_MODEL, timeout=180,
              api_key="sk-codex-test-key", sandbox="read-only", max_retries=1, extra_args=(), extra_env=None,
              extra_config="", home=None):
    """Run ``codex exec prompt`` in ``cwd`` against ``base_url``; returns (returncode, stdout, stderr).

    ``base_url`` is the OpenAI-style base (``http://127.0.0.1:PORT/v1``; Codex POSTs to
    ``<base_url>/responses`` with ``Authorization: Bearer <api_key>``).  stdout holds only the
    final agent message; stderr the transcript (commands run, errors such as
    ``ERROR: unexpected status 404 ...``).

    Offline: see ``codex_config``; every proxy variable points at ``egress_proxy_url`` (loopback
    exempt through NO_PROXY); HOME / CODEX_HOME / TMPDIR / XDG dirs are a throwaway directory
    (removed afterwards unless ``home`` is given).
    Non-interactive: ``exec`` with ``approval_policy = "never"``; stdin is /dev/null.
    ``sandbox``: "read-only" (default; shell commands run under Codex's bundled bubblewrap, which
    works as root here: ``echo`` runs, writes and network are refused) or "workspace-write" (e.g.
    for apply_patch) or "danger-full-access" (no sandbox at all).

    On timeout the whole process group is killed and ``subprocess.TimeoutExpired`` is raised with
    the output so far attached.
    """
    own_home = home is None
    if own_home:
        home = tempfile.mkdtemp(prefix="codex-home-")
    try:
        env = codex_env(egress_proxy_url, home, api_key=api_key, extra_env=extra_env)
        for path in (env["CODEX_HOME"], env["TMPDIR"]):
            os.makedirs(path, exist_ok=True)
        with open(os.path.join(env["CODEX_HOME"], "config.toml"), "w") as fh:
            fh.write(codex_config(base_url, model, sandbox=sandbox, max_retries=max_retries,
                                  extra_config=extra_config))
        argv = codex_argv(codex_bin, prompt, model=model, extra_args=extra_args)
        return run_in_group(argv, cwd, env, timeout)
    finally:
        if own_home:
            shutil.rmtree(home, ignore_errors=True)
