"""``dho demo``: the whole system with a simulated population, on one machine (docs/demo.md)."""
