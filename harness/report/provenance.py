"""The provenance part of a report: where every number came from, worded for an auditor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.report import formatting as fmt

__all__ = ["MANIFEST_NOTE", "ProvenanceSection", "provenance"]

MANIFEST_NOTE = ("manifest.json, beside this report in the evidence bundle: it lists the SHA-256 of every "
                 "file of the bundle, this report included, so the report cannot carry the manifest's own hash")


@dataclass(frozen=True)
class ProvenanceSection:
    """A titled list of (label, value) pairs; ``hashes`` are shown in full and monospaced."""

    title: str
    items: tuple[tuple[str, str], ...]
    hashes: frozenset[str] = frozenset()


def provenance(summary: Mapping[str, Any],
               measured: Sequence[tuple[str, str, str]] = ()) -> tuple[ProvenanceSection, ...]:
    """The provenance sections; ``measured`` (requirement, metric, group) names the MLflow metrics."""
    profile = summary.get("profile", {})
    benchmark = summary.get("benchmark", {})
    model = summary.get("model", {})
    policy = summary.get("policy", {})
    return (
        _section("Sector profile", [
            ("Title", profile.get("title")), ("Identifier", profile.get("id")),
            ("Version", profile.get("version")), ("Sector", profile.get("sector")),
            ("Authority", profile.get("authority")),
            ("Effective from", profile.get("effective_from")),
            ("Enforced from", profile.get("enforcement_from")),
        ]),
        _section("Benchmark", [
            ("Identifier", benchmark.get("id")), ("Split", benchmark.get("split")),
            ("Rows", fmt.count(benchmark.get("rows"))), ("SHA-256", benchmark.get("sha256")),
        ], hashes={"SHA-256"}),
        _section("Model", [
            ("Kind", model.get("kind")), ("URI", model.get("uri")),
            ("Fingerprint", model.get("fingerprint")),
            ("Isolation", _isolation_text(model)),
        ], hashes={"Fingerprint"}),
        _section("Run", [
            ("Evaluated as of", policy.get("as_of")), ("Created at", summary.get("created_at")),
            ("Confidence level", summary.get("confidence")), ("Random seed", summary.get("seed")),
            ("Bootstrap", _bootstrap_text(summary)),
            ("Harness version", summary.get("harness_version")),
            ("Evidence manifest", MANIFEST_NOTE),
        ]),
        *_assessment(summary.get("assessment")),
        *_mlflow_names(measured),
    )


def _mlflow_names(measured: Sequence[tuple[str, str, str]]) -> tuple[ProvenanceSection, ...]:
    """How the run's MLflow metrics are named: the pattern, and every group whose name had to be escaped."""
    from harness.evidence.metric_names import escape_group, metric_key

    if not measured:
        return ()
    items: list[tuple[str, object]] = [
        ("Value", "<requirement>.<metric>/<group>"),
        ("Interval and size", "detail/<requirement>.<metric>.<group>.ci_low, .ci_high and .n"),
        ("Escaping", "_ becomes __, × becomes _x_, + becomes _plus_, . becomes _dot_, / becomes _slash_, "
                     "other symbols _u<hex>_ (reversible)"),
    ]
    for requirement, metric, group in dict.fromkeys(measured):
        if escape_group(group) != group:
            items.append((f"{requirement} · {group}", metric_key(requirement, metric, group, "value")))
    return (_section("MLflow metric names", items),)


def _assessment(record: Mapping[str, Any] | None) -> tuple[ProvenanceSection, ...]:
    """A lab's assessment of a signed submission: both parties' keys and what was committed to."""
    if not record:
        return ()
    model = record.get("model", {})
    return (_section("Third-party assessment", [
        ("Vendor", record.get("vendor")), ("Vendor key", record.get("vendor_key")),
        ("Submitted at", record.get("submitted_at")), ("Submission SHA-256", record.get("submission_sha256")),
        ("Model fingerprint", model.get("fingerprint")),
        ("Testing lab", record.get("lab")), ("Lab key", record.get("lab_key")),
        ("Sealed from benchmark", record.get("sealed_from")), ("Label commitment", record.get("commitment")),
    ], hashes={"Vendor key", "Submission SHA-256", "Model fingerprint", "Lab key", "Sealed from benchmark",
               "Label commitment"}),)


def _isolation_text(model: Mapping[str, Any]) -> str | None:
    """How the model ran and whether it was trusted; None when the run did not record it."""
    if "sandbox" not in model:
        return None
    sandbox = model["sandbox"]
    if not sandbox:
        return "no model ran (declared predictions)"
    trust = "given" if sandbox.get("trust_model") else "not given"
    return f"{sandbox.get('isolation')}; --trust-model {trust}; model process {sandbox.get('exit')}"


def _bootstrap_text(summary: Mapping[str, Any]) -> str | None:
    """Replicates, what they resample, and the score grid they see; None when not recorded."""
    replicates = summary.get("bootstrap_replicates")
    if replicates is None:
        return None
    unit = "clusters" if summary.get("bootstrap_unit") == "cluster" else "rows"
    bins = summary.get("bootstrap_score_bins")
    grid = f"; scores resampled on {fmt.count(bins)} bins" if bins is not None else ""
    return f"{fmt.count(replicates)} replicates of {unit}{grid}"


def _section(
    title: str, items: Sequence[tuple[str, object]], *, hashes: set[str] | None = None
) -> ProvenanceSection:
    shown = tuple(
        (label, fmt.NOT_RECORDED if fmt.is_missing(value) or value == "" else str(value))
        for label, value in items
    )
    return ProvenanceSection(title=title, items=shown, hashes=frozenset(hashes or ()))
