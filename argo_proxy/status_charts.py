"""The status page's charts: the last hour by minute, as inline SVG (no script, no assets)."""

from __future__ import annotations

import math
import time
from html import escape

from .observe import LATENCY_BUCKETS, MINUTES, Histogram

WIDTH, HEIGHT, LEFT, BOTTOM = 1000, 150, 52, 18   # viewBox and the margins for the axis labels
PLOT_W, PLOT_H = WIDTH - LEFT - 4, HEIGHT - BOTTOM - 6
LOW, HIGH = LATENCY_BUCKETS[0], LATENCY_BUCKETS[-1]   # the latency axis (log scale)
GRID = ((0.01, "10 ms"), (0.1, "100 ms"), (1.0, "1 s"), (10.0, "10 s"), (100.0, "100 s"))


def window(minutes, now=None):
    """[(minute, requests, errors, Histogram or None)] for each of the last MINUTES minutes,
    oldest first, from Stats.minutes (which holds only minutes that had requests)."""
    current = int((time.time() if now is None else now) // 60)
    seen = {}
    for m, n, e, h in minutes:   # a minute may come twice: a slow request finishing late
        if m in seen:
            n, e, h = seen[m][0] + n, seen[m][1] + e, _merged(seen[m][2], h)
        seen[m] = (n, e, h)
    return [(m,) + seen.get(m, (0, 0, None)) for m in range(current - MINUTES + 1, current + 1)]


def _merged(a, b):
    both = Histogram()
    both.counts = [x + y for x, y in zip(a.counts, b.counts)]
    both.total, both.count = a.total + b.total, a.count + b.count
    return both


def _clock(minute):
    return time.strftime("%H:%M UTC", time.gmtime(minute * 60))


def _svg(kind, label, body, points):
    return ('<svg class="chart" data-chart="%s" data-points="%d" viewBox="0 0 %d %d" role="img" '
            'aria-label="%s">%s%s</svg>'
            % (kind, points, WIDTH, HEIGHT, escape(label), _time_axis(), "".join(body)))


def _time_axis():
    y = HEIGHT - 4
    return ('<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>'
            '<text class="tick" x="%d" y="%d">-60 min</text>'
            '<text class="tick" x="%d" y="%d" text-anchor="end">now</text>'
            % (LEFT, 6 + PLOT_H, WIDTH - 4, 6 + PLOT_H, LEFT, y, WIDTH - 4, y))


def requests_chart(slots) -> str:
    """Bars of requests per minute (errors in their own colour on top of the successes)."""
    top = max([n for _, n, _, _ in slots] + [1])
    step = PLOT_W / float(len(slots))
    body = ['<text class="tick" x="%d" y="12" text-anchor="end">%d</text>' % (LEFT - 4, top),
            '<text class="tick" x="%d" y="%d" text-anchor="end">0</text>' % (LEFT - 4, 6 + PLOT_H)]
    points = 0
    for i, (minute, n, errors, _) in enumerate(slots):
        if not n:
            continue
        points += 1
        x, h, eh = LEFT + i * step, PLOT_H * n / top, PLOT_H * errors / top
        tip = "%s: %d requests, %d errors" % (_clock(minute), n, errors)
        body.append('<g><title>%s</title><rect class="bar" data-n="%d" x="%.1f" y="%.1f" '
                    'width="%.1f" height="%.1f"/>' % (tip, n, x, 6 + PLOT_H - h, step * 0.8, h))
        if errors:
            body.append('<rect class="bar-error" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>'
                        % (x, 6 + PLOT_H - h, step * 0.8, eh))
        body.append("</g>")
    if not points:
        body.append(_empty())
    return _svg("requests", "Requests per minute, last hour", body, points)


def _y(seconds):
    """The latency axis: log scale from the first bucket edge to the last (beyond: the top)."""
    seconds = min(max(seconds, LOW), HIGH)
    share = (math.log10(seconds) - math.log10(LOW)) / (math.log10(HIGH) - math.log10(LOW))
    return 6 + PLOT_H * (1 - share)


def _seconds(value):
    if value is None:
        return "-"
    if math.isinf(value):
        return "> %g s" % HIGH
    return "%g ms" % (value * 1000) if value < 1 else "%g s" % value


def latency_chart(slots) -> str:
    """p50 and p95 latency per minute (upper bounds: the histogram's bucket edges)."""
    body = []
    for seconds, label in GRID:
        y = _y(seconds)
        body.append('<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>'
                    '<text class="tick" x="%d" y="%.1f" text-anchor="end">%s</text>'
                    % (LEFT, y, WIDTH - 4, y, LEFT - 4, y + 3, label))
    step = PLOT_W / float(len(slots))
    lines = {"p50": [], "p95": []}
    for i, (minute, n, _, hist) in enumerate(slots):
        if hist is None or not hist.count:
            continue
        x = LEFT + (i + 0.4) * step
        p50, p95 = hist.quantile(0.5), hist.quantile(0.95)
        tip = "%s: p50 %s, p95 %s (%d requests)" % (_clock(minute), _seconds(p50), _seconds(p95), n)
        for name, value in (("p50", p50), ("p95", p95)):
            lines[name].append((x, _y(value)))
            body.append('<circle class="dot-%s" cx="%.1f" cy="%.1f" r="2.5"><title>%s</title>'
                        '</circle>' % (name, x, _y(value), tip))
    for name, points in lines.items():
        if len(points) > 1:
            body.insert(len(GRID), '<polyline class="line-%s" points="%s"/>'
                        % (name, " ".join("%.1f,%.1f" % p for p in points)))
    if not lines["p50"]:
        body.append(_empty())
    return _svg("latency", "p50 and p95 latency per minute, last hour", body, len(lines["p50"]))


def _empty():
    return ('<text class="empty" x="%d" y="%d" text-anchor="middle">no requests in the last hour'
            '</text>' % (LEFT + PLOT_W // 2, 6 + PLOT_H // 2))
