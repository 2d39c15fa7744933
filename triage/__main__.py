"""``python -m triage``: the ``dho`` command (how ``dho demo`` starts its parts)."""

from triage.cli import app

app(prog_name="dho")
