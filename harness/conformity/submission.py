"""Vendor submissions: predictions on a public release's test inputs, signed before anyone scores them.

A submission is the vendor's pre-registration. It names the profile by its SHA-256, the
public release by the full benchmark's hash and the commitment to the sealed labels, the
model by its fingerprint, and holds every prediction; an Ed25519 signature by the vendor's
key covers all of it, so no prediction can change after submitting without the signature
breaking. The file is kept byte for byte in the lab's bundle; its SHA-256 names it in the ledger.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import __version__
from ..errors import InputError
from ..evidence.signing import ALGORITHM, Signer, fingerprint
from ..profile import LoadedProfile
from .seal import PublicRelease

__all__ = ["FORMAT", "MAX_BYTES", "SUBMISSION_FILE", "Submission", "SubmissionError", "parse_submission",
           "read_submission", "write_submission"]

FORMAT = "oversight-submission/1"
SUBMISSION_FILE = "submission.json"  # its name inside an assessment bundle
MAX_BYTES = 1024**3  # a submission file, predictions included
_SHA = r"^[0-9a-f]{64}$"


class SubmissionError(InputError):
    """A submission that cannot be used: unreadable, malformed, or its signature broken."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProfileRef(_Frozen):
    id: str
    version: str
    sha256: str = Field(pattern=_SHA)


class ReleaseRef(_Frozen):
    """The public release predicted on: the full benchmark's hash and the commitment to its sealed labels."""

    id: str
    version: int
    from_sha256: str = Field(pattern=_SHA)
    commitment: str = Field(pattern=_SHA)
    test_inputs_sha256: str = Field(pattern=_SHA)
    rows: int = Field(ge=1)


class ModelRef(_Frozen):
    kind: str
    name: str
    sha256: str
    fingerprint: str


class PredictionsBlock(_Frozen):
    format: Literal["csv"]
    rows: int = Field(ge=1)
    sha256: str = Field(pattern=_SHA)
    csv: str


class VendorRef(_Frozen):
    name: str
    fingerprint: str = Field(pattern=_SHA)
    public_key: str


class Body(_Frozen):
    """Everything the vendor signs."""

    format: Literal["oversight-submission/1"]
    profile: ProfileRef
    benchmark: ReleaseRef
    model: ModelRef
    predictions: PredictionsBlock
    harness_version: str
    created_at: str
    vendor: VendorRef


class SignatureRef(_Frozen):
    algorithm: Literal["Ed25519"]
    fingerprint: str = Field(pattern=_SHA)
    signature: str


class _File(_Frozen):
    submission: Body
    signature: SignatureRef


@dataclass(frozen=True)
class Submission:
    """A submission as read: its exact bytes and their SHA-256, the signed body, the vendor's key fingerprint."""

    path: Path
    data: bytes
    sha256: str
    body: Body

    @property
    def vendor_key(self) -> str:
        return self.body.vendor.fingerprint

    def predictions_csv(self) -> bytes:
        return self.body.predictions.csv.encode("utf-8")


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def write_submission(out: Path, *, loaded: LoadedProfile, release: PublicRelease, predictions: pd.DataFrame,
                     model: dict[str, str], signer: Signer) -> Submission:
    """Sign and write a submission to ``out`` (refusing to overwrite); ``predictions`` as ``Predictions.frame()``."""
    if out.exists():
        raise InputError(f"{out}: already exists; refusing to overwrite a submission (choose another --out)")
    text = predictions.to_csv(index=False)
    profile = loaded.profile
    public = signer.public_bytes
    body = Body(
        format=FORMAT,
        profile=ProfileRef(id=profile.id, version=str(profile.version), sha256=loaded.sha256),
        benchmark=ReleaseRef(id=release.card.id, version=release.card.version,
                             from_sha256=release.record.from_sha256, commitment=release.record.commitment,
                             test_inputs_sha256=release.record.test_inputs.sha256,  # type: ignore[union-attr]
                             rows=len(release.test_inputs)),
        model=ModelRef(kind=model["kind"], name=Path(model["uri"]).name, sha256=model["sha256"],
                       fingerprint=model["fingerprint"]),
        predictions=PredictionsBlock(format="csv", rows=len(predictions),
                                     sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), csv=text),
        harness_version=__version__,
        created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        vendor=VendorRef(name=signer.name, fingerprint=fingerprint(public),
                         public_key=base64.b64encode(public).decode("ascii")),
    ).model_dump(mode="json")
    signature = base64.b64encode(signer.private_key.sign(_canonical(body))).decode("ascii")
    document = {"submission": body, "signature": {"algorithm": ALGORITHM, "fingerprint": body["vendor"]["fingerprint"],
                                                  "signature": signature}}
    data = (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    _write_atomic(out, data)
    return read_submission(out)


def _write_atomic(out: Path, data: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.link(tmp, out)  # fails rather than replace a file that appeared meanwhile
    finally:
        os.unlink(tmp)


def read_submission(path: Path) -> Submission:
    """Read a submission and check its vendor signature; any problem is a ``SubmissionError`` naming it."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SubmissionError(f"submission {path}: {size:,} bytes; expected at most {MAX_BYTES:,}")
        data = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(f"submission {path}: cannot read it: {exc.strerror or exc}") from None
    return parse_submission(data, source=str(path), path=path)


def parse_submission(data: bytes, *, source: str, path: Path) -> Submission:
    """A submission from its bytes (a file, or the copy inside a bundle)."""
    try:
        document = _File.model_validate(json.loads(data.decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SubmissionError(f"submission {source}: not JSON: {exc}") from None
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise SubmissionError(f"submission {source}: {field}: {first['msg']}; expected a file written by "
                              "`oversight submit`") from None
    _check_signature(document, source)
    _check_predictions(document.submission.predictions, source)
    return Submission(path, data, hashlib.sha256(data).hexdigest(), document.submission)


def _check_signature(document: _File, source: str) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    vendor = document.submission.vendor
    try:
        public = base64.b64decode(vendor.public_key, validate=True)
        signature = base64.b64decode(document.signature.signature, validate=True)
        key = Ed25519PublicKey.from_public_bytes(public)
    except ValueError as exc:
        raise SubmissionError(f"submission {source}: vendor.public_key or signature is not base64 Ed25519 data: "
                              f"{exc}") from None
    if fingerprint(public) != vendor.fingerprint or document.signature.fingerprint != vendor.fingerprint:
        raise SubmissionError(f"submission {source}: the key fingerprints {vendor.fingerprint} (vendor) and "
                              f"{document.signature.fingerprint} (signature) are not both that of its public key "
                              f"({fingerprint(public)})")
    try:
        key.verify(signature, _canonical(document.submission.model_dump(mode="json")))
    except InvalidSignature:
        raise SubmissionError(f"submission {source}: the vendor's signature (key {vendor.fingerprint}) does not "
                              "match its content: a prediction, the profile hash or another field was changed "
                              "after signing") from None


def _check_predictions(block: PredictionsBlock, source: str) -> None:
    found = hashlib.sha256(block.csv.encode("utf-8")).hexdigest()
    if found != block.sha256:
        raise SubmissionError(f"submission {source}: predictions.csv has SHA-256 {found}, its record says "
                              f"{block.sha256}")


def predictions_frame(submission: Submission) -> pd.DataFrame:
    """The submitted predictions as a table (for comparisons; judging reads them as a declared file)."""
    return pd.read_csv(io.BytesIO(submission.predictions_csv()))
