"""Re-verification of an evidence bundle by an auditor.

Checks, each named in the result: the bundle holds exactly the files of its harness version
and each matches the manifest's hash; every derived file is recomputed from the stored
profile and predictions and compared byte for byte (``checks``); the signature over the
manifest is valid and by a trusted key (``signing``); the profile is the published one; the
predictions are what the model gives (``--model``); and the MLflow run that logged the bundle
agrees with it (``against_mlflow``). What could not be checked makes the result
``unverified``, never ``verified``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import EvidenceError, HarnessError, InputError
from .bundle import BUNDLE_FILES, OPTIONAL_FILES, check_hashes, read_manifest, sha256_file
from .checks import Recomputed, recompute
from .findings import Findings, VerifyResult
from .signing import SIGNATURE, check_signature, load_public_keys, read_signature

if TYPE_CHECKING:
    from ..profile import Profile

__all__ = ["VerifyResult", "published_profile", "verify_bundle", "verify_run"]


def verify_bundle(bundle: Path, *, tracking: bool = True, tracking_uri: str | None = None,
                  profile: str | Path | None = None, public_keys: tuple[Path, ...] = (),
                  model: Any = None, run_id: str | None = None, ledger: Path | None = None,
                  sealed: Path | None = None) -> VerifyResult:
    """Verify a bundle folder; ``tracking=False`` skips MLflow explicitly.

    ``profile``: the published profile (a path, or an id among the shipped profiles) the
    bundle's must equal byte for byte. ``public_keys``: trusted ``.pub`` files or folders; when
    given, the bundle must be signed by one of them. ``model``: re-run it on the benchmark and
    compare with the stored predictions. An assessment bundle (a lab's, holding the vendor's
    submission) is checked as ``harness.conformity.audit`` says: against the ``ledger`` file
    when given, and recomputed only on the ``sealed`` part, since its labels are the lab's.
    """
    bundle = Path(bundle)
    manifest = read_manifest(bundle)
    trusted = load_public_keys(list(public_keys)) if public_keys else None
    published = published_profile(profile, bundle) if profile is not None else None
    found = Findings()
    digest = sha256_file(bundle / "manifest.json")
    found.checks.append(f"manifest.json: SHA-256 {digest}")
    _version(manifest, found)
    hash_problems = check_hashes(bundle, manifest)
    found.problems += hash_problems
    listed = len(BUNDLE_FILES) + sum(name in _listed(manifest) for name in OPTIONAL_FILES)
    found.checks.append(f"hashes: {listed} bundle files checked against the manifest and the file "
                        "list of this harness version")
    _signature(bundle, digest, trusted, found)
    recomputed = None
    judge_on = _assessment(bundle, manifest, digest, trusted, ledger, sealed, found)
    if hash_problems:
        found.checks.append("recomputation: not done, the files do not match the manifest")
    elif judge_on is not False:
        recomputed = _recompute(bundle, manifest, found, judge_on)
    if published is not None:
        _against_published(bundle, published, found)
    else:
        found.skipped.append("profile: not compared with a published profile (give --profile)")
    _model(manifest, recomputed, model, found)
    _tracking(bundle, manifest, digest, found, tracking=tracking, tracking_uri=tracking_uri, run_id=run_id)
    return VerifyResult.of(str(bundle), found)


def _version(manifest: dict[str, Any], found: Findings) -> None:
    """A bundle is verified by the harness version that made it: another version renders and names differently."""
    from .. import __version__

    made_by = manifest.get("harness_version")
    if made_by != __version__:
        found.problems.append(f"manifest.json: made by oversight-harness {made_by}, verified by {__version__}; "
                              f"verify it with the version that made it (pip install oversight-harness=={made_by})")


def verify_run(run_id: str, *, tracking_uri: str | None = None, **options: Any) -> VerifyResult:
    """Verify from the run alone: download its evidence artifacts and verify them against it."""
    from .runs import read_run

    with tempfile.TemporaryDirectory(prefix="oversight-verify-run-") as scratch:
        record = read_run(run_id, tracking_uri=tracking_uri, dst=Path(scratch))
        if record.local is None:
            raise EvidenceError(f"MLflow run {run_id}: has no evidence/ artifacts to verify")
        result = verify_bundle(record.local, tracking=True, tracking_uri=tracking_uri, run_id=run_id, **options)
    return VerifyResult(f"MLflow run {run_id}", result.checks, result.problems, result.unchecked, result.skipped,
                        result.unreachable)


def _listed(manifest: dict[str, Any]) -> dict[str, Any]:
    files = manifest.get("files")
    return files if isinstance(files, dict) else {}


def _assessment(bundle: Path, manifest: dict[str, Any], digest: str, trusted: dict[str, Path] | None,
                ledger: Path | None, sealed: Path | None, found: Findings) -> Path | None | bool:
    """For an assessment bundle: its checks, and the sealed folder to recompute on (False: do not recompute)."""
    from ..conformity.submission import SUBMISSION_FILE

    if SUBMISSION_FILE not in _listed(manifest):
        if ledger is not None or sealed is not None:
            raise InputError(f"{bundle}: not an assessment bundle (no {SUBMISSION_FILE}); --ledger and --sealed "
                             "apply to bundles of `oversight assess`")
        return None
    from ..conformity.audit import check_assessment, check_sealed

    sub = check_assessment(bundle, manifest, digest, trusted, ledger=ledger, found=found)
    if sealed is None:
        found.skipped.append("measurements: not recomputed, the test labels are sealed with the lab; the lab's "
                             "signature covers them (give --sealed DIR to recompute)")
        return False
    return sealed if sub is not None and check_sealed(sealed, sub, found) else False


def _recompute(bundle: Path, manifest: dict[str, Any], found: Findings,
               benchmark: Path | None = None) -> Recomputed | None:
    try:
        return recompute(bundle, manifest, found, benchmark=benchmark)
    except (HarnessError, OSError, ValueError, KeyError) as exc:
        found.problems.append(f"recomputation failed: {type(exc).__name__}: {exc}")
        return None


def _signature(bundle: Path, digest: str, trusted: dict[str, Path] | None, found: Findings) -> None:
    path = bundle / SIGNATURE
    if not path.is_file():
        if trusted is not None:
            found.problems.append(f"{SIGNATURE}: missing; the bundle is unsigned, and a signature by a trusted key "
                                  "is required (--public-key)")
        else:
            found.skipped.append("signature: the bundle is unsigned; its creation time and environment are not "
                                 "covered by a signature")
        return
    try:
        record = read_signature(path)
    except EvidenceError as exc:
        found.problems.append(str(exc))
        return
    invalid = check_signature(record, digest)
    found.problems += invalid
    who = f"{record['signer']} (key {record['fingerprint']}) at {record['signed_at']}"
    if invalid:
        return
    if trusted is None:
        found.checks.append(f"signature: valid Ed25519 signature of the manifest by {who}")
        found.skipped.append("signature: the signer's key was not checked against trusted keys (give --public-key)")
    elif record["fingerprint"] in trusted:
        found.checks.append(f"signature: valid Ed25519 signature of the manifest by {who}, a trusted key "
                            f"({trusted[record['fingerprint']]})")
    else:
        found.problems.append(f"{SIGNATURE}: signed by {record['signer']} with key {record['fingerprint']}, which "
                              f"is not among the {len(trusted)} trusted key(s)")


def published_profile(ref: str | Path, bundle: Path) -> tuple[Path, bytes]:
    """The published profile: a file, or the profile with this id (and the bundle's version) in the catalogue."""
    from ..catalog import find_profile

    path = Path(ref)
    if path.is_file():
        return path, path.read_bytes()
    if str(ref).endswith((".yaml", ".yml")):
        raise InputError(f"--profile {ref}: no such file")
    text = str(ref)
    if "@" not in text and (ours := _profile_of(bundle)) is not None and ours[0] == text:
        text = f"{text}@{ours[1]}"  # the version the bundle was judged against, not merely the newest
    try:
        found = find_profile(text)
    except InputError as exc:
        wanted = text.partition("@")[0]
        raise InputError(f"--profile {ref}: {str(exc).removeprefix(f'profile {wanted!r}: ')}") from None
    return found, found.read_bytes()


def _profile_of(bundle: Path) -> tuple[str, str] | None:
    from ..profile import parse_profile

    try:
        p = parse_profile((bundle / "profile.yaml").read_text(encoding="utf-8"))
    except (HarnessError, OSError, UnicodeDecodeError):
        return None
    return p.id, str(p.version)


def _against_published(bundle: Path, published: tuple[Path, bytes], found: Findings) -> None:
    import hashlib

    from ..profile import parse_profile

    path, data = published
    ours = (bundle / "profile.yaml").read_bytes()
    theirs = parse_profile(data.decode("utf-8"), source=str(path))
    mine = _profile_of(bundle)
    want_sha, got_sha = hashlib.sha256(data).hexdigest(), hashlib.sha256(ours).hexdigest()
    if mine != (theirs.id, str(theirs.version)):
        found.problems.append(f"profile.yaml: the bundle's profile is {mine[0] if mine else '?'} v"
                              f"{mine[1] if mine else '?'}, the published profile {path} is {theirs.id} "
                              f"v{theirs.version}")
    elif ours != data:
        a, b = ours.decode("utf-8", "replace").splitlines(), data.decode("utf-8").splitlines()
        line = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        got = a[line].strip() if line < len(a) else "(end of file)"
        want = b[line].strip() if line < len(b) else "(end of file)"
        found.problems.append(f"profile.yaml: differs from the published profile {theirs.id} v{theirs.version} "
                              f"({path}): SHA-256 {got_sha} in the bundle, {want_sha} published; first at line "
                              f"{line + 1}: bundle {got!r}, published {want!r}")
    else:
        found.checks.append(f"profile: byte-identical to the published {theirs.id} v{theirs.version} ({path}), "
                            f"SHA-256 {want_sha}")
        _in_force(bundle, theirs, found)


def _in_force(bundle: Path, profile: Profile, found: Findings) -> None:
    """The version the bundle recorded as in force, against the catalogue the auditor searches."""
    import json

    from ..supersession import contradicted_successor

    try:
        summary = json.loads((bundle / "summary.json").read_text(encoding="utf-8"))
        problem = contradicted_successor(profile, summary) if isinstance(summary, dict) else None
    except (HarnessError, OSError, ValueError) as exc:
        found.unchecked.append(f"policy: the version in force could not be looked up: {exc}")
        return
    if problem:
        found.problems.append(problem)


def _model(manifest: dict[str, Any], recomputed: Recomputed | None, model: Any, found: Findings) -> None:
    """Bind the predictions to a model: re-run it through the evaluation's own inference path."""
    origin = manifest.get("predictions", {}).get("origin", "unknown")
    if model is None:
        found.skipped.append(f"predictions: {origin}; not re-run from a model (give --model)")
        return
    if recomputed is None:
        found.unchecked.append("predictions: the model was not re-run, the bundle's inputs did not recompute")
        return
    from ..evaluation import _predictions
    from ..sandbox import Options

    fresh, _, _ = _predictions(recomputed.plan, model, None, Options())  # sandboxed, with the default limits
    recorded = manifest.get("inputs", {}).get("model", {})
    if origin != "model":
        found.problems.append(f"predictions: the manifest records them as {origin}, not produced by the harness "
                              "from a model")
    elif recorded.get("sha256") != fresh.source["sha256"]:
        found.problems.append(f"model: SHA-256 {fresh.source['sha256']} of the model given differs from the "
                              f"manifest's {recorded.get('sha256')}")
    stored = recomputed.predictions
    for column in ("decision", "score", "value"):
        a, b = getattr(stored, column), getattr(fresh, column)
        if (a is None) != (b is None):
            found.problems.append(f"predictions.parquet: {column} is {'absent' if a is None else 'present'}, the "
                                  f"model gives {'none' if b is None else 'one'}")
        elif a is not None and len(differ := _differing(a, b)):
            found.problems.append(f"predictions.parquet: {column} differs from the model's on {len(differ)} of "
                                  f"{len(a)} rows, first id {stored.ids[differ[0]].item()!r}")
    found.checks.append(f"predictions: the model was re-run on the benchmark ({fresh.source['kind']}, SHA-256 "
                        f"{fresh.source['sha256']}) and compared with the stored predictions")


def _differing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Positions where two prediction columns differ; NaN equals NaN."""
    if len(a) != len(b):
        return np.arange(max(len(a), len(b)))
    same = a == b
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        same |= np.isnan(a) & np.isnan(b)
    return np.flatnonzero(~same)


def _tracking(bundle: Path, manifest: dict[str, Any], digest: str, found: Findings, *, tracking: bool,
              tracking_uri: str | None, run_id: str | None) -> None:
    from .against_mlflow import against_mlflow

    requested = manifest.get("tracking", {}).get("requested", True)
    if not requested and run_id is None:
        found.checks.append("MLflow: the run was made without tracking")
        return
    if not tracking:
        found.skipped.append("MLflow: not compared (--no-tracking)")
        return
    against_mlflow(bundle, manifest, digest, found, tracking_uri=tracking_uri, run_id=run_id)
