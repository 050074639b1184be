"""A small YAML subset: enough to read and write argo-proxy's config.yaml.

Supported: block mappings and sequences, one-line flow collections, plain,
single- and double-quoted scalars, block scalars (| and >), comments, and a
single document with optional "---" / "..." markers.  Mapping keys are always
strings.  Anchors, aliases, tags, directives, complex keys, multi-line flow
collections and multi-line plain scalars are rejected with a YamlError that
names the offending line.
"""

from __future__ import annotations

import math
import re
from typing import Dict, List, Optional, Tuple

__all__ = ["YamlError", "loads", "load_with_lines", "dumps"]


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
_BLOCK_HEADER_RE = re.compile(r"[|>](?:[-+][1-9]?|[1-9][-+]?)?")
_UNSUPPORTED = {"&": "anchors ('&')", "*": "aliases ('*')", "!": "tags ('!')"}


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


def _flow_node(text: str, pos: int, lineno: int) -> Tuple[object, int]:
    if text[pos] in "[{":
        return _parse_flow(text, pos, lineno)
    if text[pos] in "\"'":
        return _parse_quoted(text, pos, lineno)
    raw, pos = _flow_plain(text, pos, lineno)
    return _resolve_plain(raw), pos


def _parse_flow(text: str, pos: int, lineno: int) -> Tuple[object, int]:
    """Parse the one-line [..] or {..} starting at pos; return (value, end)."""
    closer = "]" if text[pos] == "[" else "}"
    result = [] if closer == "]" else {}  # type: object
    pos += 1
    while True:
        pos = _flow_next(text, pos, closer, lineno)
        if text[pos] == closer:
            return result, pos + 1
        if closer == "]":
            value, pos = _flow_node(text, pos, lineno)
            result.append(value)
        else:
            if text[pos] in "[{":
                raise YamlError("collections as mapping keys are not supported", lineno)
            quoted = text[pos] in "\"'"
            key, pos = (_parse_quoted if quoted else _flow_plain)(text, pos, lineno)
            if key in result:
                raise YamlError("duplicate key %r in flow mapping" % key, lineno)
            value = None
            pos = _flow_next(text, pos, closer, lineno)
            if text[pos] == ":":
                pos = _flow_next(text, pos + 1, closer, lineno)
                if text[pos] not in ",}":
                    value, pos = _flow_node(text, pos, lineno)
            result[key] = value
        pos = _flow_next(text, pos, closer, lineno)
        if text[pos] == ",":
            pos += 1
        elif text[pos] != closer:
            raise YamlError("expected ',' or %r in flow collection, found %r"
                            % (closer, text[pos]), lineno)


# ---------------------------------------------------------------- line helpers

def _is_dash(content: str) -> bool:
    return content == "-" or content.startswith(("- ", "-\t"))


def _doc_marker(raw: str) -> str:
    """'---' or '...' when raw is a document marker line, else ''."""
    head = raw[:3]
    return head if head in ("---", "...") and raw[3:4] in ("", " ", "\t") else ""


def _indent_of(raw: str) -> int:
    return len(raw) - len(raw.lstrip(" "))


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
        raise YamlError("unexpected text after value: %r" % body, lineno)


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


def _fold(lines: List[str]) -> str:
    """Folded-scalar joining: a single break between text lines becomes a space."""
    out = []  # type: List[str]
    prev, blanks = "", 0
    for line in lines:
        if not line.strip():
            blanks += 1
            continue
        kind = "more" if line[0] in " \t" else "text"
        if not prev:
            out.append("\n" * blanks)
        elif prev == kind == "text":
            out.append("\n" * blanks if blanks else " ")
        else:
            out.append("\n" * (blanks + 1))
        out.append(line)
        prev, blanks = kind, 0
    return "".join(out)


# ---------------------------------------------------------------- block parser

