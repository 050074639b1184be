"""Install and find the reference MCP "everything" server (npm ``@modelcontextprotocol/server-everything``).

    script = install("/path/to/prefix")     # npm install of the pinned version, once; returns dist/index.js
    argv = server_argv(script, "stdio")     # [node, .../dist/index.js, "stdio"]

``install`` puts ``@modelcontextprotocol/server-everything@PINNED_VERSION`` into
``<prefix>/mcp-everything/node_modules`` with the ordinary npm client and returns the path of its entry script
(``dist/index.js``, the package's ``mcp-server-everything`` bin).  It gets its own npm root under the prefix
because ``npm install --no-save`` removes every package of the target ``node_modules`` it was not asked for
(see tests/agents/opencode.py).  ``install`` is idempotent: when the pinned version is there it only reads one
small JSON file.  The package pins only itself: its dependencies (``@modelcontextprotocol/sdk`` ^1.30,
express, zod, ...) are caret ranges resolved at install time.

The pinned version's CLI (``dist/index.js <transport>``): ``stdio``, ``sse`` or ``streamableHttp``; the HTTP
transports listen on ``$PORT`` (default 3001) on every interface, Streamable HTTP at ``/mcp``.  Tests start it
with ``PORT=<free port>`` and talk to ``http://127.0.0.1:<port>/mcp``; nothing in it reaches the network
unless a tool is asked to (tests deny those tools).

Tests find an installed copy with ``find_everything()``: ``$MCP_EVERYTHING_JS`` if set, else the one under
``DEFAULT_PREFIX`` (``$ARGO_PROXY_AGENTS_PREFIX`` or ``<repo>/.agents``); ``missing_reason()`` says why not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

__all__ = ["PINNED_VERSION", "PACKAGE", "DEFAULT_PREFIX", "install", "find_everything", "find_node",
           "installed_version", "missing_reason", "server_argv"]

PACKAGE = "@modelcontextprotocol/server-everything"
PINNED_VERSION = "2026.8.31"

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_PREFIX = os.environ.get("ARGO_PROXY_AGENTS_PREFIX") or os.path.join(ROOT, ".agents")
SUBDIR = "mcp-everything"                 # its own npm root inside the prefix
ENTRY = os.path.join("dist", "index.js")  # the package's bin (mcp-server-everything)


def _root(prefix):
    return os.path.join(os.path.abspath(prefix or DEFAULT_PREFIX), SUBDIR)


def _package_dir(prefix):
    return os.path.join(_root(prefix), "node_modules", *PACKAGE.split("/"))


def installed_version(prefix=None):
    """The version of PACKAGE under ``prefix`` (None when absent)."""
    try:
        with open(os.path.join(_package_dir(prefix), "package.json")) as fh:
            return json.load(fh).get("version")
    except (OSError, ValueError):
        return None


def _script_in(prefix, version=PINNED_VERSION):
    if installed_version(prefix) != version:
        return None
    script = os.path.join(_package_dir(prefix), ENTRY)
    # its SDK must be there too (an interrupted install may leave the package without it)
    sdk = os.path.join(_root(prefix), "node_modules", "@modelcontextprotocol", "sdk", "package.json")
    return script if os.path.isfile(script) and os.path.isfile(sdk) else None


def find_node():
    """The ``node`` executable ($NODE or PATH), or None."""
    explicit = os.environ.get("NODE")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("node")


def find_everything(prefix=None, version=PINNED_VERSION):
    """Path of the pinned server's ``dist/index.js``, or None (also None when ``node`` is missing).

    ``$MCP_EVERYTHING_JS`` wins when set (trusted as is); otherwise ``prefix`` (default ``DEFAULT_PREFIX``)
    is searched.
    """
    if find_node() is None:
        return None
    explicit = os.environ.get("MCP_EVERYTHING_JS")
    if explicit:
        return explicit if os.path.isfile(explicit) else None
    return _script_in(prefix or DEFAULT_PREFIX, version)


def missing_reason(prefix=None, version=PINNED_VERSION):
    """Why ``find_everything`` finds nothing: a skip reason for tests."""
    if find_node() is None:
        return "node is not on PATH (the MCP everything server is a Node.js program)"
    explicit = os.environ.get("MCP_EVERYTHING_JS")
    if explicit:
        return "MCP_EVERYTHING_JS=%s is not a file" % explicit
    prefix = prefix or DEFAULT_PREFIX
    found = installed_version(prefix)
    return ("%s %s is not installed under %s%s (tests/run_all.py installs it with "
            "tests.agents.mcp_everything.install(); or set MCP_EVERYTHING_JS)"
            % (PACKAGE, version, _root(prefix), "" if found is None else " (found %s)" % found))


def server_argv(script, transport="stdio"):
    """``[node, script, transport]``; transport is ``stdio``, ``sse`` or ``streamableHttp``."""
    return [find_node() or "node", script, transport]


def install(prefix=None, timeout=600, version=PINNED_VERSION, npm="npm"):
    """Install PACKAGE@version under ``prefix`` (if not already there) and return its ``dist/index.js``.

    Uses ``npm install --prefix <prefix>/mcp-everything`` (the registry npm is configured for).  Safe to call
    from several processes: an flock on ``<prefix>/.mcp-everything-install.lock`` serialises installs.
    Raises RuntimeError when npm is missing or the install leaves no usable package.
    """
    prefix = os.path.abspath(prefix or DEFAULT_PREFIX)
    found = _script_in(prefix, version)
    if found:
        return found
    os.makedirs(_root(prefix), exist_ok=True)
    lock = open(os.path.join(prefix, ".mcp-everything-install.lock"), "w")
    try:
        try:
            import fcntl
            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # Windows: no locking
            pass
        found = _script_in(prefix, version)  # another process may have finished meanwhile
        if found:
            return found
        if shutil.which(npm) is None:
            raise RuntimeError("npm not found on PATH; cannot install %s@%s" % (PACKAGE, version))
        cmd = [npm, "install", "--prefix", _root(prefix), "--no-audit", "--no-fund", "--no-save",
               "--loglevel=error", "%s@%s" % (PACKAGE, version)]
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout)
        found = _script_in(prefix, version)
        if not found:
            raise RuntimeError("%s failed (exit %s), or left no %s:\n%s" % (
                " ".join(cmd), proc.returncode, ENTRY, proc.stdout.decode("utf-8", "replace")[-4000:]))
        return found
    finally:
        lock.close()
