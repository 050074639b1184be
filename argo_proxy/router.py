"""Method + path -> handler. The routes of each mode are registered in one place (surfaces)."""

from __future__ import annotations

import re
from urllib.parse import unquote

from .errors import ProxyError


class Route:
    __slots__ = ("method", "pattern", "handler", "style", "public")

    def __init__(self, method, pattern, handler, style, public):
        self.method = method
        self.pattern = pattern
        self.handler = handler
        self.style = style      # the error envelope: "openai", "anthropic", ...
        self.public = public    # served without the proxy's API key


_PARAM = re.compile(r"\{(\w+)(:path)?\}")


class Router:
    """Paths may hold `{name}` (one segment) or `{name:path}` (the rest). `styles` maps path prefixes to the error
    style of requests that match no route (so even a 404 is in the client's envelope)."""

    def __init__(self, styles=()):
        self._exact = {}
        self._patterns = []
        self._styles = tuple(styles)

    def add(self, method, path, handler, style="openai", public=False):
        route = Route(method, path, handler, style, public)
        if "{" not in path:
            self._exact.setdefault(path, {})[method] = route
            return
        regex, pos = "", 0
        for found in _PARAM.finditer(path):
            regex += re.escape(path[pos:found.start()])
            regex += "(?P<%s>%s)" % (found.group(1), ".+" if found.group(2) else "[^/]+")
            pos = found.end()
        regex += re.escape(path[pos:])
        self._patterns.append((re.compile(regex + "$"), method, route))

    def match(self, method, path):
        """(route, params). Raises 400 for a path that could climb out of where it is sent
        (dot segments, encoded slashes), 404 for an unknown path, 405 for a wrong method."""
        if unsafe_path(path):
            raise ProxyError(400, "The path %r has dot segments or encoded slashes; they are "
                             "refused so nothing can reach outside the API." % path[:200],
                             code="invalid_path")
        path = canonical_path(path)
        methods = self._exact.get(path)
        if methods:
            route = methods.get(method) or (methods.get("GET") if method == "HEAD" else None)
            if route:
                return route, {}
            raise _not_allowed(method, path, methods)
        allowed = {}
        for regex, m, route in self._patterns:
            found = regex.match(path)
            if found:
                if m == method or (method == "HEAD" and m == "GET"):
                    return route, found.groupdict()
                allowed[m] = route
        if allowed:
            raise _not_allowed(method, path, allowed)
        raise ProxyError(404, "Unknown route: %s %s" % (method, path), code="not_found")

    def style_for(self, path, method=None):
        """The error style of the route a path would reach (for errors before routing)."""
        path = canonical_path(path)
        for route in (self._exact.get(path) or {}).values():
            return route.style
        for prefix, style in self._styles:
            if path.startswith(prefix):
                return style
        found = [(m, route.style) for regex, m, route in self._patterns if regex.match(path)]
        for m, style in found:
            if m == method:
                return style
        return found[0][1] if found else "openai"

    def is_public(self, path):
        path = canonical_path(path)
        return any(r.public for r in (self._exact.get(path) or {}).values())


_PREFIXES = ("/openai", "/anthropic")
_BAD_CHARS = re.compile(r"[^\x21-\x7e]")          # raw control, space, non-ASCII
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def unsafe_path(path) -> bool:
    """Dot segments (`.`, `..`), encoded slashes or backslashes, control characters, anything
    but printable ASCII, or a broken percent-encoding, in any encoding (decoded up to three
    times) and any case."""
    if _BAD_CHARS.search(path) or _BAD_ESCAPE.search(path):
        return True
    for _ in range(4):
        lowered = path.lower()
        if "%2f" in lowered or "%5c" in lowered or "\\" in path:
            return True
        if any(seg in (".", "..") for seg in path.split("/")):
            return True
        decoded = unquote(path, errors="replace") if "%" in path else path
        if decoded == path:
            return False
        if _CONTROL.search(decoded):
            return True
        path = decoded
    return True   # still encoded after three rounds: nobody sends that honestly


def canonical_path(path):
    # /openai/v1/... and /anthropic/v1/... are the same surfaces as /v1/... (for clients that
    # want a base of their own)
    for prefix in _PREFIXES:
        if path.startswith(prefix + "/v1/") or path == prefix + "/v1":
            path = path[len(prefix):]
            break
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


def _not_allowed(method, path, methods):
    allow = ", ".join(sorted(methods))
    return ProxyError(405, "Method %s is not allowed on %s (allowed: %s)" % (method, path, allow),
                      code="method_not_allowed", headers={"Allow": allow})
