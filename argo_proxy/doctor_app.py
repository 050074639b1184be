"""Doctor steps 6-10, asked through the proxy's own App: its HTTP client and model registry
(model list), its adapters chosen by the routing table (whether Argo knows the user, a
one-token chat), its tool set (tool sources) and its listener (the port)."""

from __future__ import annotations

import http.client
import io
import json

from .doctor_report import FAIL, PASS, SKIP, TimedOut, bounded
from .errors import ProxyError

DEFAULT_MODEL = "gpt4o"   # the test chat's model (--model): on Argo in every mode
ANSWER_TIMEOUT = 30.0   # seconds Argo and tool sources get to answer (connect_timeout if longer)
PROMPT = "Reply with the single word OK."


def make_app(cfg, report):
    """The App the proxy would run, its upstream reads bounded; None if it cannot be built."""
    from .app import App
    try:
        app = App(cfg)
    except Exception as exc:   # a config that validates but cannot be assembled
        for check, subject in (("models", "model list"), ("registered", "user registered"),
                               ("chat", "chat"), ("tools", "tools"), ("listen", "listen")):
            report.add(check, subject, SKIP if check != "models" else FAIL,
                       "the proxy cannot be assembled from this configuration: %s" % exc,
                       "check the configuration (argo-proxy --show prints it)")
        return None
    app.upstream.read_timeout = answer_timeout(cfg)
    return app


def answer_timeout(cfg):
    return max(ANSWER_TIMEOUT, cfg.connect_timeout)


def run(doctor):
    check_models(doctor)
    registered = check_registered(doctor)
    check_chat(doctor, registered)
    check_tools(doctor)
    check_listen(doctor)


# -- step 6 ------------------------------------------------------------------------------------

def check_models(doctor):
    cfg, app, add = doctor.cfg, doctor.app, doctor.report.add
    if cfg.llamastack_mode:
        add("models", "model list", SKIP, "LlamaStack mode: the models are LlamaStack's own")
        return
    url = cfg.argo_model_url
    problem = doctor.reach.problem(url)
    if problem:
        add("models", "model list", SKIP, "cannot reach %s: %s" % (url, problem))
        return
    try:
        result = bounded(answer_timeout(cfg) + 5, app.refresh_models)
    except TimedOut as exc:
        result = {"ok": False, "error": str(exc)}
    if result.get("ok"):
        add("models", "model list", PASS, "%d models from %s" % (result["models_after"], url))
    else:
        add("models", "model list", FAIL, "%s gave no model list: %s" % (url, result.get("error")),
            "check argo_model_url (or argo_base_url) in the config")


# -- steps 7 and 8 -----------------------------------------------------------------------------

def make_call(app, model_name, user):
    """A hub Call for a request that comes from the doctor, not from a client."""
    from .clientstream import ClientStream
    from .hub import Call
    from .request import Request
    model, family = app.resolve(model_name)
    req = Request("POST", "/v1/chat/completions", {}, app=app)
    return Call(req, ClientStream(io.BytesIO()), model, family, user)


def chat_body(call):
    return {"model": call.model, "max_tokens": 1,
            "messages": [{"role": "user", "content": PROMPT}]}


def check_registered(doctor):
    """Step 7: a tiny chat on Argo's legacy API, which answers an unknown user with its
    AUTHENTICATION NOTICE (the legacy adapter turns that into an argo_auth_warning error).
    True / False (not registered) / None (not known)."""
    cfg, add, subject = doctor.cfg, doctor.report.add, "user registered"
    if cfg.llamastack_mode:
        add("registered", subject, SKIP, "LlamaStack mode: no Argo user")
        return None
    skip = _cannot_ask(doctor, cfg.argo_url)
    if skip:
        add("registered", subject, SKIP, skip)
        return None
    call = make_call(doctor.app, doctor.args.model or DEFAULT_MODEL, doctor.user)
    adapter = doctor.app.adapter("argo", call.family)   # Argo's legacy API (routing table)
    try:
        bounded(answer_timeout(cfg) + 5, adapter.complete, call, chat_body(call))
    except ProxyError as err:
        if err.code == "argo_auth_warning":
            add("registered", subject, FAIL, "Argo does not know the user %r: it answered with its "
                "AUTHENTICATION NOTICE" % call.user, "register with Argo, or fix the user name "
                "(--user, ARGO_USER or `user:` in the config file)")
            return False
        add("registered", subject, FAIL, "%s answered: %s" % (cfg.argo_url, err.message),
            _chat_hint(err))
        return None
    except TimedOut as exc:
        add("registered", subject, FAIL, "%s: %s" % (cfg.argo_url, exc), "Argo may be overloaded; "
            "try again later")
        return None
    add("registered", subject, PASS, "Argo answered user %r without a registration notice" % call.user)
    return True


