"""Tests for argo_proxy.yamlish, the config.yaml subset reader/writer."""

import math
import random

import pytest

from argo_proxy import yamlish
from argo_proxy.yamlish import YamlError


CONFIG_2X = """\
# argo-proxy 2.x style config
host: 0.0.0.0
port: 44497
user: "cels"
verbose: true
argo_url: https://apps-dev.inside.anl.gov/argoapi/api/v1/resource/chat/
argo_stream_url: "https://apps-dev.inside.anl.gov/argoapi/api/v1/resource/streamchat/"
argo_embedding_url: 'https://apps.inside.anl.gov/argoapi/api/v1/resource/embed/'
real_stream: false   # experimental
use_native_openai: no
native_openai_base_url: https://apps-dev.inside.anl.gov/argoapi/v1/
enable_payload_control: off
max_payload_size: 20
image_timeout: 30.5
concurrent_downloads: 10
"""

MCP_BLOCK = """\
mcp_servers:
  time:
    command: uvx
    args: ["mcp-server-time", "--local-timezone", "UTC"]
    env: {TZ: UTC}
  web:
    url: http://127.0.0.1:8931/mcp
    headers:
      Authorization: "Bearer abc"
    allow:
      - fetch
      - search
"""


def error_for(text):
    with pytest.raises(YamlError) as info:
        yamlish.loads(text)
    return info.value


# ---------------------------------------------------------------- realistic files

def test_full_2x_config():
    assert yamlish.loads(CONFIG_2X) == {
        "host": "0.0.0.0",
        "port": 44497,
        "user": "cels",
        "verbose": True,
        "argo_url": "https://apps-dev.inside.anl.gov/argoapi/api/v1/resource/chat/",
        "argo_stream_url":
            "https://apps-dev.inside.anl.gov/argoapi/api/v1/resource/streamchat/",
        "argo_embedding_url": "https://apps.inside.anl.gov/argoapi/api/v1/resource/embed/",
        "real_stream": False,
        "use_native_openai": False,
        "native_openai_base_url": "https://apps-dev.inside.anl.gov/argoapi/v1/",
        "enable_payload_control": False,
        "max_payload_size": 20,
        "image_timeout": 30.5,
        "concurrent_downloads": 10,
    }


def test_full_config_keeps_key_order_and_round_trips():
    data = yamlish.loads(CONFIG_2X)
    assert list(data)[:3] == ["host", "port", "user"]
    text = yamlish.dumps(data)
    assert yamlish.loads(text) == data
    assert list(yamlish.loads(text)) == list(data)


def test_mcp_servers_block():
    assert yamlish.loads(MCP_BLOCK) == {
        "mcp_servers": {
            "time": {
                "command": "uvx",
                "args": ["mcp-server-time", "--local-timezone", "UTC"],
                "env": {"TZ": "UTC"},
            },
            "web": {
                "url": "http://127.0.0.1:8931/mcp",
                "headers": {"Authorization": "Bearer abc"},
                "allow": ["fetch", "search"],
            },
        }
    }


def test_config_and_mcp_block_together():
    data = yamlish.loads(CONFIG_2X + "\n" + MCP_BLOCK)
    assert data["port"] == 44497
    assert data["mcp_servers"]["web"]["allow"] == ["fetch", "search"]


# ---------------------------------------------------------------- scalars

def test_colons_in_urls_and_host_port():
    data = yamlish.loads(
        "url: https://apps-dev.inside.anl.gov/argoapi/v1/\n"
        "hp: localhost:8080\n"
        "ipv6: ::1\n"
        "time: 12:30\n"
        "trailing_colon_url: http://h:1/a:b\n"
    )
    assert data == {
        "url": "https://apps-dev.inside.anl.gov/argoapi/v1/",
        "hp": "localhost:8080",
        "ipv6": "::1",
        "time": "12:30",
        "trailing_colon_url": "http://h:1/a:b",
    }


