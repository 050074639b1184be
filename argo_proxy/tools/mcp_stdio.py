"""MCP over stdio: the server runs as a subprocess speaking newline-delimited JSON-RPC.

Its stderr is drained by a thread (a full pipe would block it) and the tail kept for error
messages; a server that exits fails the calls in flight and is restarted on next use.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import threading

from .mcp_base import BaseClient, MCPError

STDERR_LINES = 50          # tail of a stdio server's stderr kept for error messages
STDERR_LINE_CHARS = 1000
STDERR_MESSAGE_CHARS = 4000
STOP_GRACE = 2.0           # seconds a stdio server gets after stdin closes, then after SIGTERM


class StdioClient(BaseClient):
    """A server run as a subprocess speaking newline-delimited JSON-RPC on stdin/stdout.

    features: BaseClient's keyword options (sampling, sampling_max_tokens, roots, tasks).
    A call in flight when the server exits fails (it may be what killed the server); the
    next use starts the server again."""

    def __init__(self, name: str, spec: dict, log=None, **features):
        super().__init__(name, log, **features)
        args = spec.get("args") or []
        if not isinstance(args, (list, tuple)):
            raise ValueError("MCP server %r: 'args' must be a list" % name)
        self._argv = [str(spec["command"])] + [str(a) for a in args]
        self._env = {str(k): str(v) for k, v in (spec.get("env") or {}).items()}
        self._cwd = spec.get("cwd") or None
        self._proc = None
        self._stderr = collections.deque(maxlen=STDERR_LINES)
        self._wlock = threading.Lock()
        self._threads = []

    @property
    def process(self):
        """The running subprocess.Popen, or None."""
        return self._proc

    def stderr_tail(self) -> list:
        return list(self._stderr)

    def _transport_alive(self):
        return self._proc is not None and self._proc.poll() is None and self._down is None

    def _transport_open(self):
        env = dict(os.environ)
        env.update(self._env)
        try:
            proc = subprocess.Popen(self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env, cwd=self._cwd,
                                    start_new_session=(os.name == "posix"))  # our Ctrl-C is not its
        except FileNotFoundError as exc:
            if self._cwd and not os.path.isdir(self._cwd):
                raise MCPError("MCP server %r: working directory %r does not exist" % (self.name, self._cwd))
            raise MCPError("MCP server %r: command not found: %r (is it installed and on PATH?)"
                           % (self.name, self._argv[0])) from exc
        except OSError as exc:
            raise MCPError("MCP server %r: cannot run %r: %s" % (self.name, self._argv[0], exc)) from exc
        self._proc = proc
        self._stderr = collections.deque(maxlen=STDERR_LINES)   # per process: a restart starts afresh
        drain = threading.Thread(target=self._read_stderr, args=(proc, self._stderr), daemon=True,
                                 name="mcp-%s-stderr" % self.name)
        reader = threading.Thread(target=self._read_stdout, args=(proc, self._gen, drain, self._stderr),
                                  daemon=True,
                                  name="mcp-%s-reader" % self.name)
        self._threads = [drain, reader]
        for thread in self._threads:
            thread.start()
        self.log.debug("MCP server %r: started %r (pid %d)", self.name, self._argv, proc.pid)

    def _read_stderr(self, proc, tail):
        """Drain stderr (a full pipe would block the server); keep the tail for error messages."""
        try:
            for raw in iter(proc.stderr.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()[:STDERR_LINE_CHARS]
                tail.append(line)
                self.log.debug("MCP server %r stderr: %s", self.name, line)
        except (OSError, ValueError):
            pass   # pipe closed under us at shutdown

    def _read_stdout(self, proc, gen, drain, tail):
        try:
            for raw in iter(proc.stdout.readline, b""):
                line = raw.strip()
                if not line:
                    continue
                try:
                    data = json.loads(line.decode("utf-8"))
                except ValueError:
                    self.log.debug("MCP server %r printed a non-JSON line: %r", self.name, line[:200])
                    continue
                self._dispatch(data)
        except (OSError, ValueError):
            pass
        self._on_exit(proc, gen, drain, tail)

    def _on_exit(self, proc, gen, drain, tail):
        try:
            code = proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            code = None
        drain.join(STOP_GRACE)   # its last stderr lines explain the exit
        if self._closed:
            err = MCPError("MCP server %r: the client was closed" % self.name)
        else:
            err = MCPError(self._exit_message(code, tail))
            self.log.warning("%s", err)
        self._fail_pending(gen, err)

    def _exit_message(self, code, tail):
        if code is None:
            head = "MCP server %r closed its stdout" % self.name
        else:
            head = "MCP server %r exited with code %s" % (self.name, code)
        text = "\n".join(tail)[-STDERR_MESSAGE_CHARS:]
        if not text:
            return head + " (no stderr output)"
        return head + "; the end of its stderr:\n" + text

    def _transmit(self, msg, deadline):
        self._write(msg)

    def _send_oneway(self, msg):
        self._write(msg)

    def _write(self, msg):
        # ASCII JSON: never a raw newline, and lone surrogates from model output can't break encoding
        data = json.dumps(msg, separators=(",", ":")).encode("ascii") + b"\n"
        proc = self._proc
        try:
            with self._wlock:
                proc.stdin.write(data)
                proc.stdin.flush()
        except (OSError, ValueError, AttributeError) as exc:
            # The server is gone; let the reader record why (exit code, stderr) first.
            reader = self._threads[1] if len(self._threads) > 1 and proc is self._proc else None
            if reader is not None and reader is not threading.current_thread():
                reader.join(STOP_GRACE)
            down = self._down
            raise MCPError(str(down) if down is not None else
                           "MCP server %r: cannot write to its stdin: %s" % (self.name, exc)) from exc

    def _transport_teardown(self):
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()   # the polite way to ask a stdio server to exit
        except (OSError, ValueError):
            pass
        _stop_process(proc)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(STOP_GRACE)
        for pipe in (proc.stdout, proc.stderr):
            try:
                pipe.close()
            except (OSError, ValueError):
                pass
        self._threads = []


def _stop_process(proc):
    """Wait for a voluntary exit, then SIGTERM, then SIGKILL (its process group on POSIX)."""
    for sig in (None, signal.SIGTERM, getattr(signal, "SIGKILL", None)):
        if sig is not None:
            _signal(proc, sig)
        try:
            proc.wait(timeout=STOP_GRACE)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


def _signal(proc, sig):
    if proc.poll() is not None:
        return   # already reaped: its pid may belong to someone else now
    try:
        if os.name == "posix":
            os.killpg(proc.pid, sig)   # start_new_session made it a group leader: children go too
        elif sig == signal.SIGTERM:
            proc.terminate()
        else:
            proc.kill()
    except OSError:
        pass
