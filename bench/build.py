"""What the subjects run: our argo-proxy.pyz (from the work tree, or from a git ref for --baseline),
a plain venv for ours, and throwaway venvs holding the PyPI reference versions."""

from __future__ import annotations

import glob
import io
import os
import shutil
import subprocess
import sys
import tarfile

from common import REPO, WORK, log

PYZ = os.path.join(REPO, "argo-proxy.pyz")
OURS_VENV = os.path.join(WORK, "oursvenv")


def build_ours():
    """python3 build_zipapp.py in the work tree: writes argo-proxy.pyz at its root."""
    log("building %s" % PYZ)
    subprocess.run([sys.executable, os.path.join(REPO, "build_zipapp.py")], cwd=REPO, check=True,
                   capture_output=True, timeout=120)
    return PYZ


def git(*args):
    return subprocess.run(["git", "-C", REPO] + list(args), check=True, capture_output=True,
                          timeout=120).stdout


def build_baseline(ref):
    """argo-proxy.pyz built from git ref `ref` (git archive into bench/.work/baseline-SHA, then its
    own build_zipapp.py). Returns (pyz path, full commit id); cached per commit."""
    sha = git("rev-parse", "--verify", "%s^{commit}" % ref).decode().strip()
    tree = os.path.join(WORK, "baseline-%s" % sha[:12])
    pyz = os.path.join(tree, "argo-proxy.pyz")
    if os.path.exists(pyz):
        return pyz, sha
    log("building ours@%s (%s) into %s" % (ref, sha[:12], tree))
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(tree)
    with tarfile.open(fileobj=io.BytesIO(git("archive", "--format=tar", sha))) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tree, filter="data")
        else:
            tar.extractall(tree)
    subprocess.run([sys.executable, os.path.join(tree, "build_zipapp.py")], cwd=tree, check=True,
                   capture_output=True, timeout=120)
    if not os.path.exists(pyz):
        raise RuntimeError("build_zipapp.py of %s wrote no argo-proxy.pyz" % ref)
    return pyz, sha


def head_commit():
    """Short commit of the work tree, with '+changes' when it has uncommitted edits."""
    try:
        sha = git("rev-parse", "--short", "HEAD").decode().strip()
        dirty = git("status", "--porcelain", "--untracked-files=no").strip()
        return sha + ("+changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def ours_python():
    """A plain venv (no packages) of the same Python: ours runs under the same conditions as the
    references, which run from venvs. A venv skips the machine's site-packages, whose .pth files
    (here one imports certifi at every interpreter start) would otherwise load in ours only."""
    py = os.path.join(OURS_VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--clear", OURS_VENV], check=True,
                       timeout=120, capture_output=True)
    return py


def python_at_least(minor):
    """An interpreter of Python >= 3.minor: this one, else the newest fitting one under ~/.pyenv."""
    if sys.version_info >= (3, minor):
        return sys.executable
    found = []
    for path in glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")):
        try:
            ver = tuple(int(x) for x in path.split("/versions/")[1].split("/")[0].split(".")[:2])
        except ValueError:
            continue
        if ver >= (3, minor):
            found.append((ver, path))
    return max(found)[1] if found else None


def installed_version(py):
    out = subprocess.run([py, "-c", "import importlib.metadata as m; print(m.version('argo-proxy'))"],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.strip()


def ensure_venv(version, venv, min_minor=8):
    """(python of the venv, None) once argo-proxy==version is installed there, else (None, why)."""
    py = os.path.join(venv, "bin", "python")
    try:
        if os.path.exists(py) and installed_version(py) == version:
            return py, None
    except (OSError, subprocess.SubprocessError):
        pass
    base = python_at_least(min_minor)
    if base is None:
        return None, "argo-proxy %s needs Python >= 3.%d and none was found" % (version, min_minor)
    log("installing argo-proxy==%s into %s" % (version, venv))
    try:
        subprocess.run([base, "-m", "venv", "--clear", venv], check=True, timeout=300, capture_output=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "argo-proxy==%s" % version], check=True,
                       timeout=900, capture_output=True)
        got = installed_version(py)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        return None, "could not install argo-proxy==%s from PyPI: %s %s" % (version, exc, detail[-300:])
    if got != version:
        return None, "argo-proxy==%s installed but reports version %r" % (version, got)
    return py, None
