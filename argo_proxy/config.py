"""Configuration: defaults < config file < environment < command line, with validation."""

from __future__ import annotations

import getpass
import os

from . import config_tools, yamlish

DEV = "https://apps-dev.inside.anl.gov/argoapi"
PROD = "https://apps.inside.anl.gov/argoapi"
SEARCH_PATH = ("./config.yaml", "~/.config/argoproxy/config.yaml", "~/.argoproxy/config.yaml")
SAVE_PATH = "~/.config/argoproxy/config.yaml"
TRUTHY = ("true", "1", "t", "yes", "y", "on")
FALSY = ("false", "0", "f", "no", "n", "off", "")


class ConfigError(ValueError):
    """A bad config file or value; the message names the file and line where known."""


class Field:
    def __init__(self, name, kind, default, env=(), secret=False, aliases=(), doc=""):
        self.name = name
        self.kind = kind
        self.default = default
        self.env = env
        self.secret = secret
        self.aliases = aliases
        self.doc = doc


# Every key the proxy understands. Argo URLs default to None: derived in `_derive_urls`.
FIELDS = (
    Field("host", str, "127.0.0.1", doc="address to listen on"),
    Field("port", int, 44497, env=("PORT",)),
    Field("socket", str, None, doc="listen on this Unix socket instead of host:port"),
    Field("user", str, "", env=("ARGO_USER",), doc="your ANL user name (Argo needs it)"),
    Field("verbose", bool, False, env=("VERBOSE",), doc="log request bodies too"),
    Field("argo_base_url", str, None, doc="one Argo root from which every Argo URL is derived"),
    Field("argo_url", str, None),
    Field("argo_stream_url", str, None),
    Field("argo_embedding_url", str, None),
    Field("argo_model_url", str, None, aliases=("_argo_model_url",)),
    Field("native_openai_base_url", str, None),
    Field("native_anthropic_base_url", str, None, doc="Argo's Anthropic API root ({base}messages)"),
    Field("model_aliases", dict, None, doc="your own model names: {name: Argo model}"),
    Field("responses_store_max", int, 1000, doc="Responses API: responses kept for previous_response_id"),
    Field("responses_store_hours", float, 6.0, doc="Responses API: how long a kept response lives"),
    Field("use_native_openai", bool, False, env=("USE_NATIVE_OPENAI",)),
    Field("real_stream", bool, True, env=("REAL_STREAM",)),
    Field("tool_prompting", bool, False, env=("TOOL_PROMPT",), aliases=("tool_prompt", "_tool_prompt")),
    Field("username_passthrough", bool, False, env=("USERNAME_PASSTHROUGH",)),
    Field("enable_payload_control", bool, False, doc="accepted for 2.x; images are never recompressed"),
    Field("max_payload_size", float, 20.0, doc="MB of downloaded images per request"),
    Field("image_timeout", float, 30.0),
    Field("concurrent_downloads", int, 10),
    Field("allow_private_image_urls", bool, False),
    Field("model_quirks", bool, True, doc="fix requests Argo would reject for a model (quirk table)"),
    Field("model_refresh_interval_hours", float, 24.0),
    Field("proxy_api_key", str, None, env=("ARGO_PROXY_API_KEY",), secret=True),
    Field("allowed_hosts", list, None, doc="extra Host names accepted on a loopback listener"),
    Field("cors_origins", list, None, doc="web origins allowed to call the proxy (CORS)"),
    Field("head_timeout", float, 10.0, doc="seconds a client may take to send a request's head"),
    Field("max_body_mb", float, 100.0),
    Field("connect_timeout", float, 10.0, env=("ARGO_PROXY_CONNECT_TIMEOUT",)),
    Field("read_timeout", float, 600.0, env=("ARGO_PROXY_READ_TIMEOUT",)),
    Field("keepalive_interval", float, 15.0),
    Field("idle_timeout", float, 60.0, doc="seconds an idle client connection is kept open"),
    Field("ca_bundle", str, None, env=("SSL_CERT_FILE",)),
    Field("max_connections", int, 1024, env=("ARGO_PROXY_MAX_CONNECTIONS",)),
    Field("config_version", str, None, doc="written by argo-proxy 2.8.4+; ignored"),
    # tool injection
    Field("mcp_servers", dict, None, aliases=("mcpServers",), doc="MCP servers whose tools models get"),
    Field("llamastack_url", str, None, doc="LlamaStack whose tools models get"),
    Field("llamastack_mode", bool, False, doc="LlamaStack is the chat upstream (--llamastack)"),
    Field("mcp_startup", str, "lazy", doc="lazy (first use) or startup"),
    Field("max_tool_iterations", int, 10),
    Field("tool_timeout", float, 60.0, doc="seconds per tool call"),
    Field("tool_result_max_chars", int, 20000),
    Field("tool_cache_ttl", float, 300.0, doc="seconds a tool list is cached"),
    Field("presets", dict, None, doc="agent presets: virtual models with tools, system prompt, limits"),
    Field("inject_tools", str, None, doc="all (every request gets tools) or presets (only presets do)"),
    Field("show_tool_activity", bool, False, doc="stream a line per injected tool call as reasoning"),
    # observability
    Field("log_file", str, None, doc="also write the log to this file (rotated by size)"),
    Field("log_format", str, "text", doc="text or json (one JSON object per line)"),
    Field("log_max_mb", float, 10.0, doc="log_file: size at which it is rotated"),
    Field("log_keep", int, 5, doc="log_file: rotated files kept"),
    Field("usage_file", str, None, doc="append one JSON line per request's token usage here"),
    Field("usage_max_mb", float, 50.0, doc="usage_file: size at which it is rotated"),
    Field("usage_keep", int, 10, doc="usage_file: rotated files kept"),
    Field("dump_errors", str, None, doc="write one redacted file per failed Argo exchange to this folder"),
    Field("dump_max_files", int, 200, doc="dump_errors: files kept (oldest removed first)"),
    Field("dump_max_mb", float, 50.0, doc="dump_errors: total size kept"),
)
BY_NAME = {f.name: f for f in FIELDS}
BY_KEY = dict(BY_NAME, **{a: f for f in FIELDS for a in f.aliases})


