"""The client features of the MCP protocol, as a mixin of `BaseClient` (mcp_base.py):
tools/call as a task (tasks/get polling, tasks/result, tasks/cancel), and the answers to the
requests a server may send the client (ping, sampling/createMessage, roots/list, a declined
elicitation/create). Protocol facts: the MCP 2025-11-25 specification (basic/utilities/tasks,
client/sampling, client/roots, client/elicitation).
"""

from __future__ import annotations

import os
import pathlib
import threading
import time

from .mcp_errors import WAIT_SLICE, Fault, MCPError, RequestCancelled, RequestTimedOut, Stop, cancelled

SAMPLING_MAX_TOKENS = 4096     # cap on a server's sampling maxTokens unless sampling_max_tokens says
TASK_POLL_DEFAULT = 1.0        # seconds between tasks/get when the server names no pollInterval
TASK_POLL_MIN = 0.05           # a pollInterval of 0 must not become a busy loop
TASK_TTL_SLACK = 60.0          # the task lifetime asked for: the call's timeout plus this
TASK_CANCEL_TIMEOUT = 5.0      # how long a best-effort tasks/cancel may take
TERMINAL_TASK_STATUSES = ("completed", "failed", "cancelled")
RELATED_TASK = "io.modelcontextprotocol/related-task"


class _TaskWatch:
    """A task this client waits for: the triggering model, and an event that a
    notifications/tasks/status for it sets (so the next tasks/get goes out at once)."""

    __slots__ = ("model", "event")

    def __init__(self, model):
        self.model = model
        self.event = threading.Event()


def client_options(name, sampling=False, sampling_max_tokens=None, roots=None):
    """(sampling, max tokens, roots as absolute paths) after checking the per-server options;
    ValueError names what is wrong."""
    if not isinstance(sampling, bool):
        raise ValueError("MCP server %r: 'sampling' must be true or false, not %r" % (name, sampling))
    cap = SAMPLING_MAX_TOKENS if sampling_max_tokens is None else sampling_max_tokens
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ValueError("MCP server %r: 'sampling_max_tokens' must be a positive integer, not %r"
                         % (name, sampling_max_tokens))
    if roots is None:
        roots = []
    if not isinstance(roots, (list, tuple)) or not all(isinstance(r, str) and r.strip() for r in roots):
        raise ValueError("MCP server %r: 'roots' must be a list of directory paths" % name)
    paths = [os.path.abspath(os.path.expanduser(r.strip())) for r in roots]
    return sampling, cap, paths


