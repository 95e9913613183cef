"""``python -m casereport``: the same as the ``casereport`` command."""

from casereport.cli import main

main()
