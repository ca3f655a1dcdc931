"""Commands for signers: ``oversight keys generate``."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import _guard


@click.group()
def keys() -> None:
    """Ed25519 signing keys for evidence bundles."""


@keys.command("generate")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for NAME.key (private, mode 0600) and NAME.pub (public).")
@click.option("--name", "name", default="signer", show_default=True,
              help="Signer name, recorded in each signature.")
@_guard
def generate(out: Path, name: str) -> int:
    """Generate a key pair; give the .pub file to auditors, keep the .key file secret."""
    from ..evidence.signing import fingerprint, generate_keys, load_signer

    private, public = generate_keys(out, name=name)
    click.echo(f"private key: {private} (keep it secret; mode 0600)")
    click.echo(f"public key:  {public}")
    click.echo(f"fingerprint: {fingerprint(load_signer(private).public_bytes)}")
    return 0
