"""Run the command line as ``python -m harness.cli``."""

from . import main

main()
