"""Vendor models run in a separate, bounded process, under bubblewrap where it can run.

``policy`` holds the limits and options, ``staging`` checks and hashes a model from its
bytes, ``runner`` is the parent side of the model process, ``child`` the script it runs
and ``bwrap`` the command line that isolates it.
"""

from .policy import GiB, Isolation, Limits, Options, bwrap_problem, parse_size
from .runner import ModelProcess, Staged
from .staging import stage

__all__ = ["GiB", "Isolation", "Limits", "ModelProcess", "Options", "Staged", "bwrap_problem", "parse_size",
           "stage"]
