"""What was judged, and the summary that names it in the evidence and on the run's page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import __version__
from .benchmark import load_card
from .profile import LoadedProfile
from .verdict import PolicyClock

if TYPE_CHECKING:
    from .evaluation import Outcome

__all__ = ["DatasetRef", "Sealed", "Subject", "conformance", "dataset_of", "summarise"]


@dataclass(frozen=True)
class Sealed:
    """What a lab's assessment changes in a run: the benchmark is the sealed part, the predictions come from
    a signed submission (``source``), the summary gains ``record`` as "assessment", the bundle keeps ``files``."""

    benchmark: Path
    source: dict[str, str]
    record: dict[str, Any]
    files: dict[str, bytes]


@dataclass(frozen=True)
class Subject:
    """What was judged: which benchmark rows, from which files, and whose predictions."""

    benchmark_id: str
    sha256: str
    split: str
    rows: int
    files: list[tuple[Path, str]]
    root: Path
    label_column: str
    sample: pd.DataFrame  # a few rows, for the MLflow dataset's schema
    source: dict[str, str]  # the predictions' provenance
    sandbox: dict[str, Any] | None  # how the model ran; None for declared predictions
    model_log: str
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # the card's value labels


def dataset_of(subject: Subject) -> DatasetRef:
    version = load_card(subject.root, expected_id=subject.benchmark_id)[0].version
    return DatasetRef(subject.benchmark_id, version, subject.sha256, subject.label_column, subject.sample)


@dataclass(frozen=True)
class DatasetRef:
    """The benchmark as MLflow sees it: id, version, its hash and a sample for the schema (never a local path)."""

    id: str
    version: int
    sha256: str
    label_column: str
    frame: pd.DataFrame


def _threshold_text(req: Any) -> str:
    if req.threshold is None:
        return "report only"
    text = req.threshold.text()
    return f"{text} (bound goal {req.null_threshold:g})" if req.rule == "dual" else text


def conformance(profile_split: str, judged_split: str) -> dict[str, Any]:
    """Whether a run judged the rows the profile's thresholds were set on; any other split is exploratory."""
    if judged_split == profile_split:
        return {"conformant": True, "profile_split": profile_split, "reason": ""}
    return {"conformant": False, "profile_split": profile_split,
            "reason": f"exploratory run, not evidence: it judged the {judged_split!r} split, "
                      f"but the profile judges the {profile_split!r} split"}


def summarise(loaded: LoadedProfile, subject: Subject, outcome: "Outcome", clock: PolicyClock) -> dict[str, Any]:
    p = loaded.profile
    src = subject.source
    return {
        "profile": {"id": p.id, "version": str(p.version), "title": p.title, "sector": p.sector,
                    "authority": p.authority, "legal_basis": list(p.legal_basis),
                    "effective_from": p.effective_from.isoformat(), "enforcement_from": p.enforcement_from.isoformat(),
                    "sha256": loaded.sha256},
        "verdict": outcome.verdict,
        "policy": clock.record(),
        "benchmark": {"id": subject.benchmark_id, "sha256": subject.sha256, "split": subject.split,
                      "rows": int(subject.rows), **({"labels": _plain_labels(subject.labels)} if subject.labels else {})},
        "conformance": conformance(p.benchmark.split, subject.split),
        "favourable_decision": p.favourable_decision,
        "model": {"kind": src["kind"], "uri": src.get("uri", ""), "fingerprint": src.get("fingerprint", ""),
                  "sha256": src.get("sha256", ""), "sandbox": subject.sandbox},
        "confidence": p.inference.confidence,
        "seed": p.inference.bootstrap.seed,
        "bootstrap_replicates": p.inference.bootstrap.replicates,
        "bootstrap_unit": p.inference.bootstrap.unit,
        "bootstrap_score_bins": p.inference.bootstrap.score_bins,
        "scores_exact": outcome.scores_exact,
        "harness_version": __version__,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "requirements": [{"id": r.id, "title": r.title, "metric": r.metric, "blocking": r.is_blocking,
                          "rule": r.rule if r.threshold else "none", "threshold": _threshold_text(r),
                          "description": r.description.strip(),
                          **({"bound_goal": r.null_threshold} if r.rule == "dual" and r.threshold else {})}
                         for r in p.requirements],
        "counts": {"unknown_category": outcome.unknown},
        "manifest_sha256": "",
    }


def _plain_labels(labels: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    return {column: dict(codes) for column, codes in labels.items()}
