"""Install and run the real opencode CLI (npm ``opencode-ai``), offline and non-interactive (helpers only, no tests).

    opencode = install("/path/to/prefix")        # npm install of the pinned version, once
    rc, out, err = run_opencode(opencode, base_url, "Say hi", cwd, egress.url, model="gpt-4o")

``install`` puts ``opencode-ai@PINNED_VERSION`` into ``<prefix>/opencode/node_modules`` with the ordinary npm
client and returns the path of its native executable (a Bun-compiled binary that arrives as the platform's
optional dependency, ``opencode-linux-x64`` and the like; its postinstall hard-links it to
``opencode-ai/bin/opencode.exe``).  opencode gets its own npm root under the prefix because ``npm install
--no-save`` removes every package of the target ``node_modules`` that it was not asked for: installing into
``<prefix>/node_modules`` next to Claude Code (tests/agents/claude_code.py) would uninstall Claude Code, and
Claude Code's install would uninstall opencode.  In ``<prefix>/opencode`` neither touches the other.  Nothing
else is downloaded: the provider package the config names (``@ai-sdk/openai-compatible``) is built into the
binary.  ``install`` is idempotent: when the pinned version is there it only reads one small JSON file.

``run_opencode`` runs ``opencode run PROMPT`` with a throwaway HOME / TMPDIR / XDG dirs, a global config
(``$XDG_CONFIG_HOME/opencode/opencode.json``, see ``opencode_config``) that defines one OpenAI-compatible
provider ``argo`` pointing at ``<base_url>/v1``, every switch that stops background traffic (OFFLINE_ENV), and
all proxy variables pointed at ``egress_proxy_url`` (a refusing recorder, see tests/fakes/egress_proxy.py) with
NO_PROXY covering loopback, so anything that tries to leave the machine is seen and refused.

What opencode 1.18.33 reaches for by itself, and what switches it off:

* ``https://models.opencode.ai/api.json`` (its model catalogue, fetched at start and every 60 minutes) --
  OPENCODE_DISABLE_MODELS_FETCH=1; the catalogue built into the binary is used instead;
* ``https://registry.npmjs.org/@opencode-ai%2fplugin`` -- at start opencode npm-installs its plugin SDK into
  every config directory (``$XDG_CONFIG_HOME/opencode``, ``.opencode`` dirs) that does not look installed
  yet (refused, it only logs a warning); no switch turns it off, so ``_seed_config_dir`` writes what an
  install leaves behind (``package.json`` and ``package-lock.json`` naming the package, ``node_modules/``)
  and opencode skips it.  (Only local plugins/tools import that package; there are none.)
* update checks (config ``autoupdate: false`` / OPENCODE_DISABLE_AUTOUPDATE), session sharing (``share:
  "disabled"`` / OPENCODE_DISABLE_SHARE), LSP downloads (OPENCODE_DISABLE_LSP_DOWNLOAD) are off as well,
  although a ``run`` did not attempt them.

With these, ``strace -f -e connect`` of a full tool round shows one TCP connection, to the proxy, reused for
every request; no DNS, nothing listening.

Tests find an installed copy with ``find_opencode()``: ``$OPENCODE_BIN`` if set, else the one under
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

__all__ = ["PINNED_VERSION", "PACKAGE", "DEFAULT_PREFIX", "PROVIDER_ID", "BASH_TOOL", "OFFLINE_ENV",
           "DEFAULT_PERMISSION", "install", "find_opencode", "installed_version", "missing_reason",
           "opencode_config", "opencode_env", "opencode_argv", "run_opencode"]

PACKAGE = "opencode-ai"
PINNED_VERSION = "1.18.33"
PLUGIN_PACKAGE = "@opencode-ai/plugin"    # what opencode installs into each config dir at start

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_PREFIX = os.environ.get("ARGO_PROXY_AGENTS_PREFIX") or os.path.join(ROOT, ".agents")
SUBDIR = "opencode"                       # opencode's own npm root inside the prefix

PROVIDER_ID = "argo"                      # the custom provider in the generated config
BASH_TOOL = "bash"                        # opencode's shell tool ({command, timeout?, workdir?})

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
NO_PROXY = "127.0.0.1,localhost,::1"

# Switches that keep opencode from reaching anything but the configured provider.  The first one is what
# matters (the models.opencode.ai catalogue); the others are belt and braces or keep the run hermetic:
# DISABLE_PROJECT_CONFIG ignores opencode.json / AGENTS.md / .opencode dirs above the working directory,
# DISABLE_CLAUDE_CODE and DISABLE_EXTERNAL_SKILLS ignore ~/.claude and ~/.agents.
OFFLINE_ENV = {
    "OPENCODE_DISABLE_MODELS_FETCH": "1",
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
    "OPENCODE_DISABLE_SHARE": "1",
    "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    "OPENCODE_DISABLE_PROJECT_CONFIG": "1",
    "OPENCODE_DISABLE_CLAUDE_CODE": "1",
    "OPENCODE_DISABLE_EXTERNAL_SKILLS": "1",
}

# Bash may run ``echo ...`` and nothing else; opencode evaluates the last matching rule.  (opencode's
# default lets bash run anything; "ask" is auto-rejected by ``opencode run``: the tool call fails, the
# run exits 0 with nothing on stdout.)
DEFAULT_PERMISSION = {"bash": {"*": "deny", "echo *": "allow"}}

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
_KEEP = ("PATH", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME")


# ---- install ------------------------------------------------------------------------------------

def _root(prefix):
    return os.path.join(os.path.abspath(prefix or DEFAULT_PREFIX), SUBDIR)


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def _has_avx2():
    try:
        with open("/proc/cpuinfo") as fh:
            return " avx2" in fh.read()
    except OSError:
        return True


def _platform_packages():
    """The platform packages that may carry the binary, best first (the order of opencode's postinstall)."""
    system = {"darwin": "darwin", "linux": "linux", "windows": "windows"}.get(platform.system().lower(),
                                                                                platform.system().lower())
    machine = platform.machine().lower()
    cpu = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    base = "opencode-%s-%s" % (system, cpu)
    if cpu != "x64":
        names = [base, base + "-musl"] if system == "linux" else [base]
    else:
        names = [base, base + "-baseline"] if _has_avx2() else [base + "-baseline", base]
        if system == "linux":
            names += [n + "-musl" for n in names]
            musl = platform.libc_ver()[0] != "glibc" and any(n.startswith("ld-musl") for n in _listdir("/lib"))
            if musl:
                names = names[2:] + names[:2]
    return names


def _is_native(path):
    """True for an executable ELF / Mach-O / PE file of some size (not a stub or a script)."""
    try:
        if not os.access(path, os.X_OK) or os.path.getsize(path) < 1024 * 1024:
            return False
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError:
        return False
    return magic in (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe") or magic[:2] == b"MZ"


def installed_version(prefix=None):
    """The version of PACKAGE under ``prefix`` (None when absent)."""
    manifest = os.path.join(_root(prefix), "node_modules", PACKAGE, "package.json")
    try:
        with open(manifest) as fh:
            return json.load(fh).get("version")
    except (OSError, ValueError):
        return None


def _binary_in(prefix, version=PINNED_VERSION):
    if installed_version(prefix) != version:
        return None
    modules = os.path.join(_root(prefix), "node_modules")
    exe = "opencode.exe" if platform.system().lower() == "windows" else "opencode"
    # what the postinstall chose and checked (it runs `--version` on it), else the platform package
    candidates = [os.path.join(modules, PACKAGE, "bin", "opencode.exe")]
    candidates += [os.path.join(modules, name, "bin", exe) for name in _platform_packages()]
    for path in candidates:
        if _is_native(path):
            return path
    return None


def find_opencode(prefix=None, version=PINNED_VERSION):
    """Path of an installed pinned opencode executable, or None.

    ``$OPENCODE_BIN`` wins when set (it is trusted as is); otherwise ``prefix`` (default ``DEFAULT_PREFIX``)
    is searched.
    """
    explicit = os.environ.get("OPENCODE_BIN")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return _binary_in(prefix or DEFAULT_PREFIX, version)


def missing_reason(prefix=None, version=PINNED_VERSION):
    """Why ``find_opencode`` finds nothing: a skip reason for tests."""
    explicit = os.environ.get("OPENCODE_BIN")
    if explicit:
        return "OPENCODE_BIN=%s is not an executable file" % explicit
    prefix = prefix or DEFAULT_PREFIX
    found = installed_version(prefix)
    return ("opencode %s is not installed under %s%s (tests/run_all.py installs it with "
            "tests.agents.opencode.install(); or set OPENCODE_BIN)"
            % (version, _root(prefix), "" if found is None else " (found %s)" % found))


def install(prefix=None, timeout=600, version=PINNED_VERSION, npm="npm"):
    """Install PACKAGE@version under ``prefix`` (if not already there) and return the executable's path.

    Uses ``npm install --prefix <prefix>/opencode`` (the registry npm is configured for; the native binary
    arrives as the platform's optional dependency).  Safe to call from several processes: an flock on
    ``<prefix>/.opencode-install.lock`` serialises installs.  Raises RuntimeError when npm is missing or
    leaves no usable binary.
    """
    prefix = os.path.abspath(prefix or DEFAULT_PREFIX)
    found = _binary_in(prefix, version)
    if found:
        return found
    os.makedirs(_root(prefix), exist_ok=True)
    lock = open(os.path.join(prefix, ".opencode-install.lock"), "w")
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
        cmd = [npm, "install", "--prefix", _root(prefix), "--no-audit", "--no-fund", "--no-save",
               "--loglevel=error", "%s@%s" % (PACKAGE, version)]
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout)
        found = _binary_in(prefix, version)
        if not found:
            raise RuntimeError("%s failed (exit %s), or left no native binary (looked for %s):\n%s" % (
                " ".join(cmd), proc.returncode, ", ".join(_platform_packages()),
                proc.stdout.decode("utf-8", "replace")[-4000:]))
        return found
    finally:
        lock.close()


# ---- run ----------------------------------------------------------------------------------------

def _check_loopback(url, what):
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise ValueError("%s must be on loopback (127.0.0.1), got %r" % (what, url))


def opencode_config(base_url, api_key, model="gpt-4o", permission=None, extra=None):
    """The opencode.json for a run: one OpenAI-compatible provider ``argo`` at ``<base_url>/v1`` with the
    one ``model`` (also the small model, which writes the session title), offline switches, and
    ``permission`` (default DEFAULT_PERMISSION).  ``extra`` is merged in at the top level."""
    config = {
        "autoupdate": False,
        "share": "disabled",
        "snapshot": False,                            # no git snapshots of the working dir
        "enabled_providers": [PROVIDER_ID],           # nothing else, whatever the environment holds
        "model": "%s/%s" % (PROVIDER_ID, model),
        "small_model": "%s/%s" % (PROVIDER_ID, model),
        "provider": {
            PROVIDER_ID: {
                "npm": "@ai-sdk/openai-compatible",   # built into the binary, nothing is downloaded
                "name": "Argo via argo-proxy",
                "options": {"baseURL": base_url.rstrip("/") + "/v1", "apiKey": api_key},
                "models": {model: {"name": model}},
            },
        },
        "permission": DEFAULT_PERMISSION if permission is None else permission,
    }
    config.update(extra or {})
    return config


def _seed_config_dir(config_dir, version=PINNED_VERSION):
    """Make ``config_dir`` look like opencode already installed its plugin SDK there.

    At start opencode runs ``npm install @opencode-ai/plugin`` (in-process, from registry.npmjs.org) in
    each config directory unless ``node_modules/`` exists and ``package-lock.json`` lists every dependency
    of ``package.json`` (by name).  Nothing imports the package unless the
    directory holds plugins or custom tools, so recording it is enough.
    """
    os.makedirs(os.path.join(config_dir, "node_modules"), exist_ok=True)
    deps = {PLUGIN_PACKAGE: version}
    with open(os.path.join(config_dir, "package.json"), "w") as fh:
        json.dump({"dependencies": deps}, fh)
    with open(os.path.join(config_dir, "package-lock.json"), "w") as fh:
        json.dump({"name": "opencode-config", "lockfileVersion": 3, "requires": True,
                   "packages": {"": {"dependencies": deps}}}, fh)


def opencode_env(egress_proxy_url, home, extra_env=None):
    """The complete environment for an offline, non-interactive run (nothing inherited but PATH & co).

    HOME, TMPDIR and the XDG dirs live under ``home``; OFFLINE_ENV; every proxy variable (both cases) at
    ``egress_proxy_url`` and NO_PROXY at loopback.  ``extra_env`` wins; a value of None removes the variable.
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
    env["TMPDIR"] = os.path.join(home, "tmp")         # Bun unpacks native add-ons here
    for xdg, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache"),
                     ("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state")):
        env[xdg] = os.path.join(home, sub)
    env.update(OFFLINE_ENV)
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


def opencode_argv(opencode_bin, prompt, model="gpt-4o", extra_args=(), print_logs=False):
    """``opencode run --model argo/MODEL PROMPT`` (plus ``--print-logs --log-level INFO`` on request)."""
    argv = [opencode_bin, "run", "--model", "%s/%s" % (PROVIDER_ID, model)]
    if print_logs:
        argv += ["--print-logs", "--log-level", "INFO"]
    return argv + list(extra_args) + [prompt]



def run_opencode(opencode_bin, base_url, prompt, cwd, egress_proxy_url, model="gpt-4o", timeout=180,
                 api_key="sk-opencode-test-key", permission=None, config_extra=None, extra_args=(),
                 extra_env=None, home=None, print_logs=False):
    """Run ``opencode run PROMPT`` in ``cwd`` against ``base_url`` (the proxy; opencode calls
    ``<base_url>/v1/chat/completions`` with ``Authorization: Bearer <api_key>``); returns
    (returncode, stdout, stderr).

    stdout carries the model's final text; stderr the agent banner and the tool runs (and opencode's log
    with ``print_logs``).  Offline and hermetic: see the module docstring; HOME / TMPDIR / XDG dirs are a
    throwaway directory (removed afterwards unless ``home`` is given), the config is written to
    ``$XDG_CONFIG_HOME/opencode/opencode.json`` (``opencode_config(..., permission, config_extra)``), stdin
    is /dev/null.  On timeout the whole process group is killed and ``subprocess.TimeoutExpired`` is raised
    with the output so far attached.
    """
    _check_loopback(base_url, "base_url")
    own_home = home is None
    if own_home:
        home = tempfile.mkdtemp(prefix="opencode-home-")
    try:
        env = opencode_env(egress_proxy_url, home, extra_env=extra_env)
        os.makedirs(env["TMPDIR"], exist_ok=True)
        config_dir = os.path.join(env["XDG_CONFIG_HOME"], "opencode")
        _seed_config_dir(config_dir)
        config = opencode_config(base_url, api_key, model=model, permission=permission, extra=config_extra)
        with open(os.path.join(config_dir, "opencode.json"), "w") as fh:
            json.dump(config, fh, indent=2)
        argv = opencode_argv(opencode_bin, prompt, model=model, extra_args=extra_args, print_logs=print_logs)
        return run_in_group(argv, cwd, env, timeout)
    finally:
        if own_home:
            shutil.rmtree(home, ignore_errors=True)
