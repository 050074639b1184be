"""argo-proxy: an OpenAI-compatible gateway to Argonne's Argo LLM service (stdlib only)."""

__version__ = "0.2.0"

UNKNOWN = {"commit": "unknown", "dirty": None}
_build = None   # the build info, worked out once


def build_info() -> dict:
    """{"commit": short git hash or "unknown", "dirty": bool or None (unknown)}.

    The .pyz carries it (build_zipapp.py writes argo_proxy/_build.py into the archive only);
    a checkout asks git once (nothing if git is missing); anything else is unknown."""
    global _build
    if _build is None:
        _build = _embedded() or _checkout() or UNKNOWN
    return dict(_build)


def version_text() -> str:
    """`argo-proxy 0.2.0 (commit 1a2b3c4)`, with `, uncommitted changes` when the tree was dirty."""
    info = build_info()
    dirty = ", uncommitted changes" if info["dirty"] else ""
    return "argo-proxy %s (commit %s%s)" % (__version__, info["commit"], dirty)


def _embedded():
    try:
        from ._build import COMMIT, DIRTY
    except ImportError:
        return None
    return {"commit": COMMIT, "dirty": DIRTY}


def _checkout():
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists(os.path.join(root, ".git")):   # a file in a git worktree
        return None
    return git_state(root)


def git_state(root):
    """{"commit", "dirty"} of the git checkout at root, or None (no git, not a checkout)."""
    import subprocess

    def git(*args):
        done = subprocess.run(("git", "-C", root) + args, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=10)
        if done.returncode != 0:
            raise OSError("git %s failed" % args[0])
        return done.stdout.decode("utf-8", "replace").strip()
    try:
        commit = git("rev-parse", "--short", "HEAD")
        changes = git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(changes)} if commit else None
