"""Tool injection: sources (MCP, LlamaStack) and the tool loop."""