def check_chat(doctor, registered):
    """Step 8: a one-token chat the way the configured mode sends it: standard mode streams
    from the legacy /streamchat/ (or asks /chat/ with pseudo streaming), native mode asks
    /v1/chat/completions, LlamaStack mode its chat endpoint (with --model only)."""
    cfg, add = doctor.cfg, doctor.report.add
    subject = "chat (%s mode)" % cfg.mode
    model = doctor.args.model or DEFAULT_MODEL
    url = {"native-openai": cfg.native_openai_base_url + "chat/completions",
           "llamastack": cfg.llamastack_url}.get(cfg.mode) or (
               cfg.argo_stream_url if cfg.real_stream else cfg.argo_url)
    skip = _cannot_ask(doctor, url)
    if cfg.llamastack_mode and not doctor.args.model:
        skip = "LlamaStack's model names are its own: pass --model NAME to try a chat"
    elif registered is False:
        skip = "Argo does not know the user (step 7)"
    if skip:
        add("chat", subject, SKIP, skip)
        return
    try:
        text = bounded(answer_timeout(cfg) + 5, one_token_chat, doctor.app, model, doctor.user)
    except (ProxyError, TimedOut) as err:
        message = err.message if isinstance(err, ProxyError) else str(err)
        add("chat", subject, FAIL, "%s via %s: %s" % (model, url, message), _chat_hint(err))
        return
    add("chat", subject, PASS, "%s answered %r via %s" % (model, text[:40], url))


def one_token_chat(app, model, user) -> str:
    """The reply's text, through the adapter the routing table picks for a chat request."""
    call = make_call(app, model, user)
    adapter = app.adapter("chat", call.family)
    body = chat_body(call)
    if app.config.mode == "standard" and app.config.real_stream:
        pieces = []
        for chunk in adapter.stream(call, body):
            for choice in chunk.get("choices") or ():
                pieces.append((choice.get("delta") or {}).get("content") or "")
        return "".join(pieces)
    reply = adapter.complete(call, body)
    return reply["choices"][0]["message"].get("content") or ""


def _cannot_ask(doctor, url):
    if doctor.user is None and not doctor.cfg.llamastack_mode:
        return "no user to ask with: %s" % doctor.user_why
    problem = doctor.reach.problem(url)
    return "cannot reach %s: %s" % (url, problem) if problem else None


def _chat_hint(err):
    if isinstance(err, ProxyError) and err.status in (400, 404):
        return "try another model with --model NAME (the model list names them)"
    return "Argo may be overloaded or down; try again later"


# -- step 9 ------------------------------------------------------------------------------------

def check_tools(doctor):
    toolset, add = doctor.app.toolset, doctor.report.add
    if toolset is None:
        add("tools", "tools", SKIP, "no tool sources configured (mcp_servers, --mcp, llamastack_url)")
        return
    seconds = answer_timeout(doctor.cfg)
    toolset.list_timeout = seconds
    try:
        bounded(seconds + 5, toolset.tools)
    except Exception:   # each source's own error is in stats() below
        pass
    for row in toolset.stats():
        subject = "tools %s" % row["source"]
        if row["ok"]:
            add("tools", subject, PASS, "%d tools" % row["tools"])
        else:
            error = row.get("error")
            if error == "tools not listed yet":
                error = "no tool list within %g s" % seconds
            add("tools", subject, FAIL, "not available: %s" % error, "check its entry in "
                "mcp_servers (command and args, or url) or llamastack_url; run the command by hand "
                "to see its errors")


# -- step 10 -----------------------------------------------------------------------------------

def check_listen(doctor):
    from .server import make_server
    cfg, add = doctor.cfg, doctor.report.add
    where = cfg.socket or "%s:%d" % (cfg.host, cfg.port)
    subject = "listen %s" % where
    try:
        server = make_server(doctor.app)
    except (OSError, ValueError) as exc:
        who = "" if cfg.socket else _who_listens(cfg.host, cfg.port, cfg.connect_timeout)
        add("listen", subject, FAIL, "cannot listen there: %s%s" % (getattr(exc, "strerror", None)
                                                                   or exc, who),
            "stop what listens there, or pick another place: --port N (or --host, --socket)")
        return
    server.server_close()
    add("listen", subject, PASS, "free" if cfg.socket or cfg.port else "port 0: a free port is "
        "picked at start")


def _who_listens(host, port, seconds):
    """'; an argo-proxy X is already running there' when one answers /version, else ''."""
    conn = http.client.HTTPConnection(host, port, timeout=min(seconds, 3.0))
    try:
        conn.request("GET", "/version")
        info = json.loads(conn.getresponse().read())
    except (OSError, ValueError, http.client.HTTPException):
        return ""
    finally:
        conn.close()
    if isinstance(info, dict) and info.get("name") == "argo-proxy":
        return "; an argo-proxy %s (mode %s) is already running there" % (info.get("version"),
                                                                         info.get("mode"))
    return ""
