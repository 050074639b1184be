"""A small YAML subset: enough to read and write argo-proxy's config.yaml.

Supported: block mappings and sequences, one-line flow collections, plain,
single- and double-quoted scalars, block scalars (| and >), comments, and a
single document with optional "---" / "..." markers.  Mapping keys are always
strings.  Anchors, aliases, tags, directives, complex keys, multi-line flow
collections and multi-line plain scalars are rejected with a YamlError that
names the offending line; so are control characters YAML does not allow in a
file and nesting deeper than MAX_DEPTH levels.  One-line nodes (scalars, flow
collections) are read by yamlish_inline.py.
"""

from __future__ import annotations

import math
import re
from typing import Dict, List, Optional, Tuple

from .yamlish_inline import (MAX_DEPTH, YamlError, _check_plain, _expect_end, _is_blank_rest,
                             _parse_flow, _parse_quoted, _resolve_plain, _split_key,
                             _strip_comment, show)

__all__ = ["YamlError", "loads", "load_with_lines", "dumps"]

_BLOCK_HEADER_RE = re.compile(r"[|>](?:[-+][1-9]?|[1-9][-+]?)?")
# characters YAML does not allow in a file (outside the printable set): C0 and C1 controls
# other than tab, line feed and NEL, DEL, surrogates, U+FFFE and U+FFFF
_NOT_PRINTABLE_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


# ---------------------------------------------------------------- line helpers

def _is_dash(content: str) -> bool:
    return content == "-" or content.startswith(("- ", "-\t"))


def _doc_marker(raw: str) -> str:
    """'---' or '...' when raw is a document marker line, else ''."""
    head = raw[:3]
    return head if head in ("---", "...") and raw[3:4] in ("", " ", "\t") else ""


def _indent_of(raw: str) -> int:
    return len(raw) - len(raw.lstrip(" "))



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
        bad = _NOT_PRINTABLE_RE.search(text)
        if bad:
            raise YamlError("control character U+%04X is not allowed (write it as an escape in"
                            " a double-quoted string)" % ord(bad.group()),
                            text.count("\n", 0, bad.start()) + 1)
        # split on "\n" only: str.splitlines would also break on \x85, \u2028...
        self.lines = text.split("\n")
        self.pos = 0
        # "- key: v" is re-read as a line "key: v" at the column after "- "
        self.override = {}  # type: Dict[int, Tuple[int, str]]
        self.root_lines = {}  # type: Dict[str, int]
        self.depth = 0  # block nodes being parsed, one inside the other

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
        if self.depth >= MAX_DEPTH:
            raise YamlError("nesting is too deep (more than %d levels)" % MAX_DEPTH, i + 1)
        self.depth += 1
        node = self._parse_node(i, indent, parent_indent, key_lines)
        self.depth -= 1
        return node

    def _parse_node(self, i: int, indent: int, parent_indent: int,
                    key_lines: Optional[Dict[str, int]]) -> object:
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
                raise YamlError("duplicate key %s (first defined on line %d)"
                                % (show(key), seen[key]), i + 1)
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
            if text[0] in "\"'":
                value, end = _parse_quoted(text, 0, lineno)
            else:
                value, end = _parse_flow(text, 0, lineno, self.depth + 1)
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
            raise YamlError("invalid block scalar header %s" % show(token), lineno)
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
