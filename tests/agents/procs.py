"""Running an agent CLI the same way for every agent: its own session (process group), a
timeout, and nothing left behind (tool children included)."""

from __future__ import annotations

import os
import signal
import subprocess


def kill_group(proc):
    """SIGTERM, then SIGKILL, to the process's whole group."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError, AttributeError):
            return
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def run_in_group(argv, cwd, env, timeout):
    """(returncode, stdout, stderr) as text; TimeoutExpired (with the output so far) after
    killing the group when `timeout` passes."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        raise subprocess.TimeoutExpired(argv, timeout, output=out.decode("utf-8", "replace"),
                                        stderr=err.decode("utf-8", "replace"))
    finally:
        if proc.poll() is None:
            kill_group(proc)
    try:   # children of the agent's tools may outlive it in its session
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
