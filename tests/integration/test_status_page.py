"""GET / for browsers: the status page (content negotiation, escaping, CSP, the key, the Host
and Origin checks) against the built .pyz. The page in a real browser: tests/browser."""

import base64
import hashlib
import re
from types import SimpleNamespace

import pytest

from argo_proxy.guard import Guard
from tests import proxyproc

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CHAT = {"model": "gpt4o", "messages": [{"role": "user", "content": "Hi"}]}


def page(proxy, path="/", headers=None):
    status, head, body = proxy.request("GET", path, headers=dict(HTML, **(headers or {})))
    return status, head, body.decode("utf-8") if isinstance(body, bytes) else body


def errors_shown(proxy, request_id, headers=None):
    """The page once it lists request_id (a request is recorded just after its answer)."""
    seen = {}

    def shown():
        seen["page"] = page(proxy, headers=headers)[2]
        return 'data-request-id="%s"' % request_id in seen["page"]
    assert proxyproc.wait_until(shown, 10), seen.get("page", "")[-2000:]
    return seen["page"]


@pytest.mark.smoke
def test_browsers_get_the_page_and_other_clients_the_json_welcome(proxy):
    status, head, body = proxy.request("GET", "/")
    assert status == 200 and "Point your client at /v1" in body["message"]
    assert head["Vary"] == "Accept"
    status, head, text = page(proxy)
    assert status == 200 and head["Content-Type"] == "text/html; charset=utf-8"
    assert text.startswith("<!DOCTYPE html>") and 'id="live"' in text
    for shown in ("argo-proxy 0.", "standard", proxy.url, "Refresh the model list"):
        assert shown in text, shown
    assert head["Cache-Control"] == "no-store" and head["X-Content-Type-Options"] == "nosniff"


def test_the_page_is_self_contained_and_its_csp_allows_only_its_own_inline_code(proxy):
    _, head, text = page(proxy)
    csp = dict(part.strip().split(" ", 1) for part in head["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'none'" and csp["connect-src"] == "'self'"
    for tag in ("script", "style"):
        inline = re.search(r"<%s>(.*?)</%s>" % (tag, tag), text, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert csp["%s-src" % tag] == "'sha256-%s'" % digest
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", text)   # nothing from elsewhere
    assert text.count("<script") == 1


def test_user_controlled_text_is_escaped(proxy, fake):
    fake.add_fault("/api/v1/resource/chat/", times=1, status=500,
                   body={"error": {"message": "<b>upstream & co</b>"}})
    evil_model = '"><script>alert(1)</script>'
    proxy.request("POST", "/v1/chat/completions", body=dict(CHAT, model=evil_model),
                  headers={"x-request-id": "evil-1"})
    proxy.request("GET", "/v1/<i>nope</i>", headers={"x-request-id": "evil-2"})
    text = errors_shown(proxy, "evil-2")
    live = text[text.index('<main id="live">'):text.index("</main>")]
    assert "<script>" not in live and "<b>" not in live and "<i>" not in live
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in live
    assert "&lt;b&gt;upstream &amp; co&lt;/b&gt;" in live
    assert "/v1/&lt;i&gt;nope&lt;/i&gt;" in live
    assert 'data-request-id="evil-1"' in live


def test_a_failed_request_is_listed_with_its_id_and_whose_failure(proxy, fake):
    fake.add_fault("/api/v1/resource/chat/", times=1, status=500)
    status, _, body = proxy.request("POST", "/v1/chat/completions", body=CHAT,
                                    headers={"x-request-id": "page-fail-7"})
    assert status == 500
    text = errors_shown(proxy, "page-fail-7")
    row = re.search(r'<tr class="error" data-request-id="page-fail-7">(.*?)</tr>', text).group(1)
    assert '<span class="src upstream">upstream</span>' in row and "<td>500</td>" in row
    assert "POST /v1/chat/completions" in row and "gpt4o" in row
    assert 'class="pill bad">failing' in text   # Argo's last word was a failure


def test_the_page_needs_the_key_when_one_is_set(start_proxy, fake):
    p = start_proxy("--user", "t", "--api-key", "pg-key", config={"argo_base_url": fake.url})
    status, head, text = page(p)
    assert status == 401 and head["Content-Type"].startswith("text/html")
    assert "/?key=" in text and 'id="live"' not in text
    assert page(p, "/?key=wrong")[0] == 401
    assert page(p, "/?key=pg-key")[0] == 200
    assert page(p, headers={"Authorization": "Bearer pg-key"})[0] == 200
    assert p.request("GET", "/")[0] == 200                # the JSON welcome stays public
    assert p.request("POST", "/refresh")[0] == 401


def test_host_and_origin_checks_apply(proxy):
    assert page(proxy, headers={"Host": "evil.example"})[0] == 421
    assert proxy.request("POST", "/refresh", headers={"Origin": "http://evil.example"})[0] == 403
    own = proxy.url   # the page's own origin, as a browser sends it on its POST
    status, head, body = proxy.request("POST", "/refresh", headers={"Origin": own})
    assert status == 200 and body["ok"] is True and "Access-Control-Allow-Origin" not in head
    other_port = own.rsplit(":", 1)[0] + ":1"
    assert proxy.request("POST", "/refresh", headers={"Origin": other_port})[0] == 403


def test_same_origin_is_trusted_only_for_own_host_names_or_with_a_key():
    def guard(host, key=None):
        return Guard(SimpleNamespace(socket=None, host=host, allowed_hosts=None, cors_origins=None,
                                     proxy_api_key=key))
    # a rebound DNS name on a proxy listening on every interface, without a key: refused
    assert not guard("0.0.0.0").same_origin("http://evil.example:44497", "evil.example:44497")
    assert guard("0.0.0.0", key="k").same_origin("http://box.lan:44497", "box.lan:44497")
    assert guard("127.0.0.1").same_origin("http://localhost:44497", "localhost:44497")
    assert not guard("127.0.0.1").same_origin("http://localhost:3000", "localhost:44497")
    assert not guard("127.0.0.1").same_origin("https://localhost:44497", "localhost:44497")


def test_a_slow_request_counts_in_the_minute_it_finished():
    # Stats files a request under the minute it finished, so the slots stay in order however
    # long a request took
    from argo_proxy import status_charts
    from argo_proxy.observe import Stats, Trace
    stats, now = Stats(), 1_800_000_030.0   # 30 s into a minute
    for started, elapsed in ((now - 70, 65.0), (now - 5, 0.2), (now - 69, 0.1), (now - 4, 0.3)):
        trace = Trace("r", "POST", "/v1/chat/completions")
        trace.wall, trace.elapsed, trace.status = started, elapsed, 200
        stats.record(trace)
    slots = status_charts.window(stats.snapshot()["minutes"], now)
    assert len(slots) == 60 and [n for _, n, _, _ in slots[-2:]] == [1, 3]
    assert slots[-1][3].count == 3 and slots[-1][3].quantile(1.0) == 120.0
    svg = status_charts.requests_chart(slots)
    assert svg.count('class="bar"') == 2 and 'data-points="2"' in svg
