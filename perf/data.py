"""Synthetic benchmark for the performance measurements: deterministic for a given seed.

Rows belong to 10 intersectional groups (sex × 5 race categories of unequal size). The
label follows a logistic model of four features with a group-dependent intercept, so
prevalence differs by group; the score is a logistic model of the same features with a
pooled intercept and a group-dependent slope and shift, so it is miscalibrated
differently in each group; the decision is ``score > 0.5``.

``write_benchmark`` writes the rows as a Parquet file in row groups, a benchmark card
(``benchmark.yaml``, with the file's real SHA-256) and a sector profile that names the
card's folder, so ``harness.evaluate`` and ``oversight run`` accept them as they are.
``write_benchmark_chunked`` writes the same kind of file piece by piece (each piece drawn
from its own generator), so a 20,000,000-row file never exists as one frame in memory.
``linear_model`` is a model for the engines that run one (stream, Dask): elementwise, a
few numpy operations per chunk. Run as a script to write all three plus a predictions file::

    .venv/bin/python perf/data.py --rows 1000000 --out /tmp/synthetic-perf
    .venv/bin/python perf/data.py --rows 20000000 --piece-rows 1000000 --out /tmp/big   # card and profile, no predictions
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

__all__ = [
    "BENCHMARK_ID", "FEATURES", "GROUPS", "METRICS", "Synthetic", "generate", "linear_model", "profile_text",
    "write_benchmark", "write_benchmark_chunked",
]

BENCHMARK_ID = "synthetic-perf"
FEATURES = ("x1", "x2", "x3", "x4")
GROUPS = ("sex", "race")
SEXES = ("female", "male")
SEX_SHARE = (0.52, 0.48)
RACES = ("white", "black", "hispanic", "asian", "other")
RACE_SHARE = (0.60, 0.18, 0.12, 0.07, 0.03)
COEF = np.array([1.2, -0.8, 0.5, 0.3])
ROW_GROUP = 100_000

# Illustrative thresholds, so that some requirements are judged (the rest are reported).
THRESHOLDS: dict[str, dict] = {
    "auroc": {"threshold": {"min": 0.75}, "rule": "bound"},
    "sensitivity": {"threshold": {"min": 0.40}, "rule": "point"},
    "ece": {"threshold": {"max": 0.10}, "rule": "bound", "blocking": False},
}

# Every metric of the harness's metric table, each measured per group of sex × race.
METRICS = (
    "selection_rate", "sensitivity", "specificity", "fpr", "fnr", "ppv", "npv", "accuracy",
    "prevalence", "balanced_accuracy", "f1", "auroc", "brier", "ece", "oe_ratio",
)


@dataclass(frozen=True)
class Synthetic:
    """Benchmark rows (groups, features, label ``y``) and one model's score and decision."""

    frame: pd.DataFrame
    score: np.ndarray
    decision: np.ndarray

    @property
    def y(self) -> np.ndarray:
        return self.frame["y"].to_numpy(np.int8)


def generate(n: int, *, seed: int | tuple[int, ...] = 0) -> Synthetic:
    """``n`` rows drawn from one ``default_rng(seed)`` in a fixed order."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(len(SEXES), size=n, p=SEX_SHARE)
    race = rng.choice(len(RACES), size=n, p=RACE_SHARE)
    group = sex * len(RACES) + race  # 0..9
    n_groups = len(SEXES) * len(RACES)
    x = rng.standard_normal((n, len(FEATURES)))
    x[:, 0] += np.linspace(-0.4, 0.4, n_groups)[group]  # feature distributions differ by group
    eta = x @ COEF
    intercept = np.linspace(-1.6, -0.4, n_groups)[group]  # prevalence differs by group
    y = (rng.random(n) < _sigmoid(intercept + eta)).astype(np.int8)
    slope = np.linspace(0.8, 1.2, n_groups)[::-1][group]  # calibration differs by group
    shift = np.tile([0.0, 0.3, -0.3, 0.5, -0.5], len(SEXES))[group]
    score = np.clip(_sigmoid(slope * (-1.0 + eta) + shift), 1e-9, 1 - 1e-9)
    frame = pd.DataFrame({
        "sex": np.asarray(SEXES, dtype=object)[sex],
        "race": np.asarray(RACES, dtype=object)[race],
        **{name: x[:, i] for i, name in enumerate(FEATURES)},
        "y": y,
    })
    return Synthetic(frame, score, (score > 0.5).astype(np.int8))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def linear_model(inputs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(decision, score) from the four features: the synthetic score without its group terms.

    A plain function, so the harness runs it as a ``callable`` model and Dask workers
    import it by name; vectorised, so inference costs little next to the statistics.
    """
    x = inputs[list(FEATURES)].to_numpy(np.float64)
    score = np.clip(_sigmoid(x @ COEF - 1.0), 1e-9, 1 - 1e-9)
    return (score > 0.5).astype(np.int8), score


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _card(data_name: str, sha256: str, rows: int) -> dict:
    return {
        "id": BENCHMARK_ID,
        "version": 1,
        "title": "Synthetic benchmark for performance measurements",
        "task": "binary_classification",
        "description": "Synthetic rows from perf/data.py: 10 groups of sex × race, group-dependent "
                       "prevalence, four standard-normal features.",
        "files": [{"path": data_name, "sha256": sha256, "format": "parquet", "rows": rows}],
        "id_column": None,
        "label": {"column": "y", "positive": 1},
        "features": list(FEATURES),
        "sensitive": list(GROUPS),
        "slices": [],
        "weight": None,
        "cluster": None,
        "dropped": [],
        "split": {"unit": "row", "test_share": 0.3, "salt": f"{BENCHMARK_ID}/v1"},
        "source": {"name": "perf/data.py", "url": "perf/data.py", "retrieved_from": "generated"},
        "citation": "Synthetic data, generated by perf/data.py.",
        "licence": "CC0-1.0",
    }


