"""Commands for auditors: ``oversight verify``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from ._common import BENCHMARK_DIRS, PROFILE_DIRS, _guard

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


@click.command()
@click.argument("target")
@click.option("--tracking-uri", help="Compare with this MLflow store (default: MLFLOW_TRACKING_URI or MLflow's "
              "default); it must exist.")
@click.option("--no-tracking", is_flag=True, help="Do not compare with MLflow (said so in the result).")
@click.option("--profile", "published", help="Published profile (a YAML file, or a profile id, ID@VERSION, found "
              "as `oversight run --profile` finds it) the bundle's profile must equal byte for byte.")
@PROFILE_DIRS
@BENCHMARK_DIRS
@click.option("--public-key", "public_keys", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Trusted Ed25519 public key (.pub) or a folder of them; repeatable. The bundle must be "
              "signed by one.")
@click.option("--model", help="Re-run this model on the benchmark and compare with the stored predictions.")
@click.option("--ledger", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An assessment bundle: the lab's published ledger, which must be intact and record it.")
@click.option("--sealed", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="An assessment bundle: the sealed test labels, to recompute the measurements on.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_guard
def verify(target: str, tracking_uri: str | None, no_tracking: bool, published: str | None,
           profile_dirs: tuple[Path, ...], benchmark_dirs: tuple[Path, ...], public_keys: tuple[Path, ...],
           model: str | None, ledger: Path | None, sealed: Path | None, as_json: bool) -> int:
    """Re-verify an evidence bundle (a folder) or an MLflow run (its id).

    Exit 0 only when verified; 1 when something differs or the expected MLflow run is
    absent or deleted; 3 when the tracking store cannot be read.
    """
    from ..catalog import search

    if tracking_uri and no_tracking:
        raise click.UsageError("--tracking-uri and --no-tracking exclude each other")
    with search(benchmarks=benchmark_dirs, profiles=profile_dirs):
        options = {"profile": published, "public_keys": public_keys, "model": model, "ledger": ledger,
                   "sealed": sealed}
        return _verify(target, tracking_uri, no_tracking, options, as_json)


def _verify(target: str, tracking_uri: str | None, no_tracking: bool, options: dict[str, Any], as_json: bool) -> int:
    from ..evidence.verify import verify_bundle, verify_run

    path = Path(target)
    if not path.exists() and _RUN_ID.match(target):
        if no_tracking:
            raise click.UsageError("verifying an MLflow run needs MLflow; drop --no-tracking")
        result = verify_run(target, tracking_uri=tracking_uri, **options)
    else:
        if not path.is_dir():
            raise click.BadParameter(f"{target}: neither a bundle folder nor an MLflow run id", param_hint="TARGET")
        result = verify_bundle(path, tracking=not no_tracking, tracking_uri=tracking_uri, **options)
    if as_json:
        click.echo(json.dumps(result.as_dict()))
        return result.exit_code
    for line in result.checks:
        click.echo(f"checked: {line}")
    for line in result.skipped:
        click.echo(f"not checked: {line}")
    for line in result.unchecked:
        click.echo(f"could not check: {line}")
    if result.status == "verified":
        click.echo("verified")
    elif result.status == "unverified":
        click.echo(f"UNVERIFIED: {len(result.unchecked)} check(s) could not be made")
    else:
        click.echo(f"NOT VERIFIED: {len(result.problems)} problem(s)")
    for line in result.problems:
        click.echo(f"  - {line}")
    return result.exit_code