class ClientFeatures:
    """Tasks and the answers to server requests, for `BaseClient`, which provides what these
    methods use: name, log, capabilities, tasks, roots, sampling, sampling_max_tokens,
    on_sampling, _request, _send_oneway, _plock, _pending and _tasks."""

    def client_capabilities(self) -> dict:
        """What initialize declares: only the features this server's entry turned on.

        No `tasks` capability: the client one (list, cancel, requests.sampling/elicitation)
        says which task-augmented requests the client accepts as a receiver, and this client
        accepts none; calling a server's tools as tasks needs only the server's capability."""
        caps = {}
        if self.roots:
            caps["roots"] = {"listChanged": False}
        if self.sampling:
            caps["sampling"] = {}
        return caps

    @property
    def supports_tasks(self) -> bool:
        """Can tools that require task augmentation be called on this server (as of the last
        handshake)? Tools with execution.taskSupport "required" are offered only then."""
        return self.tasks and _has(self.capabilities, "tasks", "requests", "tools", "call")

    # ---- tasks ------------------------------------------------------------------------------

    def _call_as_task(self, params, timeout, what, cancel, model):
        """tools/call as a task: create it, poll tasks/get, fetch tasks/result; cancel it on
        timeout or when the caller cancels."""
        deadline = time.monotonic() + timeout
        params = dict(params, task={"ttl": int((timeout + TASK_TTL_SLACK) * 1000)})
        created = self._request("tools/call", params, timeout, what, cancel=cancel, model=model)
        task = created.get("task") if isinstance(created, dict) else None
        if not isinstance(task, dict) or not isinstance(task.get("taskId"), str):
            if isinstance(created, dict) and "content" in created:
                return created   # the server ran it without a task (receivers may)
            raise MCPError("MCP server %r answered the task-augmented %s with %r"
                           % (self.name, what, created))
        tid = task["taskId"]
        self.log.debug("MCP server %r: %s runs as task %s", self.name, what, tid)
        with self._plock:
            watch = self._tasks[tid] = _TaskWatch(model)
        try:
            while True:
                status = task.get("status")
                if status in TERMINAL_TASK_STATUSES or status == "input_required":
                    # input_required: tasks/result carries the server's requests until it ends
                    return self._request("tasks/result", {"taskId": tid}, _left(deadline),
                                         "tasks/result of %s" % what, cancel=cancel, model=model)
                self._pause(watch, task.get("pollInterval"), deadline, cancel)
                task = self._request("tasks/get", {"taskId": tid}, _left(deadline),
                                     "tasks/get of %s" % what, cancel=cancel, model=model)
                if not isinstance(task, dict):
                    raise MCPError("MCP server %r answered tasks/get of %s with %r" % (self.name, what, task))
        except (Stop, RequestTimedOut, RequestCancelled):
            gone = cancelled(cancel)
            self._cancel_task(tid, what)
            if gone:
                raise RequestCancelled("MCP server %r: %s (task %s) was cancelled by the client"
                                       % (self.name, what, tid)) from None
            raise RequestTimedOut("MCP server %r: %s timed out after %g s (task %s)"
                                  % (self.name, what, timeout, tid)) from None
        finally:
            with self._plock:
                self._tasks.pop(tid, None)

    def _pause(self, watch, poll_ms, deadline, cancel):
        """Wait the server's pollInterval (bounded by the deadline); a status notification for
        the task ends the wait early. Stop when the deadline passes or the caller cancels."""
        interval = TASK_POLL_DEFAULT
        if isinstance(poll_ms, (int, float)) and not isinstance(poll_ms, bool) and poll_ms >= 0:
            interval = poll_ms / 1000.0
        end = min(time.monotonic() + max(TASK_POLL_MIN, interval), deadline)
        while True:
            if cancelled(cancel):
                raise Stop()
            left = end - time.monotonic()
            if left <= 0:
                break
            if watch.event.wait(min(left, WAIT_SLICE)):
                watch.event.clear()
                break
        if time.monotonic() >= deadline:
            raise Stop()

    def _cancel_task(self, tid, what):
        """Best-effort tasks/cancel (only to a server that declares tasks.cancel)."""
        if not _has(self.capabilities, "tasks", "cancel"):
            self.log.debug("MCP server %r: cannot cancel task %s (no tasks.cancel capability)",
                           self.name, tid)
            return
        try:
            self._request("tasks/cancel", {"taskId": tid}, TASK_CANCEL_TIMEOUT, "tasks/cancel of %s" % what)
            self.log.info("MCP server %r: cancelled task %s of %s", self.name, tid, what)
        except MCPError as exc:
            self.log.debug("MCP server %r: tasks/cancel %s failed: %s", self.name, tid, exc)

    # ---- requests from the server ---------------------------------------------------------

    def _answer_server_request(self, msg, origin):
        """Answer ping, roots/list, elicitation/create (declined) and sampling/createMessage
        (in its own thread: a model call must not hold up the reader); -32601 for the rest."""
        rid, method = msg["id"], msg["method"]
        params = msg.get("params") if isinstance(msg.get("params"), dict) else {}
        self.log.info("MCP server %r asks the client: %s", self.name, method)
        if method == "sampling/createMessage" and self.sampling:
            model = self._triggering_model(origin, params)
            threading.Thread(target=self._answer, args=(rid, method, self._sample, params, model),
                             daemon=True, name="mcp-%s-sampling" % self.name).start()
            return
        handler = {"ping": self._ping, "roots/list": self._list_roots,
                   "elicitation/create": self._elicit}.get(method, _not_found)
        self._answer(rid, method, handler, params)

    def _answer(self, rid, method, handler, params, *args):
        try:
            reply = {"jsonrpc": "2.0", "id": rid, "result": handler(params, *args)}
        except Fault as fault:
            reply = {"jsonrpc": "2.0", "id": rid, "error": {"code": fault.code, "message": fault.message}}
            if fault.code != -32601:
                self.log.warning("MCP server %r: refused its %s request: %s", self.name, method, fault.message)
            else:
                self.log.debug("MCP server %r asked for %r; answered -32601", self.name, method)
        try:
            self._send_oneway(reply)
        except Exception as exc:
            self.log.warning("MCP server %r: could not answer its %r request: %s", self.name, method, exc)

    def _ping(self, params):
        return {}

    def _list_roots(self, params):
        if not self.roots:
            raise Fault(-32601, "Method not found")
        return {"roots": [{"uri": pathlib.Path(path).as_uri(), "name": os.path.basename(path) or path}
                          for path in self.roots]}

    def _elicit(self, params):
        self.log.info("MCP server %r: declined its elicitation (%s)", self.name,
                      str(params.get("message") or "no message")[:200])
        return {"action": "decline"}

    def _sample(self, params, model):
        messages = sampling_messages(params.get("messages"))
        system = params.get("systemPrompt")
        system = system if isinstance(system, str) and system.strip() else None
        asked = params.get("maxTokens")
        max_tokens = self.sampling_max_tokens
        if isinstance(asked, int) and not isinstance(asked, bool) and 0 < asked < max_tokens:
            max_tokens = asked
        prefs = params.get("modelPreferences") if isinstance(params.get("modelPreferences"), dict) else {}
        hints = [h["name"] for h in prefs.get("hints") or []
                 if isinstance(h, dict) and isinstance(h.get("name"), str) and h["name"].strip()]
        handler = self.on_sampling
        if handler is None:
            raise Fault(-32603, "argo-proxy has no model caller for sampling (the MCP client is not "
                                 "part of a tool set)")
        try:
            answer = handler(messages, system, max_tokens, hints, model)
        except Exception as exc:
            raise Fault(-32603, "sampling failed: %s" % (str(exc) or type(exc).__name__)) from None
        result = sampling_result(answer)
        self.log.info("MCP server %r: sampling answered by model %s (%s)", self.name, result["model"],
                      result["stopReason"])
        return result

    def _triggering_model(self, origin, params):
        """The model of the call that made the server ask: the request whose reply stream
        carries the question, else the task it names, else the latest call in flight."""
        meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}
        related = meta.get(RELATED_TASK) if isinstance(meta.get(RELATED_TASK), dict) else {}
        with self._plock:
            waiter = self._pending.get(origin) if origin is not None else None
            if waiter is not None and waiter.model:
                return waiter.model
            watch = self._tasks.get(related.get("taskId")) if isinstance(related.get("taskId"), str) else None
            if watch is not None and watch.model:
                return watch.model
            models = [w.model for w in self._pending.values() if w.model]
        return models[-1] if models else None


