"""HipGenerator agent: CLI, settings and LLM backends."""
