"""GET / for a browser: one self-contained HTML page (inline CSS and script, no assets).

Everything is rendered here, escaped with html.escape; the page's script only re-fetches the
page every few seconds and swaps in its `#live` part, and POSTs /refresh for the button. The
Content-Security-Policy allows exactly this page's own style and script (by hash) and fetches
to the proxy itself.
"""

from __future__ import annotations

import base64
import hashlib
import time
from html import escape

from . import status_charts, version_text
from .observe import RECENT_ERRORS
from .status_assets import SCRIPT, STYLE

REFRESH_SECONDS = 5


def _hash(text):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


CSP = ("default-src 'none'; script-src %s; style-src %s; connect-src 'self'; img-src data:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'" % (_hash(SCRIPT), _hash(STYLE)))
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "Vary": "Accept",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
CONTENT_TYPE = "text/html; charset=utf-8"


def e(value) -> str:
    return escape("" if value is None else str(value), quote=True)


def ago(seconds) -> str:
    seconds = max(0, int(seconds))
    if seconds < 90:
        return "%d s ago" % seconds
    if seconds < 5400:
        return "%d min ago" % (seconds // 60)
    if seconds < 172800:
        return "%.1f h ago" % (seconds / 3600.0)
    return "%d days ago" % (seconds // 86400)


def when(wall, now) -> str:
    """A wall time as "12 s ago", with the UTC time as its tooltip."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(wall))
    return '<time datetime="%s" title="%s">%s</time>' % (
        e(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))), e(stamp), e(ago(now - wall)))


def view(app, snap, gauges, listen, now=None) -> dict:
    """What the page shows, from a Stats snapshot and the scrape-time gauges (metrics.gauges)."""
    now = time.time() if now is None else now
    slots = status_charts.window(snap["minutes"], now)
    return {"now": now, "version": version_text(), "mode": app.config.mode, "listen": listen,
            "started": gauges.started, "upstream": app.observer.upstream_name,
            "last_ok": snap["last_ok"], "last_failure": snap["last_failure"],
            "requests": sum(snap["requests"].values()), "streams_open": gauges.streams_open,
            "hour_requests": sum(s[1] for s in slots), "hour_errors": sum(s[2] for s in slots),
            "slots": slots, "models": dict(gauges.models, updated=now - gauges.model_age),
            "can_refresh": not app.config.llamastack_mode,
            "tool_sources": gauges.tool_sources if app.toolset is not None else None,
            "errors": snap["errors"], "errors_kept": RECENT_ERRORS}


def page(view) -> str:
    """The whole document from view(...)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<link rel=\"icon\" href=\"data:,\"><title>argo-proxy status</title>"
            "<style>%s</style></head><body data-refresh=\"%d\">"
            "<header><h1>argo-proxy</h1><span id=\"stamp\" class=\"muted\"></span>"
            "<p id=\"notice\" role=\"status\"></p></header>%s"
            "<footer class=\"muted\">Prometheus metrics at <code>/metrics</code>; this page at "
            "<code>/</code> (JSON for clients that do not ask for HTML).</footer>"
            "<script>%s</script></body></html>\n"
            % (STYLE, REFRESH_SECONDS, live(view), SCRIPT))


def login_page() -> str:
    """What a browser gets without the proxy's key (the status page needs it)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<link rel=\"icon\" href=\"data:,\"><title>argo-proxy: key needed</title>"
            "<style>%s</style></head><body><header><h1>argo-proxy</h1></header>"
            "<section class=\"card\"><h2>This proxy needs its API key</h2><p>Open the status "
            "page as <code>/?key=YOUR_KEY</code> (the proxy_api_key it was started with).</p>"
            "</section></body></html>\n" % STYLE)


def live(view) -> str:
    """The part the script swaps in on every refresh."""
    return '<main id="live">%s%s%s%s%s%s</main>' % (
        _overview(view), _upstream(view), _models(view), _traffic(view), _tools(view),
        _errors(view))


def _card(title, body, wide=False, card_id=None):
    return '<section class="card%s"%s><h2>%s</h2>%s</section>' % (
        " wide" if wide else "", ' id="%s"' % card_id if card_id else "", e(title), body)


def _facts(rows):
    return "<dl>%s</dl>" % "".join("<dt>%s</dt><dd>%s</dd>" % (e(k), v) for k, v in rows)


def _overview(v):
    return _card("Proxy", _facts([
        ("version", e(v["version"])), ("mode", e(v["mode"])), ("listening on", e(v["listen"])),
        ("started", when(v["started"], v["now"]))]), card_id="proxy")


def _upstream(v):
    ok, failure, now = v["last_ok"], v["last_failure"], v["now"]
    if failure and (not ok or failure[0] > ok):
        state, label = "bad", "failing"
    elif ok:
        state, label = "good", "reachable"
    else:
        state, label = "unknown", "not asked yet"
    rows = [("status", '<span class="pill %s">%s</span>' % (state, label)),
            ("last answer", when(ok, now) if ok else "never")]
    if failure:
        rows.append(("last failure", "%s: %s" % (when(failure[0], now), e(failure[1]))))
    return _card(v["upstream"], _facts(rows), card_id="upstream")


def _traffic(v):
    counts = ('<div class="numbers">%s</div>' % "".join(
        '<div><b data-count="%s">%d</b><span>%s</span></div>' % (name, n, e(label))
        for name, n, label in (("requests", v["requests"], "requests since start"),
                               ("hour", v["hour_requests"], "requests, last hour"),
                               ("errors", v["hour_errors"], "errors, last hour"),
                               ("streams", v["streams_open"], "streams open now"))))
    slots = v["slots"]
    charts = ('<h3>Requests per minute</h3>%s<h3>Latency per minute <span class="key p50">p50'
              '</span> <span class="key p95">p95</span></h3>%s'
              % (status_charts.requests_chart(slots), status_charts.latency_chart(slots)))
    return _card("Traffic", counts + charts, wide=True, card_id="traffic")


def _models(v):
    m = v["models"]
    rows = [("models", '<b data-count="models">%d</b> (%d aliases)' % (m.get("models", 0),
                                                                       m.get("aliases", 0))),
            ("from", e(m.get("source"))), ("made", when(m["updated"], v["now"]))]
    button = ('<button id="refresh-models" type="button">Refresh the model list</button>'
              if v["can_refresh"] else "")
    return _card("Models", _facts(rows) + button, card_id="models")


def _tools(v):
    sources = v["tool_sources"]
    if sources is None:
        return _card("Tool sources", '<p class="muted">None configured (mcp_servers, '
                     'llamastack_url).</p>', wide=True, card_id="tools")
    rows = "".join('<tr><td>%s</td><td><span class="pill %s">%s</span></td><td>%d</td><td>%s</td>'
                   "</tr>" % (e(s["source"]), "good" if s.get("ok") else "bad",
                              "ok" if s.get("ok") else "not available", s.get("tools", 0),
                              e(s.get("error", ""))) for s in sources)
    return _card("Tool sources", "<table><thead><tr><th>source</th><th>status</th><th>tools</th>"
                 "<th>last error</th></tr></thead><tbody>%s</tbody></table>" % rows,
                 wide=True, card_id="tools")


def _errors(v):
    errors = v["errors"]
    if not errors:
        return _card("Recent errors", '<p class="muted">No errors since start.</p>', wide=True,
                     card_id="errors")
    rows = "".join(_error_row(r, v["now"]) for r in reversed(errors))
    return _card("Recent errors (newest first, last %d kept)" % v["errors_kept"],
                 '<div class="scroll"><table><thead><tr><th>when</th><th>request id</th>'
                 "<th>status</th><th>whose</th><th>request</th><th>model</th><th>message</th></tr>"
                 "</thead><tbody>%s</tbody></table></div>" % rows, wide=True, card_id="errors")


def _error_row(r, now):
    cells = (when(r["time"], now), "<code>%s</code>" % e(r["request_id"]), e(r["status"]),
             '<span class="src %s">%s</span>' % (e(r["source"]), e(r["source"])),
             "%s %s" % (e(r["method"]), e(r["path"])), e(r["model"] or ""), e(r["message"]))
    classes = ("nowrap", "nowrap", "", "", "nowrap", "", "msg")
    return '<tr class="error" data-request-id="%s">%s</tr>' % (e(r["request_id"]), "".join(
        "<td%s>%s</td>" % (' class="%s"' % c if c else "", cell) for c, cell in zip(classes, cells)))
