"""The set of tool sources behind tool injection: cached tool lists, exposed names, execution.

A source (MCP client, LlamaStack) provides:
    name: str
    list_tools() -> [MCP Tool dict]                      (may raise)
    call_tool(name, arguments, timeout) -> MCP CallToolResult dict   (may raise)
        (a source whose call_tool also takes `cancel` and `model` keywords gets the caller's
        cancellation and the chat model that made the call)
    on_list_changed: callable or None                     (set here; the source calls it)
    close()
    start()                                               (optional; see ToolSet.start)
    supports_tasks: bool                                  (optional; tools whose
        execution.taskSupport is "required" are offered only when it is true)
    on_sampling: callable or None                         (optional; set here when present:
        on_sampling(messages, system, max_tokens, hints, triggering_model) -> sampler's dict)

Sampling: a server's sampling/createMessage reaches the `sampler` the ToolSet was given:

    sampler(messages, system, max_tokens, model_hint, triggering_model)
        -> {"role": "assistant", "content": {"type": "text", "text": ...},
            "model": <the model that answered>, "stopReason": "endTurn" | "maxTokens" | ...}

    messages: OpenAI chat messages (user/assistant; no system message), converted from the
        server's; system: the server's systemPrompt or None; max_tokens: the server's
        maxTokens capped per server; model_hint: the first of the server's
        modelPreferences.hints that resolve_model maps to a known model (its id), or None;
        triggering_model: the model of the chat whose tool call led to the request, or None
        when the caller did not say. Use model_hint, else triggering_model. Raise to refuse
        (the server gets a JSON-RPC error with the message).

Tool lists are fetched in daemon threads and waited for with a bound (list_timeout), so a
source that hangs or is down costs one bounded wait, never a failed or stuck request.
"""

from __future__ import annotations

import fnmatch
import functools
import inspect
import json
import logging
import threading
import time
from concurrent.futures import Future, wait

from .. import observe
from ..convert.tool_results import error_text, openai_function, result_text, truncate, unique_names
from .mcp_errors import cancelled

DEFAULT_TTL = 300.0
RETRY_FAILED = 30.0   # a source whose listing failed is asked again after this long (or ttl)
LIST_TIMEOUT = 20.0   # longest a request waits for a tool list; slower lists arrive later


class SamplingUnavailable(Exception):
    """No model caller was wired for MCP sampling."""


def unwired_sampler(messages, system, max_tokens, model_hint, triggering_model):
    """The sampler of a ToolSet given none: refuses every sampling request, saying why."""
    raise SamplingUnavailable("argo-proxy was started without a model caller for MCP sampling "
                              "(build_toolset got no sampler), so it cannot answer this "
                              "sampling/createMessage request")


