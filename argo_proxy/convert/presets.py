"""Agent presets: named virtual models that bind a base model, tool sources, a system prompt,
an iteration cap and sampling defaults. Pure: the app builds them once from the config."""

from __future__ import annotations

from ..models import lookup_key as model_key

SAMPLING = ("temperature", "top_p", "max_tokens")


class Preset:
    __slots__ = ("name", "model", "tools", "system", "max_tool_iterations", "sampling",
                 "show_tool_activity", "description")

    def __init__(self, name, spec):
        self.name = name
        self.model = spec["model"]
        self.tools = spec.get("tools")                  # tool source names; None: all sources
        self.system = spec.get("system")
        self.max_tool_iterations = spec.get("max_tool_iterations")
        self.sampling = {k: spec[k] for k in SAMPLING if k in spec}
        self.show_tool_activity = spec.get("show_tool_activity")
        self.description = spec.get("description") or "argo-proxy preset on %s" % self.model


def build(presets) -> dict:
    """{lookup key: Preset} from the config's `presets` mapping."""
    return {model_key(name): Preset(name, spec) for name, spec in (presets or {}).items()}


def apply(body, preset):
    """The preset's system prompt first and its sampling defaults (the client's own win)."""
    if preset.system:
        messages = body.get("messages") or []
        body["messages"] = [{"role": "system", "content": preset.system}] + list(messages)
    for key, value in preset.sampling.items():
        body.setdefault(key, value)


def entries(presets, created) -> list:
    """OpenAI-shaped /v1/models entries for the presets (listed first)."""
    return [{"id": p.name, "object": "model", "created": created, "owned_by": "argo-proxy",
             "internal_name": p.model, "description": p.description} for p in presets.values()]