def test_hash_inside_quotes_and_unspaced_url():
    data = yamlish.loads(
        'a: "x # not a comment"\n'
        "b: 'y # nor this'  # but this is\n"
        "c: http://host:8080/a#b\n"
        "d: http://host:8080/a #comment\n"
        "e: issue#12\n"
    )
    assert data == {
        "a": "x # not a comment",
        "b": "y # nor this",
        "c": "http://host:8080/a#b",
        "d": "http://host:8080/a",
        "e": "issue#12",
    }


def test_empty_values():
    data = yamlish.loads("a:\nb:   # only a comment\nc: ~\nd: null\ne: Null\nf: ''\ng: \"\"\n")
    assert data == {"a": None, "b": None, "c": None, "d": None, "e": None,
                    "f": "", "g": ""}


def test_empty_value_at_end_of_nested_block():
    data = yamlish.loads("outer:\n  inner:\nnext: 1\n")
    assert data == {"outer": {"inner": None}, "next": 1}


@pytest.mark.parametrize("text, expected", [
    ("1", 1), ("-7", -7), ("+3", 3), ("0", 0), ("0x1A", 26), ("0o17", 15),
    ("1.5", 1.5), ("-2e3", -2000.0), (".5", 0.5), ("1e5", 100000.0),
    (".inf", math.inf), ("-.inf", -math.inf), (".Inf", math.inf),
    ("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False),
    ("yes", True), ("no", False), ("on", True), ("off", False), ("Yes", True), ("OFF", False),
    ("null", None), ("~", None), ("Null", None), ("NULL", None),
    ("hello world", "hello world"), ("1_000", "1_000"), ("0b101", "0b101"),
    ("1.2.3", "1.2.3"), ("y", "y"), ("n", "n"), ("-foo", "-foo"), ("a'b", "a'b"),
    ("inf", "inf"), ("nan", "nan"), ("0x", "0x"),
])
def test_plain_scalar_types(text, expected):
    value = yamlish.loads("v: " + text)["v"]
    assert value == expected
    assert type(value) is type(expected)


def test_nan():
    assert math.isnan(yamlish.loads("v: .nan")["v"])


def test_double_quoted_escapes():
    text = r'v: "a\\b \"q\" \n\t\r\0 \/ \u00e9 \x41 \U0001F600 \e"'
    assert yamlish.loads(text)["v"] == 'a\\b "q" \n\t\r\0 / \u00e9 A \U0001F600 \x1b'


def test_single_quoted_doubles_quotes_and_keeps_backslashes():
    assert yamlish.loads("v: 'it''s \\n'")["v"] == "it's \\n"
    assert yamlish.loads("v: ''''")["v"] == "'"


def test_quoted_values_stay_strings():
    data = yamlish.loads("a: \"123\"\nb: 'true'\nc: \"null\"\nd: '1.5'\n")
    assert data == {"a": "123", "b": "true", "c": "null", "d": "1.5"}


def test_quoted_keys():
    data = yamlish.loads("\"a key\": 1\n'b: c': 2\n\"#x\": 3\nplain key: 4\n")
    assert data == {"a key": 1, "b: c": 2, "#x": 3, "plain key": 4}


def test_keys_are_always_strings():
    assert yamlish.loads("1: a\ntrue: b\nnull: c\n") == {"1": "a", "true": "b", "null": "c"}


def test_unicode_values():
    assert yamlish.loads("name: café ☕\n\"ключ\": 值\n") == {"name": "café ☕", "ключ": "值"}


# ---------------------------------------------------------------- collections

def test_flow_collections():
    data = yamlish.loads(
        'a: [a, b, "c, d"]\n'
        "b: {a: 1, b: [x, y]}\n"
        "c: []\n"
        "d: {}\n"
        "e: [[1, 2], {k: v}, [], {}]\n"
        "f: [http://h:80/x, 'q''s', null, true, 2.5]\n"
        'g: {"json": 1, "style":2}\n'
        "h: [a, b, ]  # trailing comma and comment\n"
        "i: {novalue, k: }\n"
    )
    assert data == {
        "a": ["a", "b", "c, d"],
        "b": {"a": 1, "b": ["x", "y"]},
        "c": [],
        "d": {},
        "e": [[1, 2], {"k": "v"}, [], {}],
        "f": ["http://h:80/x", "q's", None, True, 2.5],
        "g": {"json": 1, "style": 2},
        "h": ["a", "b"],
        "i": {"novalue": None, "k": None},
    }


def test_root_flow_collections():
    assert yamlish.loads("[1, two]") == [1, "two"]
    assert yamlish.loads("{a: 1}\n") == {"a": 1}


def test_block_sequence_styles():
    text = (
        "indented:\n"
        "  - a\n"
        "  - b\n"
        "same_indent:\n"
        "- c\n"
        "- d\n"
        "after: 1\n"
    )
    assert yamlish.loads(text) == {"indented": ["a", "b"], "same_indent": ["c", "d"],
                                   "after": 1}


def test_sequence_of_mappings():
    text = (
        "servers:\n"
        "- name: x\n"
        "  cmd: y\n"
        "  args:\n"
        "  - --flag\n"
        "  - 2\n"
        "-   name: z\n"
        "    env: {A: b}\n"
        "- plain\n"
    )
    assert yamlish.loads(text) == {"servers": [
        {"name": "x", "cmd": "y", "args": ["--flag", 2]},
        {"name": "z", "env": {"A": "b"}},
        "plain",
    ]}


def test_nested_sequences_and_empty_items():
    text = "- - a\n  - b\n-\n  - c\n-\n- [d]\n"
    assert yamlish.loads(text) == [["a", "b"], ["c"], None, ["d"]]


def test_nested_block_under_item():
    text = "-\n  k: v\n  j:\n    - 1\n"
    assert yamlish.loads(text) == [{"k": "v", "j": [1]}]


def test_comments_between_lines():
    text = "# head\na:\n  # inside\n  b: 1   # trailing\n\n    # odd indent comment\n  c: 2\n# tail\n"
    assert yamlish.loads(text) == {"a": {"b": 1, "c": 2}}


def test_indented_root_mapping():
    assert yamlish.loads("  a: 1\n  b: 2\n") == {"a": 1, "b": 2}


# ---------------------------------------------------------------- block scalars

def test_literal_block_scalar():
    text = "script: |\n  line one\n    indented\n\n  line three\nnext: 1\n"
    assert yamlish.loads(text) == {"script": "line one\n  indented\n\nline three\n",
                                   "next": 1}


def test_folded_block_scalar():
    text = "desc: >\n  folded\n  text\n\n  new para\nnext: 1\n"
    assert yamlish.loads(text)["desc"] == "folded text\nnew para\n"


@pytest.mark.parametrize("header, expected", [
    ("|", "a\nb\n"), ("|-", "a\nb"), ("|+", "a\nb\n\n\n"),
    (">", "a b\n"), (">-", "a b"), (">+", "a b\n\n\n"),
])
def test_block_scalar_chomping(header, expected):
    text = "v: %s\n  a\n  b\n\n\nw: 1\n" % header
    assert yamlish.loads(text) == {"v": expected, "w": 1}


def test_block_scalar_in_sequence_item_and_explicit_indent():
    assert yamlish.loads("- |\n  x\n- y\n") == ["x\n", "y"]
    assert yamlish.loads("v: |2\n    deep\n  shallow\n") == {"v": "  deep\nshallow\n"}


def test_block_scalar_keeps_hashes_and_empty_block():
    assert yamlish.loads("v: |  # header comment\n  # not a comment\n")["v"] == "# not a comment\n"
    assert yamlish.loads("v: |\nw: 1\n") == {"v": "", "w": 1}


# ---------------------------------------------------------------- documents and encodings

def test_document_markers():
    assert yamlish.loads("---\na: 1\n") == {"a": 1}
    assert yamlish.loads("# c\n--- # comment\na: 1\n...\n") == {"a": 1}
    assert yamlish.loads("---\n") is None


@pytest.mark.parametrize("text", ["", "\n\n", "# just a comment\n", "   \n# x\n"])
def test_empty_document_is_none(text):
    assert yamlish.loads(text) is None


def test_crlf_and_bom():
    text = "\ufeffa: 1\r\nb:\r\n  - x\r\n  - \"y\"\r\nc: |\r\n  l1\r\n  l2\r\n"
    assert yamlish.loads(text) == {"a": 1, "b": ["x", "y"], "c": "l1\nl2\n"}


def test_bom_with_document_start():
    assert yamlish.loads("\ufeff---\r\nk: v\r\n") == {"k": "v"}


# ---------------------------------------------------------------- errors

def test_error_is_value_error_with_line_prefix():
    err = error_for("a: 1\nb: [1, 2\n")
    assert isinstance(err, ValueError)
    assert err.line == 2
    assert str(err).startswith("line 2: ")
    assert "unterminated" in str(err)


def test_error_without_line_has_plain_message():
    err = YamlError("boom")
    assert err.line is None
    assert str(err) == "boom"


def test_deeper_indented_sibling_key():
    err = error_for("a: 1\nb: 2\n   c: 3\n")
    assert err.line == 3
    assert "indentation" in str(err)


def test_inconsistent_indentation_in_nested_mapping():
    err = error_for("top:\n  a: 1\n  b: 2\n c: 3\n")
    assert err.line == 4
    assert "indentation" in str(err)


def test_inconsistent_indentation_in_sequence():
    err = error_for("items:\n  - a\n   - b\n")
    assert err.line == 3


def test_dedent_below_root_indent():
    err = error_for("  a: 1\nb: 2\n")
    assert err.line == 2
    assert "indent" in str(err)


def test_duplicate_key_names_the_duplicate_line():
    err = error_for("a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\n")
    assert err.line == 5
    assert "duplicate key 'x'" in str(err)
    assert "line 3" in str(err)


def test_duplicate_top_level_key():
    assert error_for("port: 1\nhost: h\nport: 2\n").line == 3


def test_duplicate_key_in_flow_mapping():
    assert "duplicate" in str(error_for("m: {a: 1, a: 2}\n"))


def test_tab_indentation():
    err = error_for("a:\n\tb: 1\n")
    assert err.line == 2
    assert "tab" in str(err)


def test_tab_after_dash():
    assert "tab" in str(error_for("-\tx\n"))


@pytest.mark.parametrize("text, line", [
    ('a: 1\nb: "unterminated\n', 2),
    ("a: 'nope\n", 1),
    ("a: 'it''\n", 1),
    ('"key: 1\n', 1),
    ('a: "trailing backslash\\"\n', 1),
])
def test_unterminated_quotes(text, line):
    err = error_for(text)
    assert err.line == line
    assert "unterminated" in str(err)


@pytest.mark.parametrize("text", ["a: [1, 2\n", "a: {x: 1\n", "a: [1, [2]\n",
                                  "a: [\n  1, 2]\n", "a: [1, # c\n  2]\n"])
def test_unterminated_or_multiline_flow(text):
    err = error_for(text)
    assert err.line == 1
    assert "unterminated flow" in str(err)


@pytest.mark.parametrize("text, word", [
    ("a: &anchor 1\n", "anchors"),
    ("a: *alias\n", "aliases"),
    ("a: !!str 1\n", "tags"),
    ("- !custom x\n", "tags"),
    ("&a key: 1\n", "anchors"),
    ("a: [*x]\n", "aliases"),
    ("--- !tag\n", "not supported"),
])
def test_anchors_aliases_tags_rejected(text, word):
    err = error_for(text)
    assert err.line == 1
    assert "not supported" in str(err)
    assert word in str(err)


def test_line_that_is_neither_key_nor_item():
    err = error_for("a: 1\njust some words\n")
    assert err.line == 2
    assert "key" in str(err)


def test_list_item_in_mapping_context():
    err = error_for("a: 1\n- b\n")
    assert err.line == 2


def test_mapping_key_after_nested_sequence():
    err = error_for("a:\n  - x\n  b: 1\n")
    assert err.line == 3
    assert "list item" in str(err)


def test_multiple_documents():
    err = error_for("a: 1\n---\nb: 2\n")
    assert err.line == 2
    assert "multiple documents" in str(err)
    assert error_for("a: 1\n...\n---\nb: 2\n").line == 3


def test_content_after_document_end():
    assert error_for("a: 1\n...\nb: 2\n").line == 3


@pytest.mark.parametrize("text, line", [
    ("a: b: c\n", 1),            # nested mapping on one line
    ("a: 1\n  more text\n", 2),  # continuation of a plain scalar
    ("k:\n  one\n  two\n", 3),   # multi-line plain scalar
    ("a: [1] x\n", 1),           # junk after a flow collection
    ('a: "x" y\n', 1),           # junk after a quoted scalar
    ("a: |x\n", 1),              # bad block scalar header
    ("? complex\n", 1),
    ("a: @foo\n", 1),
    ("a: \"\\q\"\n", 1),         # unknown escape
    ("a: [1,,2]\n", 1),
    ("%YAML 1.2\n---\na: 1\n", 1),
    (": no key\n", 1),
])
def test_other_malformed_input(text, line):
    assert error_for(text).line == line


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f",
                                  "\x7f", "\x80", "\x9f", "\ud800", "\ufffe", "\uffff"])
