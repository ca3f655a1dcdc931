"""Commands of third-party assessment, one per party: the ministry's ``oversight benchmark seal``,
the vendor's ``oversight submit`` and the testing lab's ``oversight assess``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from ..sandbox import Limits
from ._common import EXIT, _guard, emit
from .runs import _sandbox_options
from .sync import pending_message

_DIR = click.Path(file_okay=False, path_type=Path)
_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command("seal")
@click.argument("bench")
@click.option("--public", required=True, type=_DIR, help="New folder for the public release (for vendors).")
@click.option("--sealed", required=True, type=_DIR, help="New folder for the sealed test labels (the lab keeps it).")
@_guard
def seal(bench: str, public: Path, sealed: Path) -> int:
    """Seal benchmark BENCH (id or folder): a public release without test labels, and the sealed labels."""
    from ..conformity.seal import seal_benchmark

    done = seal_benchmark(bench, public=public, sealed=sealed)
    emit(f"public release: {done.public} ({done.development_rows:,} development rows with labels, "
         f"{done.test_rows:,} test rows without)\n"
         f"sealed part:    {done.sealed} (the test labels; keep it with the lab)\n"
         f"sealed from benchmark SHA-256 {done.from_sha256}\n"
         f"commitment to the sealed labels: SHA-256 {done.commitment}", code=0)
    return 0


@click.command()
@click.option("--profile", "profile_ref", required=True, metavar="FILE|ID[@VERSION]",
              help="The sector profile the submission commits to (a YAML file or a profile id).")
@click.option("--public", type=_DIR, help="The public release (default: the profile's benchmark as found by id).")
@click.option("--model", help="Model to run on the test inputs: .skops file, MLflow model URI or directory.")
@click.option("--predictions", type=_FILE, help="Declared predictions on the test inputs: CSV or Parquet with id, "
              "decision and optional score.")
@click.option("--key", required=True, type=_FILE, help="The vendor's Ed25519 private key (`oversight keys generate`).")
@click.option("--out", required=True, type=_FILE, help="The submission file to write (JSON; never overwritten).")
@_sandbox_options
@_guard
def submit(profile_ref: str, public: Path | None, model: str | None, predictions: Path | None, key: Path,
           out: Path, sandbox: bool, trust_model: bool, trust_types: tuple[str, ...], timeout: float,
           memory_limit: int, cpu_time: int) -> int:
    """Vendor: sign predictions on a public release's test inputs, before anyone scores them."""
    from ..catalog import profile_path
    from ..conformity.vendor import submit as make
    from ..sandbox import Options

    options = Options(sandbox=sandbox, limits=Limits(timeout=timeout, memory=memory_limit, cpu_time=cpu_time),
                      trust_model=trust_model, trusted_types=trust_types)
    done = make(profile_path(profile_ref), key=key, out=out, public=public, predictions=predictions, model=model,
                options=options)
    body = done.body
    emit(f"submission {done.path}: {body.predictions.rows:,} predictions for profile {body.profile.id} "
         f"v{body.profile.version}, signed by vendor key {done.vendor_key}\n"
         f"submission SHA-256 {done.sha256}", code=0)
    return 0


@click.command()
@click.argument("submission", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sealed", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The sealed part written by `oversight benchmark seal`.")
@click.option("--key", required=True, type=_FILE, help="The lab's Ed25519 private key; it signs the bundle and "
              "the ledger entry.")
@click.option("--profile", "profile_ref", metavar="FILE|ID[@VERSION]", help="The profile to judge against (default: "
              "the submission's id and version, found as `oversight run` finds profiles); it must be the one "
              "committed to.")
@click.option("--ledger", type=_FILE, help="The profile's ledger (default: OUT/ledger/PROFILE-ID.jsonl).")
@click.option("--out", type=_DIR, default=Path("reports"), show_default=True, help="Folder for the bundle.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Evaluation date (default today).")
@click.option("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or MLflow's default).")
@click.option("--no-tracking", is_flag=True, help="Do not log to MLflow.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_guard
def assess(submission: Path, sealed: Path, key: Path, profile_ref: str | None, ledger: Path | None, out: Path,
           as_of: dt.datetime | None, tracking_uri: str | None, no_tracking: bool, as_json: bool) -> int:
    """Testing lab: judge a signed submission on the sealed labels; sign the bundle; record it on the ledger.

    Exit 0 compliant, 1 non-compliant, 4 inconclusive; 2 when the submission is refused.
    """
    from ..catalog import profile_path
    from ..conformity.assess import assess as run_assessment

    if tracking_uri and no_tracking:
        raise click.UsageError("--tracking-uri and --no-tracking exclude each other")
    done = run_assessment(submission, sealed=sealed, key=key, out=out,
                          profile=profile_path(profile_ref) if profile_ref else None, ledger=ledger,
                          tracking=not no_tracking, tracking_uri=tracking_uri,
                          as_of=as_of.date() if as_of else None)
    result, entry, record = done.evaluation, done.entry, done.evaluation.summary["assessment"]
    code = EXIT[result.verdict]
    facts = {"verdict": result.verdict, "bundle": str(result.bundle), "manifest_sha256":
             result.summary["manifest_sha256"], "run_id": result.run_id, "ledger": str(done.ledger),
             "ledger_position": entry.position, "submission_sha256": done.submission.sha256,
             "vendor_key": record["vendor_key"], "lab_key": record["lab_key"]}
    if as_json:
        emit(json.dumps(facts), code=code)
    else:
        emit("\n".join(f"{k}: {v}" for k, v in facts.items() if v is not None), code=code)
    if result.pending is not None:
        click.echo(pending_message(result, out, tracking_uri), err=True)
    if done.mirror_error is not None:
        click.echo(f"warning: the ledger entry is in {done.ledger} but not mirrored into MLflow: {done.mirror_error}",
                   err=True)
    return code
