"""The running proxy: everything derived from the (frozen) config, built once at start-up."""

from __future__ import annotations

import logging
import threading
import time

from . import images, surfaces, upstreams
from .convert import presets
from .observe import Observer
from .models import ModelRegistry, lookup_key as model_key, family as family_of
from .guard import Guard
from .router import Router
from .sampling import make_sampler
from .store import ResponseStore
from .upstream import Upstream
from .upstreams.anthropic import AnthropicUpstream
from .upstreams.legacy import LegacyUpstream
from .upstreams.openai import OpenAIUpstream

log = logging.getLogger("argo_proxy")


class App:
    def __init__(self, config, adapters=None):
        self.config = config
        self.started = time.time()
        self.models = ModelRegistry(int(self.started), config.model_aliases)
        # as many idle upstream connections as clients, so a burst never reconnects
        self.upstream = Upstream(config.connect_timeout, config.read_timeout, config.ca_bundle,
                                 max_idle=config.max_connections)
        self.adapters = adapters if adapters is not None else build_adapters(config, self.upstream)
        self.responses = ResponseStore(config.responses_store_max, config.responses_store_hours * 3600)
        self.presets = presets.build(config.presets)
        # only presets get tools once there are presets, unless the config says otherwise
        self.inject_tools = config.inject_tools or ("presets" if self.presets else "all")
        self.router = Router(surfaces.STYLES)
        self.guard = Guard(config)
        self.observer = Observer("LlamaStack" if config.llamastack_mode else "Argo",
                                 per_user=config.username_passthrough)
        self.usage = self.dumps = None
        self._add_sinks(config)
        self._stop = threading.Event()
        self.toolset = build_toolset(config, self.upstream, sampler=make_sampler(self),
                                     models=self.models)
        surfaces.register(self)

    def _add_sinks(self, config):
        """The usage file and the error dumps, when configured (each raises a ConfigError
        naming its file when it cannot be used)."""
        if config.usage_file:
            from . import usagefile
            self.usage = usagefile.open_log(config)
            self.observer.add_sink(self.usage.record)
        if config.dump_errors:
            from .dumps import ErrorDumps
            self.dumps = ErrorDumps(config.dump_errors, config.dump_max_files, config.dump_max_mb,
                                    secrets=[config.proxy_api_key])
            self.observer.add_sink(self.dumps.sink)

    def adapter(self, kind, family):
        """The upstream adapter for a request (THE routing table decides)."""
        return self.adapters[upstreams.choose(self.config.mode, kind, family)]

    def preset(self, name):
        """The agent preset a model name names, or None."""
        return self.presets.get(model_key(name)) if self.presets and isinstance(name, str) else None

    def model_entries(self) -> list:
        """What /v1/models lists: presets first, then the registry (user names, ids, aliases)."""
        return presets.entries(self.presets, self.models.created) + self.models.openai_list()

    def resolve(self, name):
        """(model id, family) for a client's model name. LlamaStack ids are its own."""
        if self.config.llamastack_mode or not isinstance(name, str):
            return name, family_of(name)
        resolved, known = self.models.resolve(name)
        if not known:
            log.warning("model %r is not in the model list; forwarding it unchanged", name)
        return resolved, self.models.family(resolved)

    def user_for(self, headers) -> str:
        """The Argo `user` for a request: the client's key with passthrough, else the configured user."""
        if self.config.username_passthrough:
            own_key = self.config.proxy_api_key
            for name in ("Authorization", "X-API-Key", "API-Key", "x-goog-api-key"):
                value = (headers.get(name) or "").strip()
                if value[:7].lower() == "bearer ":
                    value = value[7:].strip()
                if value and value != own_key:  # this proxy's own key is never an Argo user
                    return value
        return self.config.user

    def refresh_models(self) -> dict:
        url = self.config.argo_model_url
        result = self.models.refresh(lambda: self.upstream.get_json(url))
        if result.get("ok"):
            log.info("model list from %s: %d models, %d aliases", url,
                     result["models_after"], result["aliases_after"])
        else:
            log.warning("could not fetch the model list from %s (%s); using the %s table",
                        url, result.get("error"), self.models.stats()["source"])
        return result

    def start_background(self):
        """Fetch the model list now (without blocking start-up) and then periodically;
        connect tool sources now if configured so."""
        if not self.config.llamastack_mode:
            threading.Thread(target=self._refresh_loop, name="model-refresh", daemon=True).start()
        if self.toolset is not None:
            names = ", ".join(s["source"] for s in self.toolset.stats())
            log.info("tool sources: %s (connecting %s)", names,
                     "now" if self.config.mcp_startup == "startup" else "on first use")
            if self.config.mcp_startup == "startup":
                threading.Thread(target=self._connect_tools, name="tool-connect", daemon=True).start()

    def _connect_tools(self):
        self.toolset.tools()
        for s in self.toolset.stats():
            if s.get("ok"):
                log.info("tool source %s: %d tools", s["source"], s["tools"])
            else:
                log.warning("tool source %s: not available (%s)", s["source"], s.get("error"))

    def _refresh_loop(self):
        hours = self.config.model_refresh_interval_hours
        while True:
            self.refresh_models()
            if hours <= 0 or self._stop.wait(hours * 3600):
                return

    def stop(self):
        self._stop.set()
        if self.usage is not None:
            self.usage.close()   # the buffered usage lines: nothing is lost on SIGTERM
        if self.dumps is not None:
            self.dumps.stop()   # what is queued is written
        if self.toolset is not None:
            self.toolset.close()
        self.upstream.close()


