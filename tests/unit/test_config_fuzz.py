"""Seeded fuzz of config.yaml: a malformed file gives a one-line ConfigError, never a traceback.

Every generated file is a mutation of a realistic config (the README's examples: mcp_servers,
model_aliases, lists, nested mappings, quotes) and is loaded through config.load.  The outcome
must be a Config, or a ConfigError whose message is one line that names the file and, for a
problem in the file itself, the line (`<path>:<line>: ...` for a bad value, `<path>: line N:
...` for a parse error).  Range checks made after loading (validate) name the key and its
source instead: `port (config file line 3): ...`.  A failure prints the seed, index and text.
Besides the generated files, every key of config.FIELDS (and its aliases) is tried with every
value of WRONG_VALUES.
"""

import os
import random
import re
import subprocess
import sys

import pytest

from argo_proxy import config
from argo_proxy.config import ConfigError

SEED = 20240912
CHUNKS = 8
PER_CHUNK = 300          # CHUNKS * PER_CHUNK generated files (2,400)
MAX_MESSAGE = 400        # characters after the path: long values are cut in messages

README_MINIMAL = """\
user: jdoe                      # your ANL user name (Argo requires it)
use_native_openai: true         # same as --native-openai
# argo_base_url: https://apps.inside.anl.gov/argoapi   # derive every Argo URL from one root
"""

README_MCP = """\
mcp_servers:                    # the common "mcpServers" shape (that key is accepted too)
  time:                         # a stdio server: started by the proxy
    command: uvx
    args: ["mcp-server-time", "--local-timezone", "UTC"]
    env: {TZ: UTC}
  search:                       # an HTTP server: Streamable HTTP, or legacy HTTP+SSE
    url: http://127.0.0.1:8931/mcp
    headers: {Authorization: "Bearer abc"}
    allow: [web_search, "get_*"]   # only these tools (deny: [...] drops tools)
    prefix: web                 # exposed as web_web_search
llamastack_url: http://localhost:8321    # LlamaStack <= 0.6 (0.7+ has no tool runtime: use MCP)
max_tool_iterations: 10         # rounds of tool execution before the proxy stops the loop
tool_timeout: 60                # seconds per tool call
tool_result_max_chars: 20000    # longer results are cut (and say so)
tool_cache_ttl: 300             # seconds a tool list is cached (MCP list_changed refreshes it)
mcp_startup: lazy               # or "startup": connect when the proxy starts
"""

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
_argo_model_url: https://apps-dev.inside.anl.gov/argoapi/api/v1/models/
tool_prompt: false
"""

FULL = """\
---
host: 127.0.0.1
port: 44497
user: 'j.doe'
proxy_api_key: "s3cret # not a comment"
argo_base_url: https://apps.inside.anl.gov/argoapi
model_aliases:
  haiku: gpt5mini
  "claude-haiku-4-5": 'argo:gpt-5-mini'
  sonnet: {}
allowed_hosts:
  - proxy.example
  - "10.0.0.5:44497"
cors_origins: ["http://localhost:3000", 'https://chat.example']
head_timeout: 10
max_body_mb: 100
keepalive_interval: 15.0
idle_timeout: 60
responses_store_max: 1000
responses_store_hours: 6
model_quirks: yes
mcpServers:
  files:
    command: npx
    args:
    - -y
    - "@modelcontextprotocol/server-filesystem"
    - /tmp
    env:
      DEBUG: "1"
    deny: []
  docs:
    url: "https://docs.example/mcp"
    headers:
      Authorization: Bearer abc
