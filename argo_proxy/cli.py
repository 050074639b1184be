"""Command line: flags → Config → serve (or edit / validate / show)."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading

from . import __version__, config as configmod, logs, version_text
from .config import ConfigError
from .guard import is_loopback

log = logging.getLogger("argo_proxy")

# `argo-proxy NAME ...` runs the module's main(argv) -> exit status (imported only then).
SUBCOMMANDS = {"doctor": "argo_proxy.doctor", "usage": "argo_proxy.usagecmd"}


class _Version(argparse.Action):
    """--version: the version and what was built (worked out only when asked)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def subcommands_help() -> str:
    names = ", ".join("argo-proxy %s" % name for name in sorted(SUBCOMMANDS))
    return "Subcommands: %s (each has --help); e.g. `argo-proxy doctor` checks the config, " \
           "the network, Argo and the tool sources step by step. " % names if names else ""


def build_parser():
    p = argparse.ArgumentParser(
        prog="argo-proxy",
        description="An OpenAI-compatible gateway to Argonne's Argo LLM service. "
                    "Typical use: python3 argo-proxy.pyz --native-openai",
        epilog=subcommands_help() + "Precedence: defaults < config file < environment < these flags.")
    p.add_argument("config", nargs="?", help="config file (default: search ./config.yaml, "
                   "~/.config/argoproxy/config.yaml, ~/.argoproxy/config.yaml)")
    g = p.add_argument_group("listening")
    g.add_argument("--host", "-H", help="address to listen on (default 127.0.0.1)")
    g.add_argument("--port", "-p", type=int, help="port to listen on (default 44497)")
    g.add_argument("--socket", metavar="PATH", help="listen on a Unix socket (mode 0600) instead")
    g.add_argument("--api-key", metavar="KEY", help="require this key from clients "
                   "(Authorization: Bearer KEY or x-api-key)")
    g = p.add_argument_group("identity")
    g.add_argument("--user", metavar="NAME", help="your ANL user name, sent to Argo as `user`")
    g.add_argument("--username-passthrough", action="store_true", default=None,
                   help="use each client's API key as the Argo user name")
    g = p.add_argument_group("upstream mode")
    g.add_argument("--native-openai", action="store_true", default=None,
                   help="forward to Argo's native OpenAI-compatible endpoint")
    s = g.add_mutually_exclusive_group()
    s.add_argument("--real-stream", "-rs", dest="real_stream", action="store_true", default=None,
                   help="standard mode: stream from Argo's stream endpoint (default)")
    s.add_argument("--pseudo-stream", "-ps", dest="real_stream", action="store_false",
                   help="standard mode: fetch the whole answer, then stream it")
    g.add_argument("--tool-prompting", action="store_true", default=None,
                   help="describe tools in the prompt instead of native tool calling")
    g = p.add_argument_group("tools")
    g.add_argument("--mcp", action="append", metavar="NAME=COMMAND|URL",
                   help="give models the tools of an MCP server: NAME=\"command args...\" (stdio) "
                        "or NAME=http://host/mcp; repeatable")
    g.add_argument("--llamastack", nargs="?", const=configmod.LLAMASTACK_DEFAULT, metavar="URL",
                   help="LlamaStack mode: LlamaStack is the chat upstream and a tool source "
                        "(default URL %s; port 8322)" % configmod.LLAMASTACK_DEFAULT)
    g = p.add_argument_group("output")
    v = g.add_mutually_exclusive_group()
    v.add_argument("--verbose", "-v", dest="verbose", action="store_true", default=None,
                   help="also log request bodies (secrets and images cut)")
    v.add_argument("--quiet", "-q", dest="verbose", action="store_false",
                   help="log warnings and errors only")
    g = p.add_argument_group("configuration commands")
    g.add_argument("--edit", "-e", action="store_true", help="open the config file in $EDITOR and exit")
    g.add_argument("--validate", "-vv", action="store_true",
                   help="check the config (and whether Argo answers) and exit")
    g.add_argument("--show", "-s", action="store_true",
                   help="print the resolved config with where each value came from, and exit")
    g.add_argument("--version", "-V", action=_Version, help="print the version and build, and exit")
    return p


