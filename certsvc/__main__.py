"""``python -m certsvc`` runs the CLI (used by tests and where no script is on PATH)."""

from certsvc.cli.main import main

main()
