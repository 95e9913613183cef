"""``python -m casereport``: the same as the ``casereport`` command."""

from casereport.cli import app

app(prog_name="casereport")