def cli_values(args) -> dict:
    return {"host": args.host, "port": args.port, "socket": args.socket,
            "proxy_api_key": args.api_key, "user": args.user,
            "username_passthrough": args.username_passthrough,
            "use_native_openai": args.native_openai, "real_stream": args.real_stream,
            "tool_prompting": args.tool_prompting, "verbose": args.verbose,
            "mcp_servers": parse_mcp_flags(args.mcp), "llamastack_url": args.llamastack,
            "llamastack_mode": True if args.llamastack else None}


def parse_mcp_flags(values):
    """--mcp NAME=COMMAND ARGS... / NAME=URL → an mcp_servers mapping (None if no flags)."""
    if not values:
        return None
    servers = {}
    for value in values:
        name, sep, target = value.partition("=")
        if not sep or not name.strip() or not target.strip():
            raise ConfigError("--mcp %r: expected NAME=COMMAND or NAME=URL" % value)
        target = target.strip()
        if target.startswith(("http://", "https://")):
            servers[name.strip()] = {"url": target}
        else:
            words = shlex.split(target)
            servers[name.strip()] = {"command": words[0], "args": words[1:]}
    return servers


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SUBCOMMANDS:
        return importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:])
    args = build_parser().parse_args(argv)
    quiet = args.verbose is False
    setup_logging(args.verbose, quiet)
    if args.edit:
        return edit(args.config)
    try:
        if args.config is None and configmod.find_config() is None and not args.validate:
            offer_first_config(args)
        cfg = configmod.load(args.config, cli=cli_values(args))
        if cfg.llamastack_mode:
            cfg.set("user", cfg.user or "llamastack", cfg.sources["user"])  # LlamaStack needs none
    except ConfigError as exc:
        print("argo-proxy: configuration error: %s" % exc, file=sys.stderr)
        return 1
    serving = not (args.show or args.validate)
    try:
        setup_logging(cfg.verbose, quiet, cfg if serving else None)
    except OSError as exc:
        print("argo-proxy: cannot open the log file %s (log_file): %s"
              % (cfg.log_file, exc.strerror or exc), file=sys.stderr)
        return 1
    for warning in cfg.warnings:
        log.warning("%s", warning)
    resolve_user(cfg)
    cfg.freeze()
    if args.show:
        print(cfg.show(), end="", flush=True)
        if not args.validate:
            return 0
    if args.validate:
        return validate(cfg)
    return serve(cfg)


def setup_logging(verbose, quiet, cfg=None):
    """stderr at the level the flags ask for; with a config, its log file and format too
    (logs.setup raises OSError if the file cannot be opened)."""
    if cfg is None:
        logs.setup(verbose, quiet)
    else:
        logs.setup(verbose, quiet, log_file=cfg.log_file, log_format=cfg.log_format,
                   log_max_mb=cfg.log_max_mb, log_keep=cfg.log_keep)


def interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty() and sys.stdout.isatty()


def ask(question, default=""):
    try:
        answer = input("%s%s: " % (question, " [%s]" % default if default else "")).strip()
    except EOFError:
        return default
    return answer or default


def offer_first_config(args):
    """First run on a terminal without any config file: offer to write one."""
    if not interactive():
        return
    path = os.path.expanduser(configmod.SAVE_PATH)
    if ask("No config file found. Create %s now? (Y/n)" % path, "y").lower() not in ("y", "yes"):
        return
    user = args.user or os.environ.get("ARGO_USER") or _ask_user()
    port = ask("Port to listen on", "44497")
    saved = configmod.save({"user": user, "port": int(port) if port.isdigit() else 44497,
                            "host": "127.0.0.1", "use_native_openai": bool(args.native_openai)}, path)
    print("Saved %s (edit it any time with: argo-proxy --edit)" % saved)


def _ask_user():
    while True:
        name = ask("Your ANL user name", configmod.login_name()).strip().lower()
        problem = configmod.user_problem(name)
        if not problem:
            return name
        print(problem)


