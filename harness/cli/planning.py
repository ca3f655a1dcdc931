"""``oversight profile plan``: what a profile's benchmark can show, before any model runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from ._common import _guard, emit

__all__ = ["plan"]


@click.command("plan")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--assume", "assume", multiple=True, metavar="REQ=VALUE",
              help="True value of a requirement's metric to plan for (default: its threshold moved by --margin "
                   "to the passing side). Repeatable.")
@click.option("--margin", type=click.FloatRange(min=0, min_open=True, max=1), default=0.05, show_default=True,
              help="How far past the threshold the default assumed value lies.")
@click.option("--split", type=click.Choice(["test", "development", "all"]), default=None,
              help="Plan on another split than the profile's.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@_guard
def plan(path: Path, assume: tuple[str, ...], margin: float, split: str | None, as_json: bool) -> int:
    """Per requirement and group: expected interval width, chance to pass, power to flag, hopeless groups."""
    from ..plan import make_plan
    from ..planning import parse_assumptions, plan_requirements
    from ..profile import load_profile

    made = make_plan(load_profile(path), split=split)
    rows = plan_requirements(made, assume=parse_assumptions(made.profile, assume), margin=margin)
    if as_json:
        doc = {"profile": made.profile.id, "version": made.profile.version, "split": made.split,
               "margin": margin, "groups": [r.as_dict() for r in rows]}
        emit(json.dumps(doc, indent=2), code=0)
        return 0
    emit(_text(made.profile.id, made.split, margin, rows), code=0)
    return 0


def _num(x: float, pct: bool = False) -> str:
    if math.isnan(x):
        return "-"
    return f"{x:.1%}" if pct else f"{x:.3f}"


def _text(profile_id: str, split: str, margin: float, rows: list) -> str:
    lines = [f"Sample-size plan for {profile_id} on split '{split}' (assumed: threshold moved by {margin:g} "
             "unless --assume says otherwise)"]
    current = None
    for r in rows:
        if r.requirement != current:
            current = r.requirement
            lines.append(f"\n{r.requirement}: {r.metric} {r.threshold or '(reported)'} rule {r.rule}")
            lines.append(f"  {'group':<28} {'size':>12} {'assumed':>8} {'width':>7} {'P(pass)':>8} "
                         f"{'ratio@80%':>9}  note")
        size = f"{r.size} {r.denominator[:3]}"
        lines.append(f"  {r.group[:28]:<28} {size:>12} {_num(r.assumed):>8} {_num(r.expected_width):>7} "
                     f"{_num(r.pass_probability, True):>8} {_num(r.flagged_ratio):>9}  {r.note}")
    hopeless = [r for r in rows if "even a perfect system" in r.note or "whatever the system" in r.note]
    if hopeless:
        lines.append("\nGroups no system can pass at their size:")
        lines += [f"  {r.requirement} {r.group}: {r.note}" for r in hopeless]
    return "\n".join(lines)
