"""Pure request/response transforms (no sockets, no files)."""
