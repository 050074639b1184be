"""Tests for argo_proxy.convert.tool_results (MCP/LlamaStack shapes and exposed names)."""

from __future__ import annotations

import base64
import copy
import re

import pytest

from argo_proxy.convert import tool_results as tr
from tests.fakes.fake_llamastack import PIXEL_PNG, tools_new, tools_old

VALID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def text_of(*items, **extra):
    result = {"content": list(items)}
    result.update(extra)
    return tr.result_text(result, 10000)


# -- result_text ----------------------------------------------------------------------

def test_text_items_are_joined_with_newlines():
    assert text_of({"type": "text", "text": "one"}, {"type": "text", "text": "two"}) == ("one\ntwo", False)


def test_structured_content_is_used_only_without_text():
    assert text_of(structuredContent={"temp": 21, "city": "Zürich"}) == (
        '{"temp":21,"city":"Zürich"}', False)
    assert text_of({"type": "text", "text": "21 degrees"}, structuredContent={"temp": 21}) == (
        "21 degrees", False)


def test_structured_content_comes_first_next_to_placeholders():
    text, _ = text_of({"type": "image", "data": "AAAA", "mimeType": "image/png"},
                      structuredContent={"ok": True})
    assert text == '{"ok":true}\n[image: image/png, 3 bytes]'


def test_image_and_audio_become_placeholders_with_decoded_size():
    size = len(base64.b64decode(PIXEL_PNG))
    text, _ = text_of({"type": "image", "data": PIXEL_PNG, "mimeType": "image/png"},
                      {"type": "audio", "data": base64.b64encode(b"x" * 10).decode(),
                       "mimeType": "audio/wav"})
    assert text == "[image: image/png, %d bytes]\n[audio: audio/wav, 10 bytes]" % size


@pytest.mark.parametrize("raw", [b"", b"a", b"ab", b"abc", b"abcd", bytes(range(200))])
def test_base64_size_matches_decoded_length(raw):
    encoded = base64.encodebytes(raw).decode()  # with newlines, as some servers send it
    assert tr.base64_size(encoded) == len(raw)


def test_resource_link_summary():
    text, _ = text_of({"type": "resource_link", "uri": "file:///a.txt", "name": "a.txt",
                       "mimeType": "text/plain"}, {"type": "resource_link", "uri": "https://x/y"})
    assert text == "[resource link: a.txt file:///a.txt (text/plain)]\n[resource link: https://x/y]"


def test_embedded_resources_text_inlined_blob_summarised():
    text, _ = text_of({"type": "resource", "resource": {"uri": "mem://n", "text": "hello"}},
                      {"type": "resource", "resource": {"uri": "mem://b", "mimeType": "application/pdf",
                                                        "blob": base64.b64encode(b"12345").decode()}})
    assert text == "[resource mem://n]\nhello\n[embedded resource mem://b: application/pdf, 5 bytes]"


def test_unknown_item_type_is_named():
    assert text_of({"type": "hologram", "data": "..."}) == ("[hologram content]", False)


def test_empty_result():
    assert tr.result_text({"content": []}, 100) == (tr.EMPTY_RESULT, False)
    assert tr.result_text({}, 100) == (tr.EMPTY_RESULT, False)
    assert text_of({"type": "text", "text": ""}) == (tr.EMPTY_RESULT, False)


def test_error_results_are_flagged_and_prefixed_unless_they_say_so():
    assert text_of({"type": "text", "text": "division by zero"}, isError=True) == (
        "Error: division by zero", True)
    assert text_of({"type": "text", "text": "Error executing tool boom"}, isError=True) == (
        "Error executing tool boom", True)
    assert tr.result_text({"content": [], "isError": True}, 100) == ("Error: " + tr.EMPTY_RESULT, True)


def test_truncation_marks_what_was_cut():
    text, _ = tr.result_text({"content": [{"type": "text", "text": "x" * 150}]}, 100)
    assert text == "x" * 100 + "\u2026 [truncated: 50 more characters]"
    assert tr.truncate("short", 100) == "short"
    assert tr.truncate("x" * 200, None) == "x" * 200


