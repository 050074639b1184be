"""The status page in a real headless Chromium (Debian's, driven by the pinned playwright
package), against the built .pyz and the fake Argo, with a proxy key set.

ARGO_PROXY_SCREENSHOT=docs/status-page.png also saves a screenshot there (for the README).
"""

import os
import re
import sys

import pytest

from tests import proxyproc
from tests.browser import chromium

KEY = "browser-k3y"
AUTH = {"Authorization": "Bearer " + KEY}
FAILED_ID = "browser-fail-42"
EVIL_MODEL = "<img src=x onerror=alert(1)>"
FAKE_MCP = os.path.join(proxyproc.ROOT, "tests", "fakes", "fake_mcp.py")

pytestmark = pytest.mark.skipif(chromium.missing_reason() is not None,
                                reason=chromium.missing_reason() or "")


def chat(proxy, model="gpt4o", request_id=None):
    headers = dict(AUTH, **({"x-request-id": request_id} if request_id else {}))
    return proxy.request("POST", "/v1/chat/completions", headers=headers,
                         body={"model": model, "messages": [{"role": "user", "content": "Hi"}]})


def counted(proxy, n):
    """True once the proxy has counted n chat requests (each is counted after its answer)."""
    metrics = proxy.request("GET", "/metrics", headers=AUTH)[2].decode()
    lines = [line for line in metrics.splitlines()
             if line.startswith("argo_proxy_requests_total{") and '"/v1/chat/completions"' in line]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines) >= n


class Watch:
    """Everything the page did wrong: console errors, script errors, failed or refused requests."""

    def __init__(self, page):
        self.problems = []
        page.on("console", lambda m: m.type == "error" and self.problems.append("console: " + m.text))
        page.on("pageerror", lambda err: self.problems.append("script: %s" % err))
        page.on("requestfailed", lambda r: self.problems.append("failed: %s %s" % (r.url, r.failure)))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(
            "HTTP %d: %s" % (r.status, r.url)))


@pytest.fixture
def proxy(start_proxy, fake):
    servers = {"calc": {"command": sys.executable, "args": [FAKE_MCP, "--stdio"]}}
    return start_proxy("--user", "t", "--api-key", KEY,
                       config={"argo_base_url": fake.url, "mcp_servers": servers,
                               "mcp_startup": "startup"})


def test_status_page_in_chromium(proxy, fake, tmp_path):
    from playwright.sync_api import expect
    assert chat(proxy, request_id="browser-ok-1")[0] == 200
    fake.add_fault("/api/v1/resource/chat/", times=1, status=500)
    status, _, body = chat(proxy, model=EVIL_MODEL, request_id=FAILED_ID)
    assert status == 500 and FAILED_ID in body["error"]["message"]
    assert proxyproc.wait_until(lambda: counted(proxy, 2), timeout=10)

    with chromium.browser(tmp_path / "profile") as context:
        page = context.new_page()
        watch = Watch(page)
        page.goto(proxy.url + "/?key=" + KEY)

        row = page.locator('tr.error[data-request-id="%s"]' % FAILED_ID)
        assert row.count() == 1
        cells = row.locator("td").all_inner_texts()
        assert FAILED_ID in cells and "500" in cells and "upstream" in cells
        assert EVIL_MODEL in cells                      # shown as text ...
        assert page.locator("main img").count() == 0    # ... never as markup
        assert int(page.inner_text('b[data-count="requests"]')) >= 2
        assert int(page.inner_text('b[data-count="errors"]')) >= 1

        bars = page.locator('svg[data-chart="requests"] rect.bar')
        assert bars.count() >= 1 and int(bars.first.get_attribute("data-n")) >= 2
        assert int(page.get_attribute('svg[data-chart="latency"]', "data-points")) >= 1
        assert page.locator('svg[data-chart="latency"] circle').count() >= 2   # p50 and p95

        assert "ok" in page.inner_text("#tools") and "calc" in page.inner_text("#tools")

        # the refresh button POSTs /refresh (with the key, from the page's own origin)
        models_asked = len([r for r in fake.requests if r["path"].startswith("/api/v1/models")])
        page.click("#refresh-models")
        # (locator waits: the page's CSP rightly forbids the eval that wait_for_function needs)
        expect(page.locator("#notice")).to_have_text(re.compile(r"^Model list refreshed: \d+ models"),
                                                     timeout=15000)
        assert len([r for r in fake.requests if r["path"].startswith("/api/v1/models")]) > models_asked
        listed = re.search(r"(\d+) models", page.inner_text("#notice")).group(1)
        expect(page.locator('b[data-count="models"]')).to_have_text(listed, timeout=15000)

        # the page refreshes itself: a new request shows up without a reload
        before = int(page.inner_text('b[data-count="requests"]'))
        assert chat(proxy)[0] == 200
        assert proxyproc.wait_until(
            lambda: int(page.inner_text('b[data-count="requests"]')) > before, timeout=20)
        assert "updated" in page.inner_text("#stamp")

        shot = os.environ.get("ARGO_PROXY_SCREENSHOT")
        page.screenshot(path=shot or str(tmp_path / "status-page.png"), full_page=True)
        assert watch.problems == []


def test_without_the_key_the_browser_gets_a_page_saying_so(proxy, tmp_path):
    with chromium.browser(tmp_path / "profile") as context:
        page = context.new_page()
        response = page.goto(proxy.url + "/")
        assert response.status == 401
        assert "/?key=" in page.inner_text("body")
        assert page.locator("#live").count() == 0
