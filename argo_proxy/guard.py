"""What a web page must not do with a proxy on the user's machine: reach it under a rebound
DNS name (Host check) or from its own origin (Origin check), unless the config allows it.

Server-side clients (SDKs, agents, Open WebUI's backend) send a Host naming the machine and
no Origin, so they are unaffected.
"""

from __future__ import annotations

import ipaddress

from .errors import ProxyError

CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_MAX_AGE = "600"


def is_loopback(host) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(value) -> str:
    """The name in a Host header, without its port: "[::1]:8080" -> "::1"."""
    value = (value or "").strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


class Guard:
    """Host and Origin checks for one listener (built once from the config)."""

    def __init__(self, cfg):
        self.check_host = bool(cfg.socket) or is_loopback(cfg.host.strip("[]"))
        self.allowed_hosts = {host_name(h) for h in cfg.allowed_hosts or ()}
        if cfg.socket:
            self.allowed_hosts.add(cfg.socket.lower())
        self.origins = {o.rstrip("/").lower() for o in cfg.cors_origins or ()}
        self.keyed = bool(cfg.proxy_api_key)
        self._seen = {}   # Host header -> served? (bounded)

    def host_ok(self, host) -> bool:
        if not self.check_host or host is None:
            return True   # no Host (HTTP/1.0): not a browser
        return self._own_name(host)

    def _own_name(self, host) -> bool:
        """The Host names a loopback address, localhost or an allowed host."""
        known = self._seen.get(host)
        if known is None:   # every request of a client sends the same Host: decide it once
            name = host_name(host)
            known = (name == "localhost" or name.endswith(".localhost") or is_loopback(name)
                     or name in self.allowed_hosts)
            if len(self._seen) < 256:
                self._seen[host] = known
        return known

    def same_origin(self, origin, host) -> bool:
        """A page the proxy served itself (the status page) calling it back: its Origin is
        http://<Host>. Trusted when the Host is one of the proxy's own names (a rebound DNS name
        is not), or when the proxy has a key (which such a page must then send anyway)."""
        if not host or origin.lower() != "http://" + host.strip().lower():
            return False
        return self.keyed or self._own_name(host)

    def check(self, req, out) -> bool:
        """Raise for a refused request; set CORS headers for an allowed origin. True when the
        request was a CORS preflight, answered here."""
        if not self.host_ok(req.header("Host")):
            raise ProxyError(421, "This proxy answers only to its own host names (localhost, "
                             "127.0.0.1, ::1): Host %r is refused. Add it to allowed_hosts if "
                             "you mean it." % req.header("Host"), code="misdirected_request")
        origin = req.header("Origin")
        if origin is None or self.same_origin(origin, req.header("Host")):
            return False
        if origin.rstrip("/").lower() not in self.origins:
            raise ProxyError(403, "Requests from web pages are refused (Origin %r); add the "
                             "origin to cors_origins to allow it." % origin, code="origin_refused")
        out.headers.update({"Access-Control-Allow-Origin": origin, "Vary": "Origin"})
        if req.method == "OPTIONS" and req.header("Access-Control-Request-Method"):
            out.send(204, b"", None, {
                "Access-Control-Allow-Methods": CORS_METHODS,
                "Access-Control-Allow-Headers": req.header("Access-Control-Request-Headers") or "*",
                "Access-Control-Max-Age": CORS_MAX_AGE})
            return True
        return False
