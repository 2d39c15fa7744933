"""``python -m gateway``: the home gateway's command line (the same as ``dho gateway``)."""

from gateway.cli import app

app(prog_name="python -m gateway")
