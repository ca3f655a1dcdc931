"""Verify as a skeptical auditor uses it: every tamper case, each on its own, each named exactly.

One signed, tracked bundle is made per module; each test edits a copy of it (and, for the
MLflow cases, a copy of the tracking store) the way a party who wants a different outcome
would, then asserts the exact discrepancy verify names.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

import harness
from harness.cli import main
from harness.evidence.bundle import BUNDLE_FILES, _json, sha256_file
from harness.evidence.signing import generate_keys
from harness.evidence.verify import verify_bundle
from harness.report import figures_of, render_reports

ROOT = Path(__file__).resolve().parents[1]
HIRING = ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml"
AS_OF = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, callbacks_csv):
    """A testing lab's signed, tracked bundle of the employers' own callbacks, and its store."""
    root = tmp_path_factory.mktemp("lab")
    preds = callbacks_csv
    lab_key, lab_pub = generate_keys(root / "keys", name="lab")
    vendor_key, vendor_pub = generate_keys(root / "vendor-keys", name="vendor")
    store = root / "store"
    store.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(store)  # MLflow puts a SQLite store's artifacts under ./mlruns
        result = harness.evaluate(HIRING, predictions=preds, as_of=AS_OF, out=root / "out", split="all",
                                  tracking_uri=f"sqlite:///{store}/mlflow.db", sign_key=lab_key)
    return {"root": root, "result": result, "store": store, "preds": preds, "lab_key": lab_key,
            "lab_pub": lab_pub, "vendor_key": vendor_key, "vendor_pub": vendor_pub}


@pytest.fixture
def bundle(lab, tmp_path) -> Path:
    """A copy of the lab's bundle to tamper with."""
    return Path(shutil.copytree(lab["result"].bundle, tmp_path / "out" / lab["result"].bundle.name))


@pytest.fixture
def unsigned(bundle) -> Path:
    """The same bundle without its signature: what recomputation alone must catch."""
    (bundle / "signature.json").unlink()
    return bundle


@pytest.fixture
def store(lab, tmp_path) -> str:
    """A copy of the lab's tracking store (database and artifacts) to tamper with."""
    copy = Path(shutil.copytree(lab["store"], tmp_path / "store"))
    with sqlite3.connect(copy / "mlflow.db") as db:
        for table, column in (("runs", "artifact_uri"), ("experiments", "artifact_location")):
            db.execute(f"UPDATE {table} SET {column} = replace({column}, ?, ?)", (str(lab["store"]), str(copy)))
    from mlflow.tracking._tracking_service import utils

    utils._artifact_repos_cache.clear()  # MLflow caches each run's artifact location by run id alone
    return f"sqlite:///{copy}/mlflow.db"