def profile_text(benchmark_ref: str, sha256: str, *, replicates: int = 1000, seed: int = 1,
                 interval: str | None = "bootstrap_percentile", resample_bins: int | None = None,
                 path: str | None = None) -> str:
    """A sector profile with one requirement per metric, each by sex × race (``THRESHOLDS``).

    ``interval`` applies to every requirement (None keeps the harness's default:
    Clopper-Pearson for proportions, the bootstrap for the rest); ``resample_bins`` sets
    ``inference.bootstrap.score_bins`` (None keeps the harness's default); ``path`` sets
    ``benchmark.path``, the card's folder relative to the profile file.
    """
    bootstrap = {"replicates": replicates, "seed": seed}
    if resample_bins is not None:
        bootstrap["score_bins"] = resample_bins
    reqs = []
    for name in METRICS:
        req = {"id": f"R-{name}", "title": name, "metric": name, "groups": list(GROUPS), **THRESHOLDS.get(name, {})}
        if interval is not None:
            req["interval"] = interval
        reqs.append(req)
    profile = {
        "id": "synthetic-perf",
        "version": 1,
        "title": "Synthetic profile for performance measurements",
        "sector": "synthetic",
        "authority": "none (performance measurement)",
        "legal_basis": ["none: synthetic"],
        "effective_from": "2026-01-01",
        "enforcement_from": "2026-01-01",
        "benchmark": {"id": benchmark_ref, **({"path": path} if path else {}), "sha256": sha256, "split": "all"},
        "task": "binary_classification",
        "inference": {"confidence": 0.95, "bootstrap": bootstrap},
        "requirements": reqs,
    }
    return yaml.safe_dump(profile, sort_keys=False)


def write_benchmark(folder: str | Path, synth: Synthetic, *, replicates: int = 1000,
                    interval: str | None = "bootstrap_percentile") -> tuple[Path, Path]:
    """Write ``data.parquet``, ``benchmark.yaml`` and ``profile.yaml``; return (card, profile).

    The profile names the benchmark by its id and ``benchmark.path: .`` (the card sits beside
    the profile), so ``harness.evaluate`` and ``oversight run`` find it without a search path.
    """
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data.parquet"
    table = pa.Table.from_pandas(synth.frame, preserve_index=False)
    pq.write_table(table, data, row_group_size=ROW_GROUP)
    return _describe(folder, data, len(synth.frame), replicates=replicates, interval=interval)


def write_benchmark_chunked(folder: str | Path, rows: int, *, seed: int = 0, piece_rows: int = 1_000_000,
                            replicates: int = 1000, interval: str | None = "bootstrap_percentile") -> tuple[Path, Path]:
    """Like ``write_benchmark`` for ``rows`` rows, generated and written ``piece_rows`` at a time.

    Piece ``i`` is ``generate(piece_rows, seed=(seed, i))``: the rows depend on ``seed`` and
    ``piece_rows`` (not the same rows as ``generate(rows, seed=seed)``), and only one piece
    is in memory at a time. Row groups of ``ROW_GROUP`` rows, as ``write_benchmark``.
    """
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data.parquet"
    writer = None
    try:
        for i, start in enumerate(range(0, rows, piece_rows)):
            piece = generate(min(piece_rows, rows - start), seed=(seed, i))
            table = pa.Table.from_pandas(piece.frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(data, table.schema)
            writer.write_table(table.cast(writer.schema), row_group_size=ROW_GROUP)
    finally:
        if writer is not None:
            writer.close()
    return _describe(folder, data, rows, replicates=replicates, interval=interval)


def _describe(folder: Path, data: Path, rows: int, *, replicates: int, interval: str | None) -> tuple[Path, Path]:
    """Write the card (with the file's SHA-256) and the profile next to ``data``."""
    sha = _sha256(data)
    card = folder / "benchmark.yaml"
    card.write_text(yaml.safe_dump(_card(data.name, sha, rows), sort_keys=False))
    profile = folder / "profile.yaml"
    profile.write_text(profile_text(BENCHMARK_ID, sha, replicates=replicates, interval=interval, path="."))
    return card, profile


def write_predictions(folder: str | Path, synth: Synthetic) -> Path:
    """The synthetic score and decision as a declared predictions file (ids are row numbers)."""
    path = Path(folder) / "predictions.parquet"
    frame = pd.DataFrame({"id": np.arange(len(synth.score)), "decision": synth.decision, "score": synth.score})
    frame.to_parquet(path, index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created)")
    parser.add_argument("--piece-rows", type=int, help="generate and write this many rows at a time "
                        "(write_benchmark_chunked; other rows than one piece; no predictions file)")
    args = parser.parse_args()
    if args.piece_rows:
        card, profile = write_benchmark_chunked(args.out, args.rows, seed=args.seed, piece_rows=args.piece_rows)
        print(f"card:        {card}\nprofile:     {profile}")
        return
    synth = generate(args.rows, seed=args.seed)
    card, profile = write_benchmark(args.out, synth)
    preds = write_predictions(args.out, synth)
    print(f"card:        {card}\nprofile:     {profile}\npredictions: {preds}")
    print(f"try: .venv/bin/oversight run --profile {profile} --predictions {preds} --out {args.out / 'reports'}"
          " --no-tracking")


if __name__ == "__main__":
    main()
