"""The Anthropic Messages API on top of the hub (OpenAI chat completions).

One import point for the surface; the work is in three modules:
- `anthropic_request`: Messages request -> chat body (`messages_to_chat`);
- `anthropic_reply`: chat.completion -> Message (`completion_to_message`), and a raw
  Anthropic event stream -> Message (`aggregate_stream`);
- `anthropic_stream`: hub stream pieces -> Anthropic SSE (`MessagesEncoder`).
"""

from __future__ import annotations

import time

from . import usage
from .anthropic_reply import (ERROR_STATUS, aggregate_stream, completion_to_message,
                              stop_reason)
from .anthropic_request import messages_to_chat
from .anthropic_stream import MessagesEncoder, sse_event

__all__ = ["ERROR_STATUS", "MessagesEncoder", "aggregate_stream", "completion_to_message",
           "count_tokens_estimate", "messages_to_chat", "model_entry", "model_list", "sse_event",
           "stop_reason"]


def count_tokens_estimate(body) -> int:
    """Estimated input tokens of a Messages request (system, messages and tools), using
    the proxy's ceil(bytes / 4) estimator on the converted chat body. Images are not
    counted. A malformed body is the same 400 the request itself would get."""
    chat, _notes = messages_to_chat(body)
    return usage.prompt_tokens(chat)


def model_list(entries, created) -> dict:
    """OpenAI-shaped model entries as Anthropic's model list (GET /v1/models with an
    `anthropic-version` header: Claude Code's model picker)."""
    data = [model_entry(e, created) for e in entries]
    return {"data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None}


def model_entry(entry, created) -> dict:
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
    return {"type": "model", "id": entry["id"], "display_name": entry["id"], "created_at": when}