def test_control_characters_in_the_file_are_refused(char):
    for text in ("a: 1\nb: x%sy\n" % char, "a: 1\nb: 'x%s'\n" % char, "a: 1\n# c%s\n" % char):
        err = error_for(text)
        assert err.line == 2 and "U+%04X" % ord(char) in str(err)


def test_printable_specials_and_escapes_still_load():
    text = 'a: "\\0\\x1b\\x7f"\nb: x\x85y\u2028\tz\nc: \xa0\U0001F600\r\n'
    assert yamlish.loads(text) == {"a": "\x00\x1b\x7f", "b": "x\x85y\u2028\tz", "c": "\xa0\U0001F600"}


def nested(kind, depth):
    if kind == "flow":
        return "k: " + "[" * depth + "]" * depth + "\n"
    if kind == "flow map":
        return "k: " + "{a: " * depth + "1" + "}" * depth + "\n"
    if kind == "block":
        return "".join(" " * n + "k%d:\n" % n for n in range(depth)) + " " * depth + "v\n"
    if kind == "dashes":
        return "- " * depth + "x\n"
    return "".join(" " * n + "- [\n" for n in range(depth))  # ends in an unterminated flow


@pytest.mark.parametrize("kind", ["flow", "flow map", "block", "dashes", "mixed"])
def test_nesting_deeper_than_the_limit_is_an_error_not_a_crash(kind):
    for depth in (yamlish.MAX_DEPTH + 1, 5000):
        err = error_for(nested(kind, depth))
        assert err.line is not None
        if kind != "mixed":
            assert "nesting is too deep" in str(err)


