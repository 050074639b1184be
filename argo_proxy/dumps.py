"""Error dumps (`dump_errors: FOLDER`): one redacted JSON file per failed upstream exchange.

A request whose trace shows a failed exchange with the upstream (its error is the upstream's
or the network's, and a request went out) is dumped: who asked what, the URL and the body
sent upstream, the upstream's answer, and the error the client was told (with its request
id, as the client saw it). Bodies pass through the log's redaction (`logs.redact`: secret
values and key-shaped strings masked, base64 cut) and are capped at BODY_CAP characters;
this proxy's own API key is masked wherever it appears.

Identical failures (same URL, upstream status, error code and message) within
DEDUPE_SECONDS of the first one's dump are counted, not dumped again: that first file's
`repeats`, `repeat_ids` and `last_repeat` are updated (at most once per SAVE_INTERVAL).

The observer's sink runs in the request's thread and only copies a few fields into a
bounded queue; one daemon thread writes. A full queue drops the dump (counted, with one
warning per spell). The folder holds at most `max_files` dump files and `max_bytes` bytes of
them: the oldest are removed before a new one is written (an index of the folder's dump
files is read once at start). Files are 0600, the folder is created 0700; names sort by time
and carry the request id: 20250131T183456.789Z-000001-req_ab12cd00001.json.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import queue
import re
import threading
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .config import ConfigError
from .errors import in_context
from .logs import iso_time, redact

log = logging.getLogger("argo_proxy")

DEDUPE_SECONDS = 60.0
SAVE_INTERVAL = 1.0          # repeat counts reach their file at most this often
QUEUE_SIZE = 32
BODY_WINDOW = 2 * 1024 * 1024   # bytes of a body redacted (the rest is counted, not shown)
BODY_CAP = 64 * 1024            # characters of a redacted body kept in a dump
MAX_REPEAT_IDS = 100
MAX_RECENT = 1000               # failure kinds remembered for the dedupe

_NAME = re.compile(r"\d{8}T\d{6}\.\d{3}Z-\d{6}-[A-Za-z0-9._-]+\.json\Z")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_SECRET_PARAM = re.compile(r"key|token|secret|password|auth|signature|sig\Z", re.IGNORECASE)
_TMP = ".tmp-"
_STOP = object()


class FolderError(ConfigError):
    """The dump folder cannot be created or written (a start-up error)."""


def failed_exchange(trace) -> bool:
    """A request went upstream and the failure the client was told is the upstream's or the
    network's; or (a relayed answer) the upstream's failed answer reached the client as is."""
    if trace.sent is None:
        return False
    err = trace.error
    if err is None:
        return trace.answer is not None
    return err.source in ("upstream", "network")


def failure_key(trace) -> tuple:
    err, answer = trace.error, trace.answer
    return (trace.sent[0], answer[0] if answer else None,
            err.code if err else None, err.message if err else None)


# -- the record (pure: the request thread takes a snapshot, the writer builds from it) -------

def snapshot(trace) -> dict:
    """What a dump needs from a trace, with bodies cut to BODY_WINDOW (the trace, which holds
    the whole body, is not kept)."""
    url, body = trace.sent
    answer = trace.answer
    return {"id": trace.id, "wall": trace.wall, "method": trace.method, "path": trace.path,
            "surface": trace.surface, "model": trace.model, "user": trace.user,
            "stream": trace.stream, "elapsed": trace.elapsed, "status": trace.status,
            "error": trace.error, "upstream": trace.upstream or "Argo", "url": url,
            "sent": _window(body), "answer": (answer[0], _window(answer[1])) if answer else None}


def _window(body):
    if body is None:
        return b"", 0
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")
    return bytes(body[:BODY_WINDOW]), len(body)


def build_record(snap) -> dict:
    """The dump of one failed exchange (see the module doc); bodies redacted and capped."""
    err = snap["error"]
    upstream = {"name": snap["upstream"], "url": safe_url(snap["url"]),
                "request": body_entry(*snap["sent"])}
    if snap["answer"] is not None:
        status, (data, size) = snap["answer"]
        upstream["answer"] = dict(status=status, **body_entry(data, size))
    elif err is not None and err.source == "network":
        upstream["error"] = redact(err.message)
    return {"request_id": snap["id"], "time": iso_time(snap["wall"]),
            "method": snap["method"], "path": _text(snap["path"]),
            "surface": snap["surface"], "model": _text(snap["model"]),
            "user": _text(snap["user"]), "stream": snap["stream"],
            "elapsed_ms": round(snap["elapsed"] * 1000, 1) if snap["elapsed"] else None,
            "failure": failure_entry(err, snap), "upstream": upstream,
            "client": client_entry(snap), "repeats": 0, "repeat_ids": [], "last_repeat": None}


def failure_entry(err, snap):
    if err is None:   # a relayed answer: the upstream's status reached the client as is
        return {"source": "upstream", "status": snap["status"], "code": None, "message": None}
    return {"source": err.source, "status": err.status, "code": err.code,
            "message": redact(err.message), "upstream_status": err.upstream_status}


def client_entry(snap):
    """The answer the client got: the error body in its surface's style, its message naming the
    request id and whose failure it was (errors.in_context), or the relayed upstream answer."""
    err = snap["error"]
    if err is None:
        data, size = snap["answer"][1]
        return dict(status=snap["status"], relayed=True, **body_entry(data, size))
    told = in_context(err, snap["id"], snap["upstream"])
    entry = {"status": snap["status"] or told.status}
    if snap["status"] not in (None, told.status):
        entry["in_stream"] = True   # the stream had opened: an error event ended it
    entry["body"] = _json_or_text(redact(json.dumps(told.body(snap["surface"]))))
    return entry


def body_entry(data: bytes, size: int) -> dict:
    """{"bytes": size, "body": JSON when the redacted body parses, else its text}."""
    text = redact(data.decode("utf-8", "replace"))
    if len(text) > BODY_CAP or size > len(data):
        text = text[:BODY_CAP] + "...[%d bytes in all]" % size
    return {"bytes": size, "body": _json_or_text(text)}


def _json_or_text(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _text(value):
    return None if value is None else redact(str(value)[:2000])


def safe_url(url) -> str:
    """The upstream URL without user info or the values of key-like query parameters."""
    try:
        parts = urlsplit(str(url))
        netloc = parts.netloc
        if "@" in netloc:
            netloc = "***@" + netloc.rsplit("@", 1)[1]
        query = urlencode([(k, "***" if _SECRET_PARAM.search(k) else v)
                           for k, v in parse_qsl(parts.query, keep_blank_values=True)])
        return redact(urlunsplit((parts.scheme, netloc, parts.path, query, "")))
    except ValueError:
        return redact(str(url))


def encode(record, secrets=()) -> bytes:
    """The file's bytes; literal secrets (this proxy's API key) masked wherever they are."""
    text = json.dumps(record, indent=2, ensure_ascii=False)
    for secret in secrets:
        for form in {secret, json.dumps(secret, ensure_ascii=False)[1:-1]}:
            text = text.replace(form, "***")
    return text.encode("utf-8", "backslashreplace")


def file_name(when, seq, request_id) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(when))
    millis = int((when - int(when)) * 1000)
    return "%s.%03dZ-%06d-%s.json" % (stamp, millis, seq % 1000000,
                                      _UNSAFE.sub("_", str(request_id))[:80] or "request")


# -- the folder ---------------------------------------------------------------------------------

def prepare_folder(path) -> str:
    """The folder as an absolute path, created 0700 if missing; FolderError if unusable."""
    path = os.path.abspath(os.path.expanduser(path))
    try:
        os.makedirs(path, 0o700, exist_ok=True)
    except OSError as exc:
        raise FolderError("cannot create the error-dump folder %s (dump_errors): %s"
                          % (path, exc.strerror or exc))
    if not os.access(path, os.W_OK | os.X_OK):
        raise FolderError("cannot write to the error-dump folder %s (dump_errors): "
                          "permission denied" % path)
    return path


def load_index(folder) -> list:
    """[name, size, None] for the folder's dump files, oldest first; stale temp files removed."""
    found = []
    for name in sorted(os.listdir(folder)):
        full = os.path.join(folder, name)
        try:
            if name.startswith(_TMP):
                os.unlink(full)
            elif _NAME.match(name):
                found.append([name, os.stat(full).st_size, None])
        except OSError:
            continue
    return found