def _reseal(bundle: Path) -> None:
    """What a party editing a bundle does next: rewrite the manifest's hashes to match."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"] = {name: sha256_file(bundle / name) for name in manifest["files"] if (bundle / name).exists()}
    (bundle / "manifest.json").write_text(_json(manifest))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _offline(bundle: Path, **options) -> list[str]:
    result = verify_bundle(bundle, tracking=False, **options)
    assert result.status == "failed"
    return list(result.problems)


def test_untouched_bundle_verifies_against_everything(lab, store):
    result = verify_bundle(lab["result"].bundle, tracking_uri=store, public_keys=(lab["lab_pub"],),
                           profile="hiring-aedt")
    assert result.status == "verified", result.problems
    assert result.exit_code == 0
    assert result.unchecked == ()
    assert [c.split(":")[0] for c in result.checks] == ["manifest.json", "hashes", "signature", "recomputed from "
                                                        "the stored profile and predictions and compared byte for "
                                                        "byte", "profile", "MLflow"]
    assert result.skipped == ("predictions: declared; not re-run from a model (give --model)",)
    manifest = json.loads((lab["result"].bundle / "manifest.json").read_text())
    assert (manifest["tracking"], manifest["predictions"]["origin"]) == ({"requested": True}, "declared")
    assert json.loads((lab["result"].bundle / "signature.json").read_text())["signer"] == "lab"  # sign_key=
    sha = lab["result"].summary["profile"]["sha256"]
    assert f'<dt>Profile SHA-256</dt>\n    <dd class="hash">{sha}</dd>' in (lab["result"].bundle / "report.html").read_text()
    assert f"- Profile SHA-256: `{sha}`" in (lab["result"].bundle / "report.md").read_text()


# --- derived files, with the manifest rewritten to match ----------------------


def test_report_md_saying_compliant(unsigned):
    bundle = unsigned
    _edit(bundle / "report.md", "**Overall verdict: NOT COMPLIANT**", "**Overall verdict: COMPLIANT**")
    _reseal(bundle)
    assert _offline(bundle) == ["report.md: differs from the report re-rendered from the recomputed results, first "
                                "at line 5: stored '**Overall verdict: COMPLIANT**', re-rendered '**Overall "
                                "verdict: NOT COMPLIANT**'"]


def test_report_html_saying_compliant(unsigned):
    bundle = unsigned
    _edit(bundle / "report.html", '<p class="verdict">Not compliant</p>', '<p class="verdict">Compliant</p>')
    _reseal(bundle)
    (problem,) = _offline(bundle)
    assert problem.startswith("report.html: differs from the report re-rendered from the recomputed results, "
                              "first at line ")
    assert problem.endswith(": stored '<p class=\"verdict\">Compliant</p>', re-rendered '<p "
                            "class=\"verdict\">Not compliant</p>'")


def test_verdicts_json_status(unsigned):
    bundle = unsigned
    rows = json.loads((bundle / "verdicts.json").read_text())
    row = next(r for r in rows if r["requirement"] == "H3-race" and r["group"] == "black")
    row["status"] = "pass"
    (bundle / "verdicts.json").write_text(json.dumps(rows, indent=1) + "\n")
    _reseal(bundle)
    assert _offline(bundle) == ["verdicts.json: H3-race / black status: stored 'pass', recomputed 'flag'"]


def test_measurements_json_value(unsigned):
    bundle = unsigned
    rows = json.loads((bundle / "measurements.json").read_text())
    true = rows[0]["ci_low"]
    rows[0]["ci_low"] = 0.5
    (bundle / "measurements.json").write_text(json.dumps(rows, indent=1) + "\n")
    _reseal(bundle)
    assert _offline(bundle) == [f"measurements.json: {rows[0]['requirement']} / {rows[0]['group']} ci_low: "
                                f"stored 0.5, recomputed {true!r}"]


@pytest.mark.parametrize(("path", "value", "message"), [
    (("policy", "status"), "enforced", "summary.json.policy.status: stored 'enforced', recomputed 'grace_period'"),
    (("profile", "enforcement_from"), "2030-01-01",
     "summary.json.profile.enforcement_from: stored '2030-01-01', recomputed '2027-01-22'"),
    (("benchmark", "rows"), 10000, "summary.json.benchmark.rows: stored 10000, recomputed 4870"),
    (("verdict",), "compliant", "summary.json.verdict: stored 'compliant', recomputed 'non_compliant'"),
])
def test_summary_field(unsigned, path, value, message):
    bundle = unsigned
    summary = json.loads((bundle / "summary.json").read_text())
    node = summary
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    (bundle / "summary.json").write_text(_json(summary))
    _reseal(bundle)
    assert _offline(bundle) == [message]


def test_verdicts_csv_threshold(unsigned):
    bundle = unsigned
    _edit(bundle / "verdicts.csv", "black,flag,True,point,min,0.8,", "black,flag,True,point,min,0.5,")
    _reseal(bundle)
    assert _offline(bundle) == ["verdicts.csv: H3-race / black threshold: stored 0.5, recomputed 0.8"]


def test_file_removed_from_bundle_and_manifest(unsigned):
    bundle = unsigned
    (bundle / "report.md").unlink()
    _reseal(bundle)
    assert _offline(bundle) == ["manifest.json: does not list report.md, a required bundle file",
                                "report.md: a required bundle file is missing"]


def test_file_added_to_bundle_and_manifest(unsigned):
    bundle = unsigned
    (bundle / "notes.txt").write_text("reviewed and approved\n")
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"]["notes.txt"] = sha256_file(bundle / "notes.txt")
    (bundle / "manifest.json").write_text(_json(manifest))
    assert _offline(bundle) == [
        f"manifest.json: lists notes.txt, which is not a bundle file of oversight-harness {harness.__version__} "
        f"(expected {', '.join(BUNDLE_FILES)})",
        "notes.txt: present in the bundle but not a bundle file"]


# --- the published profile, and predictions bound to a model -----------------


def test_loosened_local_copy_of_the_published_profile(lab, tmp_path):
    local = tmp_path / "hiring-aedt-v1.yaml"
    text = HIRING.read_text()
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.strip() == "threshold: {min: 0.80}")
    local.write_text(text.replace("threshold: {min: 0.80}", "threshold: {min: 0.50}", 1))
    result = harness.evaluate(local, predictions=lab["preds"], as_of=AS_OF, out=tmp_path / "out", split="all",
                              tracking=False)
    assert verify_bundle(result.bundle).status == "verified"  # consistent in itself
    loosened = verify_bundle(result.bundle, profile="hiring-aedt")
    published = HIRING.read_bytes()
    import hashlib

    assert loosened.problems == (
        f"profile.yaml: differs from the published profile hiring-aedt v1 ({HIRING}): SHA-256 "
        f"{hashlib.sha256(local.read_bytes()).hexdigest()} in the bundle, {hashlib.sha256(published).hexdigest()} "
        f"published; first at line {line}: bundle 'threshold: {{min: 0.50}}', published 'threshold: {{min: 0.80}}'",)
    assert verify_bundle(result.bundle, profile=HIRING).problems == loosened.problems


def test_profile_of_another_id_is_named(bundle):
    other = ROOT / "sector_profiles/health/health-mortality-risk-v1.yaml"
    assert _offline(bundle, profile=other) == [
        f"profile.yaml: the bundle's profile is hiring-aedt v1, the published profile {other} is "
        "health-mortality-risk v1"]


def _figures(bundle: Path):
    """The report's curves as the harness draws them, from the bundle's own profile and predictions."""
    from harness.evaluation import atoms_for
    from harness.evidence.checks import stored_predictions
    from harness.plan import make_plan
    from harness.profile import load_profile

    loaded = load_profile(bundle / "profile.yaml")
    split = json.loads((bundle / "summary.json").read_text())["benchmark"]["split"]
    return figures_of(loaded.profile, atoms_for(make_plan(loaded, split=split), stored_predictions(bundle)))


def test_foreign_predictions_claiming_the_real_model(lab, unsigned, tmp_path):
    """The employers' callbacks, dressed up as the output of a vendor's model file."""
    import skops.io
    from sklearn.dummy import DummyClassifier

    model = DummyClassifier(strategy="constant", constant=1).fit([[0], [1]], [0, 1])
    path = tmp_path / "vendor.skops"
    skops.io.dump(model, path)
    honest = harness.evaluate(HIRING, model=str(path), as_of=AS_OF, out=tmp_path / "honest", split="all",
                              tracking=False)
    assert verify_bundle(honest.bundle, model=str(path)).status == "verified"
    claimed = json.loads((honest.bundle / "manifest.json").read_text())["inputs"]["model"]

    bundle, forged = unsigned, lab["result"]
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["inputs"]["model"] = claimed
    manifest["predictions"] = {"origin": "model", "model_kind": "skops", "model_sha256": claimed["sha256"]}
    summary = json.loads((bundle / "summary.json").read_text())
    summary["model"] = claimed
    (bundle / "summary.json").write_text(_json(summary))
    html, markdown = render_reports(summary, forged.measurements, forged.verdicts, figures=_figures(bundle))
    (bundle / "report.html").write_text(html)
    (bundle / "report.md").write_text(markdown)
    (bundle / "manifest.json").write_text(_json(manifest))
    _reseal(bundle)
    assert verify_bundle(bundle, tracking=False).status == "verified"  # without the model, nothing binds them
    callbacks = forged.predictions.decision
    assert verify_bundle(bundle, tracking=False, model=str(path)).problems == (
        f"predictions.parquet: decision differs from the model's on {int((callbacks == 0).sum())} of "
        f"{len(callbacks)} rows, first id {int(forged.predictions.ids[callbacks == 0][0])!r}",
        "predictions.parquet: score is absent, the model gives one")


# --- MLflow ------------------------------------------------------------------


def _tracked(bundle: Path, store: str, **options):
    return verify_bundle(bundle, tracking_uri=store, **options)


def _run_id(lab) -> str:
    return lab["result"].run_id


def test_rewritten_manifest_finds_no_run(bundle, store):
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["environment"]["platform"] = "elsewhere"
    (bundle / "manifest.json").write_text(_json(manifest))
    result = _tracked(bundle, store)
    digest = sha256_file(bundle / "manifest.json")
    assert result.unchecked == (f"MLflow: no run logged this bundle (searched every experiment for tag "
                                f"oversight.manifest_sha256 = {digest})",)
    assert result.status == "failed"  # the signature no longer matches either
    assert result.problems[0].startswith("signature.json: signs manifest SHA-256 ")


def test_deleted_run(lab, bundle, store):
    MlflowClient(tracking_uri=store).delete_run(_run_id(lab))
    result = _tracked(bundle, store)
    assert (result.status, result.exit_code) == ("unverified", 1)
    assert result.unchecked == (f"MLflow: run {_run_id(lab)} logged this bundle but was deleted",)


def test_edited_manifest_hash_tag(lab, bundle, store):
    MlflowClient(tracking_uri=store).set_tag(_run_id(lab), "oversight.manifest_sha256", "0" * 64)
    result = _tracked(bundle, store)
    assert (result.status, result.exit_code) == ("unverified", 1)
    assert result.unchecked[0].startswith("MLflow: no run logged this bundle")


def test_interrupted_logging(lab, bundle, store):
    client = MlflowClient(tracking_uri=store)
    client.delete_run(_run_id(lab))
    exp = client.get_experiment_by_name("hiring-aedt").experiment_id
    half = client.create_run(exp, tags={"oversight.manifest_sha256": sha256_file(bundle / "manifest.json")})
    result = _tracked(bundle, store)
    assert result.status == "failed"
    assert result.problems[0] == (f"MLflow run {half.info.run_id}: status RUNNING; expected FINISHED (the logging "
                                  "did not complete)")
    assert f"MLflow run {half.info.run_id}: tag oversight.verdict is missing, the bundle says 'non_compliant'" in \
        result.problems
    assert f"MLflow run {half.info.run_id}: artifact evidence/report.html is missing" in result.problems
    assert f"MLflow: run {_run_id(lab)} (deleted) also carries this manifest hash; compared run " \
           f"{half.info.run_id}" in result.checks


@pytest.mark.parametrize(("key", "value", "message"), [
    ("detail/H1-race.selection_rate.black.ci_high", 0.9,
     "metric detail/H1-race.selection_rate.black.ci_high is 0.9, the bundle says "),
    ("detail/H1-race.selection_rate.black.n", 1.0, "metric detail/H1-race.selection_rate.black.n is 1.0, the bundle says "),
    ("blocking_failures", 0.0, "metric blocking_failures is 0.0, the bundle says "),
])
def test_edited_metric(lab, bundle, store, key, value, message):
    client = MlflowClient(tracking_uri=store)
    want = client.get_run(_run_id(lab)).data.metrics[key]
    client.log_metric(_run_id(lab), key, value, step=1)
    assert _tracked(bundle, store).problems == (f"MLflow run {_run_id(lab)}: {message}{want!r}",)


def test_edited_tag(lab, bundle, store):
    MlflowClient(tracking_uri=store).set_tag(_run_id(lab), "oversight.policy_status", "enforced")
    assert _tracked(bundle, store).problems == (
        f"MLflow run {_run_id(lab)}: tag oversight.policy_status is 'enforced', the bundle says 'grace_period'",)


def test_signer_fingerprint_is_tagged(lab):
    from harness.evidence.signing import fingerprint, load_signer

    tags = MlflowClient(tracking_uri=f"sqlite:///{lab['store']}/mlflow.db").get_run(_run_id(lab)).data.tags
    assert tags["oversight.signer_fingerprint"] == fingerprint(load_signer(lab["lab_key"]).public_bytes)


def test_altered_and_extra_artifacts(lab, bundle, store, tmp_path):
    client = MlflowClient(tracking_uri=store)
    local = Path(client.download_artifacts(_run_id(lab), "evidence/manifest.json", str(tmp_path / "dl")))
    local.write_text(local.read_text().replace('"seed"', '"seed" ', 1))
    client.log_artifact(_run_id(lab), str(local), "evidence")
    (tmp_path / "extra.txt").write_text("x")
    client.log_artifact(_run_id(lab), str(tmp_path / "extra.txt"), "evidence")
    assert _tracked(bundle, store).problems == (
        f"MLflow run {_run_id(lab)}: artifact evidence/manifest.json differs from the bundle",
        f"MLflow run {_run_id(lab)}: artifact evidence/extra.txt is not in the bundle")


def test_pending_bundle(unsigned, store):
    bundle = unsigned
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["environment"]["platform"] = "never logged"  # a bundle this store has not seen
    (bundle / "manifest.json").write_text(_json(manifest))
    marker = bundle.parent / ".oversight" / "pending" / f"{bundle.name}.json"
    marker.parent.mkdir(parents=True)
    marker.write_text("{}")
    result = _tracked(bundle, store)
    assert (result.status, result.exit_code) == ("unverified", 1)
    assert result.unchecked == ("MLflow: not logged yet (the tracking server was unreachable at run time); run "
                                "`oversight sync`",)


@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_mistyped_tracking_uri_creates_nothing(bundle, tmp_path, kind):
    target = tmp_path / ("mlfow.db" if kind == "sqlite" else "mlrns")
    uri = f"sqlite:///{target}" if kind == "sqlite" else f"file://{target}"
    result = _tracked(bundle, uri)
    what = "SQLite file" if kind == "sqlite" else "folder"
    assert result.unchecked == (f"MLflow: could not be read: MLflow store {uri}: the {what} {target} does not exist; "
                                "nothing was created (check --tracking-uri or MLFLOW_TRACKING_URI)",)
    assert (result.status, result.exit_code) == ("unverified", 3)
    assert not target.exists()
    assert result.checks[3].startswith("recomputed from the stored profile")  # still done and said


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_through_the_cli(bundle):
    uri = f"http://127.0.0.1:{_closed_port()}"
    res = CliRunner().invoke(main, ["verify", str(bundle), "--tracking-uri", uri], catch_exceptions=False)
    assert res.exit_code == 3, res.output
    lines = res.stdout.splitlines()
    assert lines[-1] == "UNVERIFIED: 1 check(s) could not be made"
    assert lines[-2].startswith(f"could not check: MLflow: could not be read: cannot search MLflow at {uri}: ")
    assert any(line.startswith("checked: recomputed from the stored profile") for line in lines)


def test_verify_run_id_through_the_cli(lab, store):
    ok = CliRunner().invoke(main, ["verify", _run_id(lab), "--tracking-uri", store, "--public-key",
                                   str(lab["lab_pub"]), "--json"], catch_exceptions=False)
    doc = json.loads(ok.stdout)
    assert (ok.exit_code, doc["status"], doc["bundle"]) == (0, "verified", f"MLflow run {_run_id(lab)}")
    MlflowClient(tracking_uri=store).set_tag(_run_id(lab), "oversight.verdict", "compliant")
    bad = CliRunner().invoke(main, ["verify", _run_id(lab), "--tracking-uri", store], catch_exceptions=False)
    assert bad.exit_code == 1
    assert bad.stdout.splitlines()[-2:] == [
        "NOT VERIFIED: 1 problem(s)",
        f"  - MLflow run {_run_id(lab)}: tag oversight.verdict is 'compliant', the bundle says 'non_compliant'"]



def test_absent_run_through_the_cli_with_json(unsigned, store):
    manifest = json.loads((unsigned / "manifest.json").read_text())
    manifest["environment"]["platform"] = "never logged"
    (unsigned / "manifest.json").write_text(_json(manifest))
    res = CliRunner().invoke(main, ["verify", str(unsigned), "--tracking-uri", store, "--json"],
                             catch_exceptions=False)
    doc = json.loads(res.stdout)
    assert (res.exit_code, doc["status"], doc["ok"], doc["problems"]) == (1, "unverified", False, [])
    assert doc["unchecked"] == [f"MLflow: no run logged this bundle (searched every experiment for tag "
                                f"oversight.manifest_sha256 = {sha256_file(unsigned / 'manifest.json')})"]


def test_default_store_that_does_not_exist_is_not_created(bundle, tmp_path, monkeypatch):
    import mlflow

    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(None)  # logging set this process's URI; a fresh `oversight verify` has none
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    res = CliRunner().invoke(main, ["verify", str(bundle)], catch_exceptions=False)
    assert res.exit_code == 3
    db = tmp_path.resolve() / "mlflow.db"
    assert (f"could not check: MLflow: could not be read: MLflow store sqlite:///{db}: the SQLite file {db} does "
            "not exist; nothing was created") in res.stdout
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["not-a-bundle"], "Invalid value for TARGET: not-a-bundle: neither a bundle folder nor an MLflow run id"),
    (["0" * 32, "--no-tracking"], "verifying an MLflow run needs MLflow; drop --no-tracking"),
])
def test_verify_usage_errors(args, message):
    res = CliRunner().invoke(main, ["verify", *args], catch_exceptions=False)
    assert res.exit_code == 2
    assert message in res.stderr


def test_reports_re_render_identically_in_a_fresh_process(lab):
    """The auditor's process is not the one that wrote the bundle: rendering must not depend on it."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345"}
    res = subprocess.run([sys.executable, "-m", "harness.cli", "verify", str(lab["result"].bundle), "--no-tracking",
                          "--public-key", str(lab["lab_pub"])], env=env, capture_output=True, text=True, timeout=300)
    assert (res.returncode, res.stdout.splitlines()[-1]) == (0, "verified"), res.stdout + res.stderr


