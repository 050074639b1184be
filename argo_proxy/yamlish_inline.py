"""One-line YAML nodes for yamlish: plain, quoted and flow scalars, and key splitting.

Everything here reads within a single line of the file; the block structure (indentation,
sequences, mappings, block scalars) is yamlish.py's.  Internal to yamlish: import from there.
"""

from __future__ import annotations

import math
import re
from typing import Optional, Tuple


class YamlError(ValueError):
    """Malformed or unsupported YAML.  `line` is 1-based, or None."""

    def __init__(self, message: str, line: Optional[int] = None):
        self.message = message
        self.line = line
        if line is not None:
            message = "line %d: %s" % (line, message)
        super().__init__(message)


_NULLS = {"", "~", "null", "Null", "NULL"}
# yes/no/on/off are YAML 1.1 booleans; 2.x configs may still use them.
_TRUES = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"}
_FALSES = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"}
_NUMBER_RULES = [
    (re.compile(r"[-+]?[0-9]+"), int),
    (re.compile(r"0x[0-9a-fA-F]+"), lambda text: int(text, 16)),
    (re.compile(r"0o[0-7]+"), lambda text: int(text, 8)),
    (re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"), float),
    (re.compile(r"[-+]?\.(?:inf|Inf|INF)"), lambda text: float(text.replace(".", ""))),
    (re.compile(r"\.(?:nan|NaN|NAN)"), lambda text: math.nan),
]
# (?!') stops the match from ending inside a '' escape of an unterminated string
_SINGLE_RE = re.compile(r"'((?:[^']|'')*)'(?!')")
_DOUBLE_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE_RE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))")
_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
    "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
    "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}
_UNSUPPORTED = {"&": "anchors ('&')", "*": "aliases ('*')", "!": "tags ('!')"}
# Deeper nesting is refused with a YamlError, before Python's recursion limit is near
# (a block level costs four stack frames, a flow level two).
MAX_DEPTH = 64


