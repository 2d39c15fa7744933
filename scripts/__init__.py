"""Developer and CI scripts (importable so the tests can exercise them)."""
