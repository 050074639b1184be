"""The OpenAI Responses API on top of chat (the hub format): the public face of
`responses_request` (request -> chat body), `responses_tools` (tool types <-> chat
functions), `responses_items` (replies, stored responses) and `responses_stream` (events).

    to_chat(body, history=None, lookup=None) -> (chat, ToolMap)
    response_from_completion(completion, model, request, tools=None) -> response
    ResponsesEncoder(model, request, tools=None, id=None, created=None)
    stored(response, input_items, history=None, lookup=None) -> record
    input_items_list(items, order="desc", after=None, limit=None) -> list object
"""

from __future__ import annotations

from .responses_items import (call_item, custom_input, function_call_item, input_items,
                              input_items_list, message_item, new_id, reasoning_item,
                              response_from_completion, response_object, stored, usage)
from .responses_request import to_chat
from .responses_stream import InputDecoder, ResponsesEncoder, encode
from .responses_tools import HOSTED, ToolMap, ToolRef, flat_name

__all__ = ["HOSTED", "InputDecoder", "ResponsesEncoder", "ToolMap", "ToolRef", "call_item",
           "custom_input", "encode", "flat_name", "function_call_item", "input_items",
           "input_items_list", "message_item", "new_id", "reasoning_item",
           "response_from_completion", "response_object", "stored", "to_chat", "usage"]