...
"""

FLOW_ROOT = """\
{port: 5000, user: "flow", model_aliases: {a: gpt4o, 'b c': "o3"}, cors_origins: [], verbose: on}
"""

BASES = [README_MINIMAL, README_MCP, CONFIG_2X, FULL, FLOW_ROOT, README_MINIMAL + README_MCP]

UNICODE = ["é", "日本語", "😀", "\u2028", "\u2029", "\x85", "\ufeff", "\u200b", "\u202e",
           "\xa0", "\u3000", "\ufffd", "\U0010ffff", "\u0301", "ключ"]
CONTROLS = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x9f"]
INDICATORS = list("-?:,[]{}#&*!|>'\"%@`\\~")
BAD_BYTES = [b"\xff", b"\xfe\xff", b"\xc3(", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80",
             b"\xe2\x82", b"\xc0\xaf"]

# YAML texts of values that are the wrong type (or out of range) for some or all fields
WRONG_VALUES = [
    "[1, 2]", "[a, b]", "{a: 1}", "{}", "[]", "\n  - a\n  - b", "\n  k: v\n  j: [1]",
    "true", "off", "1.5", "-3", "0", "-0.0", ".inf", "-.inf", ".nan", "1e400", "-1e400",
    "9" * 400, "-" + "9" * 400, "9" * 5000, "0x1F", "0o17", "~", "''", '""', "'text'",
    "plain text", "http://h:1/x", "ftp://nope/", '"\\0"', '"a\\x00b"', "'a b'", "lazy",
    "startup", '"  "', "|\n  block\n  text", ">-\n  folded", "[[[]]]", "{a: {b: {c: []}}}",
    "\"\\U0010ffff\"", "'%s'" % ("x" * 3000),
]


def _lines(text):
    return text.split("\n")


def _pick_line(rng, lines):
    return rng.randrange(len(lines)) if lines else 0


def m_tab_indent(rng, text):
    lines = _lines(text)
    i = _pick_line(rng, lines)
    lines[i] = rng.choice(["\t", "  \t", "\t  ", " \t"]) + lines[i].lstrip(" ")
    return "\n".join(lines)


def m_tab_anywhere(rng, text):
    pos = rng.randint(0, len(text))
    return text[:pos] + rng.choice(["\t", "\t\t", " \t"]) + text[pos:]


def m_reindent(rng, text):
    lines = _lines(text)
    i = _pick_line(rng, lines)
    if rng.random() < 0.5:
        lines[i] = " " * rng.randint(1, 5) + lines[i]
    else:
        lines[i] = lines[i][rng.randint(1, 4):] if lines[i].startswith(" ") else lines[i]
    return "\n".join(lines)


def m_unclose(rng, text):
    closers = [i for i, ch in enumerate(text) if ch in "'\"]}"]
    if closers and rng.random() < 0.7:
        i = rng.choice(closers)
        return text[:i] + text[i + 1:]
    opener = rng.choice(["'", '"', "[", "{", "[a, {b: 'c", '{x: "', "['", "[\"a\\"])
    marks = [m.end() for m in re.finditer(r": ", text)] or [len(text)]
    pos = rng.choice(marks)
    return text[:pos] + opener + text[pos:]


def m_duplicate_line(rng, text):
    lines = _lines(text)
    i = _pick_line(rng, lines)
    j = rng.randint(i, len(lines))
    lines.insert(j, lines[i])
    return "\n".join(lines)


def m_alias_twice(rng, text):
    extra = rng.choice(["mcpServers: {}", "mcp_servers: {}", "tool_prompt: true",
                        "_tool_prompt: no", "tool_prompting: on", "_argo_model_url: http://m/",
                        "argo_model_url: http://m/"])
    return text.rstrip("\n") + "\n" + extra + "\n"


def m_stray_colon(rng, text):
    pos = rng.randint(0, len(text))
    return text[:pos] + rng.choice([":", ": ", " :", "::", ": :", ":\t", " : "]) + text[pos:]


def m_unicode(rng, text):
    pos = rng.randint(0, len(text))
    return text[:pos] + rng.choice(UNICODE) + text[pos:]


def m_control(rng, text):
    pos = rng.randint(0, len(text))
    return text[:pos] + rng.choice(CONTROLS) + text[pos:]


def m_indicator(rng, text):
    pos = rng.randint(0, len(text))
    return text[:pos] + rng.choice(INDICATORS) + text[pos:]


def m_delete(rng, text):
    if not text:
        return text
    pos = rng.randrange(len(text))
    return text[:pos] + text[pos + rng.randint(1, 8):]


def m_truncate(rng, text):
    return text[:rng.randint(0, len(text))]


def m_swap_lines(rng, text):
    lines = _lines(text)
    i, j = _pick_line(rng, lines), _pick_line(rng, lines)
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def m_line_endings(rng, text):
    return text.replace("\n", rng.choice(["\r\n", "\r", "\n\r", "\r\r\n"]))


def m_long_line(rng, text):
    size = rng.choice([1000, 20000, 100000])
    line = rng.choice([
        "user: " + "x" * size,
        "user: '" + "ab''" * (size // 4) + "'",
        "user: \"" + "\\t" * (size // 2) + "\"",
        "user: '" + "''" * (size // 2),
        "model_aliases: {" + ", ".join("m%d: n" % n for n in range(size // 10)) + "}",
        "allowed_hosts: [" + "a, " * (size // 3) + "]",
        "port: " + "9" * size,
        "x" * size + ": 1",
        "# " + "#" * size,
        "host: " + " " * size + "h",
        "port: " + "1" + " " * size + "2",
    ])
    lines = _lines(text)
    lines.insert(rng.randint(0, len(lines)), line)
    return "\n".join(lines)


def m_deep(rng, text):
    depth = rng.choice([30, 62, 63, 64, 65, 300, 1000, 3000])
    kind = rng.randrange(5)
    if kind == 0:
        nest = "mcp_servers:\n" + "".join(" " * (n + 1) + "k%d:\n" % n for n in range(depth))
    elif kind == 1:
        nest = "model_aliases: " + "[" * depth + "]" * depth
    elif kind == 2:
        nest = "allowed_hosts: " + "{a: " * depth + "1" + "}" * depth
    elif kind == 3:
        nest = "cors_origins:\n" + "- " * depth + "x"
    else:
        nest = "allowed_hosts:\n" + "".join(" " * n + "- [\n" for n in range(depth))
    return text.rstrip("\n") + "\n" + nest + "\n"


def m_wrong_type(rng, text):
    field = rng.choice(config.FIELDS)
    key = rng.choice((field.name,) + tuple(field.aliases))
    line = "%s: %s" % (key, rng.choice(WRONG_VALUES))
    lines = [ln for ln in _lines(text) if not ln.startswith(key + ":")]
    if text.lstrip().startswith("{"):  # a root flow mapping: add the key inside it
        return "{%s: %s, %s" % (key, rng.choice(["[1]", "{}", "x y", "1.5", ".nan"]), text[1:])
    lines.insert(rng.randint(0, len(lines)), line)
    return "\n".join(lines)


def m_yaml_features(rng, text):
    snippet = rng.choice([
        "---", "...", "--- x", "... x", "--- # c", "%YAML 1.2", "a: &anchor 1", "b: *anchor",
        "c: !!str 1", "? complex", ": value", "- item", "-item", "key:", "key", "'quoted key' x",
        "|", "v: |9", "v: |0", "v: |+2x", "v: >\n    folded\n  back", "v: |\n\tx", "  - a\n- b",
        "\"k\\q\": 1", "\"k\\x4\": 1", "\"k\\U00110000\": 1", "k: \"\\u12\"", "{a: 1}: 2",
        "[a]: 1", "k: [a, b", "k: {a: 1, a: 2}", "k: [a,, b]", "k: {,}", "k: {a b: 1}",
        "k: [a]x", "k: 'a' b", "k: \"a\" # ok", "k: a: b", "k: a #b: c", "# only a comment",
        "k: @x", "k: `x`", "k: %x", "k: [- a]", "k: {? a}", "k: [a: b]", "k: -", "k: ? x",
    ])
    lines = _lines(text)
    lines.insert(rng.randint(0, len(lines)), snippet)
    return "\n".join(lines)


TEXT_MUTATIONS = [
    m_tab_indent, m_tab_anywhere, m_reindent, m_unclose, m_duplicate_line, m_alias_twice,
    m_stray_colon, m_unicode, m_control, m_indicator, m_delete, m_truncate, m_swap_lines,
    m_line_endings, m_long_line, m_deep, m_wrong_type, m_wrong_type, m_yaml_features,
]


def to_bytes(rng, text):
    """The file's bytes: UTF-8, now and then with broken or foreign encodings."""
    roll = rng.random()
    if roll < 0.9:
        return text.encode("utf-8", "surrogatepass")
    if roll < 0.97:
        data = text.encode("utf-8")
        pos = rng.randint(0, len(data))
        return data[:pos] + rng.choice(BAD_BYTES) + data[pos:]
    return text.encode(rng.choice(["utf-16", "utf-32", "latin-1"]), "replace")


