"""`argo-proxy usage [CONFIG] [--since 7d] [--by model|user|day] [--json]`: the usage file
named by the config (found as the server finds it) summarised as a table, or as the JSON of
GET /v1/usage. Lines a running proxy still buffers reach the file within a second."""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import config as configmod
from .config import ConfigError
from .usagefile import open_files, rotated_paths
from .usagesummary import (GROUPS, SINCE_HELP, BadParameter, Summary, parse_group, parse_since,
                           table)

EXAMPLE = "usage_file: ~/.argoproxy/usage.jsonl"


def build_parser():
    p = argparse.ArgumentParser(
        prog="argo-proxy usage",
        description="Summarise the token usage the proxy recorded in its usage_file "
                    "(requests, tokens in and out, estimated counts, errors).")
    p.add_argument("config", nargs="?", help="config file (default: the server's search: %s)"
                   % ", ".join(configmod.SEARCH_PATH))
    p.add_argument("--since", metavar="WHEN", help="only requests since WHEN: %s" % SINCE_HELP)
    p.add_argument("--by", metavar="|".join(GROUPS), default="model",
                   help="group by model (default), user or UTC day")
    p.add_argument("--json", action="store_true", help="print the summary as JSON "
                   "(the same object as GET /v1/usage)")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        summary = Summary(parse_group(args.by), parse_since(args.since))
    except BadParameter as exc:
        parser.error(str(exc).replace("group_by:", "--by:").replace("since:", "--since:"))
    path, problem = usage_path(args.config)
    if problem:
        print("argo-proxy usage: %s" % problem, file=sys.stderr)
        return 1
    summary.read(open_files(path))
    result = summary.result()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(heading(result, path))
    print(table_or_none(result), end="")
    if result["skipped_lines"]:
        print("(%d unreadable line(s) skipped)" % result["skipped_lines"])
    return 0


def usage_path(explicit):
    """(the usage file's path, None) or (None, what is wrong and what to do)."""
    try:
        cfg = configmod.load(explicit)
    except ConfigError as exc:
        return None, "configuration error: %s" % exc
    where = cfg.path or "no config file found (looked in %s)" % ", ".join(configmod.SEARCH_PATH)
    if not cfg.usage_file:
        return None, ("no usage_file is configured (%s). Add `%s` to the config file and "
                      "restart the proxy: it then records one line per model call."
                      % (where, EXAMPLE))
    path = os.path.expanduser(cfg.usage_file)
    if not rotated_paths(path):
        return None, ("the usage file %s does not exist yet (usage_file in %s): the proxy "
                      "creates it at start-up and adds a line per model call."
                      % (path, cfg.path))
    return path, None


def heading(result, path) -> str:
    since = "since %s" % result["since"] if result["since"] else "all recorded"
    return "Usage %s, by %s (%s)\n" % (since, result["group_by"], path)


def table_or_none(result) -> str:
    if not result["data"]:
        return "No model calls recorded%s.\n" % (" since then" if result["since"] else "")
    return table(result)