class ToolSourceError(Exception):
    """A tool source refused or failed a request; `status` is the HTTP status when known."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


class _Listing(object):
    """One answer to list_tools(): the tools (filtered), or the error, and when."""

    __slots__ = ("tools", "error", "at", "gen")

    def __init__(self, tools, error, at, gen):
        self.tools, self.error, self.at, self.gen = tools, error, at, gen


class ToolSet(object):
    """Tool sources in priority order; options = {"prefix", "allow", "deny"} per source.

    sampler: answers the sampling requests of sources that have on_sampling (see the module
    docstring; None: unwired_sampler); resolve_model(name) -> model id or None: maps the
    servers' model hints to known models (None: hints are not used)."""

    def __init__(self, sources, ttl=DEFAULT_TTL, log=None, clock=time.monotonic,
                 list_timeout=LIST_TIMEOUT, sampler=None, resolve_model=None):
        self.ttl = float(ttl)
        self.list_timeout = float(list_timeout)
        self._log = log or logging.getLogger("argo_proxy")
        self._clock = clock
        self._sampler = sampler or unwired_sampler
        self._resolve_model = resolve_model
        self._sources = []
        self._takes_context = {}   # source name -> does call_tool take cancel= and model=?
        self._hidden = set()       # (source, tool) already logged as requiring tasks
        for source, options in sources:
            if any(s.name == source.name for s, _ in self._sources):
                raise ValueError("two tool sources are named %r" % source.name)
            self._sources.append((source, dict(options or {})))
            source.on_list_changed = functools.partial(self.invalidate, source.name)
            if hasattr(source, "on_sampling"):
                source.on_sampling = functools.partial(self.sample, source.name)
            self._takes_context[source.name] = _takes_context(source)
        self._lock = threading.Lock()
        self._listings = {}      # source name -> _Listing
        self._gens = dict((s.name, 0) for s, _ in self._sources)
        self._inflight = {}      # source name -> Future of a running list_tools()
        self._slow = set()       # names whose running listing already outlasted a wait
        self._version = 0        # bumped whenever a listing is stored
        self._catalog, self._catalog_version = None, -1

    # -- tool lists ---------------------------------------------------------------

    def tools(self) -> list:
        """OpenAI tool dicts for every injected tool (shared: do not modify them)."""
        return [entry["openai"] for entry in self._current().values()]

    def describe(self) -> list:
        """[{"name", "description", "source", "parameters"}] for GET /v1/tools."""
        return [{"name": name, "description": e["openai"]["function"]["description"],
                 "source": e["source"], "parameters": e["openai"]["function"]["parameters"]}
                for name, e in self._current().items()]

    def owns(self, exposed_name: str) -> bool:
        """Is this a tool the proxy injected (as of the latest tools() list)?"""
        return exposed_name in self._snapshot()

    def invalidate(self, source_name=None):
        """Forget cached lists (one source or all); the next tools() lists again."""
        with self._lock:
            for name in self._gens:
                if source_name is None or name == source_name:
                    self._gens[name] += 1

    @property
    def source_names(self) -> list:
        return [source.name for source, _ in self._sources]

    def stats(self) -> list:
        """[{"source", "tools", "ok", "error"?}] per source, from the lists fetched so far.

        Never lists or waits (call tools() first for fresh numbers): safe at start-up.
        """
        catalog = self._catalog_now()
        out = []
        for source, _ in self._sources:
            listing = self._listings.get(source.name)
            row = {"source": source.name, "ok": listing is not None and listing.error is None,
                   "tools": sum(1 for e in catalog.values() if e["source"] == source.name)}
            if not row["ok"]:
                row["error"] = listing.error if listing else "tools not listed yet"
            out.append(row)
        return out

    def _current(self) -> dict:
        """The catalog after bringing stale lists up to date (bounded wait)."""
        with self._lock:
            waits = [self._listing_future(s) for s, _ in self._sources if self._stale(s.name)]
            waits = [(name, f) for name, f in waits if name not in self._slow]
        if waits:
            wait([f for _, f in waits], timeout=self.list_timeout)
            self._mark_slow([name for name, f in waits if not f.done()])
        return self._catalog_now()

    def _snapshot(self) -> dict:
        """The catalog as the latest tools() saw it (lists only if nothing was listed yet)."""
        return self._catalog_now() if self._listings else self._current()

    def _catalog_now(self) -> dict:
        """The catalog built from the stored lists, without waiting for anything."""
        with self._lock:
            if self._catalog_version != self._version:
                self._catalog = self._build_catalog()
                self._catalog_version = self._version
            return self._catalog

    def _stale(self, name) -> bool:
        listing = self._listings.get(name)
        if listing is None or listing.gen != self._gens[name]:
            return True
        age = self._clock() - listing.at
        return age >= (self.ttl if listing.error is None else min(self.ttl, RETRY_FAILED))

    def _listing_future(self, source):
        """(name, Future) of the running listing of a source, starting one if needed."""
        future = self._inflight.get(source.name)
        if future is None:
            future = self._inflight[source.name] = Future()
            args = (source, self._gens[source.name], future)
            threading.Thread(target=self._list_into, args=args, daemon=True,
                             name="tools-list-%s" % source.name).start()
        return source.name, future

    def _mark_slow(self, names):
        if not names:
            return
        with self._lock:
            self._slow.update(n for n in names if n in self._inflight)
        for name in names:
            self._log.warning("tool source %s: listing tools takes longer than %g s; going on "
                              "without its new list", name, self.list_timeout)

    def _list_into(self, source, gen, future):
        try:
            tools = self._filtered(source, source.list_tools())
            error = None
        except Exception as exc:  # a source being down must not fail requests
            tools, error = [], str(exc) or type(exc).__name__
            self._log.warning("tool source %s: listing tools failed: %s", source.name, error)
        listing = _Listing(tools, error, self._clock(), gen)
        with self._lock:
            self._listings[source.name] = listing
            self._version += 1
            self._inflight.pop(source.name, None)
            self._slow.discard(source.name)
        future.set_result(listing)

    def _filtered(self, source, tools) -> list:
        options = self._options(source.name)
        allow, deny = options.get("allow"), options.get("deny") or ()
        out = []
        for tool in tools or []:
            name = tool.get("name") if isinstance(tool, dict) else None
            if not isinstance(name, str) or not name:
                self._log.warning("tool source %s: skipping a tool without a name", source.name)
                continue
            if allow is not None and not _matches(name, allow):
                continue
            if _matches(name, deny):
                continue
            if _requires_tasks(tool) and not getattr(source, "supports_tasks", False):
                if (source.name, name) not in self._hidden:
                    self._hidden.add((source.name, name))
                    self._log.warning("tool source %s: not offering %s: it requires MCP tasks, which "
                                      "the server does not support (no tasks.requests.tools.call "
                                      "capability)", source.name, name)
                continue
            out.append(tool)
        return out

    def _build_catalog(self) -> dict:
        """{exposed name: {"source", "tool", "openai"}} from the stored lists, in source order."""
        tools_by_key, entries = {}, []
        for source, options in self._sources:
            listing = self._listings.get(source.name)
            for tool in listing.tools if listing else ():
                tools_by_key.setdefault((source.name, tool["name"]), tool)
                entries.append((source.name, options.get("prefix"), tool["name"]))
        catalog = {}
        for exposed, (source_name, tool_name) in unique_names(entries).items():
            tool = tools_by_key[(source_name, tool_name)]
            catalog[exposed] = {"source": source_name, "tool": tool_name, "openai": openai_function(
                exposed, tool.get("description"), tool.get("inputSchema"))}
        return catalog

    def _options(self, name) -> dict:
        for source, options in self._sources:
            if source.name == name:
                return options
        return {}

    def _source(self, name):
        for source, _ in self._sources:
            if source.name == name:
                return source
        raise KeyError(name)

    # -- execution ----------------------------------------------------------------

    def execute(self, calls, timeout: float, max_chars: int, model=None, cancel=None) -> list:
        """One tool message per OpenAI tool call, in order; the calls run concurrently.

        Each call runs in its own daemon thread: a hung tool costs its thread, never the
        batch (we stop waiting after `timeout`) nor the process exit.
        model: the chat's model (a sampling request the call triggers uses it); cancel: the
        caller's cancellation (an upstream.Cancel or threading.Event): once set, execute
        returns at once and the sources stop their calls (MCP: notifications/cancelled,
        tasks/cancel).
        """
        catalog = self._snapshot()
        jobs = [self._job(call, catalog) for call in calls]
        futures = [self._spawn(job, timeout, model, cancel) if job["error"] is None else None
                   for job in jobs]
        running = [f for f in futures if f is not None]
        if running:
            _wait_all(running, timeout, cancel)
        gone = cancelled(cancel)
        return [self._tool_message(job, future, timeout, max_chars, gone)
                for job, future in zip(jobs, futures)]

    def _job(self, call, catalog) -> dict:
        """What to run for one tool call, or the error to answer without running anything."""
        function = (call.get("function") if isinstance(call, dict) else None) or {}
        name = str(function.get("name") or "")
        job = {"id": call.get("id") if isinstance(call, dict) else None, "name": name,
               "source": None, "tool": None, "args": None, "error": None}
        entry = catalog.get(name)
        if entry is None:
            job["error"] = "no injected tool is named %r" % name
            return job
        job["source"], job["tool"] = entry["source"], entry["tool"]
        job["args"], job["error"] = _parse_arguments(function.get("arguments"))
        return job

    def _spawn(self, job, timeout, model=None, cancel=None) -> Future:
        future = Future()
        source = self._source(job["source"])
        context = {"model": model, "cancel": cancel} if self._takes_context.get(source.name) else {}

        def run():
            started = time.monotonic()
            try:
                outcome = ("ok", source.call_tool(job["tool"], job["args"], timeout, **context))
            except Exception as exc:  # goes to the model as text
                outcome = ("raised", exc)
            future.set_result(outcome + ((time.monotonic() - started) * 1000.0,))

        threading.Thread(target=run, daemon=True, name="tool-%s" % job["name"]).start()
        return future

    def _tool_message(self, job, future, timeout, max_chars, gone=False) -> dict:
        if future is None:
            text, ok, ms, why = error_text(job["name"], job["error"]), False, 0.0, job["error"]
        elif not future.done() and gone:
            why = "cancelled: the client went away"
            text, ok, ms = error_text(job["name"], why), False, 0.0
        elif not future.done():
            why = "timed out after %g s" % timeout
            text, ok, ms = error_text(job["name"], why), False, timeout * 1000.0
        else:
            text, ok, ms, why = self._outcome_text(job, *future.result())
        self._log_call(job, ms, ok, why)
        return {"role": "tool", "tool_call_id": job["id"], "content": truncate(text, max_chars)}

    def _outcome_text(self, job, kind, value, ms):
        if kind == "raised":
            why = str(value) or type(value).__name__
            # the source may have restarted or changed its tools: list again next time
            self.invalidate(job["source"])
            return error_text(job["name"], why), False, ms, why
        if not isinstance(value, dict):
            why = "the tool source returned %s instead of a result" % type(value).__name__
            return error_text(job["name"], why), False, ms, why
        text, is_error = result_text(value, None)
        return text, not is_error, ms, ("the tool reported an error" if is_error else None)

    def _log_call(self, job, ms, ok, why):
        observe.note_tool(job["source"], job["name"], ok, ms / 1000.0)
        line = "tool %s source=%s %dms %s" % (job["name"], job["source"] or "-", round(ms),
                                             "ok" if ok else "error")
        self._log.info(line if ok or not why else "%s: %s" % (line, why[:300]))

    # -- sampling -----------------------------------------------------------------

    def sample(self, source_name, messages, system, max_tokens, hints, triggering_model):
        """Answer one source's sampling request through the sampler (see the module docstring)."""
        model_hint = self._pick_hint(hints)
        self._log.info("tool source %s: sampling with %s (hints %s, chat model %s), at most %d tokens",
                       source_name, model_hint or triggering_model or "the sampler's default",
                       ", ".join(hints) or "none", triggering_model or "unknown", max_tokens)
        return self._sampler(messages, system, max_tokens, model_hint, triggering_model)

    def _pick_hint(self, hints):
        """The id of the first hint that names a known model, or None."""
        if self._resolve_model is None:
            return None
        for hint in hints or ():
            try:
                found = self._resolve_model(hint)
            except Exception as exc:  # a broken resolver must not break sampling
                self._log.warning("resolving the model hint %r failed: %s", hint, exc)
                continue
            if found:
                return found
        return None

    # -- lifecycle ----------------------------------------------------------------

    def start(self):
        """Start every source that has start() (eager start), concurrently; failures are logged."""
        def start_one(source, future):
            try:
                source.start()
            except Exception as exc:
                self._log.warning("tool source %s: start failed: %s", source.name, exc)
            future.set_result(None)

        futures = []
        for source, _ in self._sources:
            if callable(getattr(source, "start", None)):
                futures.append(Future())
                threading.Thread(target=start_one, args=(source, futures[-1]), daemon=True,
                                 name="tools-start-%s" % source.name).start()
        if futures:
            wait(futures, timeout=self.list_timeout)

    def close(self):
        for source, _ in self._sources:
            try:
                source.close()
            except Exception as exc:
                self._log.warning("tool source %s: close failed: %s", source.name, exc)