class _Parser:
    def __init__(self, text: str):
        if text.startswith("\ufeff"):
            text = text[1:]
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        # split on "\n" only: str.splitlines would also break on \x85, \u2028...
        self.lines = text.split("\n")
        self.pos = 0
        # "- key: v" is re-read as a line "key: v" at the column after "- "
        self.override = {}  # type: Dict[int, Tuple[int, str]]
        self.root_lines = {}  # type: Dict[str, int]

    def _skip_blank(self) -> Optional[int]:
        """Index of the next non-blank, non-comment line (None at the end)."""
        while self.pos < len(self.lines):
            if self.pos in self.override:
                return self.pos
            raw = self.lines[self.pos]
            body = raw.lstrip(" \t")
            if body and body[0] != "#":
                if "\t" in raw[:len(raw) - len(body)]:
                    raise YamlError("tab character used for indentation (use spaces)",
                                    self.pos + 1)
                return self.pos
            self.pos += 1
        return None

    def _peek(self) -> Optional[int]:
        """Like _skip_blank, but a '---' or '...' line also ends the content."""
        i = self._skip_blank()
        if i is not None and i not in self.override and _doc_marker(self.lines[i]):
            return None
        return i

    def _info(self, i: int) -> Tuple[int, str]:
        if i in self.override:
            return self.override[i]
        raw = self.lines[i].rstrip(" \t")
        return _indent_of(raw), raw.lstrip(" ")

    def _next_at(self, indent: int) -> Optional[Tuple[int, str]]:
        """The next line of a collection at `indent`; None once it dedents."""
        i = self._peek()
        if i is None:
            return None
        ind, content = self._info(i)
        if ind > indent:
            raise YamlError("bad indentation: expected %d spaces, found %d"
                            % (indent, ind), i + 1)
        return (i, content) if ind == indent else None

    def parse(self) -> object:
        i = self._skip_blank()
        if i is not None and _doc_marker(self.lines[i]) == "---":
            if not _is_blank_rest(self.lines[i][3:]):
                raise YamlError("content after '---' is not supported", i + 1)
            self.pos += 1
        obj = None
        i = self._peek()
        if i is not None:
            obj = self._parse_block(self._info(i)[0], -1, self.root_lines)
            if isinstance(obj, dict) and not self.root_lines:
                self.root_lines = dict.fromkeys(obj, i + 1)  # a root flow mapping
        self._finish()
        return obj

    def _finish(self) -> None:
        """After the root node only a '...' end marker and blank lines may follow."""
        i = self._skip_blank()
        if i is not None and _doc_marker(self.lines[i]) == "...":
            if not _is_blank_rest(self.lines[i][3:]):
                raise YamlError("content after '...' is not supported", i + 1)
            self.pos += 1
            i = self._skip_blank()
            if i is not None and _doc_marker(self.lines[i]) != "---":
                raise YamlError("unexpected content after document end '...'", i + 1)
        if i is None:
            return
        if _doc_marker(self.lines[i]):
            raise YamlError("multiple documents are not supported", i + 1)
        raise YamlError("bad indentation: line is indented less than the first line",
                        i + 1)

    def _parse_block(self, indent: int, parent_indent: int,
                     key_lines: Optional[Dict[str, int]] = None) -> object:
        """Parse the node whose first line (at self.pos) sits at `indent`."""
        i = self._peek()
        content = self._info(i)[1]
        if _is_dash(content):
            return self._parse_sequence(indent, False)
        if _split_key(content, i + 1) is not None:
            return self._parse_mapping(indent, key_lines)
        self.pos = i + 1
        value = self._parse_value(content, i + 1, parent_indent)
        j = self._peek()
        if j is not None and self._info(j)[0] > parent_indent:
            raise YamlError("unexpected line after a value (multi-line plain scalars are"
                            " not supported; quote the value or use '|')", j + 1)
        return value

    def _parse_mapping(self, indent: int, key_lines: Optional[Dict[str, int]]) -> dict:
        result = {}
        seen = {}  # type: Dict[str, int]
        line = self._next_at(indent)
        while line is not None:
            i, content = line
            if _is_dash(content):
                raise YamlError("expected 'key: value', found a list item", i + 1)
            split = _split_key(content, i + 1)
            if split is None:
                raise YamlError("expected 'key: value' (or '- item' in a list)", i + 1)
            key, rest = split
            if key in seen:
                raise YamlError("duplicate key %r (first defined on line %d)"
                                % (key, seen[key]), i + 1)
            seen[key] = i + 1
            self.pos = i + 1
            result[key] = self._mapping_value(rest, indent, i + 1)
            line = self._next_at(indent)
        if key_lines is not None:
            key_lines.update(seen)
        return result

    def _mapping_value(self, rest: str, indent: int, lineno: int) -> object:
        if not _is_blank_rest(rest):
            return self._parse_value(rest, lineno, indent)
        j = self._peek()
        if j is None:
            return None
        ind, content = self._info(j)
        if ind > indent:
            return self._parse_block(ind, indent)
        if ind == indent and _is_dash(content):
            # "args:\n- a": a sequence may sit at its parent key's indent
            return self._parse_sequence(indent, True)
        return None

    def _parse_sequence(self, indent: int, allow_siblings: bool) -> list:
        items = []
        line = self._next_at(indent)
        while line is not None:
            i, content = line
            if not _is_dash(content):
                if allow_siblings:  # the parent mapping's next key
                    break
                raise YamlError("expected a list item ('- ...') at this indentation", i + 1)
            items.append(self._parse_item(i, indent, content[1:]))
            line = self._next_at(indent)
        return items

    def _parse_item(self, i: int, indent: int, rest: str) -> object:
        if _is_blank_rest(rest):
            self.pos = i + 1
            j = self._peek()
            if j is not None and self._info(j)[0] > indent:
                return self._parse_block(self._info(j)[0], indent)
            return None
        body = rest.lstrip(" ")
        if body.startswith("\t"):
            raise YamlError("tab character used for indentation (use spaces)", i + 1)
        column = indent + 1 + len(rest) - len(body)
        self.override[i] = (column, body)
        return self._parse_block(column, indent)

    def _parse_value(self, text: str, lineno: int, parent_indent: int) -> object:
        """Parse a value written on the current line (self.pos is already past it)."""
        text = text.strip(" \t")
        if text[0] in "|>":
            return self._block_scalar(text, parent_indent, lineno)
        if text[0] in "\"'[{":
            parse = _parse_quoted if text[0] in "\"'" else _parse_flow
            value, end = parse(text, 0, lineno)
            _expect_end(text, end, lineno)
            return value
        plain = _strip_comment(text)
        _check_plain(plain, lineno)
        if ": " in plain or ":\t" in plain or plain.endswith(":"):
            raise YamlError("unexpected ': ' inside a value; quote the value", lineno)
        return _resolve_plain(plain)

    def _block_scalar(self, header: str, parent_indent: int, lineno: int) -> str:
        token = header.split(None, 1)[0]
        if not _BLOCK_HEADER_RE.fullmatch(token):
            raise YamlError("invalid block scalar header %r" % token, lineno)
        _expect_end(header, len(token), lineno)
        chomp = "-" if "-" in token else ("+" if "+" in token else "")
        digits = [ch for ch in token if ch.isdigit()]
        if digits:
            indent = max(parent_indent, 0) + int(digits[0])
        else:
            first = next((raw for raw in self.lines[self.pos:] if raw.strip()), "")
            indent = _indent_of(first)
            if indent <= parent_indent:
                return ""  # no more-indented line: an empty scalar
        body = self._collect_block(indent)
        end = len(body)
        while end and not body[end - 1].strip():
            end -= 1
        content, trailing = body[:end], len(body) - end
        if not content:
            return "\n" * trailing if chomp == "+" else ""
        text = "\n".join(content) if token[0] == "|" else _fold(content)
        if chomp == "-":
            return text
        return text + "\n" * (trailing + 1 if chomp == "+" else 1)

    def _collect_block(self, indent: int) -> List[str]:
        body = []
        while self.pos < len(self.lines):
            raw = self.lines[self.pos]
            if raw.strip() and (_indent_of(raw) < indent or _doc_marker(raw)):
                break
            body.append(raw[indent:])
            self.pos += 1
        return body


