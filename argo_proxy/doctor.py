"""Check, step by step, what stands between this machine and a working proxy.

`argo-proxy doctor [CONFIG] [the server's flags] [--json] [--model NAME]` runs, in order:
1 config, 2 user, 3 DNS, 4 TCP (through HTTP(S)_PROXY as the proxy would), 5 TLS, 6 the
model list, 7 whether Argo knows the user, 8 a one-token chat in the configured mode, 9 the
tool sources, 10 the listening port. Each prints one line: PASS, FAIL or SKIP (a step whose
prerequisite failed, or that does not apply), what it found and, on failure, what to do.
Exit status 0 when nothing failed. The network steps live in doctor_net.py, the steps asked
through the proxy's own App in doctor_app.py, the output in doctor_report.py.
"""

from __future__ import annotations

import logging
import platform
import sys

from . import cli, config as configmod, version_text
from .config import ConfigError
from . import doctor_app, doctor_net
from .doctor_app import DEFAULT_MODEL
from .doctor_report import FAIL, PASS, SKIP, Report

# Names people leave in a config template, seen lowercased with <>, {} and $ stripped.
PLACEHOLDERS = frozenset(("cels", "user", "username", "user_name", "name", "jdoe", "changeme",
                          "change_me", "example", "todo", "xxx", "none", "null", "anl_user",
                          "anl_username", "your_anl_name", "yourname", "your_name"))
LATER = (("user", "user"), ("dns", "DNS"), ("tcp", "TCP"), ("tls", "TLS"), ("models", "model list"),
         ("registered", "user registered"), ("chat", "chat"), ("tools", "tools"),
         ("listen", "listen"))


def build_parser():
    p = cli.build_parser()
    p.prog = "argo-proxy doctor"
    p.description = ("Check the configuration, the network path to Argo (DNS, TCP, TLS), Argo "
                     "itself (model list, your user, a one-token chat), the tool sources and the "
                     "listening port, one line per check with what to do when one fails.")
    p.epilog = "Exit status: 0 when every check passed, 1 when one failed, 130 on Ctrl-C."
    g = p.add_argument_group("doctor")
    g.add_argument("--json", action="store_true", help="print the results as one JSON object")
    g.add_argument("--model", metavar="NAME", default=None,
                   help="the model of the test chat (default %s)" % DEFAULT_MODEL)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for flag in ("edit", "validate", "show"):
        if getattr(args, flag):
            parser.error("--%s is not a doctor option" % flag)
    quiet_logging(args.verbose)
    report = Report(as_json=args.json)
    if not args.json:
        print("argo-proxy doctor: %s, Python %s (%s)" % (version_text(), platform.python_version(),
                                                        sys.executable), flush=True)
    doctor = Doctor(args, report)
    try:
        doctor.run()
    except KeyboardInterrupt:
        print("\nargo-proxy doctor: interrupted.", file=sys.stderr, flush=True)
        return 130
    finally:
        doctor.close()
    return report.finish()


def quiet_logging(verbose):
    """The proxy's own log lines only with -v: the doctor's lines say what happened."""
    if verbose:
        cli.setup_logging(True, False)
        return
    logger = logging.getLogger("argo_proxy")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    logger.setLevel(logging.CRITICAL + 1)


class Doctor:
    """The steps and what each learns for the next: the config, the user to test with, which
    URLs are reachable, whether Argo knows the user."""

    def __init__(self, args, report):
        self.args = args
        self.report = report
        self.cfg = None
        self.user = None          # the user the Argo checks send (None: cannot test)
        self.user_why = ""        # why there is none
        self.reach = None         # doctor_net.Reach
        self.app = None

    def run(self):
        self.cfg = check_config(self.args, self.report)
        if self.cfg is None:
            for check, subject in LATER:
                self.report.add(check, subject, SKIP, "needs a configuration that loads (step 1)")
            return
        self.check_user()
        self.reach = doctor_net.run(self.cfg, self.report)
        self.app = doctor_app.make_app(self.cfg, self.report)
        if self.app is not None:
            doctor_app.run(self)

    def check_user(self):
        cfg, add = self.cfg, self.report.add
        if cfg.llamastack_mode:
            add("user", "user", SKIP, "LlamaStack mode: LlamaStack needs no Argo user")
            return
        where = cfg.sources.get("user", "?")
        problem = configmod.user_problem(cfg.user) if cfg.user else None
        if not cfg.user:
            self.check_missing_user()
        elif problem:
            self.user_why = "the user name cannot be used (step 2)"
            add("user", "user", FAIL, "%s (from %s)" % (problem, where), USER_HINT)
        elif is_placeholder(cfg.user):
            self.user_why = "the user name is a placeholder (step 2)"
            add("user", "user", FAIL, "%r (from %s) looks like a placeholder from a template, not "
                "an ANL user name" % (cfg.user, where), USER_HINT)
        else:
            self.user = cfg.user
            add("user", "user", PASS, "%s (from %s)" % (cfg.user, where))

    def check_missing_user(self):
        cfg, add = self.cfg, self.report.add
        login = configmod.login_name()
        if cfg.username_passthrough:
            self.user_why = "no default user to test with; pass --user NAME"
            add("user", "user", PASS, "none set: each client's API key is its Argo user "
                "(username_passthrough)")
            return
        self.user = login or None
        self.user_why = "no user set (step 2)"
        add("user", "user", FAIL, "no user set; the proxy would send your login name %r, with a "
            "warning" % login if login else "no user set and no login name to fall back on",
            USER_HINT)

    def close(self):
        try:
            if self.reach is not None:
                self.reach.close()
            if self.app is not None:
                self.app.stop()
        except KeyboardInterrupt:
            pass


USER_HINT = ("set your ANL user name: --user NAME, env ARGO_USER, or `user: NAME` in the config "
             "file")


def check_config(args, report):
    """Step 1: the Config, or None when it does not load."""
    try:
        cfg = configmod.load(args.config, cli=cli.cli_values(args))
    except ConfigError as exc:
        report.add("config", "config", FAIL, str(exc),
                   "fix the file (argo-proxy --edit opens it) or the flag, then run the doctor again")
        return None
    where = cfg.path or "no config file; defaults and flags"
    notes = "; ".join(cfg.warnings)
    report.add("config", "config", PASS, "%s (mode %s)%s" % (where, cfg.mode,
                                                              "; note: " + notes if notes else ""))
    return cfg


def is_placeholder(name) -> bool:
    key = "".join(ch for ch in name.strip().lower() if ch not in "<>{}[]$")
    return (key in PLACEHOLDERS or key.startswith(("your", "my_user", "my-user"))
            or "placeholder" in key or "example" in key)
