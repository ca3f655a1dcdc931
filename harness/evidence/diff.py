"""``oversight diff``: two evidence bundles (or MLflow runs) compared row by row.

Each side is a bundle folder or a run id (its ``evidence/`` artifacts downloaded to a
temporary folder); its files must match its manifest. The two sides pair only on the same
benchmark (SHA-256) and split, with predictions for the same row ids. Requirements pair by
id when their measurement is defined the same way (metric, base metric, groups and the
derived bands they use, weighting, tolerance, exclusion share); thresholds and rules may
differ, since they judge a measurement without changing it. The bootstrap follows A's
profile (seed, replicates, confidence, unit). The statistics are in ``harness.paired``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import EvidenceError, InputError
from ..paired import paired_differences, paired_tables
from ..plan import make_plan
from ..predictors import Predictions
from ..profile import LoadedProfile, Profile, Requirement, parse_profile
from .bundle import check_hashes, read_manifest, sha256_file

__all__ = ["Diff", "diff_evidence", "render_diff"]

_DEFINITION = ("metric", "of", "groups", "weighted", "tolerance", "exclude_below_share")
_INFERENCE = ("confidence", "replicates", "seed", "unit", "stratify")
_RUN_ID = re.compile(r"^[0-9A-Za-z_-]{8,64}$")


@dataclass(frozen=True)
class _Side:
    ref: str
    folder: Path
    manifest: dict[str, Any]
    loaded: LoadedProfile
    predictions: pd.DataFrame
    verdicts: pd.DataFrame


@dataclass(frozen=True)
class Diff:
    a: dict[str, Any]  # source, profile version, model, verdict
    b: dict[str, Any]
    benchmark: dict[str, Any]  # id, sha256, split, rows
    bootstrap: dict[str, Any]  # confidence, replicates, seed, unit
    rows: pd.DataFrame  # harness.paired.PAIRED_COLUMNS plus status_a, status_b
    requirements: list[dict[str, str]]  # id, metric, change, status A -> B
    not_compared: list[str]
    notes: list[str]


def diff_evidence(ref_a: str, ref_b: str, *, tracking_uri: str | None = None) -> Diff:
    """The paired comparison of B against A; ``InputError`` when they cannot be paired."""
    with tempfile.TemporaryDirectory(prefix="oversight-diff-") as scratch:
        a = _open(ref_a, Path(scratch) / "a", tracking_uri)
        b = _open(ref_b, Path(scratch) / "b", tracking_uri)
        return _diff(a, b)


def _open(ref: str, scratch: Path, tracking_uri: str | None) -> _Side:
    path = Path(ref)
    if path.is_dir():
        folder = path
    elif path.exists():
        raise InputError(f"{ref}: a file, not an evidence bundle folder or an MLflow run id")
    elif _RUN_ID.match(ref):
        from .runs import check_store, download_run_files

        uri = check_store(tracking_uri)
        scratch.mkdir(parents=True)
        folder, tags = download_run_files(ref, [], scratch, tracking_uri=uri)
        logged = tags.get("oversight.manifest_sha256")
        if (folder / "manifest.json").is_file() and sha256_file(folder / "manifest.json") != logged:
            raise EvidenceError(f"run {ref}: evidence/manifest.json differs from the run's "
                                f"oversight.manifest_sha256 tag {logged!r}")
    else:
        raise InputError(f"{ref}: no such bundle folder, and not an MLflow run id")
    if not (folder / "manifest.json").is_file():
        raise InputError(f"{ref}: not an evidence bundle (no manifest.json)")
    manifest = read_manifest(folder)
    problems = check_hashes(folder, manifest)
    if problems:
        raise EvidenceError(f"{ref}: the bundle does not match its manifest: " + "; ".join(problems))
    raw = (folder / "profile.yaml").read_bytes()
    text = raw.decode("utf-8")
    loaded = LoadedProfile(profile=parse_profile(text, source=f"{ref}/profile.yaml"), path=None, text=text,
                           sha256=hashlib.sha256(raw).hexdigest())
    return _Side(ref, folder, manifest, loaded, pd.read_parquet(folder / "predictions.parquet"),
                 pd.read_csv(folder / "verdicts.csv", keep_default_na=False))


def _diff(a: _Side, b: _Side) -> Diff:
    bench_a, bench_b = a.manifest["inputs"]["benchmark"], b.manifest["inputs"]["benchmark"]
    for key in ("id", "sha256", "split"):
        if bench_a[key] != bench_b[key]:
            raise InputError(f"cannot pair {a.ref} and {b.ref}: benchmark {key} {bench_a[key]!r} differs from "
                             f"{bench_b[key]!r}; a paired comparison needs the same benchmark rows")
    pa, pb = a.loaded.profile, b.loaded.profile  # one benchmark: one task (plan checks the profile's against it)
    compared, not_compared = _comparable(pa, pb)
    if not compared:
        raise InputError(f"cannot pair {a.ref} and {b.ref}: no requirement is measured the same way in both "
                         f"profiles ({'; '.join(not_compared)})")
    plan = make_plan(a.loaded, split=bench_a["split"])
    if plan.benchmark.sha256 != bench_a["sha256"]:
        raise InputError(f"benchmark '{bench_a['id']}': SHA-256 on disk {plan.benchmark.sha256} differs from the "
                         f"bundles' {bench_a['sha256']}")
    ids = plan.benchmark.ids
    preds_a, preds_b = _aligned(a, ids, pa), _aligned(b, ids, pa)
    bench = plan.benchmark
    tables = paired_tables(pa, plan.groups, bench.y, preds_a, preds_b, weight=bench.weights,
                           cluster=bench.clusters)
    rows = paired_differences(pa, tables, requirements=compared)
    rows = _with_status(rows, a.verdicts, "status_a").pipe(_with_status, b.verdicts, "status_b")
    return Diff(_about(a), _about(b), {**{k: bench_a[k] for k in ("id", "sha256", "split")}, "rows": len(ids)},
                _bootstrap(pa), rows, _summaries(rows), not_compared, _notes(pa, pb))


def _definition(profile: Profile, req: Requirement) -> dict[str, Any]:
    derived = {d.name: d.model_dump(mode="json") for d in profile.derived}
    return {**{k: getattr(req, k) for k in _DEFINITION}, "bands": [derived.get(c) for c in req.groups]}


def _comparable(pa: Profile, pb: Profile) -> tuple[list[str], list[str]]:
    """Ids of requirements measured the same way in both profiles, and a sentence for each other one."""
    ids_b = {r.id: r for r in pb.requirements}
    compared, skipped = [], []
    for ra in pa.requirements:
        rb = ids_b.get(ra.id)
        if rb is None:
            skipped.append(f"{ra.id}: only in A's profile (version {pa.version})")
            continue
        da, db = _definition(pa, ra), _definition(pb, rb)
        differs = [f"{k} {da[k]!r} vs {db[k]!r}" for k in da if da[k] != db[k]]
        if differs:
            skipped.append(f"{ra.id}: measured differently ({', '.join(differs)})")
        else:
            compared.append(ra.id)
    ids_a = {r.id for r in pa.requirements}
    skipped += [f"{r.id}: only in B's profile (version {pb.version})" for r in pb.requirements if r.id not in ids_a]
    return compared, skipped


def _aligned(side: _Side, ids: np.ndarray, profile: Profile) -> Predictions:
    """The side's predictions in the benchmark's row order; the same ids, each once, or an error."""
    frame = side.predictions
    found = frame["id"].to_numpy()
    if len(found) != len(ids) or len(pd.unique(found)) != len(found) or not np.isin(ids, found).all():
        missing = np.setdiff1d(ids, found)
        raise InputError(f"{side.ref}: predictions.parquet does not cover the benchmark rows one to one "
                         f"({len(found):,} predictions for {len(ids):,} rows, {missing.size:,} ids missing"
                         f"{', e.g. ' + repr(missing[0].item()) if missing.size else ''})")
    frame = frame.set_index("id").loc[ids].reset_index()
    source = {"kind": "file", "uri": side.ref, "sha256": "", "fingerprint": ""}
    if profile.task == "regression":
        return Predictions(ids=ids, decision=None, score=None, source=source,
                           value=frame["prediction"].to_numpy(np.float64))
    score = frame["score"].to_numpy(np.float64) if "score" in frame else None
    return Predictions(ids=ids, decision=frame["decision"].to_numpy(np.int8), score=score, source=source)


def _with_status(rows: pd.DataFrame, verdicts: pd.DataFrame, column: str) -> pd.DataFrame:
    status = verdicts.set_index(["requirement", "group"])["status"].to_dict()
    return rows.assign(**{column: [status.get(k, "") for k in zip(rows["requirement"], rows["group"])]})


def _summaries(rows: pd.DataFrame) -> list[dict[str, str]]:
    out = []
    for rid, part in rows.groupby("requirement", sort=False):
        changes = set(part["change"])
        better, worse = "better" in changes, "worse" in changes
        change = "mixed" if better and worse else "better" if better else "worse" if worse else \
            "changed" if changes & {"higher", "lower"} else "no clear change"
        moved = [f"{g}: {x or '?'} -> {y or '?'}" for g, x, y in zip(part["group"], part["status_a"],
                                                                     part["status_b"]) if x != y]
        out.append({"requirement": rid, "metric": part["metric"].iloc[0], "change": change,
                    "status": "; ".join(moved) or "unchanged"})
    return out


def _about(side: _Side) -> dict[str, Any]:
    summary = json.loads((side.folder / "summary.json").read_text(encoding="utf-8"))
    model = summary.get("model", {})
    return {"source": side.ref, "profile_version": str(side.loaded.profile.version),
            "model": f"{model.get('kind', '')} {model.get('fingerprint', '')[:12]}".strip(),
            "verdict": summary.get("verdict", ""), "as_of": summary.get("policy", {}).get("as_of", "")}


def _bootstrap(p: Profile) -> dict[str, Any]:
    b = p.inference.bootstrap
    return {"confidence": p.inference.confidence, "replicates": b.replicates, "seed": b.seed, "unit": b.unit,
            "stratify": b.stratify}


def _notes(pa: Profile, pb: Profile) -> list[str]:
    a, b = _bootstrap(pa), _bootstrap(pb)
    differs = [f"{k} {a[k]!r} vs {b[k]!r}" for k in _INFERENCE if a[k] != b[k]]
    return [f"the profiles' bootstrap settings differ ({', '.join(differs)}): A's are used"] if differs else []


# --- rendering ----------------------------------------------------------------


def _num(x: Any) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.3f}"


def _p(x: float, note: str) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x:.3g}" + (" *" if note else "")


def render_diff(diff: Diff, fmt: str) -> str:
    """The comparison as text, CSV (one row per requirement and group), JSON or Markdown."""
    if fmt == "json":
        return json.dumps(_as_json(diff), indent=1)
    if fmt == "csv":
        return diff.rows.to_csv(index=False, float_format=None)
    head = ["requirement", "group", "A", "B", "B - A", "interval", "change", "McNemar p", "status A -> B"]
    body = [[r.requirement, r.group, _num(r.value_a), _num(r.value_b), f"{r.difference:+.3f}"
             if math.isfinite(r.difference) else "n/a", f"[{_num(r.ci_low)}, {_num(r.ci_high)}]", r.change,
             _p(r.mcnemar_p, r.mcnemar_note), f"{r.status_a} -> {r.status_b}"]
            for r in diff.rows.itertuples(index=False)]
    lines = _preamble(diff, markdown=fmt == "markdown")
    if fmt == "markdown":
        lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
    else:
        widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
        lines += [""] + ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *body]]
    lines += ["", "requirements:"] + [f"- {s['requirement']} ({s['metric']}): {s['change']}; status {s['status']}"
                                      for s in diff.requirements]
    lines += [f"- not compared: {x}" for x in diff.not_compared]
    return "\n".join(lines) + "\n"


def _preamble(diff: Diff, *, markdown: bool) -> list[str]:
    bench, boot = diff.benchmark, diff.bootstrap
    bullet = "- " if markdown else ""
    lines = [f"{bullet}{k}: {d['source']}  (profile v{d['profile_version']}, model {d['model'] or '?'}, "
             f"verdict {d['verdict']}, as of {d['as_of']})" for k, d in (("A", diff.a), ("B", diff.b))]
    lines.append(f"{bullet}benchmark {bench['id']} ({bench['split']}, {bench['rows']:,} rows paired by id), "
                 f"{boot['confidence']:.0%} paired bootstrap interval of B - A, {boot['replicates']:,} replicates "
                 f"of {boot['unit']}s, seed {boot['seed']}")
    if diff.rows["mcnemar_note"].str.startswith("rows taken").any():
        lines.append(f"{bullet}* McNemar's test takes rows as independent pairs; the interval resamples clusters")
    return lines + [f"{bullet}note: {n}" for n in diff.notes]


def _as_json(diff: Diff) -> dict[str, Any]:
    rows = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v.item() if hasattr(v, "item") else v)
             for k, v in r.items()} for r in diff.rows.to_dict("records")]
    return {"a": diff.a, "b": diff.b, "benchmark": diff.benchmark, "bootstrap": diff.bootstrap,
            "requirements": diff.requirements, "not_compared": diff.not_compared, "notes": diff.notes,
            "rows": rows}