def show(text: str, limit: int = 60) -> str:
    """repr(text) for an error message, cut to about `limit` characters."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[:limit - 3] + "..."


# ---------------------------------------------------------------- scalars

def _resolve_plain(text: str) -> object:
    """Turn an unquoted scalar into None/bool/int/float, or keep the string."""
    if text in _NULLS:
        return None
    if text in _TRUES or text in _FALSES:
        return text in _TRUES
    for pattern, convert in _NUMBER_RULES:
        if pattern.fullmatch(text):
            try:
                return convert(text)
            except ValueError:  # beyond Python's int-digit limit: keep the text
                return text
    return text


def _check_plain(text: str, lineno: int) -> None:
    """Reject plain scalars that start with a character we do not handle."""
    first = text[0]
    if first in _UNSUPPORTED:
        raise YamlError("%s are not supported" % _UNSUPPORTED[first], lineno)
    if first in "@`%#,[]{}|>\"'":
        raise YamlError("a plain value cannot start with %r; quote it" % first, lineno)
    if first in "-?:" and (len(text) == 1 or text[1] in " \t"):
        raise YamlError("unexpected %r indicator; quote the value" % first, lineno)


def _unescape(match: "re.Match", lineno: int) -> str:
    digits = match.group(1) or match.group(2) or match.group(3)
    if digits:
        if int(digits, 16) > 0x10FFFF:
            raise YamlError("escape %r is out of range" % match.group(0), lineno)
        return chr(int(digits, 16))
    if match.group(4) not in _ESCAPES:
        raise YamlError("invalid escape %r in double-quoted string" % match.group(0), lineno)
    return _ESCAPES[match.group(4)]


def _parse_quoted(text: str, pos: int, lineno: int) -> Tuple[str, int]:
    """Parse the quoted scalar starting at pos; return (value, end)."""
    if text[pos] == "'":
        match = _SINGLE_RE.match(text, pos)
        if not match:
            raise YamlError("unterminated single-quoted string", lineno)
        return match.group(1).replace("''", "'"), match.end()
    match = _DOUBLE_RE.match(text, pos)
    if not match:
        raise YamlError("unterminated double-quoted string", lineno)
    value = _ESCAPE_RE.sub(lambda esc: _unescape(esc, lineno), match.group(1))
    return value, match.end()


# ---------------------------------------------------------------- flow collections

def _flow_next(text: str, pos: int, closer: str, lineno: int) -> int:
    """Skip blanks to the next token; the line must not end (or turn comment) first."""
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    if pos >= len(text) or (text[pos] == "#" and text[pos - 1] in " \t"):
        kind = "sequence" if closer == "]" else "mapping"
        raise YamlError("unterminated flow %s (flow collections must fit on one line)"
                        % kind, lineno)
    return pos


def _flow_plain(text: str, pos: int, lineno: int) -> Tuple[str, int]:
    start = pos
    while pos < len(text):
        ch = text[pos]
        if ch in ",[]{}" or (ch == "#" and pos > start and text[pos - 1] in " \t"):
            break
        if ch == ":" and (pos + 1 == len(text) or text[pos + 1] in " \t,[]{}"):
            break
        pos += 1
    raw = text[start:pos].rstrip(" \t")
    if not raw:
        raise YamlError("missing value in flow collection", lineno)
    _check_plain(raw, lineno)
    return raw, pos


def _flow_node(text: str, pos: int, lineno: int, depth: int) -> Tuple[object, int]:
    if text[pos] in "[{":
        return _parse_flow(text, pos, lineno, depth + 1)
    if text[pos] in "\"'":
        return _parse_quoted(text, pos, lineno)
    raw, pos = _flow_plain(text, pos, lineno)
    return _resolve_plain(raw), pos


def _parse_flow(text: str, pos: int, lineno: int, depth: int = 1) -> Tuple[object, int]:
    """Parse the one-line [..] or {..} starting at pos (the depth-th level of nesting);
    return (value, end)."""
    if depth > MAX_DEPTH:
        raise YamlError("nesting is too deep (more than %d levels)" % MAX_DEPTH, lineno)
    closer = "]" if text[pos] == "[" else "}"
    result = [] if closer == "]" else {}  # type: object
    pos += 1
    while True:
        pos = _flow_next(text, pos, closer, lineno)
        if text[pos] == closer:
            return result, pos + 1
        if closer == "]":
            value, pos = _flow_node(text, pos, lineno, depth)
            result.append(value)
        else:
            if text[pos] in "[{":
                raise YamlError("collections as mapping keys are not supported", lineno)
            quoted = text[pos] in "\"'"
            key, pos = (_parse_quoted if quoted else _flow_plain)(text, pos, lineno)
            if key in result:
                raise YamlError("duplicate key %s in flow mapping" % show(key), lineno)
            value = None
            pos = _flow_next(text, pos, closer, lineno)
            if text[pos] == ":":
                pos = _flow_next(text, pos + 1, closer, lineno)
                if text[pos] not in ",}":
                    value, pos = _flow_node(text, pos, lineno, depth)
            result[key] = value
        pos = _flow_next(text, pos, closer, lineno)
        if text[pos] == ",":
            pos += 1
        elif text[pos] != closer:
            raise YamlError("expected ',' or %r in flow collection, found %r"
                            % (closer, text[pos]), lineno)


# ---------------------------------------------------------------- line helpers

def _is_blank_rest(text: str) -> bool:
    """True when text (which follows a separator) is empty or only a comment."""
    body = text.lstrip(" \t")
    return not body or body[0] == "#"


def _strip_comment(text: str) -> str:
    for i, ch in enumerate(text):
        if ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip(" \t")
    return text.rstrip(" \t")


def _expect_end(text: str, pos: int, lineno: int) -> None:
    rest = text[pos:]
    body = rest.lstrip(" \t")
    if body and not (body[0] == "#" and len(body) < len(rest)):
        raise YamlError("unexpected text after value: %s" % show(body), lineno)


def _split_key(content: str, lineno: int) -> Optional[Tuple[str, str]]:
    """Split 'key: rest' into (key, rest); None when the line is not a key."""
    first = content[0]
    if first in "\"'":
        key, end = _parse_quoted(content, 0, lineno)
        after = content[end:].lstrip(" \t")
        if after[:1] == ":" and (len(after) == 1 or after[1] in " \t"):
            return key, after[1:]
        return None
    if first in "[{":
        return None
    if first == "?" and (len(content) == 1 or content[1] in " \t"):
        raise YamlError("complex mapping keys ('? ') are not supported", lineno)
    for i, ch in enumerate(content):
        if ch == "#" and i > 0 and content[i - 1] in " \t":
            return None
        # a colon ends a plain key only before a blank or the line end,
        # so URLs and host:port values stay intact
        if ch == ":" and (i + 1 == len(content) or content[i + 1] in " \t"):
            key = content[:i].rstrip(" \t")
            if not key:
                raise YamlError("missing key before ':'", lineno)
            _check_plain(key, lineno)
            return key, content[i + 1:]
    return None