def test_unknown_published_profile_id(bundle):
    res = CliRunner().invoke(main, ["verify", str(bundle), "--no-tracking", "--profile", "hiring-aedt-v9"],
                             catch_exceptions=False)
    assert res.exit_code == 2
    assert res.stderr == ("error: --profile hiring-aedt-v9: no such profile (searched: installed defaults); did you "
                          "mean 'hiring-aedt'? 'oversight profile list' shows every profile found\n")


def test_missing_measurements_with_mlflow_is_named_not_a_crash(lab, bundle, store):
    (bundle / "measurements.csv").unlink()
    problems = _tracked(bundle, store).problems
    assert problems[0] == "measurements.csv: a required bundle file is missing"
    assert problems[1].startswith(f"MLflow run {_run_id(lab)}: tags, params and metrics not compared, the bundle's "
                                  "summary, measurements or verdicts are unreadable (FileNotFoundError: ")
    assert len(problems) == 2


def test_a_bundle_made_by_another_harness_version_is_not_verified_by_this_one(unsigned):
    from harness import __version__

    _edit(unsigned / "manifest.json", f'"harness_version": "{__version__}"', '"harness_version": "0.1.0"')
    problems = _offline(unsigned)
    assert problems[0] == (f"manifest.json: made by oversight-harness 0.1.0, verified by {__version__}; verify it "
                           "with the version that made it (pip install oversight-harness==0.1.0)")
