"""Debian's Chromium, headless, driven by the pinned Python `playwright` package (its own
browser downloads are never used: the executable is the system's).

    with browser(profile_dir) as context:   # a fresh profile, no network of its own
        page = context.new_page()

`missing_reason()` says why a browser test must skip (no chromium, no playwright).
"""

from __future__ import annotations

import contextlib
import os
import shutil

EXECUTABLE = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def executable():
    found = EXECUTABLE if os.path.isabs(EXECUTABLE) else shutil.which(EXECUTABLE)
    return found if found and os.access(found, os.X_OK) else None


def missing_reason():
    """None when a browser test can run, else why not."""
    if executable() is None:
        return ("no Chromium at %s (.ci/run installs Debian's with apt-get install chromium; "
                "or set CHROMIUM)" % EXECUTABLE)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (tests/requirements.txt pins it)"
    return None


@contextlib.contextmanager
def browser(profile_dir, width=1280, height=900):
    """A headless Chromium context with a fresh --user-data-dir (profile_dir)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile_dir), executable_path=executable(), headless=True, args=ARGS,
            viewport={"width": width, "height": height}, timeout=60000)
        try:
            yield context
        finally:
            context.close()
