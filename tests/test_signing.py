"""Signatures: a lab signs what it ran; nobody can alter it afterwards or sign in its name."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import harness
from harness.cli import main
from harness.evidence.bundle import _json
from harness.evidence.signing import fingerprint, generate_keys, load_signer, sign_manifest
from harness.evidence.verify import verify_bundle

ROOT = Path(__file__).resolve().parents[1]
HIRING = ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def signed(tmp_path_factory, callbacks_csv):
    """A bundle the lab signed through the CLI, the lab's and a vendor's keys."""
    root = tmp_path_factory.mktemp("signed")
    preds = callbacks_csv
    res = run("keys", "generate", "--out", str(root / "lab"), "--name", "lab")
    assert res.exit_code == 0, res.output
    res = run("keys", "generate", "--out", str(root / "vendor"), "--name", "vendor")
    assert res.exit_code == 0, res.output
    res = run("run", "--profile", str(HIRING), "--predictions", str(preds), "--split", "all", "--no-tracking",
              "--json", "--out", str(root / "out"), "--as-of", "2026-06-01", "--sign-key",
              str(root / "lab" / "lab.key"))
    assert res.exit_code == 1, res.output  # non-compliant, signed
    return {"bundle": Path(json.loads(res.stdout)["bundle"]), "lab": root / "lab", "vendor": root / "vendor"}


@pytest.fixture
def bundle(signed, tmp_path) -> Path:
    return Path(shutil.copytree(signed["bundle"], tmp_path / signed["bundle"].name))


def _lab_fingerprint(signed) -> str:
    return fingerprint(load_signer(signed["lab"] / "lab.key").public_bytes)


def test_keys_generate_writes_a_private_key_only_its_owner_reads(signed):
    key = signed["lab"] / "lab.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (signed["lab"] / "lab.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    again = run("keys", "generate", "--out", str(signed["lab"]), "--name", "lab")
    assert again.exit_code == 2
    assert again.stderr == f"error: {key}: already exists; refusing to overwrite a key\n"


def test_no_tracking_run_says_so(signed):
    assert json.loads((signed["bundle"] / "manifest.json").read_text())["tracking"] == {"requested": False}
    res = run("verify", str(signed["bundle"]), "--tracking-uri", "sqlite:////nonexistent/mlflow.db")
    assert res.exit_code == 0, res.output
    assert "checked: MLflow: the run was made without tracking" in res.stdout.splitlines()


def test_signature_record(signed):
    record = json.loads((signed["bundle"] / "signature.json").read_text())
    assert sorted(record) == ["algorithm", "fingerprint", "manifest_sha256", "public_key", "signature",
                              "signed_at", "signer"]
    assert (record["algorithm"], record["signer"]) == ("Ed25519", "lab")
    assert record["fingerprint"] == _lab_fingerprint(signed)
    assert dt.datetime.fromisoformat(record["signed_at"]).tzinfo is not None


def test_signed_by_a_trusted_key_verifies_with_a_file_or_a_folder(signed):
    for trusted in (signed["lab"] / "lab.pub", signed["lab"]):
        res = run("verify", str(signed["bundle"]), "--no-tracking", "--public-key", str(trusted))
        assert res.exit_code == 0, res.output
        assert (f"checked: signature: valid Ed25519 signature of the manifest by lab (key {_lab_fingerprint(signed)})"
                in res.stdout)


def test_altered_after_signing(bundle, signed):
    """Even what cannot be recomputed (the environment) is bound by the signature."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    signed_hash = json.loads((bundle / "signature.json").read_text())["manifest_sha256"]
    manifest["environment"]["platform"] = "a machine the lab never used"
    (bundle / "manifest.json").write_text(_json(manifest))
    from harness.evidence.bundle import sha256_file

    result = verify_bundle(bundle, tracking=False, public_keys=(signed["lab"],))
    assert result.problems == (f"signature.json: signs manifest SHA-256 {signed_hash}, but manifest.json has "
                               f"SHA-256 {sha256_file(bundle / 'manifest.json')}",)