def generate(seed, index):
    """The bytes of generated file number `index` (reproducible from seed and index alone)."""
    rng = random.Random("%d/%d" % (seed, index))
    text = rng.choice(BASES)
    for _ in range(rng.randint(1, 4)):
        text = rng.choice(TEXT_MUTATIONS)(rng, text)
    return to_bytes(rng, text)


def wrong_type_cases():
    """Every field (and alias) with every wrong value, as a top-level line of a real config."""
    cases = []
    for field in config.FIELDS:
        for key in (field.name,) + tuple(field.aliases):
            for value in WRONG_VALUES:
                cases.append((README_MINIMAL + "%s: %s\n" % (key, value)).encode("utf-8"))
    return cases


# ---------------------------------------------------------------- the check

_FILE_ERROR = re.compile(r"(?::(\d+)|: line (\d+)): \S")
_VALIDATION_ERROR = re.compile(r"\w+ \(([^()]*)\): \S")


def check(path, data):
    """None when loading `data` from `path` behaves; else what went wrong."""
    with open(path, "wb") as fh:
        fh.write(data)
    try:
        config.load(explicit_path=path, environ={}, cli={"user": "tester"})
        return None
    except ConfigError as exc:
        message = str(exc)
    except Exception as exc:  # any other exception (RecursionError too) is what the fuzz hunts
        return "%s: %s" % (type(exc).__name__, str(exc)[:300])
    if "\n" in message or "\r" in message:
        return "message is more than one line: %r" % message[:500]
    if message.startswith(path):
        rest = message[len(path):]
        if not _FILE_ERROR.match(rest):
            return "message names the file but no line: %r" % message[:500]
        if len(rest) > MAX_MESSAGE:
            return "message too long (%d characters): %r" % (len(rest), message[:500])
        return None
    match = _VALIDATION_ERROR.match(message)
    if not match:
        return "message names neither the file nor a key and its source: %r" % message[:500]
    source = match.group(1)
    if source.startswith("config file") and not re.match(r"config file line \d+$", source):
        return "validation message without the file's line: %r" % message[:500]
    return None