def write_file(folder, name, data):
    """Write via a temp file and a rename: a reader never sees half a dump (nor a temp file
    under a *.json name). Mode 0600."""
    tmp = os.path.join(folder, _TMP + name + ".part")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.replace(tmp, os.path.join(folder, name))


# -- the dumper: the sink (request threads) and the writer (one thread) -------------------------

class _Kind:
    """One failure kind's dedupe window: its first dump's index item and the repeats since."""

    __slots__ = ("first", "repeats", "ids", "last", "item", "gone")

    def __init__(self, first):
        self.first, self.repeats, self.ids, self.last = first, 0, [], None
        self.item = None     # [name, size, kind] once written
        self.gone = False    # not written, or removed by the caps: the next one is dumped


class ErrorDumps:
    """`sink` for the Observer; `stop` at shutdown. clock: wall seconds (tests pass their own)."""

    def __init__(self, folder, max_files, max_mb, secrets=(), clock=time.time,
                 queue_size=QUEUE_SIZE):
        self.folder = prepare_folder(folder)
        self.max_files, self.max_bytes = max(1, int(max_files)), int(max_mb * 1024 * 1024)
        self.secrets = tuple(s for s in secrets if s and len(s) >= 4)
        self.clock = clock
        self._index = collections.deque(load_index(self.folder))
        self._total = sum(item[1] for item in self._index)
        self._recent = collections.OrderedDict()   # failure key -> _Kind, oldest first
        self._dirty = set()                        # kinds whose repeats are not in their file
        self._lock = threading.Lock()
        self._queue = queue.Queue(queue_size)
        self._seq = 0
        self._saved_at = 0.0
        self.counts = collections.Counter()   # written, repeats, dropped, removed, failed
        self._dropping = self._failing = self._stopped = False
        self._thread = threading.Thread(target=self._run, name="error-dumps", daemon=True)
        self._thread.start()

    # -- request threads ----------------------------------------------------------------

    def sink(self, trace):
        if self._stopped or not failed_exchange(trace):
            return
        key, now = failure_key(trace), self.clock()
        with self._lock:
            kind = self._recent.get(key)
            if kind is not None and not kind.gone and now - kind.first < DEDUPE_SECONDS:
                kind.repeats += 1
                kind.last = now
                if len(kind.ids) < MAX_REPEAT_IDS:
                    kind.ids.append(trace.id)
                self._dirty.add(kind)
                self.counts["repeats"] += 1
                return
            kind = self._remember(key, now)
        try:
            self._queue.put_nowait((snapshot(trace), kind, now))
        except queue.Full:
            self._dropped(key, kind)

    def _remember(self, key, now):
        self._recent.pop(key, None)
        while self._recent and (len(self._recent) >= MAX_RECENT or
                                now - next(iter(self._recent.values())).first >= DEDUPE_SECONDS):
            self._recent.popitem(last=False)
        kind = self._recent[key] = _Kind(now)
        return kind

    def _dropped(self, key, kind):
        with self._lock:
            kind.gone = True
            if self._recent.get(key) is kind:
                del self._recent[key]
            self.counts["dropped"] += 1
            first, self._dropping = not self._dropping, True
        if first:
            log.warning("error dumps: the writer is behind (%d queued); dropping dumps until "
                        "it catches up", self._queue.maxsize)

    # -- control ------------------------------------------------------------------------

    def flush(self, timeout=10.0) -> bool:
        """Wait until every queued dump is written and every repeat count saved."""
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def stop(self, timeout=5.0):
        """Write what is queued, then end the writer."""
        self._stopped = True
        if self._thread.is_alive():
            self.flush(timeout)
            try:
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                return
            self._thread.join(timeout)

    def stats(self) -> dict:
        with self._lock:
            return dict(self.counts, files=len(self._index), bytes=self._total)

    # -- the writer thread --------------------------------------------------------------

    def _run(self):
        while True:
            try:
                item = self._queue.get(timeout=SAVE_INTERVAL)
            except queue.Empty:
                item = None
            if item is _STOP:
                self._save_repeats()
                return
            flush = item if isinstance(item, threading.Event) else None
            if item is not None and flush is None:
                self._guarded(self._dump, *item)
            if self._queue.empty():
                self._caught_up()
            if flush is not None or time.monotonic() - self._saved_at >= SAVE_INTERVAL:
                self._save_repeats()
            if flush is not None:
                flush.set()

    def _guarded(self, work, *args):
        try:
            work(*args)
            self._failing = False
        except Exception as exc:   # a disk problem must not end the writer
            self.counts["failed"] += 1
            if not self._failing:
                self._failing = True
                log.warning("error dumps: cannot write to %s (%s)", self.folder,
                            getattr(exc, "strerror", None) or exc)

    def _caught_up(self):
        with self._lock:
            dropped, self._dropping = self._dropping, False
        if dropped:
            log.warning("error dumps: the writer caught up; %d dump(s) dropped so far",
                        self.counts["dropped"])

    def _dump(self, snap, kind, when):
        record = build_record(snap)
        with self._lock:
            self._fill_repeats(record, kind)
            self._seq += 1
            seq = self._seq
        data = encode(record, self.secrets)
        if len(data) > self.max_bytes:
            kind.gone = True
            raise OSError("a dump of %d bytes is larger than dump_max_mb" % len(data))
        name = file_name(when, seq, snap["id"])
        self._make_room(len(data), 1)
        try:
            write_file(self.folder, name, data)
        except OSError:
            kind.gone = True
            raise
        item = [name, len(data), kind]
        with self._lock:
            self._index.append(item)
            self._total += len(data)
            kind.item = item
        self.counts["written"] += 1

    def _fill_repeats(self, record, kind):
        """(under the lock) The kind's repeats so far into its record."""
        record.update(repeats=kind.repeats, repeat_ids=list(kind.ids),
                      last_repeat=iso_time(kind.last) if kind.last else None)
        self._dirty.discard(kind)

    def _make_room(self, extra_bytes, extra_files, keep=None):
        """Remove the oldest dump files (never `keep`) until `extra_*` more fit the caps."""
        while True:
            with self._lock:
                over = (len(self._index) + extra_files > self.max_files or
                        self._total + extra_bytes > self.max_bytes)
                victim = next((item for item in self._index if item is not keep), None)
                if not over or victim is None:
                    return
                self._index.remove(victim)
                self._total -= victim[1]
                if victim[2] is not None:
                    victim[2].gone = True
            self.counts["removed"] += 1
            try:
                os.unlink(os.path.join(self.folder, victim[0]))
            except FileNotFoundError:
                pass

    def _save_repeats(self):
        """Rewrite the files whose kinds were repeated since they were written."""
        self._saved_at = time.monotonic()
        with self._lock:
            ready = [k for k in self._dirty if k.item is not None or k.gone]
            self._dirty.difference_update(ready)
        kinds = [k for k in ready if not k.gone]
        for kind in kinds:
            self._guarded(self._save_one, kind)

    def _save_one(self, kind):
        item = kind.item
        try:
            with open(os.path.join(self.folder, item[0]), encoding="utf-8") as fh:
                record = json.load(fh)
        except FileNotFoundError:   # removed by hand: forget it
            with self._lock:
                if item in self._index:
                    self._index.remove(item)
                    self._total -= item[1]
                kind.gone = True
            return
        with self._lock:
            self._fill_repeats(record, kind)
        data = encode(record, self.secrets)
        self._make_room(len(data) - item[1], 0, keep=item)
        write_file(self.folder, item[0], data)
        with self._lock:
            self._total += len(data) - item[1]
            item[1] = len(data)