def depth_of(value):
    if isinstance(value, (dict, list)):
        items = value.values() if isinstance(value, dict) else value
        return 1 + max([depth_of(item) for item in items] or [0])
    return 0


@pytest.mark.parametrize("kind", ["flow", "flow map", "block", "dashes"])
def test_nesting_close_to_the_limit_loads(kind):
    depth = yamlish.MAX_DEPTH - 2
    assert depth_of(yamlish.loads(nested(kind, depth))) >= depth


@pytest.mark.parametrize("text, start", [
    ("a: 'x' %s\n" % ("y" * 5000), "unexpected text after value: 'yyy"),
    ("%s: 1\n%s: 2\n" % ("k" * 5000, "k" * 5000), "duplicate key 'kkk"),
    ("m: {%s: 1, %s: 2}\n" % ("k" * 5000, "k" * 5000), "duplicate key 'kkk"),
    ("a: |%s\n" % ("9" * 5000), "invalid block scalar header '|99"),
])
def test_long_text_is_cut_in_error_messages(text, start):
    message = error_for(text).message
    assert message.startswith(start) and len(message) < 120, message


def test_public_api():
    assert set(yamlish.__all__) == {"YamlError", "loads", "load_with_lines", "dumps"}
    assert issubclass(yamlish.YamlError, ValueError)
    with pytest.raises(yamlish.YamlError):
        yamlish.loads("a: [\n")