def run_cases(tmp_path, cases, label):
    path = str(tmp_path / "config.yaml")
    failures = []
    for index, data in cases:
        problem = check(path, data)
        if problem:
            failures.append("%s index %d: %s\n    file: %r" % (label, index, problem, data[:2000]))
    assert not failures, "%d of %d failed:\n%s" % (
        len(failures), len(cases), "\n".join(failures[:10]))


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_generated_configs(tmp_path, chunk):
    indexes = range(chunk * PER_CHUNK, (chunk + 1) * PER_CHUNK)
    run_cases(tmp_path, [(i, generate(SEED, i)) for i in indexes], "seed %d" % SEED)


def test_every_field_with_every_wrong_value(tmp_path):
    cases = wrong_type_cases()
    assert len(cases) >= 2000
    run_cases(tmp_path, list(enumerate(cases)), "wrong-type case")


def test_generated_files_are_varied(tmp_path):
    """The fuzz reaches the paths it is meant to: parse errors, value errors and clean loads."""
    path = str(tmp_path / "config.yaml")
    outcomes = {"loaded": 0, "parse": 0, "value": 0, "validation": 0}
    for index in range(300):
        with open(path, "wb") as fh:
            fh.write(generate(SEED, index))
        try:
            config.load(explicit_path=path, environ={}, cli={"user": "tester"})
            outcomes["loaded"] += 1
        except ConfigError as exc:
            message = str(exc)
            if message.startswith(path + ": line "):
                outcomes["parse"] += 1
            elif message.startswith(path):   # a bad value, or a failed check of the whole config
                outcomes["value"] += 1
            else:                            # a failed check of a value not from the file
                outcomes["validation"] += 1
    minimum = {"loaded": 20, "parse": 100, "value": 13, "validation": 0}
    assert all(outcomes[kind] >= minimum[kind] for kind in outcomes), outcomes


