"""Events → learner progress (core) and per-org insights."""