# ---------------------------------------------------------------- load_with_lines

def test_load_with_lines_top_level_only():
    text = "---\n# comment\nhost: h\n\nmcp_servers:\n  a:\n    b: 1\nport: 3  # c\n"
    obj, lines = yamlish.load_with_lines(text)
    assert obj["port"] == 3
    assert lines == {"host": 3, "mcp_servers": 5, "port": 8}


def test_load_with_lines_non_mapping():
    assert yamlish.load_with_lines("- a\n- b\n") == (["a", "b"], {})
    assert yamlish.load_with_lines("") == (None, {})
    assert yamlish.load_with_lines("\n{a: 1, b: 2}\n") == ({"a": 1, "b": 2}, {"a": 2, "b": 2})


# ---------------------------------------------------------------- dumps

def test_dumps_layout():
    data = {"host": "0.0.0.0", "port": 8080, "ok": True, "disabled": False, "none": None,
            "ratio": 0.25, "empty_map": {}, "empty_list": [],
            "nested": {"inner": {"k": "v"}, "items": ["a", {"b": 1, "c": [2]}, ["x", "y"]]}}
    assert yamlish.dumps(data) == (
        "host: 0.0.0.0\n"
        "port: 8080\n"
        "ok: true\n"
        "disabled: false\n"
        "none: null\n"
        "ratio: 0.25\n"
        "empty_map: {}\n"
        "empty_list: []\n"
        "nested:\n"
        "  inner:\n"
        "    k: v\n"
        "  items:\n"
        "    - a\n"
        "    - b: 1\n"
        "      c:\n"
        "        - 2\n"
        "    - - x\n"
        "      - y\n"
    )


