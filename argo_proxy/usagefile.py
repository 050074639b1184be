"""Token usage that survives restarts: one JSON line per model call in `usage_file`.

The observer calls `UsageLog.record(trace)` for every finished request (in the request's
thread); a request that reached a model (its trace names a model and its route is a model
call) leaves a tuple of its fields in an in-memory buffer: no formatting, no syscall. A daemon
thread turns the buffer into JSON lines and appends them every FLUSH_INTERVAL seconds (at once
when MAX_PENDING records wait), rotated by size (logs.RotatingFile: usage.jsonl, .1 ...
.<usage_keep>); `close()` (App.stop, at shutdown) and an atexit hook write what is left.

A line (keys in this order):
  {"ts": "2025-01-31T18:34:56.789Z", "request_id": "req_...", "user": "...", "model": "...",
   "surface": "openai", "route": "/v1/chat/completions", "status": 200, "stream": false,
   "tokens_in": 12, "tokens_out": 34, "estimated": false, "elapsed_ms": 812.3,
   "ttfb_ms": 640.1, "tool_calls": 0}
ts: when the request finished (UTC); tokens: null when nothing reported or estimated them;
estimated: the counts are the proxy's estimate; tool_calls: the tool calls the proxy ran.
Reading and summarising the file: usagesummary.py.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading

from .config import ConfigError
from .logs import RotatingFile, iso_time

FLUSH_INTERVAL = 1.0    # seconds between writes of the buffered lines
MAX_PENDING = 4096      # ... or the flusher is woken as soon as this many wait
LABEL_LIMIT = 200       # characters kept of a client-chosen string (model, user)
# Routes that name a model but do not use one (no tokens are generated).
NOT_MODEL_CALLS = frozenset(("/v1/messages/count_tokens",))

_json = json.JSONEncoder(separators=(",", ":")).encode   # ASCII: any text survives any reader
log = logging.getLogger("argo_proxy")


class UsageFileError(ConfigError):
    """The usage file cannot be opened (a start-up error; the message says which and why)."""


def is_model_call(trace) -> bool:
    return trace.model is not None and trace.route is not None \
        and trace.route not in NOT_MODEL_CALLS


def entry(trace) -> tuple:
    """The fields of one line, taken from a finished trace (cheap: no formatting)."""
    return (trace.wall + (trace.elapsed or 0.0), trace.id, trace.user, trace.model, trace.surface,
            trace.route, trace.status, trace.stream, trace.tokens_in, trace.tokens_out,
            trace.estimated, trace.elapsed, trace.ttfb, len(trace.tools))


def as_dict(fields) -> dict:
    """The JSON object of one line."""
    (t, rid, user, model, surface, route, status, stream, tin, tout, estimated, elapsed, ttfb,
     tools) = fields
    return {"ts": iso_time(t), "request_id": rid, "user": _label(user), "model": _label(model),
            "surface": surface, "route": route, "status": status, "stream": bool(stream),
            "tokens_in": tin, "tokens_out": tout, "estimated": bool(estimated),
            "elapsed_ms": _ms(elapsed), "ttfb_ms": _ms(ttfb), "tool_calls": tools}


def line(fields) -> str:
    return _json(as_dict(fields)) + "\n"


def _label(value):
    if value is None:
        return None
    value = str(value)
    return value[:LABEL_LIMIT] + "..." if len(value) > LABEL_LIMIT else value


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000.0, 1)


def open_log(cfg):
    """The UsageLog for a config with `usage_file` set, or None. Raises UsageFileError."""
    if not cfg.usage_file:
        return None
    path = os.path.expanduser(cfg.usage_file)
    try:
        return UsageLog(path, cfg.usage_max_mb * 1024 * 1024, cfg.usage_keep)
    except OSError as exc:
        raise UsageFileError("cannot open the usage file %s (usage_file): %s"
                             % (path, exc.strerror or exc))


class UsageLog:
    """The buffer, the flusher thread and the rotating file. `_lock` only guards the buffer
    (requests never wait for a write); `_write_lock` keeps writes in order and lets a reader
    take a consistent view of files + buffer (`snapshot`)."""

    def __init__(self, path, max_bytes, keep, interval=FLUSH_INTERVAL, max_pending=MAX_PENDING):
        self.path = path
        self.file = RotatingFile(path, max_bytes, keep)
        self.max_pending = max_pending
        self._torn = _ends_torn(path, self.file.size)   # a crash cut the last line short
        self._pending = []
        self._lock, self._write_lock = threading.Lock(), threading.Lock()
        self._wake, self._closed = threading.Event(), False
        self._failed = None
        self._thread = threading.Thread(target=self._flush_every, args=(interval,),
                                        name="usage-flusher", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # -- the hot path ---------------------------------------------------------------------

    def record(self, trace):
        """The observer's sink: buffer a model call's line."""
        if not is_model_call(trace):
            return
        fields = entry(trace)
        with self._lock:
            self._pending.append(fields)
            full = len(self._pending) >= self.max_pending
        if self._closed:
            self.flush()          # after close (a request outliving shutdown): write at once
        elif full:
            self._wake.set()

    # -- writing --------------------------------------------------------------------------

    def _flush_every(self, interval):
        while not self._closed:
            self._wake.wait(interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:     # a daemon thread must not die of one bad write
                pass

    def flush(self):
        with self._write_lock:
            with self._lock:
                pending, self._pending = self._pending, []
            if pending:
                self._write("".join(line(f) for f in pending).encode("ascii"))

    def _write(self, data):
        if self._torn:
            data, self._torn = b"\n" + data, False
        try:
            self.file.write(data)
            self._failed = None
        except (OSError, ValueError) as exc:
            if self._failed is None:   # said once per failure spell
                self._failed = exc
                log.error(
                    "cannot write the usage file %s (%s); usage lines are lost until it works "
                    "again", self.path, getattr(exc, "strerror", None) or exc)

    def close(self):
        """Write what is buffered and stop the flusher (App.stop; at exit). Lines recorded
        later are written at once."""
        self._closed = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(5.0)
        self.flush()
        atexit.unregister(self.close)

    # -- reading ----------------------------------------------------------------------------

    def snapshot(self):
        """(files, pending): the files oldest first as (open binary file, bytes written so far),
        and the buffered lines as dicts, taken together so no line is in both or in neither.
        The caller reads the files (outside any lock) and closes them."""
        with self._write_lock:
            files = open_files(self.path, sized=True)
            with self._lock:
                pending = list(self._pending)
        return files, [as_dict(f) for f in pending]


def rotated_paths(path) -> list:
    """The usage file and its rotated files that exist, oldest first: path.N ... path.1, path
    (every consecutive path.N, so files left by a larger usage_keep are still read)."""
    found, n = [], 1
    while os.path.exists("%s.%d" % (path, n)):
        found.append("%s.%d" % (path, n))
        n += 1
    found.reverse()
    if os.path.exists(path):
        found.append(path)
    return found


def open_files(path, sized=False) -> list:
    """[(open binary file, its size now or None)] for rotated_paths; a file that vanished
    meanwhile is left out."""
    files = []
    for name in rotated_paths(path):
        try:
            fh = open(name, "rb")
        except OSError:
            continue
        files.append((fh, os.fstat(fh.fileno()).st_size if sized else None))
    return files


def _ends_torn(path, size) -> bool:
    if not size:
        return False
    with open(path, "rb") as fh:
        fh.seek(size - 1)
        return fh.read(1) != b"\n"
