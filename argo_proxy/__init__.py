"""argo-proxy: an OpenAI-compatible gateway to Argonne's Argo LLM service (stdlib only)."""

__version__ = "0.1.0"
