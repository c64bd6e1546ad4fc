"""``python -m gridcare.cli`` runs the CLI (used by tests that start real processes)."""

from gridcare.cli import main

main()