def test_error_text():
    assert tr.error_text("add", "timed out after 5 s") == "Error calling add: timed out after 5 s"


# -- openai_function ------------------------------------------------------------------

def test_openai_function_keeps_every_schema_key():
    schema = {"type": "object", "title": "T", "$defs": {"u": {"type": "string"}},
              "properties": {"u": {"$ref": "#/$defs/u"}}, "additionalProperties": False,
              "required": ["u"]}
    original = copy.deepcopy(schema)
    tool = tr.openai_function("f", "does f", schema)
    assert tool == {"type": "function", "function": {"name": "f", "description": "does f",
                                                     "parameters": original}}
    assert "strict" not in tool["function"]
    assert schema == original  # the input is not modified


@pytest.mark.parametrize("schema", [None, {}, "not a schema"])
def test_openai_function_without_schema(schema):
    tool = tr.openai_function("f", None, schema)
    assert tool["function"] == {"name": "f", "description": "",
                                "parameters": {"type": "object", "properties": {}}}


# -- LlamaStack tools -----------------------------------------------------------------

def test_llamastack_new_shape_copies_input_schema():
    echo = [t for t in tools_new() if t["name"] == "echo"][0]
    tool = tr.llamastack_tool_to_mcp(echo)
    assert tool == {"name": "echo", "description": echo["description"],
                    "inputSchema": echo["input_schema"]}
    assert tool["inputSchema"]["properties"]["shout"]["default"] is False


def test_llamastack_old_shape_builds_schema_lossily():
    echo = [t for t in tools_old() if t["identifier"] == "echo"][0]
    tool = tr.llamastack_tool_to_mcp(echo)
    assert tool["name"] == "echo"
    # 0.2.x says every MCP parameter is required and drops defaults: we can only pass it on
    assert tool["inputSchema"] == {"type": "object", "properties": {
        "text": {"type": "string"}, "shout": {"type": "boolean"}}, "required": ["text", "shout"]}


def test_llamastack_old_shape_descriptions_defaults_arrays_and_types():
    tool = tr.llamastack_tool_to_mcp({"identifier": "search", "description": None, "parameters": [
        {"name": "query", "parameter_type": "str", "description": "what", "required": True, "default": None},
        {"name": "tags", "parameter_type": "array", "description": "", "required": False, "default": None},
        {"name": "limit", "parameter_type": "int", "description": "", "required": False, "default": 5},
        {"name": "odd", "parameter_type": "weird-type", "required": False}]})
    assert tool == {"name": "search", "description": "", "inputSchema": {"type": "object", "properties": {
        "query": {"type": "string", "description": "what"},
        "tags": {"type": "array", "items": {}},
        "limit": {"type": "integer", "default": 5},
        "odd": {"type": "string"}}, "required": ["query"]}}


def test_llamastack_old_shape_without_parameters_and_nameless_tool():
    pixel = [t for t in tools_old() if t["identifier"] == "pixel"][0]
    assert tr.llamastack_tool_to_mcp(pixel)["inputSchema"] == {"type": "object", "properties": {}}
    with pytest.raises(ValueError):
        tr.llamastack_tool_to_mcp({"description": "no name"})


# -- LlamaStack results ---------------------------------------------------------------

def test_llamastack_text_result():
    result = {"content": [{"type": "text", "text": "5"}], "error_message": None, "error_code": 0,
              "metadata": None}
    assert tr.llamastack_result_to_mcp(result) == {"content": [{"type": "text", "text": "5"}],
                                                   "isError": False}


@pytest.mark.parametrize("content", ["5", {"type": "text", "text": "5"}, ["5"]])
def test_llamastack_content_as_string_item_or_list(content):
    out = tr.llamastack_result_to_mcp({"content": content, "error_code": None})
    assert out == {"content": [{"type": "text", "text": "5"}], "isError": False}


