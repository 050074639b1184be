"""One client request as routes see it: method, path, query, headers, the body (read on
demand), and the body as JSON with every number finite and every string real text."""

from __future__ import annotations

import json
import math
import re
from urllib.parse import parse_qs, urlsplit

from .convert import rawjson, validate
from .errors import ProxyError


class Request:
    """What a route handler needs to know about one client request."""

    def __init__(self, method, target, headers, read_body=None, app=None):
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path
        self.query_string = parts.query
        self.query = parse_qs(parts.query)
        self.headers = headers
        self.app = app
        self.params = {}
        self.route = None
        self.body = b""
        self.model = None  # set by routes, for the access log
        self.raw_json = None   # convert.rawjson.Raw of the body json() decoded, if an object
        self.parsed = None     # the object json() returned last (what raw_json describes)
        self._read_body = read_body

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def read_body(self):
        if self._read_body is not None:
            self.body = self._read_body()   # if this raises, the body counts as unread
            self._read_body = None
        return self.body

    def unread_body(self) -> bool:
        """True if the client sent a body nobody read (it would corrupt the next request)."""
        if self._read_body is None:
            return False
        te = (self.header("Transfer-Encoding") or "").lower()
        return "chunked" in te or (self.header("Content-Length") or "0").strip() not in ("0", "")

    def json(self) -> dict:
        """The body as a JSON object, or a 400/415 that says what is wrong."""
        if not self.body.strip():
            raise ProxyError(400, "Request body is empty; expected a JSON object.", code="invalid_json")
        odd = []   # NaN, Infinity and numbers too large for a double: found, then named
        decoder = json.JSONDecoder(parse_constant=lambda name: odd.append(name) or _NAN,
                                   parse_float=lambda text: _finite(text, odd))
        try:   # where each top-level value lies only matters for large bodies (rawjson)
            if len(self.body) >= rawjson.WORTH_IT:
                data, self.raw_json = rawjson.loads(self.body, decoder)
            else:
                data = decoder.decode(self.body.decode(json.detect_encoding(self.body), "surrogatepass"))
        except RecursionError:
            raise ProxyError(400, "Request body JSON is nested too deeply.", code="invalid_json")
        except ValueError as exc:
            ctype = (self.header("Content-Type") or "").split(";")[0].strip().lower()
            if ctype and "json" not in ctype and "x-www-form-urlencoded" not in ctype:
                raise ProxyError(415, "Expected a JSON body with Content-Type: application/json, got %r."
                                 % ctype, code="unsupported_media_type")
            raise ProxyError(400, "Invalid JSON in request body: %s" % exc, code="invalid_json")
        if not isinstance(data, dict):
            raise ProxyError(400, "Request body must be a JSON object, got %s." % type(data).__name__,
                             code="invalid_json")
        if odd:
            _refuse_at(data, _non_finite, "a finite number (not %s)" % odd[0][:20])
        if _maybe_surrogate(self.body):
            _refuse_at(data, _has_surrogate, "text without lone UTF-16 surrogates")
        self.parsed = data
        return data


_NAN = float("nan")
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _maybe_surrogate(body: bytes) -> bool:
    """Could the body hold a lone surrogate (escaped, or as raw UTF-8 bytes)? The substring
    tests are C-fast; the regex runs only where they hit."""
    if b"\\ud" not in body and b"\\uD" not in body and b"\xed" not in body:
        return False
    return _MAYBE_SURROGATE.search(body) is not None


def _finite(text, odd):
    value = float(text)
    if math.isinf(value):
        odd.append(text)
    return value


def _non_finite(value):
    return isinstance(value, float) and not math.isfinite(value)


def _has_surrogate(value):
    return isinstance(value, str) and _SURROGATE.search(value) is not None


def _refuse_at(data, test, what):
    """A 400 naming the first field (or key) whose value fails `test`."""
    path = _find(data, test, "")
    if path is not None:
        validate.bad(path or "body", what)


def _find(value, test, path):
    if isinstance(value, dict):
        for key, item in value.items():
            where = "%s.%s" % (path, key) if path else str(key)
            if test(key):
                return where
            found = _find(item, test, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _find(item, test, "%s[%d]" % (path, i))
            if found is not None:
                return found
    elif test(value):
        return path
    return None
