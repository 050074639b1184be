"""MCP client: the initialize handshake, tools/list and tools/call (plain or as tasks), and
the client features (sampling, roots, a declined elicitation) over stdio or HTTP.

    client = connect("time", {"command": "mcp-server-time", "args": [...]})   # starts nothing
    tools = client.list_tools()            # connects and initializes on first use
    result = client.call_tool("get_current_time", {"timezone": "UTC"}, timeout=30)
    client.close()

The protocol logic every transport shares is `BaseClient` (mcp_base.py); stdio is
`StdioClient` (mcp_stdio.py); Streamable HTTP and legacy HTTP+SSE are `HttpClient`
(mcp_http.py), which does its HTTP through the proxy's one pooled client (upstream.Upstream).
This module only picks the transport; it re-exports the names callers use.
Protocol facts: shared/spec/tools-and-mcp.md section 3.
"""

from __future__ import annotations

from .mcp_base import (HANDSHAKE_TIMEOUT, LIST_TIMEOUT, OFFERED_VERSION, SAMPLING_MAX_TOKENS,
                       SUPPORTED_VERSIONS, TRANSPORT_ERROR_IDS, BaseClient, ConnectionLost, MCPError,
                       RequestCancelled, RequestTimedOut, task_support)
from .mcp_http import HttpClient
from .mcp_stdio import (STDERR_LINE_CHARS, STDERR_LINES, STDERR_MESSAGE_CHARS, STOP_GRACE,
                        StdioClient)

__all__ = ["connect", "BaseClient", "HttpClient", "MCPError", "ConnectionLost", "RequestCancelled",
           "RequestTimedOut", "StdioClient", "HANDSHAKE_TIMEOUT", "LIST_TIMEOUT", "OFFERED_VERSION",
           "SAMPLING_MAX_TOKENS", "SUPPORTED_VERSIONS", "TRANSPORT_ERROR_IDS", "STDERR_LINES",
           "STDERR_LINE_CHARS", "STDERR_MESSAGE_CHARS", "STOP_GRACE", "task_support"]


def connect(name: str, spec: dict, client=None, log=None, sampling=False, sampling_max_tokens=None,
            roots=None, tasks=True):
    """A lazy client for one server in the common `mcpServers` shape; nothing starts yet.

    client: the shared upstream.Upstream an HTTP server is reached through (None: the MCP
    client makes, and later closes, its own).
    Client features (the proxy's per-server options, not part of `spec`): sampling (declare
    it and answer sampling/createMessage through the ToolSet's sampler; off by default),
    sampling_max_tokens (the cap on a server's maxTokens; 4096), roots (directory paths
    declared as roots and listed as file:// URIs), tasks (call tools that require it as
    tasks; on). ValueError for a bad spec or option."""
    if not isinstance(spec, dict):
        raise ValueError("MCP server %r: the spec must be a mapping, not %s" % (name, type(spec).__name__))
    features = {"sampling": sampling, "sampling_max_tokens": sampling_max_tokens, "roots": roots,
                "tasks": tasks}
    if spec.get("command"):
        return StdioClient(name, spec, log, **features)
    if spec.get("url"):
        return HttpClient(name, spec, log, client=client, **features)
    raise ValueError("MCP server %r needs either 'command' (a stdio server) or 'url' (an HTTP server)"
                     % name)
