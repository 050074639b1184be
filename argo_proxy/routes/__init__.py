"""Client-facing surfaces: thin I/O glue, one module per surface."""
