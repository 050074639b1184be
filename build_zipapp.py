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


def sources():
    """Package files in a stable order (sources only: no caches)."""
    found = []
    for folder, dirs, files in os.walk(os.path.join(ROOT, PACKAGE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                full = os.path.join(folder, name)
                found.append((os.path.relpath(full, ROOT).replace(os.sep, "/"), full))
    return sorted(found)


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
        for arcname, full in sources():
            with open(full, "rb") as fh:
                zf.writestr(entry(arcname), fh.read(), compresslevel=9)
    tmp = "%s.%d.tmp" % (output, os.getpid())  # concurrent builds never share a temp file
    with open(tmp, "wb") as fh:
        fh.write(buf.getvalue())
    os.chmod(tmp, 0o755)
    os.replace(tmp, output)
    return output


if __name__ == "__main__":
    path = build(sys.argv[1] if len(sys.argv) > 1 else OUTPUT)
    print("built %s (%d bytes)" % (path, os.path.getsize(path)))
