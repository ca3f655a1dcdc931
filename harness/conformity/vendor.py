"""The vendor's side: predictions on a public release's test inputs, made into a signed submission.

Predictions come from a declared file (checked as ``oversight run`` checks one) or from a model
run in the sandbox on the test inputs the profile lets it see; never from anything with labels.
"""

from __future__ import annotations

from pathlib import Path

from ..benchmark import BenchmarkCard
from ..declared import read_predictions
from ..errors import InputError
from ..evidence.signing import load_signer
from ..plan import check_columns, check_pinned, locate_benchmark, score_limits, validate_scores
from ..predictors import Predictions, load_model, predict
from ..profile import LoadedProfile, load_profile
from ..sandbox import Options
from .seal import PublicRelease, load_public
from .submission import Submission, write_submission

__all__ = ["submit"]


def submit(profile: Path, *, key: Path, out: Path, public: Path | None = None, predictions: Path | None = None,
           model: str | None = None, options: Options | None = None) -> Submission:
    """Predict on the public release's test inputs (or read declared predictions) and sign the submission.

    ``public``: the public release (default: the profile's benchmark as the catalogue finds it).
    """
    if (model is None) == (predictions is None):
        raise InputError("give exactly one of a model (--model) or a predictions file (--predictions)")
    loaded = load_profile(profile)
    release = load_public(public if public is not None else locate_benchmark(loaded)[0])
    _check_release(loaded, release)
    preds = _predictions(loaded, release, predictions=predictions, model=model, options=options or Options())
    validate_scores(preds.score, loaded.profile, preds.source.get("uri", "predictions"))
    signer = load_signer(key)
    return write_submission(out, loaded=loaded, release=release, predictions=preds.frame(), model=preds.source,
                            signer=signer)


def _check_release(loaded: LoadedProfile, release: PublicRelease) -> None:
    profile = loaded.profile
    if release.card.id != profile.benchmark.id:
        raise InputError(f"public release {release.root} is of benchmark {release.card.id!r}; the profile "
                         f"{profile.id} v{profile.version} judges {profile.benchmark.id!r}")
    check_pinned(profile, release.record.from_sha256)
    check_columns(loaded, release.card, list(release.test_inputs.columns))


def _model_inputs(card: BenchmarkCard, allowed: list[str]) -> list[str]:
    """Features, plus the sensitive columns the profile allows, in card order (as ``Benchmark.model_inputs``)."""
    return [*card.features, *(s for s in card.sensitive if s in allowed)]


def _predictions(loaded: LoadedProfile, release: PublicRelease, *, predictions: Path | None, model: str | None,
                 options: Options) -> Predictions:
    profile = loaded.profile
    ids = release.ids.to_numpy()
    if predictions is not None:
        return read_predictions(predictions, expected_ids=ids, task=profile.task, score_range=score_limits(profile))
    columns = _model_inputs(release.card, list(profile.model_inputs.allow_sensitive))
    with load_model(model, options=options) as runnable:
        return predict(runnable, release.test_inputs[columns].copy(), ids, task=profile.task)
