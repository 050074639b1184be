"""Tests that drive real coding agents (Claude Code, ...) through fakes and the proxy."""