def _requires_tasks(tool) -> bool:
    execution = tool.get("execution")
    return isinstance(execution, dict) and execution.get("taskSupport") == "required"


def _takes_context(source) -> bool:
    """Does source.call_tool accept the cancel= and model= keywords?"""
    try:
        params = inspect.signature(source.call_tool).parameters
    except (TypeError, ValueError, AttributeError):
        return False
    return "cancel" in params and "model" in params


def _wait_all(futures, timeout, cancel):
    """Wait for the futures up to timeout; without a cancel in one wait, else in slices."""
    if cancel is None:
        wait(futures, timeout=timeout)
        return
    end = time.monotonic() + timeout
    while not cancelled(cancel):
        left = end - time.monotonic()
        if left <= 0 or not wait(futures, timeout=min(left, 0.2)).not_done:
            return


def _matches(name, patterns) -> bool:
    """Allow/deny entries are tool names; shell-style wildcards (get_*) also work."""
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _parse_arguments(raw):
    """(arguments dict, None) or (None, error for the model). Empty means no arguments."""
    if isinstance(raw, dict):
        return raw, None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}, None
    try:
        value = json.loads(raw)
    except (TypeError, ValueError) as exc:
        return None, "the arguments are not valid JSON (%s); send a JSON object" % exc
    if not isinstance(value, dict):
        return None, "the arguments must be a JSON object, not %s" % type(value).__name__
    return value, None
