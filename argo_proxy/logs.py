"""The proxy's log: one setup for the "argo_proxy" logger, request ids, and a buffered access log.

Every line goes to stderr and, when `log_file` is set, to that file too (rotated by size), as
text ("time | LEVEL   | message [req_id]") or as one JSON object per line.

The access log (one line per request) is the hot path: `access()` formats the line with plain
string operations (no LogRecord) and appends it to an in-memory buffer; a daemon thread writes
the buffer every FLUSH_INTERVAL seconds, the appending thread writes it at once when it passes
FLUSH_BYTES, and `flush()` (called at shutdown and at exit) writes what is left. So a request
costs no write syscall and no GIL hand-off. Every other log line is written synchronously
together with the buffered access lines before it, so the order of lines in the output is the
order in which they were logged; only the *time* an access line reaches the output lags by up
to one flush interval (so a line from another process, or a `print`, may overtake it).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import sys
import threading
import time

from . import observe

LOGGER = "argo_proxy"
TEXT_FORMAT = "%(asctime)s | %(levelname)-7s | %(message)s"
FLUSH_INTERVAL = 0.2     # seconds between writes of the buffered access lines
FLUSH_BYTES = 64 * 1024  # ... or as soon as this much is buffered

_log = logging.getLogger(LOGGER)
_json = json.JSONEncoder(separators=(",", ":")).encode
_string = json.encoder.encode_basestring_ascii   # a JSON string literal, escaped (C, fast)
_sink = None             # the Sink in use; None before setup (access lines then go through _log)
_flusher = None          # (thread, stop event)
_atexit_registered = False


# -- request ids (the observer's: one per request, bound to its thread) ---------------------------

def bind(request_id=None) -> str:
    """Tag this thread's log lines with a request id (a new one if none is given), for work
    outside a request the server traced (tests, helper threads)."""
    trace = observe.Trace(observe.new_id(request_id), None, None)
    observe.bind(trace)
    return trace.id


def unbind():
    """This thread's lines are no longer about a request."""
    observe.bind(None)


def current():
    """The request id bound to this thread, or None."""
    trace = observe.current()
    return trace.id if trace is not None else None


# -- timestamps (cached per second: strftime costs more than the rest of a line) ---------------

_local_second = (None, "")   # (second, its text): one tuple, so threads never see half of it
_utc_second = (None, "")


def text_time(t: float) -> str:
    """logging's default asctime: local time, "2025-01-31 12:34:56,789"."""
    global _local_second
    whole, cached = int(t), _local_second
    if cached[0] != whole:
        cached = _local_second = (whole, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(whole)))
    return "%s,%03d" % (cached[1], int((t - whole) * 1000))


def iso_time(t: float) -> str:
    """ISO 8601 UTC with milliseconds: "2025-01-31T18:34:56.789Z"."""
    global _utc_second
    whole, cached = int(t), _utc_second
    if cached[0] != whole:
        cached = _utc_second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return "%s.%03dZ" % (cached[1], int((t - whole) * 1000))


# -- formats -------------------------------------------------------------------------------------

def _clean(value, limit):
    """A client-chosen string (path, model) safe for one log line: no control characters
    (a newline in a model name must not forge a log line), at most `limit` characters."""
    if value is None:
        return None
    value = str(value)
    if len(value) > limit:
        value = value[:limit] + "..."
    if not value.isprintable():
        value = "".join(c if c.isprintable() else "\\x%02x" % ord(c) if ord(c) < 256
                        else "\\u%04x" % ord(c) for c in value)
    return value


def _access_message(method, path, model, status, ms) -> str:
    return "%s %s model=%s status=%s %.1fms" % (method, path, model or "-", status or "-", ms)


def text_access(t, method, path, model, status, ms, request_id) -> str:
    line = "%s | INFO    | %s" % (text_time(t), _access_message(method, path, model, status, ms))
    return line + (" [%s]\n" % request_id if request_id else "\n")


def json_access(t, method, path, model, status, ms, request_id) -> str:
    """The same object json.dumps would give (ts, level, msg, request_id, method, path, model,
    status, ms), written out by hand: a JSONEncoder per call costs more than the rest."""
    return '{"ts":"%s","level":"INFO","msg":%s%s,"method":%s,"path":%s,"model":%s,"status":%s,' \
           '"ms":%.1f}\n' % (
               iso_time(t), _string(_access_message(method, path, model, status, ms)),
               ',"request_id":%s' % _string(request_id) if request_id else "", _string(method),
               _string(path), "null" if model is None else _string(model),
               status if type(status) is int else "null" if status is None else _string(str(status)),
               ms)


# -- redaction: what a body may show in the debug log and the error dumps ---------------------

