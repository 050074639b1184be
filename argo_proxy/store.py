"""Recent Responses API responses, kept in memory for `previous_response_id` and
GET/DELETE /v1/responses/{id}: bounded by count and by age, oldest dropped first."""

from __future__ import annotations

import collections
import threading
import time


class ResponseStore:
    def __init__(self, max_items=1000, max_age=6 * 3600.0, clock=time.monotonic):
        self.max_items = int(max_items)
        self.max_age = float(max_age)
        self._clock = clock
        self._items = collections.OrderedDict()   # id -> (stored at, response, input items)
        self._lock = threading.Lock()

    def put(self, response, input_items):
        """Keep a finished response with the whole input it answered (history included)."""
        if self.max_items <= 0:
            return
        with self._lock:
            self._items[response["id"]] = (self._clock(), response, list(input_items))
            self._items.move_to_end(response["id"])
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def get(self, rid):
        """(response, input items), or None if unknown or expired."""
        with self._lock:
            self._expire()
            found = self._items.get(rid)
        return None if found is None else (found[1], found[2])

    def delete(self, rid) -> bool:
        with self._lock:
            return self._items.pop(rid, None) is not None

    def conversation(self, rid):
        """Every item up to and including that response's output (for previous_response_id),
        or None."""
        found = self.get(rid)
        if found is None:
            return None
        response, inputs = found
        return inputs + list(response.get("output") or [])

    def item(self, item_id):
        """An output or input item by its id (for item_reference), or None."""
        with self._lock:
            entries = list(self._items.values())
        for _, response, inputs in reversed(entries):
            for item in list(response.get("output") or []) + inputs:
                if isinstance(item, dict) and item.get("id") == item_id:
                    return item
        return None

    def _expire(self):
        cutoff = self._clock() - self.max_age
        while self._items:
            first = next(iter(self._items.values()))
            if first[0] >= cutoff:
                return
            self._items.popitem(last=False)