class Config:
    """Resolved settings; `sources[name]` says where each value came from. Frozen (read-only)
    once start-up has settled it: everything the app derives from it is computed once."""

    def __init__(self):
        for f in FIELDS:
            setattr(self, f.name, f.default)
        self.sources = {f.name: "default" for f in FIELDS}
        self.path = None          # the config file used, if any
        self.warnings = []        # unknown keys and other non-fatal findings

    def __setattr__(self, name, value):
        if self.__dict__.get("_frozen"):
            raise AttributeError("the configuration is frozen after start-up (%s)" % name)
        object.__setattr__(self, name, value)

    def freeze(self):
        self.__dict__["_frozen"] = True
        return self

    def set(self, name, value, source):
        setattr(self, name, value)
        self.sources[name] = source

    @property
    def mode(self):
        if self.llamastack_mode:
            return "llamastack"
        return "native-openai" if self.use_native_openai else "standard"

    def as_dict(self, redact=True):
        out = {}
        for f in FIELDS:
            value = getattr(self, f.name)
            if redact and f.secret and value:
                value = "***"
            out[f.name] = value
        if redact and self.mcp_servers:
            out["mcp_servers"] = {name: _redact_server(spec) for name, spec in self.mcp_servers.items()}
        return out

    def show(self) -> str:
        """The resolved config as YAML, each line commented with its source."""
        header = "# argo-proxy configuration (file: %s)\n" % (self.path or "none")
        return header + yamlish.dumps(self.as_dict(), comments=dict(self.sources))


def _redact_server(spec):
    """MCP headers and environment often hold tokens: show their names, not their values."""
    if not isinstance(spec, dict):
        return spec
    out = dict(spec)
    for key in ("headers", "env"):
        if isinstance(out.get(key), dict):
            out[key] = {k: "***" for k in out[key]}
    return out


def find_config(explicit=None):
    """The config path to use: the explicit one, or the first of the search path that exists."""
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    for candidate in SEARCH_PATH:
        path = os.path.abspath(os.path.expanduser(candidate))
        if os.path.isfile(path):
            return path
    return None


def load(explicit_path=None, environ=None, cli=None, search=True) -> Config:
    """Build a Config from defaults, the config file, the environment and CLI values
    (search=False: no config file unless one is named)."""
    environ = os.environ if environ is None else environ
    cfg = Config()
    path = find_config(explicit_path) if (search or explicit_path) else None
    if path:
        if not os.path.isfile(path):
            raise ConfigError("%s: config file not found" % path)
        _apply_file(cfg, path)
    _apply_env(cfg, environ)
    for name, value in (cli or {}).items():
        if value is None:
            continue
        value = _coerce(BY_NAME[name], value, "command line")
        if isinstance(value, dict) and isinstance(getattr(cfg, name), dict):
            value = dict(getattr(cfg, name), **value)  # --mcp adds servers to the file's
        cfg.set(name, value, "command line")
    _llamastack_mode(cfg, environ)
    _derive_urls(cfg)
    validate(cfg)
    return cfg