def test_llamastack_image_with_data_and_with_url():
    out = tr.llamastack_result_to_mcp({"content": [
        {"type": "image", "image": {"url": None, "data": PIXEL_PNG}},
        {"type": "image", "image": {"url": {"uri": "https://x/cat.jpg"}, "data": None}}]})
    assert out["content"][0] == {"type": "image", "data": PIXEL_PNG, "mimeType": "image/png"}
    assert out["content"][1] == {"type": "resource_link", "uri": "https://x/cat.jpg", "name": "image"}
    text, is_error = tr.result_text(out, 1000)
    assert text == "[image: image/png, %d bytes]\n[resource link: image https://x/cat.jpg]" % len(
        base64.b64decode(PIXEL_PNG))
    assert not is_error


def test_llamastack_error_code_and_error_message():
    boom = tr.llamastack_result_to_mcp({"content": [{"type": "text", "text": "Error executing tool boom"}],
                                        "error_message": None, "error_code": 1})
    assert boom["isError"] is True
    web = tr.llamastack_result_to_mcp({"content": None, "error_message": "quota exceeded",
                                       "error_code": None})
    assert web == {"content": [{"type": "text", "text": "quota exceeded"}], "isError": True}
    assert tr.result_text(web, 100) == ("Error: quota exceeded", True)


def test_sniff_image():
    assert tr.sniff_image(PIXEL_PNG) == "image/png"
    assert tr.sniff_image(base64.b64encode(b"\xff\xd8\xff\xe0rest").decode()) == "image/jpeg"
    assert tr.sniff_image("not base64!!") is None


# -- names ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["add", "get-time", "A_b-9", "x" * 64])
def test_safe_name_keeps_valid_names(name):
    assert tr.safe_name(name) == name


@pytest.mark.parametrize("name", ["fs.read_file", "get time", "météo", "名前", "", "x" * 100,
                                  "a" * 64 + ".", "\U0001F600"])
def test_safe_name_always_valid(name):
    assert VALID.match(tr.safe_name(name))
    assert tr.safe_name(name) == tr.safe_name(name)  # deterministic


def test_safe_name_readable_and_distinct():
    assert tr.safe_name("fs.read_file").startswith("fs_read_file_")
    alike = ["a.b", "a b", "a/b", "a_b"]
    assert len(set(tr.safe_name(n) for n in alike)) == 4
    long_a, long_b = "t" * 99 + "a", "t" * 99 + "b"
    assert tr.safe_name(long_a) != tr.safe_name(long_b)
    assert len(tr.safe_name(long_a)) == 64


def test_unique_names_without_collisions():
    names = tr.unique_names([("fs", None, "read"), ("web", None, "fetch")])
    assert names == {"read": ("fs", "read"), "fetch": ("web", "fetch")}


def test_unique_names_prefix():
    names = tr.unique_names([("fs", "files", "read"), ("web", None, "read")])
    assert names == {"files_read": ("fs", "read"), "read": ("web", "read")}


def test_unique_names_collision_prefixes_the_later_source():
    names = tr.unique_names([("a", None, "add"), ("b", None, "add"), ("c", None, "add"),
                             ("b", None, "sub")])
    assert names == {"add": ("a", "add"), "b_add": ("b", "add"), "c_add": ("c", "add"),
                     "sub": ("b", "sub")}
    assert list(names) == ["add", "b_add", "c_add", "sub"]  # in entry order


def test_unique_names_collision_after_sanitising_and_with_a_prefixed_name():
    names = tr.unique_names([("a", None, "x.y"), ("b", None, "x.y"), ("c", None, "b_add"),
                             ("d", None, "add"), ("b", None, "add")])
    assert len(names) == 5
    assert all(VALID.match(n) for n in names)
    assert names[tr.safe_name("x.y")] == ("a", "x.y")
    assert names[tr.safe_name("b_x.y")] == ("b", "x.y")
    assert names["b_add"] == ("c", "b_add") and names["add"] == ("d", "add")
    assert names["b_add_2"] == ("b", "add")  # "b_add" was taken by c's own tool


def test_unique_names_same_tool_twice_from_one_source_kept_once():
    assert tr.unique_names([("a", None, "t"), ("a", None, "t")]) == {"t": ("a", "t")}


def test_unique_names_is_deterministic():
    entries = [("s%d" % (i % 3), None, "tool%d" % (i % 4)) for i in range(12)]
    assert tr.unique_names(entries) == tr.unique_names(list(entries))
