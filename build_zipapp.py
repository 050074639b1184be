"""Build argo-proxy.pyz: the whole product in one file, byte-identical for the same tree."""

from __future__ import annotations

import io
import os
import stat
import sys
import zipfile

ROOT = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "argo_proxy"
OUTPUT = os.path.join(ROOT, "argo-proxy.pyz")
SHEBANG = b"#!/usr/bin/env python3\n"
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entries carry no build time, so builds repeat exactly

MAIN = b"""import sys
from argo_proxy.cli import main
sys.exit(main())
"""


BUILD_MODULE = PACKAGE + "/_build.py"   # written into the archive only, never into the tree


def sources():
    """Package files in a stable order (sources only: no caches)."""
    found = []
    for folder, dirs, files in os.walk(os.path.join(ROOT, PACKAGE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                full = os.path.join(folder, name)
                arcname = os.path.relpath(full, ROOT).replace(os.sep, "/")
                if arcname != BUILD_MODULE:
                    found.append((arcname, full))
    return sorted(found)


def build_module() -> bytes:
    """argo_proxy/_build.py: the git commit and whether the tree had uncommitted changes
    ("unknown" and None without git), so --version and /version can say what was built."""
    sys.path.insert(0, ROOT)
    try:
        from argo_proxy import UNKNOWN, git_state
    finally:
        sys.path.remove(ROOT)
    info = git_state(ROOT) or UNKNOWN
    return ('"""Written by build_zipapp.py into the archive."""\n\nCOMMIT = %r\nDIRTY = %r\n'
            % (info["commit"], info["dirty"])).encode("utf-8")


def entry(name):
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.create_system = 3  # unix, whatever the build machine
    return info


def build(output=OUTPUT) -> str:
    buf = io.BytesIO()
    buf.write(SHEBANG)  # the zip follows the shebang line, as zipapp writes it
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(entry("__main__.py"), MAIN, compresslevel=9)
        files = sources() + [(BUILD_MODULE, None)]
        for arcname, full in sorted(files):
            if full is None:
                data = build_module()
            else:
                with open(full, "rb") as fh:
                    data = fh.read()
            zf.writestr(entry(arcname), data, compresslevel=9)
    tmp = "%s.%d.tmp" % (output, os.getpid())  # concurrent builds never share a temp file
    with open(tmp, "wb") as fh:
        fh.write(buf.getvalue())
    os.chmod(tmp, 0o755)
    os.replace(tmp, output)
    return output


if __name__ == "__main__":
    path = build(sys.argv[1] if len(sys.argv) > 1 else OUTPUT)
    print("built %s (%d bytes)" % (path, os.path.getsize(path)))