def test_signed_by_an_untrusted_key(signed):
    res = run("verify", str(signed["bundle"]), "--no-tracking", "--public-key", str(signed["vendor"] / "vendor.pub"))
    assert res.exit_code == 1
    assert res.stdout.splitlines()[-1] == (f"  - signature.json: signed by lab with key {_lab_fingerprint(signed)}, "
                                           "which is not among the 1 trusted key(s)")


def test_vendor_cannot_resign_in_the_labs_name(bundle, signed):
    from harness.evidence.bundle import sha256_file

    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["environment"]["platform"] = "edited"
    (bundle / "manifest.json").write_text(_json(manifest))
    forged = sign_manifest(sha256_file(bundle / "manifest.json"), load_signer(signed["vendor"] / "vendor.key",
                                                                              name="lab"))
    (bundle / "signature.json").write_text(_json(forged))
    result = verify_bundle(bundle, tracking=False, public_keys=(signed["lab"] / "lab.pub",))
    assert result.problems == (f"signature.json: signed by lab with key {forged['fingerprint']}, which is not among "
                               "the 1 trusted key(s)",)


def test_signature_removed(bundle, signed):
    (bundle / "signature.json").unlink()
    res = run("verify", str(bundle), "--no-tracking", "--public-key", str(signed["lab"]))
    assert res.exit_code == 1
    assert res.stdout.splitlines()[-1] == ("  - signature.json: missing; the bundle is unsigned, and a signature by a "
                                           "trusted key is required (--public-key)")


@pytest.mark.parametrize(("field", "value"), [("signer", "ministry"), ("signed_at", "2020-01-01T00:00:00+00:00")])
def test_signature_json_edited(bundle, signed, field, value):
    path = bundle / "signature.json"
    record = json.loads(path.read_text())
    record[field] = value
    path.write_text(_json(record))
    result = verify_bundle(bundle, tracking=False, public_keys=(signed["lab"],))
    assert result.problems == ("signature.json: the Ed25519 signature does not match its record (signer, time, key "
                               "or manifest hash was altered after signing)",)


def test_public_key_swapped_in_the_record(bundle, signed):
    path = bundle / "signature.json"
    record = json.loads(path.read_text())
    vendor = load_signer(signed["vendor"] / "vendor.key").public_bytes
    record["public_key"] = base64.b64encode(vendor).decode()
    path.write_text(_json(record))
    result = verify_bundle(bundle, tracking=False, public_keys=(signed["lab"],))
    assert result.problems == (
        f"signature.json: fingerprint {record['fingerprint']} is not that of its public key ({fingerprint(vendor)})",
        "signature.json: the Ed25519 signature does not match its record (signer, time, key or manifest hash was "
        "altered after signing)")


def test_a_key_file_that_is_not_ed25519(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1())
    key = tmp_path / "ec.key"
    key.write_bytes(other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    res = run("run", "--profile", str(HIRING), "--predictions", "p.csv", "--no-tracking", "--sign-key", str(key))
    assert res.exit_code == 2
    assert res.stderr == (f"error: {key}: expected an Ed25519 private key, found a key of type "
                          f"{type(other).__name__}\n")
    text = tmp_path / "notes.txt"
    text.write_text("not a key\n")
    res = run("run", "--profile", str(HIRING), "--predictions", "p.csv", "--no-tracking", "--sign-key", str(text))
    assert res.exit_code == 2
    assert res.stderr.startswith(f"error: {text}: not an unencrypted PEM private key (")
    assert "Traceback" not in res.output


def test_a_public_key_file_that_is_not_a_key(signed, tmp_path):
    text = tmp_path / "lab.pub"
    text.write_text("not a key\n")
    res = run("verify", str(signed["bundle"]), "--no-tracking", "--public-key", str(text))
    assert res.exit_code == 2
    assert res.stderr.startswith(f"error: {text}: not a PEM public key (")
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run("verify", str(signed["bundle"]), "--no-tracking", "--public-key", str(empty))
    assert (res.exit_code, res.stderr) == (2, f"error: {empty}: a folder of trusted keys with no .pub file in it\n")
