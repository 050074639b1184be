"""Tests for argo_proxy.models (model registry)."""

from __future__ import annotations

import threading

import pytest

from argo_proxy import models

CREATED = 1700000000

NEW_FORMAT = {"object": "list", "data": [
    {"id": "GPT-4o", "object": "model", "created": 1786728978,
     "owned_by": "openai", "internal_id": "gpt4o"},
    {"id": "o3-mini", "object": "model", "owned_by": "openai",
     "internal_id": "gpto3mini"},
    {"id": "Claude Sonnet 4.6", "object": "model", "created": 1786728978,
     "owned_by": "anthropic", "internal_id": "claudesonnet46"},
    {"id": "Gemini 2.5 Pro", "object": "model", "owned_by": "google",
     "internal_id": "gemini25pro"},
    {"id": "Llama 4 Scout", "object": "model", "owned_by": "meta",
     "internal_id": "llama4scout"},
]}


def registry():
    return models.ModelRegistry(CREATED)


def upstream(payload):
    return lambda: payload


# --- resolution -----------------------------------------------------------

@pytest.mark.parametrize("name", [
    "argo:gpt-4o", "argo/gpt-4o", "ARGO:GPT-4O", "gpt-4o", "GPT4O", "gpt4o",
    "argo:gpt4o", "  argo:gpt-4o  ", "Argo/GPT-4o",
])
def test_resolve_gpt4o_forms(name):
    assert registry().resolve(name) == ("gpt4o", True)


@pytest.mark.parametrize("name,expected", [
    ("claude-sonnet-4.5", "claudesonnet45"),
    ("argo:claude-4.5-sonnet", "claudesonnet45"),
    ("argo:claude-opus-4.7", "claudeopus47"),
    ("argo:claude-4.7-opus", "claudeopus47"),
    ("argo:claude-haiku-4.5", "claudehaiku45"),
    ("argo:o1", "gpto1"),
    ("argo:gpt-o3-mini", "gpto3mini"),
    ("o4-mini", "gpto4mini"),
    ("argo:gpt-4.1-nano", "gpt41nano"),
    ("argo:gemini-3.1-flash-lite", "gemini31flashlite"),
    ("argo:text-embedding-3-small", "v3small"),
    ("text-embedding-ada-002", "ada002"),
])
def test_resolve_aliases(name, expected):
    assert registry().resolve(name) == (expected, True)


def test_internal_ids_resolve_to_themselves():
    reg = registry()
    for entry in reg.entries():
        iid = entry["internal_name"]
        assert reg.resolve(iid) == (iid, True)
    assert reg.resolve("CLAUDESONNET45") == ("claudesonnet45", True)


@pytest.mark.parametrize("name", [
    "gpt-9", "argo:gpt-4o-turbo", "claude-sonnet-9.9", "argo:", "argo:gpt",
    " Unknown Model ",
])
def test_unknown_names_unchanged(name):
    assert registry().resolve(name) == (name, False)


@pytest.mark.parametrize("name", [None, "", "   ", 42, ["gpt4o"]])
def test_non_string_or_empty(name):
    assert registry().resolve(name) == (name, False)


# --- family ---------------------------------------------------------------

@pytest.mark.parametrize("iid,fam", [
    ("gpt4o", "openai"), ("GPT5", "openai"), ("gpto3mini", "openai"),
    ("o1", "openai"), ("o3-mini", "openai"), ("o4mini", "openai"),
    ("ada002", "openai"), ("v3small", "openai"), ("V3LARGE", "openai"),
    ("text-embedding-3-small", "openai"), ("my-embedding", "openai"),
    ("claudesonnet45", "anthropic"), ("Claude-Opus", "anthropic"),
    ("gemini25pro", "google"), ("GEMINI35flash", "google"),
    ("llama4scout", "unknown"), ("", "unknown"), (None, "unknown"),
])
def test_family(iid, fam):
    assert models.family(iid) == fam


def test_registry_family_uses_resolved_id():
    reg = registry()
    assert reg.family("argo:claude-4.5-sonnet") == "anthropic"
    assert reg.family("argo:gemini-2.5-pro") == "google"
    assert reg.family("argo:text-embedding-3-large") == "openai"
    assert reg.family("argo:claude-new-thing") == "anthropic"
    assert reg.family("mystery") == "unknown"
    assert reg.family(None) == "unknown"


# --- parsing --------------------------------------------------------------

def test_parse_new_format():
    parsed = models.parse_model_list(NEW_FORMAT)
    assert parsed[2] == ("claudesonnet46", "Claude Sonnet 4.6", "anthropic")
    assert len(parsed) == 5


def test_parse_old_format():
    payload = {"data": [{"id": "gpt35", "model_name": "GPT-3.5 Turbo"}]}
    assert models.parse_model_list(payload) == [
        ("gpt35", "GPT-3.5 Turbo", None)]


def test_parse_plain_openai_shape_and_bare_list():
    payload = [{"id": "gpt4o", "object": "model", "created": 1,
                "owned_by": "system"}]
    assert models.parse_model_list(payload) == [("gpt4o", "gpt4o", "system")]