_SECRET_KEY = re.compile(r'("[^"]*(?:authorization|api[_-]?key|(?<![a-z])key|password|secret|token|'
                         r'credentials?|cookie)"\s*:\s*)"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.IGNORECASE)
_KEY_SHAPED = re.compile(r"\b(Bearer\s+|sk-(?:ant-|proj-)?|AIza)[A-Za-z0-9._~+/=-]{8,}")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{64,}={0,2}")   # data URLs, Anthropic/Google image "data"
_LOGGABLE_WINDOW = 65536


def redact(text: str) -> str:
    """Secret values (JSON members named like a key, token, password...) and key-shaped
    strings masked, base64 runs cut to 16 characters. A value cut off by the end of `text`
    (a window of a longer body) is masked too."""
    text = _SECRET_KEY.sub(r'\1"***"', text)
    text = _KEY_SHAPED.sub(lambda m: m.group(1) + "***", text)
    return _BASE64_RUN.sub(lambda m: m.group(0)[:16] + "...", text)


def loggable(body: bytes, limit=2000) -> str:
    """A request/response body for the debug log: redacted (see `redact`), at most `limit`
    characters (of the first 64 KB)."""
    text = redact(body[:_LOGGABLE_WINDOW].decode("utf-8", "replace"))
    if len(text) > limit or len(body) > _LOGGABLE_WINDOW:
        text = text[:limit] + "...[%d bytes in all]" % len(body)
    return text


class TextFormatter(logging.Formatter):
    """The proxy's text lines, with " [req_id]" after the message when a request is bound."""

    def __init__(self):
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record):
        line = super().formatMessage(record)
        request_id = current()
        return "%s [%s]" % (line, request_id) if request_id else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, msg, request_id (when bound), exc (with a traceback)."""

    def format(self, record):
        entry = {"ts": iso_time(record.created), "level": record.levelname, "msg": record.getMessage()}
        request_id = current()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _json(entry)


# -- the output: stderr and the rotating file, the buffer in front of them --------------------

class RotatingFile:
    """An append-only file rotated by size: `path` is the newest, then path.1 ... path.<keep>;
    the oldest is removed. A chunk is split at line ends so that no file passes `max_bytes`
    (except a single line longer than that, which then has a file to itself)."""

    def __init__(self, path, max_bytes, keep):
        self.path, self.max_bytes, self.keep = path, max(1, int(max_bytes)), max(1, int(keep))
        self._fh = self._open()

    def _open(self):
        fh = open(self.path, "ab", buffering=0, opener=lambda p, f: os.open(p, f, 0o600))
        self.size = fh.seek(0, os.SEEK_END)
        return fh

    def write(self, data: bytes):
        while data:
            room = max(self.max_bytes - self.size, 0)
            if len(data) <= room:
                self._write(data)
                return
            cut = data.rfind(b"\n", 0, room) + 1       # the whole lines that still fit
            if cut == 0 and self.size == 0:            # one line longer than a whole file
                cut = data.find(b"\n") + 1 or len(data)
            if cut:
                self._write(data[:cut])
                data = data[cut:]
            self.rotate()

    def _write(self, data):
        view = memoryview(data)
        while view:
            written = self._fh.write(view)
            view = view[written:]
            self.size += written

    def rotate(self):
        self._fh.close()
        try:
            for n in range(self.keep - 1, 0, -1):
                older = "%s.%d" % (self.path, n)
                if os.path.exists(older):
                    os.replace(older, "%s.%d" % (self.path, n + 1))
            os.replace(self.path, self.path + ".1")
        finally:   # a failed rename still leaves a file to append to
            self._fh = self._open()

    def close(self):
        self._fh.close()


class Sink:
    """Where lines go: the stream (stderr) and the optional RotatingFile, with the access-line
    buffer in front. `_write_lock` keeps chunks in order; `_lock` only guards the buffer, so an
    appending thread never waits for a slow write unless the buffer is full."""

    def __init__(self, stream, file=None, json_lines=False, limit=FLUSH_BYTES):
        self.stream, self.file = stream, file
        self.access_line = json_access if json_lines else text_access
        self.limit = limit
        self._parts, self._size = [], 0
        self._lock, self._write_lock = threading.Lock(), threading.Lock()
        self._file_failed = False

    def add(self, line: str):
        """Buffer one line; write the buffer now if it passed the limit."""
        with self._lock:
            self._parts.append(line)
            self._size += len(line)
            full = self._size >= self.limit
        if full:
            self.flush()

    def write_now(self, line: str):
        """Write one line at once, after the lines buffered before it."""
        with self._write_lock:
            with self._lock:
                self._parts.append(line)
                text = self._take()
            self._write(text)

    def flush(self):
        with self._write_lock:
            with self._lock:
                text = self._take()
            if text:
                self._write(text)

    def _take(self) -> str:
        text = "".join(self._parts)
        self._parts, self._size = [], 0
        return text

    def _write(self, text):
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass   # stderr closed (the terminal went away): the file, if any, still gets it
        if self.file is not None:
            self._write_file(text)

    def _write_file(self, text):
        try:
            self.file.write(text.encode("utf-8", "backslashreplace"))
            self._file_failed = False
        except (OSError, ValueError) as exc:
            if not self._file_failed:   # said once per failure spell, not once per line
                self._file_failed = True
                self._say("argo-proxy: cannot write the log file %s (%s); log lines are "
                          "going to stderr only until it works again\n"
                          % (self.file.path, getattr(exc, "strerror", None) or exc))

    def _say(self, text):
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def close(self):
        self.flush()
        if self.file is not None:
            try:
                self.file.close()
            except OSError:
                pass


class _Handler(logging.Handler):
    """The logging side: formats a record and writes it through the Sink."""

    def __init__(self, sink, formatter):
        super().__init__()
        self.sink = sink
        self.setFormatter(formatter)

    def emit(self, record):
        try:
            self.sink.write_now(self.format(record) + "\n")
        except Exception:   # never let logging break a request; logging prints the cause
            self.handleError(record)


# -- the API -------------------------------------------------------------------------------------

def access(method, path, model, status, ms, request_id=None):
    """One access-log line (INFO): buffered, written within FLUSH_INTERVAL."""
    if not _log.isEnabledFor(logging.INFO):
        return
    sink = _sink
    if request_id is None:
        request_id = current()
    path, model = _clean(path, 2000), _clean(model, 200)
    if sink is None:   # not set up (a library use, in-process tests): the plain logger
        _log.info("%s", _access_message(method, path, model, status, ms))
        return
    sink.add(sink.access_line(time.time(), method, path, model, status, ms, request_id))


def flush():
    """Write the buffered access lines now (at shutdown; the flusher thread does it otherwise)."""
    sink = _sink
    if sink is not None:
        sink.flush()


def setup(verbose=False, quiet=False, log_file=None, log_format="text", log_max_mb=10.0,
          log_keep=5, stream=None, flush_interval=FLUSH_INTERVAL):
    """Configure the "argo_proxy" logger: level (--quiet: warnings, --verbose: debug, else info),
    stderr (or `stream`), the optional rotated `log_file`, text or json lines. Call again to
    change it. Raises OSError if the log file cannot be opened."""
    global _sink
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    file = None
    if log_file:
        file = RotatingFile(os.path.expanduser(log_file), log_max_mb * 1024 * 1024, log_keep)
    sink = Sink(stream if stream is not None else sys.stderr, file, log_format == "json")
    old, _sink = _sink, sink
    formatter = JsonFormatter() if log_format == "json" else TextFormatter()
    _replace_handler(_Handler(sink, formatter))
    _log.setLevel(level)
    if old is not None:
        old.close()
    _start_flusher(flush_interval)
    return sink


def _replace_handler(handler):
    for old in [h for h in _log.handlers if isinstance(h, _Handler)]:
        _log.removeHandler(old)
    _log.addHandler(handler)
    _log.propagate = False


def _start_flusher(interval):
    global _flusher, _atexit_registered
    _stop_flusher()
    stop = threading.Event()
    thread = threading.Thread(target=_flush_every, args=(interval, stop), name="log-flusher",
                              daemon=True)
    thread.start()
    _flusher = (thread, stop)
    if not _atexit_registered:
        atexit.register(_at_exit)
        _atexit_registered = True


def _flush_every(interval, stop):
    while not stop.wait(interval):
        try:
            flush()
        except Exception:   # a daemon thread must not die of one bad write
            pass


def _stop_flusher():
    global _flusher
    if _flusher is not None:
        thread, stop = _flusher
        stop.set()
        thread.join(5.0)
        _flusher = None


def _at_exit():
    """Last flush; from now on access lines are written at once (threads still finishing a
    request while the interpreter exits must not lose theirs)."""
    sink = _sink
    if sink is not None:
        sink.limit = 0
        sink.flush()


def teardown():
    """Undo setup (tests): flush, close the file, stop the flusher, detach the handler."""
    global _sink
    _stop_flusher()
    sink, _sink = _sink, None
    for old in [h for h in _log.handlers if isinstance(h, _Handler)]:
        _log.removeHandler(old)
    _log.propagate = True
    _log.setLevel(logging.NOTSET)
    if sink is not None:
        sink.close()
