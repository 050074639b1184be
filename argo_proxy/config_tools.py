"""Checks of the tool settings in a config: MCP servers, presets, model aliases (config.validate
calls `validate`)."""

from __future__ import annotations


def validate(cfg, fail):
    """Tool sources, presets and model names."""
    if cfg.mcp_startup not in ("lazy", "startup"):
        fail("mcp_startup", "must be lazy or startup, got %r" % cfg.mcp_startup)
    if cfg.max_tool_iterations < 0 or cfg.tool_timeout <= 0 or cfg.tool_result_max_chars < 100:
        fail("max_tool_iterations", "tool limits must be positive (tool_result_max_chars at least 100)")
    if cfg.inject_tools not in (None, "all", "presets"):
        fail("inject_tools", "must be all or presets, got %r" % cfg.inject_tools)
    sources = set(cfg.mcp_servers or ()) | ({"llamastack"} if cfg.llamastack_url else set())
    for name, preset in (cfg.presets or {}).items():
        problem = preset_problem(preset, sources)
        if problem:
            fail("presets", "%r: %s" % (name, problem))
    for name, target in (cfg.model_aliases or {}).items():
        if not isinstance(target, str) or not target.strip():
            fail("model_aliases", "%r must name a model (a string), got %r" % (name, target))
    for name, spec in (cfg.mcp_servers or {}).items():
        problem = mcp_spec_problem(spec)
        if problem:
            fail("mcp_servers", "server %r: %s" % (name, problem))


def mcp_spec_problem(spec):
    """Why an mcp_servers entry cannot work, or None."""
    if not isinstance(spec, dict):
        return "must be a mapping with `command` (stdio) or `url` (HTTP)"
    if bool(spec.get("command")) == bool(spec.get("url")):
        return "needs exactly one of `command` (stdio server) or `url` (HTTP server)"
    if spec.get("url") and not str(spec["url"]).startswith(("http://", "https://")):
        return "url must start with http:// or https://"
    for key in ("args", "allow", "deny"):
        value = spec.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return "%s must be a list of strings" % key
    for key in ("env", "headers"):
        value = spec.get(key)
        if value is not None and not isinstance(value, dict):
            return "%s must be a mapping" % key
    if "sampling" in spec and not isinstance(spec["sampling"], bool):
        return "sampling must be true or false"
    value = spec.get("sampling_max_tokens")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        return "sampling_max_tokens must be a positive whole number"
    roots = spec.get("roots")
    if roots is not None and not (isinstance(roots, list) and all(isinstance(r, str) and r.strip()
                                                                  for r in roots)):
        return "roots must be a list of directory paths"
    return None


_PRESET_KEYS = {"model": str, "tools": list, "system": str, "max_tool_iterations": int,
                "temperature": (int, float), "top_p": (int, float), "max_tokens": int,
                "show_tool_activity": bool, "description": str}


def preset_problem(preset, sources):
    """Why a presets entry cannot work, or None."""
    if not isinstance(preset, dict):
        return "must be a mapping with at least `model`"
    if not isinstance(preset.get("model"), str) or not preset["model"].strip():
        return "needs `model`, the Argo model it runs on"
    for key, value in preset.items():
        kind = _PRESET_KEYS.get(key)
        if kind is None:
            return "unknown key %r (known: %s)" % (key, ", ".join(sorted(_PRESET_KEYS)))
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            return "%s has the wrong type (%r)" % (key, value)
    unknown = [t for t in preset.get("tools") or () if t not in sources]
    if unknown:
        return "tools names no configured tool source: %s (sources: %s)" % (
            ", ".join(map(str, unknown)), ", ".join(sorted(sources)) or "none")
    return None
