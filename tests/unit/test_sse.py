import random

import pytest

from argo_proxy.errors import ProxyError
from argo_proxy.sse import EventSplitter, json_events

STREAM = (b"data: {\"a\": 1}\n\n: comment\n\nevent: x\r\ndata: y\r\n\r\n"
          b"data: \xc3\xa9\n\ndata: z\r\rdata: [DONE]\n\n")
EVENTS = [b'data: {"a": 1}\n\n', b": comment\n\n", b"event: x\r\ndata: y\r\n\r\n",
          b"data: \xc3\xa9\n\n", b"data: z\r\r", b"data: [DONE]\n\n"]


@pytest.mark.parametrize("seed", range(30))
def test_splitter_is_byte_exact_for_any_read_sizes(seed):
    rnd = random.Random(seed)
    splitter, out, i = EventSplitter(), [], 0
    while i < len(STREAM):
        n = rnd.randint(1, 7)
        out += splitter.feed(STREAM[i:i + n])
        i += n
    assert out == EVENTS and splitter.rest() == b""


def test_splitter_keeps_a_partial_event_and_many_events_in_one_read():
    splitter = EventSplitter()
    big = b"".join(b"data: %d\n\n" % i for i in range(20000))
    assert len(splitter.feed(big + b"data: par")) == 20000
    assert splitter.feed(b"tial\n\n") == [b"data: partial\n\n"]
    assert splitter.feed(b"data: tail") == [] and splitter.rest() == b"data: tail"


def test_json_events_stop_at_done_and_reject_garbage():
    chunks = [b'data: {"x": 1}\n\ndata: [DONE]\n\n', b"trailing"]
    assert list(json_events(iter(chunks))) == [{"x": 1}]
    with pytest.raises(ProxyError) as info:
        list(json_events(iter([b"data: [1, 2]\n\n"])))
    assert info.value.status == 502
    with pytest.raises(ProxyError):
        list(json_events(iter([b'data: {"error": {"message": "boom"}}\n\n'])))
