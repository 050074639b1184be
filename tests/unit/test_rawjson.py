"""convert/rawjson: the client's JSON text re-sent with only top-level values replaced."""

import json
import random

import pytest

from argo_proxy.convert import rawjson


def load(text):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return rawjson.loads(data, json.JSONDecoder())


def test_spans_point_at_each_top_level_value():
    text = ' { "model" : "gpt-4o" ,\n"messages":[{"model":"inner"}], "n": 1.5e3, "t":true}  '
    obj, raw = load(text)
    assert obj == json.loads(text)
    data = text.encode("utf-8")
    for key, (start, end) in raw.spans.items():
        assert json.loads(data[start:end]) == obj[key]


def test_splice_replaces_only_the_top_level_values_and_keeps_the_rest_verbatim():
    text = '{"messages":[{"role":"user","content":"caf\u00e9 \\u00e9 \\"model\\": x","model":"no"}],' \
           '  "model":"gpt4o","user":"client"}'
    obj, raw = load(text)
    obj["model"], obj["user"] = "gpt-4o-2024", "argo-user"
    out = raw.splice(obj, ("model", "user")).decode("utf-8")
    assert json.loads(out) == obj
    assert out == text.replace('"gpt4o"', '"gpt-4o-2024"').replace('"client"', '"argo-user"')


def test_a_new_key_is_added_at_the_front():
    obj, raw = load('{"model": "m", "messages": []}')
    obj["user"] = "u\u00e9"
    out = raw.splice(obj, ("model", "user"))
    assert json.loads(out) == obj and out.startswith(b'{"user":')


@pytest.mark.parametrize("change", ["added", "removed"])
def test_other_top_level_changes_refuse_the_splice(change):
    obj, raw = load('{"model": "m", "messages": [], "temperature": 1}')
    if change == "added":
        obj["max_tokens"] = 5
    else:
        del obj["temperature"]
    assert raw.splice(obj, ("model", "user")) is None


@pytest.mark.parametrize("text", ['[1, 2]', '"s"', '{"a": 1, "a": 2}', '{"a": 1} x', '{"a" 1}', '{"a": 1,}'])
def test_non_objects_repeats_and_malformed_text_behave_as_json_loads(text):
    try:
        expected = json.loads(text)
    except ValueError as exc:
        with pytest.raises(ValueError) as info:
            load(text)
        assert str(info.value) == str(exc)
        return
    obj, raw = load(text)
    assert obj == expected and raw is None


def test_utf16_bodies_are_decoded_as_json_does_and_never_spliced():
    obj, raw = load('{"model": "m\u00e9"}'.encode("utf-16"))
    assert obj == {"model": "m\u00e9"} and raw is None


def test_spans_are_byte_offsets_in_non_ascii_bodies():
    text = '{"a": "\U0001f642 caf\u00e9 \u6f22", "model": "x", "b": ["\u00e9"]}'
    obj, raw = load(text)
    data = text.encode("utf-8")
    assert data[slice(*raw.spans["model"])] == b'"x"' and data[raw.brace:raw.brace + 1] == b"{"
    obj["model"] = "y\u00e9"
    assert json.loads(raw.splice(obj, ("model",))) == obj


def test_random_objects_round_trip():
    rng = random.Random(7)

    def value(depth):
        kind = rng.randrange(6 if depth < 3 else 4)
        makers = [lambda: rng.random() * 1e6, lambda: rng.randrange(-9, 9),
                  lambda: "x\u00e9\n\"\\" * rng.randrange(3), lambda: None,
                  lambda: [value(depth + 1) for _ in range(rng.randrange(3))],
                  lambda: {"k%d" % i: value(depth + 1) for i in range(rng.randrange(3))}]
        return makers[kind]()

    for _ in range(300):
        obj = {"model": "m", **{"f%d" % i: value(0) for i in range(rng.randrange(6))}}
        text = json.dumps(obj, indent=rng.choice([None, 1]), ensure_ascii=rng.random() < 0.5,
                          separators=rng.choice([None, (",", ":"), (" , ", " : ")]))
        parsed, raw = load(text)
        assert parsed == obj
        parsed["model"], parsed["user"] = "other", "u"
        assert json.loads(raw.splice(parsed, ("model", "user"))) == parsed
