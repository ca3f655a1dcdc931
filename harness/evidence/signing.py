"""Ed25519 signatures over a bundle's manifest.

The manifest holds the SHA-256 of every other file, so one signature over it covers the
whole bundle, including what verify cannot recompute (creation time, environment). The
signature also covers its own record (signer, time, key fingerprint), so ``signature.json``
cannot be edited without breaking it. A party can sign only with its own private key, and
an auditor decides which public keys to trust.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EvidenceError, InputError

__all__ = ["SIGNATURE", "Signer", "check_signature", "fingerprint", "generate_keys", "load_public_keys",
           "load_signer", "sign_manifest"]

SIGNATURE = "signature.json"
ALGORITHM = "Ed25519"
_FIELDS = ("algorithm", "fingerprint", "manifest_sha256", "public_key", "signature", "signed_at", "signer")


@dataclass(frozen=True)
class Signer:
    """A private key and the name it signs under."""

    name: str
    private_key: Any  # cryptography's Ed25519PrivateKey

    @property
    def public_bytes(self) -> bytes:
        return _raw_public(self.private_key.public_key())


def _raw_public(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_bytes: bytes) -> str:
    """SHA-256 of the raw 32-byte public key, in hex: how a key is named everywhere."""
    return hashlib.sha256(public_bytes).hexdigest()


def generate_keys(out: Path, *, name: str) -> tuple[Path, Path]:
    """Write ``NAME.key`` (PEM, mode 0600) and ``NAME.pub`` (PEM) into ``out``; refuse to overwrite."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not name or "/" in name or name.startswith("."):
        raise InputError(f"signer name {name!r}: expected a plain name such as 'lab-a' (no '/', not hidden)")
    out.mkdir(parents=True, exist_ok=True)
    private, public = out / f"{name}.key", out / f"{name}.pub"
    for path in (private, public):
        if path.exists():
            raise InputError(f"{path}: already exists; refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def load_signer(path: Path, *, name: str | None = None) -> Signer:
    """The Ed25519 private key in ``path``; the signer is named after the file unless ``name`` is given."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = _read(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: not an unencrypted PEM private key ({exc}); expected the .key file "
                         "written by `oversight keys generate`") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: expected an Ed25519 private key, found a key of type {type(key).__name__}")
    return Signer(name or path.stem, key)


def load_public_keys(paths: list[Path]) -> dict[str, Path]:
    """Trusted public keys by fingerprint, from ``.pub`` files or folders of them."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.pub"))
            if not found:
                raise InputError(f"{path}: a folder of trusted keys with no .pub file in it")
            files += found
        else:
            files.append(path)
    return {fingerprint(_public_bytes(p)): p for p in files}


def _public_bytes(path: Path) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = _read(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: not a PEM public key ({exc}); expected the .pub file written by "
                         "`oversight keys generate`") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path}: expected an Ed25519 public key, found a key of type {type(key).__name__}")
    return _raw_public(key)


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def _payload(record: dict[str, Any]) -> bytes:
    """The bytes signed: every field of the record but the signature, canonically encoded."""
    signed = {k: record[k] for k in _FIELDS if k != "signature"}
    return json.dumps(signed, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign_manifest(manifest_sha256: str, signer: Signer) -> dict[str, Any]:
    """The ``signature.json`` record for a manifest with this SHA-256."""
    public = signer.public_bytes
    record = {
        "algorithm": ALGORITHM,
        "fingerprint": fingerprint(public),
        "manifest_sha256": manifest_sha256,
        "public_key": base64.b64encode(public).decode("ascii"),
        "signed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "signer": signer.name,
    }
    record["signature"] = base64.b64encode(signer.private_key.sign(_payload(record))).decode("ascii")
    return record


def read_signature(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvidenceError(f"{path.name}: unreadable: {exc}") from None
    if not isinstance(record, dict) or sorted(record) != sorted(_FIELDS):
        found = sorted(record) if isinstance(record, dict) else type(record).__name__
        raise EvidenceError(f"{path.name}: expected the fields {list(_FIELDS)}, found {found}")
    return record


def check_signature(record: dict[str, Any], manifest_sha256: str) -> list[str]:
    """Every reason the record is not a valid signature of this manifest (empty if it is)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if record["algorithm"] != ALGORITHM:
        return [f"{SIGNATURE}: algorithm {record['algorithm']!r}; expected {ALGORITHM!r}"]
    try:
        public = base64.b64decode(record["public_key"], validate=True)
        signature = base64.b64decode(record["signature"], validate=True)
        key = Ed25519PublicKey.from_public_bytes(public)
    except (ValueError, TypeError) as exc:
        return [f"{SIGNATURE}: public_key or signature is not valid base64 Ed25519 data: {exc}"]
    problems = []
    if fingerprint(public) != record["fingerprint"]:
        problems.append(f"{SIGNATURE}: fingerprint {record['fingerprint']} is not that of its public key "
                        f"({fingerprint(public)})")
    if record["manifest_sha256"] != manifest_sha256:
        problems.append(f"{SIGNATURE}: signs manifest SHA-256 {record['manifest_sha256']}, but manifest.json "
                        f"has SHA-256 {manifest_sha256}")
    try:
        key.verify(signature, _payload(record))
    except InvalidSignature:
        problems.append(f"{SIGNATURE}: the Ed25519 signature does not match its record (signer, time, key "
                        "or manifest hash was altered after signing)")
    return problems