# ---------------------------------------------------------------- public reader

def loads(text: str) -> object:
    """Parse one YAML document; an empty document gives None."""
    return _Parser(text).parse()


def load_with_lines(text: str) -> Tuple[object, Dict[str, int]]:
    """Like loads, plus {top-level key: 1-based line} ({} for non-mappings)."""
    parser = _Parser(text)
    obj = parser.parse()
    return obj, (dict(parser.root_lines) if isinstance(obj, dict) else {})


# ---------------------------------------------------------------- writer

_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_DUMP_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def _needs_escape(ch: str) -> bool:
    code = ord(ch)
    return (code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF
            or ch in "\u2028\u2029\ufeff\ufffe\uffff")


def _plain_ok(text: str) -> bool:
    """True when `text` written unquoted reads back as the same string."""
    if not text or text != text.strip() or text.startswith("..."):
        return False
    if text[0] in _INDICATORS or ": " in text or " #" in text or text.endswith(":"):
        return False
    if any(_needs_escape(ch) for ch in text):
        return False
    return isinstance(_resolve_plain(text), str)


def _quote(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in _DUMP_ESCAPES:
            out.append(_DUMP_ESCAPES[ch])
        elif _needs_escape(ch):
            code = ord(ch)
            out.append("\\x%02x" % code if code < 0x100 else "\\u%04x" % code)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _format_scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return repr(int(value))  # int() drops IntEnum-style reprs
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(float(value))
    if isinstance(value, str):
        return value if _plain_ok(value) else _quote(value)
    if isinstance(value, (dict, list, tuple)) and not value:
        return "{}" if isinstance(value, dict) else "[]"
    raise TypeError("cannot write %s as YAML" % type(value).__name__)


def _is_block(value: object) -> bool:
    return isinstance(value, (dict, list, tuple)) and len(value) > 0


def _block_lines(value: object, indent: int) -> List[str]:
    lines = []  # type: List[str]
    if isinstance(value, dict):
        for key, item in value.items():
            lines.extend(_entry_lines(key, item, indent))
    else:
        for item in value:
            lines.extend(_item_lines(item, indent))
    return lines


def _entry_lines(key: object, value: object, indent: int) -> List[str]:
    if not isinstance(key, str):
        raise TypeError("YAML mapping keys must be strings, got %s" % type(key).__name__)
    head = " " * indent + (key if _plain_ok(key) else _quote(key)) + ":"
    if _is_block(value):
        return [head] + _block_lines(value, indent + 2)
    return [head + " " + _format_scalar(value)]


def _item_lines(item: object, indent: int) -> List[str]:
    prefix = " " * indent + "- "
    if _is_block(item):
        # render the child one level deeper, then put "- " before its first line
        lines = _block_lines(item, indent + 2)
        lines[0] = prefix + lines[0][indent + 2:]
        return lines
    return [prefix + _format_scalar(item)]


def dumps(obj: object, comments: Optional[Dict[str, str]] = None) -> str:
    """Write obj as block-style YAML; `comments` adds '  # text' to top-level keys."""
    if isinstance(obj, dict) and obj:
        lines = []  # type: List[str]
        for key, value in obj.items():
            entry = _entry_lines(key, value, 0)
            note = comments.get(key) if comments else None
            if note is not None:
                entry[0] += "  # " + " ".join(str(note).split())
            lines.extend(entry)
    elif _is_block(obj):
        lines = _block_lines(obj, 0)
    else:
        lines = [_format_scalar(obj)]
    return "\n".join(lines) + "\n"