def _apply_file(cfg, path):
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        text = raw.decode("utf-8")
        data, lines = yamlish.load_with_lines(text)
    except yamlish.YamlError as exc:
        raise ConfigError("%s: %s" % (path, exc)) from None
    except OSError as exc:
        raise ConfigError("%s: cannot read: %s" % (path, exc.strerror or exc)) from None
    except UnicodeDecodeError as exc:
        before = raw[:exc.start].decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        raise ConfigError("%s: line %d: byte 0x%02x is not UTF-8 text (save the file as UTF-8)"
                          % (path, before.count("\n") + 1, raw[exc.start])) from None
    except Exception as exc:  # a parser bug: still one line that names the file
        raise ConfigError("%s: cannot read the file (internal error, please report it): %s"
                          % (path, repr(exc)[:200])) from None
    cfg.path = path
    if data is None:
        return
    if not isinstance(data, dict):
        raise ConfigError("%s: line 1: the config must be a mapping of key: value lines" % path)
    first = {}  # field name -> the key and line that set it
    for key, value in data.items():
        line = lines.get(key, "?")
        where = "%s:%s" % (path, line)
        field = BY_KEY.get(key)
        if field is None:
            cfg.warnings.append("%s: unknown key %r ignored" % (where, key))
            continue
        if field.name in first:  # an alias and its field, e.g. mcpServers and mcp_servers
            raise ConfigError("%s: %s sets %s again (%s on line %s); keep one of them"
                              % ((where, key, field.name) + first[field.name]))
        first[field.name] = (key, line)
        if value is None and field.default is not None:
            continue  # an empty value keeps the default
        try:
            value = _coerce(field, value, where)
        except ConfigError:
            raise
        except Exception as exc:  # a bug in _coerce: still one line with the file and line
            raise ConfigError("%s: %s: unusable value (internal error, please report it): %s"
                              % (where, key, repr(exc)[:200])) from None
        cfg.set(field.name, value, "config file line %s" % line)


def _apply_env(cfg, environ):
    for f in FIELDS:
        for var in f.env:
            raw = environ.get(var)
            if raw is None or (raw == "" and f.kind is not str):
                continue
            cfg.set(f.name, _coerce(f, raw, "environment variable " + var), "env " + var)


def _coerce(field, value, where):
    kind = field.kind

    def has_nul(item):  # a NUL makes the OS calls that use the value fail (bind, open, exec)
        if isinstance(item, str):
            return "\0" in item
        if isinstance(item, (dict, list)):
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            return any(has_nul(k) or has_nul(v) for k, v in pairs)
        return False

    if has_nul(value):
        raise ConfigError("%s: %s must not contain a NUL character" % (where, field.name))
    try:
        if value is None:
            return None
        if kind is bool:
            return _to_bool(value)
        if kind is int and not isinstance(value, bool):
            if isinstance(value, float) and value != int(value):
                raise ValueError
            return int(value)
        if kind is float and not isinstance(value, bool):
            number = float(value)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError  # nan or infinite: no size or time limit can be that
            return number
        if kind is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        if kind is dict and isinstance(value, dict):
            return value
        if kind is list and isinstance(value, (list, str)):
            items = value.split(",") if isinstance(value, str) else value
            if all(isinstance(v, str) for v in items):
                return [v.strip() for v in items if v.strip()]
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf), float(10 ** 400)
        pass
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."  # a long value: its start will do
    raise ConfigError("%s: %s must be %s, got %s" % (where, field.name, _KIND_NAMES[kind], shown))


_KIND_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string",
               dict: "a mapping", list: "a list of strings"}
LLAMASTACK_DEFAULT = "http://localhost:8321"


def _llamastack_mode(cfg, environ):
    """LLAMASTACK_URL (the seed proxy's variable) turns LlamaStack mode on; PROXY_PORT and a
    default port of 8322 apply in that mode only."""
    url = environ.get("LLAMASTACK_URL")
    if url and cfg.sources["llamastack_mode"] == "default":
        cfg.set("llamastack_mode", True, "env LLAMASTACK_URL")
        if cfg.sources["llamastack_url"] == "default":
            cfg.set("llamastack_url", url, "env LLAMASTACK_URL")
    if not cfg.llamastack_mode:
        return
    if not cfg.llamastack_url:
        cfg.set("llamastack_url", LLAMASTACK_DEFAULT, "default (LlamaStack mode)")
    cfg.llamastack_url = cfg.llamastack_url.rstrip("/")
    proxy_port = environ.get("PROXY_PORT")
    if proxy_port and cfg.sources["port"] != "command line":
        cfg.set("port", _coerce(BY_NAME["port"], proxy_port, "environment variable PROXY_PORT"),
                "env PROXY_PORT")
    elif cfg.sources["port"] == "default":
        cfg.set("port", 8322, "default (LlamaStack mode)")