def test_parse_skips_malformed_entries():
    payload = {"data": [
        "gpt4o", None, 7, {}, {"id": ""}, {"id": None}, {"id": 5},
        {"object": "model"}, {"internal_id": "", "id": ""},
        {"id": "ok1"},
        {"id": "", "internal_id": "ok2"},
        {"id": "ok3", "model_name": ""},
    ]}
    assert models.parse_model_list(payload) == [
        ("ok1", "ok1", None), ("ok2", "ok2", None), ("ok3", "ok3", None)]


@pytest.mark.parametrize("payload", [
    None, "garbage", 42, {}, {"data": None}, {"data": "x"}, {"data": []}, [],
    {"data": [None, {}, {"id": ""}]},
])
def test_parse_rejects_unusable(payload):
    with pytest.raises(ValueError):
        models.parse_model_list(payload)


# --- alias generation -----------------------------------------------------

@pytest.mark.parametrize("iid,display,expected", [
    ("gpt5nano", "GPT-5 Nano", ["argo:gpt-5-nano"]),
    ("gpto3mini", "o3-mini", ["argo:gpt-o3-mini", "argo:o3-mini"]),
    ("claudesonnet45", "Claude Sonnet 4.5",
     ["argo:claude-sonnet-4.5", "argo:claude-4.5-sonnet"]),
    ("claudesonnet35v2", "Claude Sonnet 3.5 v2",
     ["argo:claude-sonnet-3.5-v2", "argo:claude-3.5-sonnet-v2"]),
    ("claudex", "Claude Sonnet", ["argo:claude-sonnet"]),
    ("claudey", "Claude", ["argo:claude"]),
    ("gemini25pro", "Gemini 2.5 Pro", ["argo:gemini-2.5-pro"]),
    ("gpt4o", "gpt4o", []),
    ("gpt4o", "GPT4O", []),
    ("gpt4o", "", []),
])
def test_aliases_for(iid, display, expected):
    assert models.aliases_for(iid, display) == expected


def test_short_claude_name_does_not_break_refresh():
    reg = registry()
    payload = {"data": [
        {"id": "Claude Next", "internal_id": "claudenext"},
        {"id": "Claude Sonnet 4.5", "internal_id": "claudesonnet45"},
    ]}
    report = reg.refresh(upstream(payload))
    assert report["ok"] is True
    assert reg.resolve("argo:claude-next") == ("claudenext", True)
    assert reg.resolve("claude-4.5-sonnet") == ("claudesonnet45", True)


# --- listing --------------------------------------------------------------

def test_openai_list_has_every_id_and_alias_once():
    reg = registry()
    listed = reg.openai_list()
    ids = [e["id"] for e in listed]
    assert len(ids) == len(set(ids))
    expected = set()
    for iid, aliases in models.BUILTIN_CHAT + models.BUILTIN_EMBEDDINGS:
        expected.add(iid)
        expected.update(aliases)
    assert set(ids) == expected
    assert all(e["created"] == CREATED and e["object"] == "model"
               for e in listed)
    stats = reg.stats()
    assert len(ids) == stats["models"] + stats["aliases"]


def test_openai_list_order_and_owner():
    listed = registry().openai_list()
    assert [e["id"] for e in listed[:2]] == ["gpt4o", "argo:gpt-4o"]
    assert [e["id"] for e in listed[-2:]] == [
        "v3large", "argo:text-embedding-3-large"]
    owner = dict((e["id"], e["owned_by"]) for e in listed)
    assert owner["argo:claude-opus-4.7"] == "anthropic"
    assert owner["gemini25pro"] == "google"
    assert owner["gpto1"] == "openai"
    assert owner["ada002"] == "openai"
    names = dict((e["id"], e["internal_name"]) for e in listed)
    assert names["argo:claude-4.6-sonnet"] == "claudesonnet46"


def test_unknown_family_owned_by():
    reg = registry()
    reg.refresh(upstream({"data": [
        {"id": "Llama 4 Scout", "internal_id": "llama4scout",
         "owned_by": "meta"},
        {"id": "mistral7b"},
    ]}))
    owner = dict((e["id"], e["owned_by"]) for e in reg.openai_list())
    assert owner["llama4scout"] == "meta"
    assert owner["argo:llama-4-scout"] == "meta"
    assert owner["mistral7b"] == "argo"


def test_get():
    reg = registry()
    alias = reg.get("argo:claude-4.5-sonnet")
    assert alias == {"id": "argo:claude-4.5-sonnet", "object": "model",
                     "created": CREATED, "owned_by": "anthropic",
                     "internal_name": "claudesonnet45"}
    assert reg.get("gpt4o")["id"] == "gpt4o"
    assert reg.get("GPT4O")["id"] == "gpt4o"
    assert reg.get("ARGO:GPT-4O")["id"] == "argo:gpt-4o"
    assert reg.get("v3small")["internal_name"] == "v3small"
    assert reg.get("nope") is None
    assert reg.get(None) is None
    reg.get("gpt4o")["id"] = "mutated"  # callers get copies
    assert reg.get("gpt4o")["id"] == "gpt4o"


