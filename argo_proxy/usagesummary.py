"""Summaries of the usage file (usagefile.py): for GET /v1/usage and `argo-proxy usage`.

The files are read line by line, oldest first (usage.jsonl.N ... .1, usage.jsonl), then the
lines still buffered in the running proxy. A line that is not a usage object (a torn last
line after a crash, garbage) is skipped and counted.
"""

from __future__ import annotations

import datetime
import json
import re
import time

from .logs import iso_time

GROUPS = ("model", "user", "day")
COUNTS = ("requests", "tokens_in", "tokens_out", "estimated_requests", "errors")
_RELATIVE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*\Z", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
SINCE_HELP = "an ISO date or date-time (2025-01-31, 2025-01-31T12:00Z) or a span back from " \
             "now (30m, 24h, 7d, 2w)"


class BadParameter(ValueError):
    """A bad `since` or `group_by`: .param names it."""

    def __init__(self, param, message):
        super().__init__(message)
        self.param = param


def parse_since(text, now=None):
    """`since` -> epoch seconds (None for no bound). Dates and naive times are UTC."""
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    found = _RELATIVE.match(text)
    if found:
        seconds = float(found.group(1)) * _SECONDS[found.group(2).lower()]
        return max((time.time() if now is None else now) - seconds, 0.0)
    iso = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        when = datetime.datetime.fromisoformat(iso)
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        return max(when.timestamp(), 0.0)
    except (ValueError, OverflowError):
        raise BadParameter("since", "since: %r is not %s" % (text[:100], SINCE_HELP))


def parse_group(text):
    group = (text or "model").strip().lower()
    if group not in GROUPS:
        raise BadParameter("group_by", "group_by: %r is not one of %s"
                           % (str(text)[:100], ", ".join(GROUPS)))
    return group


class Summary:
    """Counts per key (model, user or UTC day) of the lines since a time."""

    def __init__(self, group_by="model", since=None):
        self.group_by = group_by
        self.since = since
        self._since_ts = iso_time(since) if since is not None else None
        self.groups = {}
        self.skipped = 0

    def add_line(self, raw):
        """One line of a usage file (bytes or str)."""
        if not raw.strip():
            return
        try:
            item = json.loads(raw)
        except ValueError:
            self.skipped += 1
            return
        if not isinstance(item, dict) or not isinstance(item.get("ts"), str):
            self.skipped += 1
            return
        self.add(item)

    def add(self, item):
        """One usage object (a line, or a buffered one)."""
        if self._since_ts is not None and item["ts"] < self._since_ts:
            return   # same format (usagefile writes logs.iso_time): text order is time order
        key = item["ts"][:10] if self.group_by == "day" else item.get(self.group_by)
        if key is not None and not isinstance(key, str):
            key = json.dumps(key)
        row = self.groups.get(key)
        if row is None:
            row = self.groups[key] = dict.fromkeys(COUNTS, 0)
        row["requests"] += 1
        row["tokens_in"] += _count(item.get("tokens_in"))
        row["tokens_out"] += _count(item.get("tokens_out"))
        row["estimated_requests"] += item.get("estimated") is True
        status = item.get("status")
        row["errors"] += not isinstance(status, int) or status >= 400

    def read(self, files):
        """Every line of [(binary file, size or None)]: a size stops the reading there (what
        was written when the files were opened). Closes the files."""
        for fh, size in files:
            try:
                read_to(fh, size, self.add_line)
            finally:
                fh.close()

    def result(self) -> dict:
        keyed = sorted(self.groups.items(), key=self._order)
        total = dict.fromkeys(COUNTS, 0)
        for _, row in keyed:
            for name in COUNTS:
                total[name] += row[name]
        return {"object": "usage.summary",
                "since": iso_time(self.since) if self.since is not None else None,
                "group_by": self.group_by,
                "data": [dict(key=key, **row) for key, row in keyed],
                "total": total, "skipped_lines": self.skipped}

    def _order(self, pair):
        key, row = pair
        if self.group_by == "day":
            return (0, str(key))
        return (-row["tokens_in"] - row["tokens_out"], -row["requests"], str(key))


def read_to(fh, size, each):
    """each(line) for every line of fh up to `size` bytes (None: to the end)."""
    seen = 0
    for raw in fh:
        seen += len(raw)
        if size is not None and seen > size:
            break   # written after the snapshot: the buffer's part counts it
        each(raw)


def _count(value) -> int:
    return value if type(value) is int and value > 0 else 0


# -- the terminal table ------------------------------------------------------------------------

HEADINGS = ("requests", "tokens in", "tokens out", "estimated", "errors")


def table(result) -> str:
    """The summary as aligned columns, a total line last."""
    rows = [[_key_text(r["key"])] + [_int(r[c]) for c in COUNTS] for r in result["data"]]
    rows.append(["total"] + [_int(result["total"][c]) for c in COUNTS])
    head = [result["group_by"]] + list(HEADINGS)
    widths = [max(len(row[i]) for row in rows + [head]) for i in range(len(head))]

    def fmt(row):
        return "  ".join([row[0].ljust(widths[0])] +
                         [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(head), rule] + [fmt(r) for r in rows[:-1]] + [rule, fmt(rows[-1])]) + "\n"


def _key_text(key) -> str:
    if key is None:
        return "(none)"
    text = str(key)
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _int(n) -> str:
    return "{:,}".format(n)
