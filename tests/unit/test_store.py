"""The in-memory Responses store: count and age bounds, conversations, item lookup."""

from argo_proxy.store import ResponseStore


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def response(rid, *texts):
    return {"id": rid, "output": [{"id": "%s_out%d" % (rid, i), "type": "message", "text": t}
                                  for i, t in enumerate(texts)]}


def test_conversation_is_input_then_output():
    store = ResponseStore()
    store.put(response("r1", "hello"), [{"role": "user", "content": "hi"}])
    assert store.conversation("r1") == [{"role": "user", "content": "hi"},
                                        {"id": "r1_out0", "type": "message", "text": "hello"}]
    assert store.conversation("nope") is None
    assert store.item("r1_out0")["text"] == "hello" and store.item("zz") is None


def test_count_bound_drops_the_oldest():
    store = ResponseStore(max_items=2)
    for rid in ("a", "b", "c"):
        store.put(response(rid), [])
    assert store.get("a") is None and store.get("b") and store.get("c")


def test_age_bound_expires():
    clock = Clock()
    store = ResponseStore(max_age=10, clock=clock)
    store.put(response("a"), [])
    clock.now = 5
    store.put(response("b"), [])
    clock.now = 12
    assert store.get("a") is None and store.get("b") is not None


def test_delete_and_disabled_store():
    store = ResponseStore()
    store.put(response("a"), [])
    assert store.delete("a") and not store.delete("a") and store.get("a") is None
    off = ResponseStore(max_items=0)
    off.put(response("a"), [])
    assert off.get("a") is None
