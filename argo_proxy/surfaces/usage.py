"""GET /v1/usage (/argo/usage in every mode): the usage file summarised.

    ?since=7d | 24h | 30m | 2025-01-31 | 2025-01-31T12:00Z   (default: everything)
    &group_by=model | user | day                              (default: model)
"""

from __future__ import annotations

from ..errors import ProxyError
from ..usagesummary import BadParameter, Summary, parse_group, parse_since

NOT_CONFIGURED = ("Usage is not being recorded: set `usage_file` in the config file (for "
                  "example `usage_file: ~/.argoproxy/usage.jsonl`) and restart the proxy; "
                  "this endpoint then summarises it.")


def summary(req, res):
    usage_log = req.app.usage
    if usage_log is None:
        raise ProxyError(404, NOT_CONFIGURED, code="usage_not_configured")
    try:
        found = Summary(parse_group(_param(req, "group_by")), parse_since(_param(req, "since")))
    except BadParameter as exc:
        raise ProxyError(400, str(exc), param=exc.param, code="invalid_parameter")
    files, pending = usage_log.snapshot()
    found.read(files)
    for item in pending:
        found.add(item)
    res.json(200, found.result())


def _param(req, name):
    values = req.query.get(name)
    return values[0] if values else None