def build_adapters(cfg, client) -> dict:
    """One adapter per upstream the mode can route to (see upstreams.ROUTES)."""
    key = cfg.proxy_api_key
    if cfg.llamastack_mode:
        from .tools.llamastack import base_url_of, detect_chat_path
        base = base_url_of(cfg.llamastack_url)
        return {"llamastack": OpenAIUpstream(
            client, base + "/v1/", own_key=key, sets_user=False,
            chat_url=lambda: detect_chat_path(base, client))}
    limits = images.Limits(cfg)
    return {
        "native": OpenAIUpstream(client, cfg.native_openai_base_url, own_key=key,
                                 quirk_mode="native" if cfg.model_quirks else None,
                                 image_limits=limits),
        "legacy": LegacyUpstream(client, cfg.argo_url, cfg.argo_stream_url, cfg.argo_embedding_url,
                                 real_stream=cfg.real_stream, tool_prompting=cfg.tool_prompting,
                                 model_quirks=cfg.model_quirks, image_limits=limits),
        "anthropic": AnthropicUpstream(client, cfg.native_anthropic_base_url, own_key=key,
                                       model_quirks=cfg.model_quirks),
    }


# Keys of an mcp_servers entry that are the proxy's, not the server's: the ToolSet's (which
# tools, under which names) and the MCP client's features (what it declares and answers).
TOOLSET_KEYS = ("prefix", "allow", "deny")
MCP_CLIENT_KEYS = ("sampling", "sampling_max_tokens", "roots")


def build_toolset(cfg, upstream, sampler=None, models=None):
    """The configured tool sources (MCP servers, LlamaStack), or None when there are none.

    sampler: calls a model for MCP servers that ask for sampling (`sampling: true` in their
    entry); the contract is in tools/toolset.py. None: such requests are refused with a
    clear error. models: the ModelRegistry the servers' model hints are resolved through
    (None, or LlamaStack mode: hints are not used)."""
    if not cfg.mcp_servers and not cfg.llamastack_url:
        return None
    from .tools.llamastack import LlamaStackSource
    from .tools.mcp import connect
    from .tools.toolset import ToolSet
    sources = []
    for name, spec in (cfg.mcp_servers or {}).items():
        options = {k: spec.get(k) for k in TOOLSET_KEYS}
        features = {k: spec[k] for k in MCP_CLIENT_KEYS if spec.get(k) is not None}
        client_spec = {k: v for k, v in spec.items() if k not in TOOLSET_KEYS + MCP_CLIENT_KEYS}
        sources.append((connect(name, client_spec, client=upstream, log=log, **features), options))
    if cfg.llamastack_url:
        sources.append((LlamaStackSource(cfg.llamastack_url, upstream, cfg.tool_timeout),
                        {"prefix": None, "allow": None, "deny": None}))
    resolve = model_resolver(models) if models is not None and not cfg.llamastack_mode else None
    return ToolSet(sources, ttl=cfg.tool_cache_ttl, log=log, sampler=sampler, resolve_model=resolve)


def model_resolver(models):
    """name -> model id or None: a known name or alias, else (MCP model hints are substrings
    of model names) the first listed model whose name contains it."""
    def resolve(name):
        found, known = models.resolve(name)
        if known:
            return found
        needle = name.strip().lower()
        for entry in models.entries() if needle else ():
            if needle in str(entry.get("id", "")).lower():
                return entry.get("internal_name") or entry.get("id")
        return None
    return resolve