def resolve_user(cfg):
    """--user > ARGO_USER > config > prompt (terminal only) > login name, with a notice."""
    if cfg.user:
        return
    if interactive():
        cfg.set("user", _ask_user(), "typed at the prompt")
        if cfg.path and ask("Save user %r to %s? (y/N)" % (cfg.user, cfg.path), "n").lower() in ("y", "yes"):
            _append_user(cfg.path, cfg.user)
        return
    name = configmod.login_name()
    cfg.set("user", name, "login name")
    log.warning("no Argo user configured; using your login name %r "
                "(set it with --user, ARGO_USER or `user:` in the config file)", name)


def _append_user(path, user):
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\nuser: %s\n" % user)


def edit(explicit):
    path = configmod.find_config(explicit)
    if not path or not os.path.isfile(path):
        print("argo-proxy: no configuration file found to edit (looked in: %s)"
              % ", ".join(configmod.SEARCH_PATH), file=sys.stderr)
        return 1
    editor = os.environ.get("EDITOR")
    command = shlex.split(editor) if editor else None
    if not command:
        found = next((shutil.which(e) for e in ("nano", "vi", "vim") if shutil.which(e)), None)
        command = [found] if found else None
    if not command:
        print("argo-proxy: no editor found; set $EDITOR. The file is %s" % path, file=sys.stderr)
        return 1
    return subprocess.call(command + [path])


def validate(cfg) -> int:
    from .upstream import Upstream
    from .errors import ProxyError
    url = cfg.argo_model_url
    client = Upstream(min(cfg.connect_timeout, 5.0), 10.0, cfg.ca_bundle)
    try:
        client.request("GET", url, retries=0, read_timeout=10.0).read()
        print("Upstream %s answered." % url)
    except ProxyError as exc:
        print("warning: upstream not reachable now (%s). That is fine if your VPN or tunnel "
              "is not up yet." % exc.message, file=sys.stderr)
    finally:
        client.close()
    print("Configuration OK (%s)." % (cfg.path or "no config file; defaults and flags"))
    return 0


def install_signal_handlers(server):
    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def serve(cfg) -> int:
    from .app import App
    from .server import make_server
    try:
        app = App(cfg)
    except ConfigError as exc:   # a usage file or dump folder that cannot be used: exit 1
        print("argo-proxy: %s" % exc, file=sys.stderr)
        return 1
    try:
        server = make_server(app)
    except OSError as exc:
        where = cfg.socket or "%s:%d" % (cfg.host, cfg.port)
        print("argo-proxy: cannot listen on %s: %s" % (where, exc.strerror or exc), file=sys.stderr)
        return 1
    if not cfg.socket and not is_loopback(cfg.host) and not cfg.proxy_api_key:
        log.warning("listening on %s without an API key: anyone who can reach this address can use "
                    "Argo as %r. Set --api-key (or proxy_api_key) or bind 127.0.0.1.", cfg.host, cfg.user)
    upstream = {"llamastack": cfg.llamastack_url, "native-openai": cfg.native_openai_base_url}.get(
        cfg.mode, cfg.argo_url)
    log.info("argo-proxy %s | mode %s | upstream %s | user %s", __version__, cfg.mode, upstream, cfg.user)
    # printed even with --quiet: the user (and scripts) need the address
    if cfg.socket:
        where = "unix:%s" % server.server_address
    else:
        host, port = server.server_address[:2]
        where = "http://%s:%d" % ("[%s]" % host if ":" in host else host, port)
    print("Listening on %s" % where, file=sys.stderr, flush=True)
    install_signal_handlers(server)
    app.start_background()
    try:
        server.serve_forever(poll_interval=0.25)
    finally:
        server.monitor.stop()
        left = server.drain(5.0)
        if left:
            log.warning("stopping with %d request(s) still running", left)
        server.server_close()
        app.stop()
        logs.flush()   # the buffered access lines: nothing is lost on SIGTERM
    log.info("stopped")
    return 0
