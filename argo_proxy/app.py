"""The running proxy's shared state: config, model registry, upstream client, routes."""

from __future__ import annotations

import logging
import threading
import time

from .models import ModelRegistry
from .routes import llamastack, native, ops, standard
from .server import Router
from .upstream import Upstream

log = logging.getLogger("argo_proxy")


class App:
    def __init__(self, config):
        self.config = config
        self.started = time.time()
        self.models = ModelRegistry(int(self.started))
        # as many idle upstream connections as clients, so a burst never reconnects
        self.upstream = Upstream(config.connect_timeout, config.read_timeout, config.ca_bundle,
                                 max_idle=config.max_connections)
        self.router = Router()
        self._stop = threading.Event()
        self.toolset = build_toolset(config, self.upstream)
        ops.register(self)
        if config.llamastack_mode:
            llamastack.register(self)
            return
        standard.register(self)
        if config.use_native_openai:
            native.register(self)

    def user_for(self, headers) -> str:
        """The Argo `user` for a request: the client's key with passthrough, else the configured user."""
        if self.config.username_passthrough:
            own_key = self.config.proxy_api_key
            for name in ("Authorization", "X-API-Key", "API-Key"):
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
        if self.toolset is not None:
            self.toolset.close()
        self.upstream.close()


def build_toolset(cfg, upstream):
    """The configured tool sources (MCP servers, LlamaStack), or None when there are none."""
    if not cfg.mcp_servers and not cfg.llamastack_url:
        return None
    from .tools.llamastack import LlamaStackSource
    from .tools.mcp import connect
    from .tools.toolset import ToolSet
    sources = []
    for name, spec in (cfg.mcp_servers or {}).items():
        options = {k: spec.get(k) for k in ("prefix", "allow", "deny")}
        client_spec = {k: v for k, v in spec.items() if k not in options}
        sources.append((connect(name, client_spec, log=log), options))
    if cfg.llamastack_url:
        sources.append((LlamaStackSource(cfg.llamastack_url, upstream, cfg.tool_timeout),
                        {"prefix": None, "allow": None, "deny": None}))
    return ToolSet(sources, ttl=cfg.tool_cache_ttl, log=log)