@pytest.mark.parametrize("value", [
    "123", "-1", "1.5", "1e3", ".inf", "0x10", "true", "False", "yes", "off", "null",
    "~", "", " lead", "trail ", "a: b", "ends:", "x #y", "#x", "- item", "-", "?",
    "[a]", "{a}", "&a", "*a", "!t", "|", ">", "'q'", '"q"', "%p", "@x", "`x`",
    "line\nbreak", "tab\there", "\x00", "\x7f", "\u2028", "\ufeff", "...", "--- x",
])
def test_dumps_quotes_lookalikes(value):
    text = yamlish.dumps({"v": value})
    assert text.startswith('v: "')
    assert yamlish.loads(text) == {"v": value}


@pytest.mark.parametrize("value", [
    "hello", "http://h:8080/a#b", "host:port", "a-b", "café", "C:\\path", "a, b",
    "x#y", "it's", "1.2.3",
])
def test_dumps_keeps_safe_strings_plain(value):
    assert yamlish.dumps({"v": value}) == "v: %s\n" % value


def test_dumps_scalars_and_special_floats():
    assert yamlish.dumps(None) == "null\n"
    assert yamlish.dumps("x") == "x\n"
    assert yamlish.dumps({}) == "{}\n"
    assert yamlish.dumps([]) == "[]\n"
    assert yamlish.dumps(1e16) == "1e+16\n"
    assert yamlish.loads(yamlish.dumps(1e16)) == 1e16
    assert yamlish.dumps([math.inf, -math.inf]) == "- .inf\n- -.inf\n"
    assert math.isnan(yamlish.loads(yamlish.dumps(math.nan)))


def test_dumps_quotes_keys_when_needed():
    text = yamlish.dumps({"true": 1, "a: b": 2, "": 3, "plain": 4})
    assert text == '"true": 1\n"a: b": 2\n"": 3\nplain: 4\n'
    assert yamlish.loads(text) == {"true": 1, "a: b": 2, "": 3, "plain": 4}


def test_dumps_tuple_as_list():
    assert yamlish.loads(yamlish.dumps({"t": ("a", 1)})) == {"t": ["a", 1]}