# ---------------------------------------------------------------- targeted regressions

# Each of these once ended in a traceback (UnicodeDecodeError, RecursionError, OverflowError)
# or loaded a value the proxy could not use later (NUL in a path, nan or inf as a limit, an
# alias silently overriding its field).
@pytest.mark.parametrize("data, where", [
    (b"user: jdoe\nhost: caf\xe9\n", ": line 2: "),                 # Latin-1, not UTF-8
    (b"\xff\xfeu\x00s\x00", ": line 1: "),                          # UTF-16
    (b"user: a\x00b\n", ": line 1: "),                              # NUL byte
    (b"port: 1\nuser: \x1b[31mred\n", ": line 2: "),                # terminal escape
    (("model_aliases: " + "[" * 5000 + "]" * 5000 + "\n").encode(), ": line 1: "),
    (("a:\n" + "".join(" " * n + "b:\n" for n in range(1, 2000))).encode(), ": line "),
    (("cors_origins:\n" + "- " * 3000 + "x\n").encode(), ": line 2: "),
    (b"port: .inf\n", ":1: "),
    (b"max_body_mb: .nan\n", ":1: "),
    (b"read_timeout: 1e400\n", ":1: "),
    (("idle_timeout: " + "9" * 400 + "\n").encode(), ":1: "),
    (b"socket: \"/tmp/a\\0b\"\n", ":1: "),
    (b"mcp_servers: {}\nmcpServers: {}\n", ":2: mcpServers sets mcp_servers again"),
])
def test_bad_files_found_by_the_fuzz_name_the_line(tmp_path, data, where):
    path = str(tmp_path / "c.yaml")
    assert check(path, data) is None
    with pytest.raises(ConfigError) as info:
        config.load(explicit_path=path, environ={}, cli={"user": "tester"})
    assert str(info.value).startswith(path + where), str(info.value)


@pytest.mark.parametrize("text, where", [
    ("port: '%s'\n" % ("9x" * 50000), ":1: port must be a whole number, got '9x9x"),
    ("user: jdoe\nhost: 'h' %s\n" % ("z" * 50000), ": line 2: unexpected text after value: 'zzz"),
    ("model_aliases: {%s: 1, %s: 2}\n" % ("k" * 9999, "k" * 9999), ": line 1: duplicate key 'kkk"),
])
def test_long_value_is_cut_in_the_message(tmp_path, text, where):
    path = str(tmp_path / "c.yaml")
    with open(path, "w") as fh:
        fh.write(text)
    with pytest.raises(ConfigError) as info:
        config.load(explicit_path=path, environ={}, cli={"user": "tester"})
    message = str(info.value)
    assert message.startswith(path + where) and len(message) < len(path) + 150, message


def test_cli_reports_a_bad_config_in_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"user: jdoe\nmodel_aliases:\n  haiku: [gpt5mini\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root, HOME=str(tmp_path))
    for var in ("ARGO_USER", "PORT", "VERBOSE", "LLAMASTACK_URL"):
        env.pop(var, None)
    proc = subprocess.run([sys.executable, "-m", "argo_proxy", str(path), "--validate"],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.endswith("\n"), proc.stderr
    assert str(path) + ": line 3: " in proc.stderr, proc.stderr