def test_builtin_stats():
    stats = registry().stats()
    assert stats["source"] == "builtin"
    assert stats["models"] == len(models.BUILTIN_CHAT) + 3
    assert stats["by_family"] == {"openai": 18, "anthropic": 7, "google": 4}


# --- refresh --------------------------------------------------------------

def test_refresh_success():
    reg = registry()
    before = reg.stats()
    report = reg.refresh(upstream(NEW_FORMAT))
    assert report["ok"] is True
    assert report["source"] == "upstream"
    assert report["models_before"] == before["models"]
    assert report["aliases_before"] == before["aliases"]
    # 5 upstream chat models + 3 built-in embeddings
    assert report["models_after"] == 8
    assert report["aliases_after"] == reg.stats()["aliases"]
    assert report["added"] == ["llama4scout"]
    assert "gpt5" in report["removed"] and "gpt4o" not in report["removed"]
    assert "v3small" not in report["removed"]
    stats = reg.stats()
    assert stats["source"] == "upstream"
    assert stats["by_family"] == {"openai": 5, "anthropic": 1, "google": 1,
                                  "unknown": 1}
    assert reg.resolve("argo:claude-4.6-sonnet") == ("claudesonnet46", True)
    assert reg.resolve("argo:o3-mini") == ("gpto3mini", True)
    assert reg.resolve("argo:gpt-5") == ("argo:gpt-5", False)
    for name in ("argo:text-embedding-ada-002", "v3small", "v3large"):
        assert reg.resolve(name)[1] is True


def test_refresh_plain_ids_keep_builtin_aliases():
    reg = registry()
    report = reg.refresh(upstream({"data": [{"id": "gpt4o"},
                                            {"id": "v3small"}]}))
    assert report["ok"] is True
    assert reg.resolve("argo:gpt-4o") == ("gpt4o", True)
    ids = [e["id"] for e in reg.openai_list()]
    assert ids.count("v3small") == 1
    assert ids[-1] == "argo:text-embedding-3-large"


def test_refresh_duplicate_alias_first_wins():
    reg = registry()
    reg.refresh(upstream({"data": [
        {"id": "Shared Name", "internal_id": "modela"},
        {"id": "Shared Name", "internal_id": "modelb"},
        {"id": "Other", "internal_id": "modela"},
    ]}))
    assert reg.resolve("argo:shared-name") == ("modela", True)
    ids = [e["id"] for e in reg.openai_list()]
    assert ids.count("argo:shared-name") == 1
    assert ids.count("modela") == 1 and "modelb" in ids
    assert "argo:other" not in ids


def test_alias_never_shadows_an_internal_id():
    reg = registry()
    reg.refresh(upstream({"data": [
        {"id": "gpt4o", "internal_id": "gpt4o-latest"},
        {"id": "gpt4o"},
    ]}))
    assert reg.resolve("argo:gpt4o") == ("gpt4o", True)
    assert reg.resolve("gpt4o-latest") == ("gpt4o-latest", True)


def boom():
    raise RuntimeError("connection refused")


@pytest.mark.parametrize("fetch", [
    boom, upstream({"data": []}), upstream("garbage"), upstream(None),
    upstream({"data": [1, 2, {"id": ""}]}), lambda: 1 / 0,
])
def test_refresh_failure_keeps_table(fetch):
    reg = registry()
    reg.refresh(upstream(NEW_FORMAT))
    before_list = reg.openai_list()
    before = reg.stats()
    report = reg.refresh(fetch)
    assert report["ok"] is False
    assert report["error"]
    assert report["models_after"] == report["models_before"] == before["models"]
    assert report["aliases_after"] == report["aliases_before"]
    assert report["added"] == [] and report["removed"] == []
    assert reg.openai_list() == before_list
    assert reg.stats() == before


def test_refresh_failure_on_builtin_table():
    reg = registry()
    report = reg.refresh(boom)
    assert report["ok"] is False
    assert "connection refused" in report["error"]
    assert reg.stats()["source"] == "builtin"
    assert reg.resolve("argo:gpt-4o") == ("gpt4o", True)


def test_concurrent_resolve_during_refresh():
    reg = registry()
    other = {"data": [{"id": "GPT-4o", "internal_id": "gpt4o"},
                      {"id": "Claude Opus 4.7", "internal_id": "claudeopus47"}]}
    errors = []
    stop = threading.Event()
    names = ["argo:gpt-4o", "gpt4o", "claude-4.7-opus", "argo:gpt-5",
             "v3small", "unknown", None]

    def reader():
        try:
            for _ in range(3000):
                if stop.is_set():
                    break
                for name in names:
                    resolved, _known = reg.resolve(name)
                    assert resolved is not None or name is None
                    reg.family(name)
                    reg.get(name)
                reg.openai_list()
        except Exception as exc:  # reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(200):
            payload = NEW_FORMAT if i % 2 else other
            assert reg.refresh(upstream(payload))["ok"] is True
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not errors
    assert reg.resolve("argo:gpt-4o") == ("gpt4o", True)
    # the last refresh (i = 199) installed NEW_FORMAT
    assert reg.resolve("argo:claude-4.6-sonnet") == ("claudesonnet46", True)