def task_support(tool) -> str:
    """A tool's execution.taskSupport: "required", "optional" or "forbidden" (the default)."""
    execution = tool.get("execution") if isinstance(tool, dict) else None
    mode = execution.get("taskSupport") if isinstance(execution, dict) else None
    return mode if mode in ("required", "optional") else "forbidden"


def sampling_messages(raw) -> list:
    """MCP SamplingMessages -> OpenAI chat messages (text as strings; images as image_url
    data URLs; audio as input_audio). Fault(-32602) for a malformed list."""
    if not isinstance(raw, list) or not raw:
        raise Fault(-32602, "sampling/createMessage needs a non-empty messages list")
    out = []
    for msg in raw:
        role = msg.get("role") if isinstance(msg, dict) else None
        if role not in ("user", "assistant"):
            raise Fault(-32602, "sampling message role must be user or assistant, not %r" % (role,))
        blocks = msg.get("content")
        blocks = blocks if isinstance(blocks, list) else [blocks]
        parts = [_openai_part(block, role) for block in blocks]
        if all(p["type"] == "text" for p in parts):
            out.append({"role": role, "content": "\n".join(p["text"] for p in parts)})
        else:
            out.append({"role": role, "content": parts})
    return out


def _openai_part(block, role):
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "text" and isinstance(block.get("text"), str):
        return {"type": "text", "text": block["text"]}
    if kind == "image" and role == "user" and block.get("data"):
        mime = block.get("mimeType") or "image/png"
        return {"type": "image_url", "image_url": {"url": "data:%s;base64,%s" % (mime, block["data"])}}
    if kind == "audio" and role == "user" and block.get("data"):
        fmt = str(block.get("mimeType") or "audio/wav").split("/")[-1].replace("mpeg", "mp3")
        return {"type": "input_audio", "input_audio": {"data": block["data"], "format": fmt}}
    if kind in ("image", "audio", "tool_use", "tool_result"):
        return {"type": "text", "text": "[%s content]" % kind}
    raise Fault(-32602, "unsupported sampling content %r" % (block,))


def sampling_result(answer) -> dict:
    """The sampler's answer as a CreateMessageResult (a bare string is taken as the text)."""
    if isinstance(answer, str):
        answer = {"content": {"type": "text", "text": answer}}
    if not isinstance(answer, dict):
        raise Fault(-32603, "the model caller returned %s, not a message" % type(answer).__name__)
    content = answer.get("content")
    if isinstance(content, str):
        content = {"type": "text", "text": content}
    if not isinstance(content, dict) or not content.get("type"):
        raise Fault(-32603, "the model caller returned no content")
    return {"role": "assistant", "content": content, "model": str(answer.get("model") or "unknown"),
            "stopReason": answer.get("stopReason") or "endTurn"}


def _not_found(params):
    raise Fault(-32601, "Method not found")


def _has(mapping, *path) -> bool:
    """Is there an object (or any value) at this key path of a capabilities dict?"""
    node = mapping
    for key in path:
        if not isinstance(node, dict) or key not in node or node[key] is None:
            return False
        node = node[key]
    return node is not False


def _left(deadline) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Stop()
    return left
