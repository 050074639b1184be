"""The running proxy's shared state: config, model registry, upstream client, routes."""

from __future__ import annotations

import logging
import threading
import time

from .models import ModelRegistry
from .routes import native, ops, standard
from .server import Router
from .upstream import Upstream

log = logging.getLogger("argo_proxy")


class App:
    def __init__(self, config):
        self.config = config
        self.started = time.time()
        self.models = ModelRegistry(int(self.started))
        self.upstream = Upstream(config.connect_timeout, config.read_timeout, config.ca_bundle)
        self.router = Router()
        self._stop = threading.Event()
        ops.register(self)
        standard.register(self)
        if config.use_native_openai:
            native.register(self)

    def user_for(self, headers) -> str:
        """The Argo `user` for a request: the client's key with passthrough, else the configured user."""
        if self.config.username_passthrough:
            for name in ("Authorization", "X-API-Key", "API-Key"):
                value = (headers.get(name) or "").strip()
                if value[:7].lower() == "bearer ":
                    value = value[7:].strip()
                if value:
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
        """Fetch the model list now (without blocking start-up) and then periodically."""
        threading.Thread(target=self._refresh_loop, name="model-refresh", daemon=True).start()

    def _refresh_loop(self):
        hours = self.config.model_refresh_interval_hours
        while True:
            self.refresh_models()
            if hours <= 0 or self._stop.wait(hours * 3600):
                return

    def stop(self):
        self._stop.set()
        self.upstream.close()
