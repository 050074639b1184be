"""Reading the hub's reply (an OpenAI chat.completion) the same way for every surface."""

from __future__ import annotations

from ..errors import ProxyError


def first_choice(completion):
    """(message, finish_reason) of choice 0; a 502 when the upstream's reply has none."""
    if not isinstance(completion, dict):
        raise ProxyError(502, "The upstream reply is not a JSON object.", source="upstream")
    choices = completion.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ProxyError(502, "The upstream reply has no choices.", source="upstream")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise ProxyError(502, "The upstream reply's choices[0].message is not an object.",
                         source="upstream")
    return message, choices[0].get("finish_reason")


def message_text(message) -> str:
    """The message's text; text parts joined (some servers answer with parts); "" if none."""
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content
                          if isinstance(p, dict) and isinstance(p.get("text"), str))
    return content if isinstance(content, str) else ""