def test_dumps_rejects_bad_input():
    with pytest.raises(TypeError):
        yamlish.dumps({1: "a"})
    with pytest.raises(TypeError):
        yamlish.dumps({"a": object()})
    with pytest.raises(TypeError):
        yamlish.dumps({"a": {1, 2}})


def test_dumps_with_comments():
    data = {"host": "h", "port": 1, "mcp_servers": {"a": {"command": "x"}},
            "url": "http://h:1/", "empty": None, "name": "a b"}
    comments = {"host": "from file", "port": "env ARGO_PROXY_PORT",
                "mcp_servers": "from config.yaml", "name": "multi\nline", "unknown": "x"}
    text = yamlish.dumps(data, comments=comments)
    lines = text.splitlines()
    assert lines[0] == "host: h  # from file"
    assert lines[1] == "port: 1  # env ARGO_PROXY_PORT"
    assert lines[2] == "mcp_servers:  # from config.yaml"
    assert lines[3] == "  a:"
    assert "url: http://h:1/" in lines
    assert lines[-1] == "name: a b  # multi line"
    assert "unknown" not in text
    assert text.endswith("\n")
    assert yamlish.loads(text) == data


# ---------------------------------------------------------------- round-trip property test

TRICKY_STRINGS = [
    "", " ", "a b", "123", "-5", "1.0", "1e3", "0x1f", "true", "no", "ON", "null", "~",
    ".inf", ".nan", "http://host:8080/path#frag", "a: b", "a #b", "#", "- x", "? x",
    ": x", "x:", "[", "]", "{a: 1}", "'", '"', "''", "\\", "\\n", "\n", "\r\n", "\t",
    "tab\tin", "é", "日本語", "emoji 😀", "\u2028", "\x85", "\ufeff", "\x00", "\x1b",
    "---", "...", "a,b", "&x", "*x", "!x", "|", ">", "%", "@", "`", "key: value # c",
    "C:\\dir\\", " leading", "trailing ", "mid  space", "ключ: значение",
]


def random_string(rng):
    if rng.random() < 0.5:
        return rng.choice(TRICKY_STRINGS)
    alphabet = "ab:# -'\"\\\n\t{}[],&*!|>%@`é😀0123456789.~?"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


def random_scalar(rng):
    kind = rng.randint(0, 5)
    if kind == 0:
        return rng.randint(-10 ** 12, 10 ** 12)
    if kind == 1:
        return rng.choice([0.0, -1.5, 1e-7, 3.14159, 1e300, -2.5e-300, math.inf, -math.inf,
                           rng.uniform(-1e6, 1e6)])
    if kind == 2:
        return rng.choice([True, False, None])
    return random_string(rng)


def random_value(rng, depth):
    roll = rng.random()
    if depth >= 4 or roll < 0.5:
        return random_scalar(rng)
    if roll < 0.75:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return random_dict(rng, depth + 1)


def random_dict(rng, depth=0):
    return {random_string(rng): random_value(rng, depth) for _ in range(rng.randint(0, 5))}


@pytest.mark.parametrize("seed", range(300))
def test_round_trip_generated_dicts(seed):
    rng = random.Random(seed)
    data = random_dict(rng)
    text = yamlish.dumps(data)
    assert yamlish.loads(text) == data, text
    commented = yamlish.dumps(data, comments={key: "note %d" % n for n, key in enumerate(data)})
    assert yamlish.loads(commented) == data, commented


@pytest.mark.parametrize("seed", range(50))
def test_round_trip_generated_roots(seed):
    rng = random.Random(1000 + seed)
    data = random_value(rng, 0)
    assert yamlish.loads(yamlish.dumps(data)) == data


@pytest.mark.parametrize("value", TRICKY_STRINGS)
def test_round_trip_tricky_strings_everywhere(value):
    data = {value: [value, {value: value}], "list": [[value]]}
    assert yamlish.loads(yamlish.dumps(data)) == data
    assert yamlish.loads(yamlish.dumps(value)) == value
