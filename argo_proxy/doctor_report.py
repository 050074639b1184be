"""The doctor's results: one line per check as it completes (or one JSON object at the end),
and the time limit every check runs under."""

from __future__ import annotations

import json
import sys
import threading

from . import version_text

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


class Result:
    """One check: check is the step's id (config, dns, tcp...), subject what it looked at."""

    def __init__(self, check, subject, status, message, hint=""):
        self.check = check
        self.subject = subject
        self.status = status
        self.message = message
        self.hint = hint

    def line(self) -> str:
        text = "%s  %s: %s" % (self.status, self.subject, self.message)
        return text + (" -- " + self.hint if self.hint else "")

    def as_dict(self) -> dict:
        return {"check": self.check, "subject": self.subject, "status": self.status,
                "message": self.message, "hint": self.hint}


class Report:
    def __init__(self, as_json=False, out=None):
        self.as_json = as_json
        self.out = out or sys.stdout
        self.results = []

    def add(self, check, subject, status, message, hint="") -> Result:
        result = Result(check, subject, status, message, hint if status == FAIL else "")
        self.results.append(result)
        if not self.as_json:
            print(result.line(), file=self.out, flush=True)
        return result

    def failures(self) -> list:
        return [r for r in self.results if r.status == FAIL]

    def as_dict(self) -> dict:
        return {"version": version_text(), "ok": not self.failures(),
                "checks": [r.as_dict() for r in self.results]}

    def finish(self) -> int:
        """Print the summary (or the JSON); the exit status: 0 when nothing failed."""
        failed = self.failures()
        if self.as_json:
            print(json.dumps(self.as_dict(), indent=1), file=self.out, flush=True)
        elif failed:
            print("%d of %d checks failed: %s. Fix the first one first: later ones often follow "
                  "from it." % (len(failed), len(self.results), "; ".join(r.subject for r in failed)),
                  file=self.out, flush=True)
        else:
            print("All checks passed.", file=self.out, flush=True)
        return 1 if failed else 0


class TimedOut(Exception):
    def __init__(self, seconds):
        super().__init__("no answer within %g s" % seconds)
        self.seconds = seconds


def bounded(seconds, fn, *args):
    """fn(*args) under a time limit: its value, or its exception, or TimedOut. The work runs
    in a daemon thread, so a call that blocks holds neither the doctor nor Ctrl-C."""
    box = {}

    def work():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:   # handed to the caller, which reports it
            box["error"] = exc

    thread = threading.Thread(target=work, name="doctor-check", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimedOut(seconds)
    if "error" in box:
        raise box["error"]
    return box.get("value")