def _to_bool(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUTHY:
        return True
    if text in FALSY:
        return False
    raise ValueError(value)


def _derive_urls(cfg):
    """Fill unset Argo URLs from argo_base_url, else from the argo-proxy 2.x defaults."""
    base = (cfg.argo_base_url or "").rstrip("/")
    legacy = base or DEV
    derived = {
        "argo_url": legacy + "/api/v1/resource/chat/",
        "argo_stream_url": legacy + "/api/v1/resource/streamchat/",
        "argo_embedding_url": (base or PROD) + "/api/v1/resource/embed/",
        "native_openai_base_url": legacy + "/v1/",
        "native_anthropic_base_url": legacy + "/v1/",
    }
    source = "derived from argo_base_url" if base else "default"
    for name, url in derived.items():
        if not getattr(cfg, name):
            cfg.set(name, url, source)
    for name in ("native_openai_base_url", "native_anthropic_base_url"):
        if not getattr(cfg, name).endswith("/"):
            setattr(cfg, name, getattr(cfg, name) + "/")
    if not cfg.argo_model_url:
        if cfg.use_native_openai:
            cfg.set("argo_model_url", cfg.native_openai_base_url + "models", "derived from native_openai_base_url")
        else:
            cfg.set("argo_model_url", legacy + "/api/v1/models/", source)


MAX_NUMBER = 1e9


def _failer(cfg):
    """fail(name, why): a ConfigError naming where the value came from (file:line if a file)."""
    def fail(name, why):
        why = why if len(why) <= 200 else why[:200] + "... (cut)"   # a quoted value may be huge
        source = cfg.sources.get(name, "?")
        if cfg.path and source.startswith("config file line "):   # <file>:<line>: as parse errors
            raise ConfigError("%s:%s: %s %s" % (cfg.path, source[len("config file line "):], name, why))
        raise ConfigError("%s (%s): %s" % (name, source, why))
    return fail


def validate(cfg):
    """Raise ConfigError for a value that cannot work."""
    fail = _failer(cfg)
    for f in FIELDS:   # finite but absurd numbers would only fail later, at start-up
        value = getattr(cfg, f.name)
        if f.kind in (int, float) and isinstance(value, (int, float)) and abs(value) > MAX_NUMBER:
            fail(f.name, "is too large (at most %g)" % MAX_NUMBER)
    if not 0 <= cfg.port <= 65535:
        fail("port", "must be between 0 and 65535, got %d" % cfg.port)
    for name in ("argo_url", "argo_stream_url", "argo_embedding_url", "argo_model_url",
                 "native_openai_base_url", "native_anthropic_base_url", "argo_base_url", "llamastack_url"):
        url = getattr(cfg, name)
        if url and not url.startswith(("http://", "https://")):
            fail(name, "must start with http:// or https://, got %r" % url)
    for name in ("max_body_mb", "connect_timeout", "read_timeout", "image_timeout", "max_payload_size",
                 "idle_timeout", "head_timeout"):
        if getattr(cfg, name) <= 0:
            fail(name, "must be greater than 0")
    for name in ("keepalive_interval", "model_refresh_interval_hours", "responses_store_max",
                 "responses_store_hours"):
        if getattr(cfg, name) < 0:
            fail(name, "must be 0 (off) or more")
    _validate_files(cfg, fail)
    if cfg.max_connections < 1 or cfg.concurrent_downloads < 1:
        fail("max_connections" if cfg.max_connections < 1 else "concurrent_downloads", "must be at least 1")
    config_tools.validate(cfg, fail)
    if cfg.user:
        problem = user_problem(cfg.user)
        if problem:
            fail("user", problem)
        cfg.user = cfg.user.strip().lower()


def _validate_files(cfg, fail):
    """The log, usage and error-dump files: formats and caps."""
    if cfg.log_format not in ("text", "json"):
        fail("log_format", "must be text or json, got %r" % cfg.log_format)
    for name in ("log_max_mb", "usage_max_mb", "dump_max_mb"):
        if getattr(cfg, name) <= 0:
            fail(name, "must be greater than 0")
    for name in ("log_keep", "usage_keep", "dump_max_files"):
        if getattr(cfg, name) < 1:
            fail(name, "must be at least 1")


def user_problem(name):
    """Why a user name cannot be sent to Argo, or None if it can."""
    name = (name or "").strip()
    if not name:
        return "the user name is empty"
    if any(ch.isspace() for ch in name):
        return "the user name %r contains spaces" % name
    return None


def login_name():
    try:
        return getpass.getuser().strip().lower()
    except Exception:  # no passwd entry and no LOGNAME/USER: nothing to offer
        return ""


def save(values: dict, path=SAVE_PATH) -> str:
    """Write a config file (creating its folder) and return its path."""
    path = os.path.abspath(os.path.expanduser(path))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("# argo-proxy configuration; keys are documented in the README.\n")
        fh.write(yamlish.dumps(values))
    return path
