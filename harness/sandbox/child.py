"""The model process: loads one vendor model and answers prediction requests.

Run as a script (``python -I child.py CONFIG``), never imported by the harness: it needs
nothing from the harness, so under bubblewrap this one file is all of the harness's code
the model can see. Before the model is loaded it limits itself (address space, CPU
time, file size, no core dumps) and becomes the reaper of its own orphans. Requests
come as JSON lines on one inherited pipe and answers go back on another, never on
stdout or stderr, which the parent captures into the model's log. Inputs are Parquet
files in the scratch folder; outputs are ``.npy`` (no pickles) or Parquet files there.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback
from typing import Any

PR_SET_CHILD_SUBREAPER = 36


def _limit(config: dict[str, Any]) -> None:
    for which, value in ((resource.RLIMIT_AS, config["memory"]), (resource.RLIMIT_FSIZE, config["file_size"]),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(which, (value, value))
    # SIGXCPU at the limit; SIGKILL a second later, should the model ignore SIGXCPU.
    resource.setrlimit(resource.RLIMIT_CPU, (config["cpu_time"], config["cpu_time"] + 1))
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent still kills the process group
        pass


def _load(config: dict[str, Any]) -> object:
    path, kind = config["model"], config["kind"]
    if kind == "skops":
        import skops.io

        return skops.io.load(path, trusted=config["trusted"])
    if kind == "pickle":
        import joblib

        return joblib.load(path)
    import mlflow.models
    import mlflow.pyfunc

    if "sklearn" in mlflow.models.Model.load(path).flavors:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(path)
    return mlflow.pyfunc.load_model(path)


def _save(value: object, stem: str, scratch: str) -> dict[str, str]:
    """Write one output as .npy (plain dtypes only) or, for a table, Parquet."""
    import numpy as np
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        frame = value.copy()
        frame.columns = [str(c) for c in frame.columns]
        try:
            frame.to_parquet(os.path.join(scratch, stem + ".parquet"), index=False)
        except Exception:  # noqa: BLE001 - mixed object columns: keep them as text
            frame = frame.astype({c: str for c in frame.columns if frame[c].dtype.kind == "O"})
            frame.to_parquet(os.path.join(scratch, stem + ".parquet"), index=False)
        return {"file": stem + ".parquet"}
    array = value.to_numpy() if isinstance(value, (pd.Series, pd.Index)) else np.asarray(value)
    if array.dtype.kind == "O":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError):
            array = array.astype(str)
    np.save(os.path.join(scratch, stem + ".npy"), array, allow_pickle=False)
    return {"file": stem + ".npy"}


def _answer(model: object, request: dict[str, Any], scratch: str) -> dict[str, Any]:
    import pandas as pd

    n = request["n"]
    inputs = pd.read_parquet(os.path.join(scratch, request["input"]))
    raw: dict[str, object] = {}
    if not callable(getattr(model, "predict", None)):
        out = model(inputs)  # type: ignore[operator]
        if isinstance(out, tuple) and len(out) == 2:
            raw["predicted"], raw["second"] = out
        else:
            raw["predicted"] = out
    else:
        raw["predicted"] = model.predict(inputs)  # type: ignore[attr-defined]
        if request["task"] != "regression":
            if hasattr(model, "predict_proba"):
                raw["proba"] = model.predict_proba(inputs)  # type: ignore[attr-defined]
                if getattr(model, "classes_", None) is not None:
                    raw["classes"] = model.classes_  # type: ignore[attr-defined]
            elif hasattr(model, "decision_function"):
                raw["decision_function"] = model.decision_function(inputs)  # type: ignore[attr-defined]
    return {"n": n, "ok": True, "outputs": {k: _save(v, f"out-{n}-{k}", scratch) for k, v in raw.items()}}


def _failure(exc: BaseException, **extra: Any) -> dict[str, Any]:
    traceback.print_exc()  # into the model's log
    return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "memory": isinstance(exc, MemoryError), **extra}


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as fh:
        config = json.load(fh)
    requests = os.fdopen(config["requests_fd"], "r", encoding="utf-8")
    answers = os.fdopen(config["answers_fd"], "w", encoding="utf-8")

    def send(message: dict[str, Any]) -> None:
        answers.write(json.dumps(message) + "\n")
        answers.flush()

    _limit(config)
    try:
        model = _load(config)
    except Exception as exc:  # noqa: BLE001 - the vendor's model may raise anything
        send(_failure(exc, stage="load"))
        return 0
    send({"ok": True, "stage": "load"})
    for line in requests:
        request = json.loads(line)
        try:
            send(_answer(model, request, config["scratch"]))
        except Exception as exc:  # noqa: BLE001
            send(_failure(exc, n=request["n"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
