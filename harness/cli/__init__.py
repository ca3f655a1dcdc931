"""The ``oversight`` command: the only place that prints or exits.

Exit codes: 0 compliant, 1 non-compliant, 2 invalid input, 3 run failure (model,
data, tracking, evidence), 4 inconclusive, 130 interrupted. Each module holds one
party's commands; this one assembles them.
"""

from __future__ import annotations

import click

from .audit import verify
from .benchmarks import benchmark
from .compare import compare, diff
from .conformity import assess, seal, submit
from .keys import keys
from .ledger import ledger
from .planning import plan
from .profiles import profile
from .runs import demo, run
from .sync import sync

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="oversight-harness")
def main() -> None:
    """Performance-based oversight: evaluate AI systems against sector profiles."""


profile.add_command(plan)
benchmark.add_command(seal)
for command in (run, demo, sync, profile, benchmark, verify, keys, ledger, compare, diff, submit, assess):
    main.add_command(command)
