"""The triage service: a pure domain (plans, rules, classification) with I/O at the edges."""
