"""Third-party assessment end to end: a lab, vendor A and vendor B, on the résumé audit benchmark.

The ministry seals the benchmark; vendor A trains on the public development split and submits
its model's predictions, vendor B declares a file; the lab assesses both on the sealed labels;
an auditor verifies with public keys alone, and with the sealed labels. Each attack is refused
with a named discrepancy and its exit code.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
import yaml
from click.testing import CliRunner

from harness.benchmark import load_benchmark
from harness.cli import main
from harness.demo import reference_model
from harness.evidence.bundle import BUNDLE_FILES
from harness.evidence.signing import fingerprint, load_signer

ROOT = Path(__file__).resolve().parents[1]
HIRING = ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml"
LABEL = "received_callback"


def cli(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _key(root: Path, name: str) -> str:
    return fingerprint(load_signer(root / "keys" / f"{name}.key").public_bytes)


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory, mlflow_server: str) -> dict:
    """Seal, two submissions, two assessments (B's logged to a real MLflow server)."""
    root = tmp_path_factory.mktemp("conformity")
    for name in ("lab", "vendor-a", "vendor-b"):
        assert cli("keys", "generate", "--out", root / "keys", "--name", name).exit_code == 0
    sealed = cli("benchmark", "seal", "resume-audit-2004", "--public", root / "public", "--sealed", root / "sealed")
    assert sealed.exit_code == 0, sealed.output
    dev = load_benchmark(root / "public").subset("development")  # what a vendor can train on
    model = reference_model(dev.model_inputs(), dev.y, rule="selection_rate", target=0.10)
    skops.io.dump(model, root / "a.skops")
    a = cli("submit", "--profile", HIRING, "--public", root / "public", "--model", root / "a.skops",
            "--key", root / "keys/vendor-a.key", "--out", root / "a.submission.json")
    assert a.exit_code == 0, a.output
    inputs = pd.read_parquet(root / "public/test-inputs.parquet")
    pd.DataFrame({"id": inputs["row_id"], "decision": 1}).to_csv(root / "b.csv", index=False)
    b = cli("submit", "--profile", HIRING, "--public", root / "public", "--predictions", root / "b.csv",
            "--key", root / "keys/vendor-b.key", "--out", root / "b.submission.json")
    assert b.exit_code == 0, b.output
    lab = ("--sealed", root / "sealed", "--key", root / "keys/lab.key", "--profile", HIRING, "--out", root / "lab",
           "--as-of", "2026-06-01", "--json")
    judged = {}
    for name, tracking in (("a", ("--no-tracking",)), ("b", ("--tracking-uri", mlflow_server))):
        res = cli("assess", root / f"{name}.submission.json", *lab, *tracking)
        judged[name] = {"exit": res.exit_code, **json.loads(res.stdout)}
    return {"root": root, "judged": judged, "uri": mlflow_server, "ledger": root / "lab/ledger/hiring-aedt.jsonl"}


def _bundle(flow: dict, name: str, tmp_path: Path | None = None) -> Path:
    """A vendor's bundle, or a copy of it to tamper with."""
    path = Path(flow["judged"][name]["bundle"])
    return path if tmp_path is None else Path(shutil.copytree(path, tmp_path / path.name))


def _keys(flow: dict, *names: str) -> list[str]:
    return [arg for n in names for arg in ("--public-key", str(flow["root"] / "keys" / f"{n}.pub"))]


def test_assessment_verdicts_and_ledger_positions(flow: dict) -> None:
    a, b = flow["judged"]["a"], flow["judged"]["b"]
    assert (a["exit"], a["verdict"], a["ledger_position"]) == (1, "non_compliant", 0)
    assert (b["exit"], b["verdict"], b["ledger_position"]) == (0, "compliant", 1)
    assert b["run_id"] and a["run_id"] is None


def test_the_tracked_assessment_mirrors_the_ledger_into_mlflow(flow: dict) -> None:
    from harness.conformity.ledger import read_ledger
    from harness.conformity.ledger_mlflow import read_mirror

    mirrored = sorted((m.entry.position, m.entry.entry_sha256) for m in read_mirror(tracking_uri=flow["uri"])
                      if m.entry is not None and m.entry.profile_id == "hiring-aedt"
                      and m.entry.manifest_sha256 in {j["manifest_sha256"] for j in flow["judged"].values()})
    assert mirrored == [(e.position, e.entry_sha256) for e in read_ledger(flow["ledger"])]


def test_bundle_holds_the_submission_unchanged_signed_by_the_lab_naming_both_keys(flow: dict) -> None:
    root, bundle = flow["root"], _bundle(flow, "a")
    assert (bundle / "submission.json").read_bytes() == (root / "a.submission.json").read_bytes()
    lab, vendor = _key(root, "lab"), _key(root, "vendor-a")
    assert json.loads((bundle / "signature.json").read_text())["fingerprint"] == lab
    record = json.loads((bundle / "summary.json").read_text())["assessment"]
    assert (record["vendor"], record["vendor_key"], record["lab"], record["lab_key"]) == ("vendor-a", vendor, "lab",
                                                                                          lab)
    for report in ("report.md", "report.html"):
        text = (bundle / report).read_text()
        assert vendor in text and lab in text, report


@pytest.fixture(scope="module")
def full_run(flow: dict) -> Path:
    """Vendor B's signed predictions judged by `oversight run` on the full benchmark (labels included)."""
    root = flow["root"]
    text = json.loads((root / "b.submission.json").read_text())["submission"]["predictions"]["csv"]
    (root / "b-signed.csv").write_text(text)
    res = cli("run", "--profile", HIRING, "--predictions", root / "b-signed.csv", "--no-tracking", "--json",
              "--out", root / "full", "--as-of", "2026-06-01")
    assert res.exit_code == 0, res.output
    return Path(json.loads(res.stdout)["bundle"])


def test_the_same_profile_judges_the_sealed_and_the_full_benchmark_alike(flow: dict, full_run: Path) -> None:
    """The profile pins the full benchmark; the lab's sealed part gives the very same measurements."""
    full = full_run
    for name in ("measurements.csv", "verdicts.csv"):
        assert (full / name).read_bytes() == (_bundle(flow, "b") / name).read_bytes(), name


def test_the_labels_never_leave_the_sealed_folder(flow: dict) -> None:
    """No table the vendor or MLflow receives holds the test labels, row by row or as a column."""
    from mlflow.tracking import MlflowClient

    root = flow["root"]
    labels = pd.read_parquet(root / "sealed/test.parquet")[LABEL].to_numpy()
    public = {p.name for p in (root / "public").iterdir()}
    assert public == {"benchmark.yaml", "development.parquet", "test-inputs.parquet"}
    development, tables = pd.read_parquet(root / "public/development.parquet"), [pd.read_parquet(
        root / "public/test-inputs.parquet")]
    assert not set(development["row_id"]) & set(tables[0]["row_id"])  # labels of development rows only
    bundle = _bundle(flow, "b")
    assert {p.name for p in bundle.iterdir()} == {*BUNDLE_FILES, "submission.json", "manifest.json", "signature.json"}
    client = MlflowClient(tracking_uri=flow["uri"])
    run_id = flow["judged"]["b"]["run_id"]
    local = Path(client.download_artifacts(run_id, "evidence", str(root / "downloaded")))
    tables += [pd.read_parquet(p) for p in (bundle / "predictions.parquet", local / "predictions.parquet")]
    tables += [pd.read_csv(io.StringIO(p.read_text())) for p in (*bundle.glob("*.csv"), *local.glob("*.csv"))]
    for table in tables:
        assert LABEL not in table.columns
        assert not any(len(table[c]) == len(labels) and np.array_equal(table[c].to_numpy(), labels)
                       for c in table.columns if c != "decision")
    (dataset,) = client.get_run(run_id).inputs.dataset_inputs
    assert set(json.loads(dataset.dataset.profile)) == {"num_rows", "num_elements"}  # counts, never values


def test_verify_with_public_keys_alone(flow: dict) -> None:
    res = cli("verify", _bundle(flow, "a"), *_keys(flow, "lab", "vendor-a"), "--ledger", flow["ledger"],
              "--no-tracking")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[-1] == "verified"
    assert (f"checked: ledger {flow['ledger']}: intact (2 entries); this bundle is position 0, after 0 earlier "
            f"attempt(s) by vendor key {_key(flow['root'], 'vendor-a')} at profile hiring-aedt") in lines
    assert ("not checked: measurements: not recomputed, the test labels are sealed with the lab; the lab's signature "
            "covers them (give --sealed DIR to recompute)") in lines


def test_verify_with_the_sealed_labels_recomputes_and_checks_mlflow(flow: dict) -> None:
    res = cli("verify", _bundle(flow, "b"), *_keys(flow, "lab", "vendor-b"), "--ledger", flow["ledger"],
              "--sealed", flow["root"] / "sealed", "--tracking-uri", flow["uri"])
    assert res.exit_code == 0, res.output
    assert ("checked: recomputed from the stored profile and predictions and compared byte for byte: "
            "measurements.csv/.json, verdicts.csv/.json, summary.json, report.html, report.md") in res.stdout


def _tamper_submission(source: Path, out: Path) -> Path:
    document = json.loads(source.read_text())
    body = document["submission"]["predictions"]
    first, rest = body["csv"].split("\n", 2)[1], body["csv"].split("\n", 2)[2]
    row_id, decision = first.split(",")[:2]
    body["csv"] = body["csv"].replace(f"\n{first}\n", f"\n{row_id},{1 - int(decision)}\n", 1)
    assert rest  # more rows follow: one prediction changed among many
    out.write_text(json.dumps(document, indent=1))
    return out


def _assess(flow: dict, submission: Path, *extra: object, profile: Path = HIRING, sealed: Path | None = None):
    root = flow["root"]
    return cli("assess", submission, "--sealed", sealed or root / "sealed", "--key", root / "keys/lab.key",
               "--profile", profile, "--out", root / "lab", "--no-tracking", *extra)


def test_a_submission_changed_after_signing_is_refused(flow: dict, tmp_path: Path) -> None:
    changed = _tamper_submission(flow["root"] / "a.submission.json", tmp_path / "changed.json")
    res = _assess(flow, changed)
    assert res.exit_code == 2
    assert res.stderr == (f"error: submission {changed}: the vendor's signature (key {_key(flow['root'], 'vendor-a')}) "
                          "does not match its content: a prediction, the profile hash or another field was changed "
                          "after signing\n")


def test_a_bundle_verdict_edited_after_the_lab_signed_is_caught(flow: dict, tmp_path: Path) -> None:
    from harness.evidence.bundle import sha256_file

    bundle = _bundle(flow, "a", tmp_path)
    summary = json.loads((bundle / "summary.json").read_text())
    (bundle / "summary.json").write_text(json.dumps({**summary, "verdict": "compliant"}, indent=2) + "\n")
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"]["summary.json"] = sha256_file(bundle / "summary.json")  # the forger re-hashes, cannot re-sign
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    res = cli("verify", bundle, *_keys(flow, "lab", "vendor-a"), "--no-tracking")
    assert res.exit_code == 1
    signed = json.loads((bundle / "signature.json").read_text())["manifest_sha256"]
    assert (f"  - signature.json: signs manifest SHA-256 {signed}, but manifest.json has SHA-256 "
            f"{sha256_file(bundle / 'manifest.json')}") in res.stdout.splitlines()


def test_a_submission_judged_against_another_profile_is_refused(flow: dict, tmp_path: Path) -> None:
    other = tmp_path / "hiring-aedt-v1.yaml"
    other.write_text(HIRING.read_text().replace("threshold: {min: 0.80}", "threshold: {min: 0.70}"))
    res = _assess(flow, flow["root"] / "b.submission.json", profile=other)
    assert res.exit_code == 2
    body = json.loads((flow["root"] / "b.submission.json").read_text())["submission"]["profile"]
    from harness.profile import load_profile

    assert res.stderr == (f"error: profile mismatch: submission {flow['root'] / 'b.submission.json'} was committed to "
                          f"profile hiring-aedt v1 (SHA-256 {body['sha256']}), but would be judged against {other}, "
                          f"profile hiring-aedt v1 (SHA-256 {load_profile(other).sha256}); a submission is judged "
                          "only against the profile it committed to\n")


def test_a_submission_assessed_twice_is_refused(flow: dict) -> None:
    res = _assess(flow, flow["root"] / "a.submission.json")
    assert res.exit_code == 2
    sha = flow["judged"]["a"]["submission_sha256"]
    assert res.stderr == (f"error: submission {flow['root'] / 'a.submission.json'} (SHA-256 {sha}) was already "
                          f"assessed: ledger {flow['ledger']} position 0, verdict non_compliant\n")


def test_a_vendor_over_its_submission_cap_is_refused(flow: dict, tmp_path: Path) -> None:
    root = flow["root"]
    capped = tmp_path / "hiring-aedt-v1.yaml"
    capped.write_text(HIRING.read_text() + "assessment: {max_submissions: 1, per_days: 30}\n")
    ledger = tmp_path / "capped.jsonl"
    submissions = []
    for i, decision in enumerate((1, 0)):
        pd.DataFrame({"id": pd.read_parquet(root / "public/test-inputs.parquet")["row_id"], "decision": decision}
                     ).to_csv(tmp_path / f"{i}.csv", index=False)
        out = tmp_path / f"{i}.submission.json"
        assert cli("submit", "--profile", capped, "--public", root / "public", "--predictions", tmp_path / f"{i}.csv",
                   "--key", root / "keys/vendor-b.key", "--out", out).exit_code == 0
        submissions.append(out)
    assert _assess(flow, submissions[0], "--ledger", ledger, profile=capped).exit_code == 0
    res = _assess(flow, submissions[1], "--ledger", ledger, profile=capped)
    assert res.exit_code == 2
    assert res.stderr.startswith(f"error: submission cap reached: vendor key {_key(root, 'vendor-b')} has 1 "
                                 "assessment(s) of profile hiring-aedt since ")
    assert res.stderr.endswith(f" (ledger {ledger} positions 0); the profile allows 1 per 30 days\n")
    assert len(ledger.read_text().splitlines()) == 1  # the refused attempt was not judged


def _labels_put_back(flow: dict, folder: Path) -> Path:
    """A sealed part rebuilt from the public test inputs with labels of someone's choosing (one flipped)."""
    root = flow["root"]
    shutil.copytree(root / "sealed", folder)
    frame = pd.read_parquet(root / "sealed/test.parquet")
    frame.loc[0, LABEL] = 1 - frame.loc[0, LABEL]
    frame.to_parquet(folder / "test.parquet", index=False)
    from harness.evidence.bundle import sha256_file

    card = (root / "sealed/benchmark.yaml").read_text()
    old = load_benchmark(root / "sealed").file_sha256[0]
    (folder / "benchmark.yaml").write_text(card.replace(old, sha256_file(folder / "test.parquet")))  # consistent
    return folder


def test_labels_put_back_do_not_match_the_commitment(flow: dict, tmp_path: Path) -> None:
    fake = _labels_put_back(flow, tmp_path / "sealed")
    commitment = json.loads((flow["root"] / "b.submission.json").read_text())["submission"]["benchmark"]["commitment"]
    found = load_benchmark(fake).file_sha256[0]
    message = (f"commitment mismatch: {fake / 'test.parquet'} has SHA-256 {found}, but the public release committed "
               f"to {commitment}; these are not the labels sealed with it")
    res = _assess(flow, flow["root"] / "b.submission.json", sealed=fake)
    assert (res.exit_code, res.stderr) == (2, f"error: {message}\n")
    res = cli("verify", _bundle(flow, "b"), *_keys(flow, "lab", "vendor-b"), "--sealed", fake, "--no-tracking")
    assert res.exit_code == 1
    assert f"  - --sealed {fake}: {message}" in res.stdout.splitlines()


def test_a_public_release_with_the_test_labels_put_back_is_refused(flow: dict, tmp_path: Path) -> None:
    root = flow["root"]
    public = Path(shutil.copytree(root / "public", tmp_path / "public"))
    sealed = pd.read_parquet(root / "sealed/test.parquet")
    sealed.to_parquet(public / "test-inputs.parquet", index=False)
    from harness.evidence.bundle import sha256_file

    card = (public / "benchmark.yaml").read_text()
    old = yaml.safe_load(card)["sealed"]["test_inputs"]["sha256"]
    (public / "benchmark.yaml").write_text(card.replace(old, sha256_file(public / "test-inputs.parquet")))
    res = cli("submit", "--profile", HIRING, "--public", public, "--predictions", root / "b.csv",
              "--key", root / "keys/vendor-b.key", "--out", tmp_path / "s.json")
    assert res.exit_code == 2
    assert res.stderr == (f"error: benchmark resume-audit-2004 at {public}: its test inputs test-inputs.parquet "
                          f"carry the label column '{LABEL}': the test labels were put back into a public release; "
                          "expected inputs without labels\n")


def test_a_public_release_cannot_judge_its_test_split(flow: dict, tmp_path: Path) -> None:
    profile = tmp_path / "hiring.yaml"
    profile.write_text(HIRING.read_text().replace("  id: resume-audit-2004\n",
                                                  f"  id: resume-audit-2004\n  path: {flow['root'] / 'public'}\n"))
    res = cli("run", "--profile", profile, "--predictions", flow["root"] / "b.csv", "--no-tracking", "--quiet")
    assert res.exit_code == 2
    assert res.stderr == (f"error: benchmark resume-audit-2004 at {flow['root'] / 'public'} is the public release of "
                          "a sealed benchmark: it holds the development split with labels and the test split's "
                          "inputs only, so it cannot judge the 'test' split; the test labels are in the sealed part, "
                          "which a lab judges with `oversight assess SUBMISSION --sealed DIR` (or run --split "
                          "development)\n")


def test_a_bundle_missing_from_the_ledger_is_caught(flow: dict, tmp_path: Path) -> None:
    lines = flow["ledger"].read_text().splitlines(keepends=True)
    trimmed = tmp_path / "ledger.jsonl"
    trimmed.write_text(lines[0])  # B's entry dropped from the end: the chain alone cannot tell
    res = cli("verify", _bundle(flow, "b"), *_keys(flow, "lab", "vendor-b"), "--ledger", trimmed, "--no-tracking")
    assert res.exit_code == 1
    digest = flow["judged"]["b"]["manifest_sha256"]
    assert (f"  - ledger {trimmed}: no entry records this bundle (manifest SHA-256 {digest}); the assessment is "
            "not on the record") in res.stdout.splitlines()


def test_sealed_and_ledger_apply_to_assessment_bundles_only(flow: dict, full_run: Path) -> None:
    bundle = full_run
    res = cli("verify", bundle, "--sealed", flow["root"] / "sealed", "--no-tracking")
    assert (res.exit_code, res.stderr) == (2, f"error: {bundle}: not an assessment bundle (no submission.json); "
                                              "--ledger and --sealed apply to bundles of `oversight assess`\n")


def test_a_lab_that_changes_a_prediction_and_re_signs_is_caught(flow: dict, tmp_path: Path) -> None:
    """The lab's own key cannot make a changed prediction pass: the vendor's signature binds them."""
    from harness.evidence.bundle import sha256_file
    from harness.evidence.signing import sign_manifest

    bundle = _bundle(flow, "b", tmp_path)
    frame = pd.read_parquet(bundle / "predictions.parquet")
    frame.loc[3, "decision"] = 0
    frame.to_parquet(bundle / "predictions.parquet", index=False)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"]["predictions.parquet"] = sha256_file(bundle / "predictions.parquet")
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    record = sign_manifest(sha256_file(bundle / "manifest.json"), load_signer(flow["root"] / "keys/lab.key"))
    (bundle / "signature.json").write_text(json.dumps(record, indent=2) + "\n")
    res = cli("verify", bundle, *_keys(flow, "lab", "vendor-b"), "--no-tracking")
    assert res.exit_code == 1
    assert res.stdout.splitlines()[-1] == (f"  - predictions.parquet: decision differs from the signed submission on 1 "
                                           f"of 1448 rows, first id {frame.loc[3, 'id'].item()!r}")


def test_a_public_release_missing_its_test_inputs_says_which_part(flow: dict, tmp_path: Path) -> None:
    public = Path(shutil.copytree(flow["root"] / "public", tmp_path / "public"))
    (public / "test-inputs.parquet").unlink()
    res = cli("submit", "--profile", HIRING, "--public", public, "--predictions", flow["root"] / "b.csv",
              "--key", flow["root"] / "keys/vendor-b.key", "--out", tmp_path / "s.json")
    assert (res.exit_code, res.stderr) == (2, f"error: benchmark resume-audit-2004 at {public}: "
                                              f"sealed.test_inputs.path: cannot read {public / 'test-inputs.parquet'}: "
                                              "No such file or directory; the public release is incomplete\n")
    assert not (tmp_path / "s.json").exists()


def test_the_public_release_is_not_a_sealed_part(flow: dict) -> None:
    public = flow["root"] / "public"
    res = _assess(flow, flow["root"] / "b.submission.json", sealed=public)
    assert (res.exit_code, res.stderr) == (2, f"error: sealed part {public}: is a public release; expected the "
                                              "--sealed folder written by `oversight benchmark seal`\n")


def test_seal_refuses_an_existing_folder_and_a_part_of_a_sealed_benchmark(flow: dict, tmp_path: Path) -> None:
    root = flow["root"]
    res = cli("benchmark", "seal", "resume-audit-2004", "--public", root / "public", "--sealed", tmp_path / "s")
    assert (res.exit_code, res.stderr) == (2, f"error: {root / 'public'}: already exists; refusing to overwrite "
                                              "(choose a new folder)\n")
    res = cli("benchmark", "seal", root / "public", "--public", tmp_path / "p", "--sealed", tmp_path / "s")
    assert (res.exit_code, res.stderr) == (2, f"error: benchmark resume-audit-2004 at {root / 'public'}: is already "
                                              "the public part of a sealed benchmark; seal the full benchmark it came "
                                              "from\n")
    assert not (tmp_path / "p").exists() and not (tmp_path / "s").exists()


@pytest.mark.parametrize(("edit", "problem"), [
    (lambda d: "{not json", "not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    (lambda d: json.dumps({**d, "signature": {**d["signature"], "algorithm": "RSA"}}),
     "signature.algorithm: Input should be 'Ed25519'; expected a file written by `oversight submit`"),
    (lambda d: json.dumps({**d, "submission": {k: v for k, v in d["submission"].items() if k != "profile"}}),
     "submission.profile: Field required; expected a file written by `oversight submit`"),
])
def test_a_malformed_submission_is_refused_naming_the_field(flow: dict, tmp_path: Path, edit, problem) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(edit(json.loads((flow["root"] / "b.submission.json").read_text())))
    res = _assess(flow, bad)
    assert (res.exit_code, res.stderr) == (2, f"error: submission {bad}: {problem}\n")


@pytest.mark.parametrize(("block", "problem"), [
    ("{max_submissions: 0, per_days: 30}", "assessment.max_submissions: Input should be greater than or equal to 1"),
    ("{max_submissions: 3}", "assessment.per_days: required field is missing"),
])
def test_a_submission_cap_needs_two_positive_numbers(tmp_path: Path, block: str, problem: str) -> None:
    from harness.errors import ProfileError
    from harness.profile import load_profile

    path = tmp_path / "capped.yaml"
    text = HIRING.read_text() + f"assessment: {block}\n"
    path.write_text(text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert info.value.problems[0].startswith(f"{path}:{len(text.splitlines())}: {problem}")


def test_a_bundle_the_ledger_refuses_is_named_as_not_evidence(flow: dict, tmp_path: Path, monkeypatch) -> None:
    """Another assessment took the last place under the cap between the check and the append."""
    from harness.conformity import assess as module
    from harness.errors import InputError

    def full(*_args: object, **_kwargs: object) -> None:
        raise InputError("cap reached meanwhile")

    monkeypatch.setattr(module, "append_entry", full)
    root = flow["root"]
    with pytest.raises(InputError) as info:
        module.assess(root / "b.submission.json", sealed=root / "sealed", key=root / "keys/lab.key", out=tmp_path,
                      profile=HIRING, ledger=tmp_path / "ledger.jsonl", tracking=False)
    (bundle,) = [p for p in tmp_path.iterdir() if p.name.startswith("hiring-aedt-v1-")]
    assert str(info.value) == (f"cap reached meanwhile; the bundle {bundle} was written but is not on the ledger "
                               f"{tmp_path / 'ledger.jsonl'}, so it is not evidence of an assessment")
