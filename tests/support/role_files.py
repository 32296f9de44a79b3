"""The shipped example role files, copied into a directory with the files they name."""

from __future__ import annotations

import shutil
from pathlib import Path

EXAMPLES = Path(__file__).parents[2] / "examples"


def example_roles(directory: Path) -> None:
    """``vessel.toml`` and ``shore.toml`` in ``directory``, with a CA file and the password
    files they name (a password ``s3cret``)."""
    for name in ("vessel.toml", "shore.toml"):
        shutil.copy(EXAMPLES / name, directory / name)
    for ca in ("ca.pem", "mv-anna-ca.pem"):
        (directory / ca).write_text("-----BEGIN CERTIFICATE-----\n")
    (directory / "secrets").mkdir()
    for who in ("admin", "svc-normalizer", "svc-analytics", "svc-link", "mv-anna"):
        (directory / "secrets" / who).write_text("s3cret\n")
