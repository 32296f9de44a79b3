"""The secrets a fleet home holds, and where they must never appear: its logs, its records
of state, the output of its commands, its metrics and its API's answers."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from fleetedge.orchestration.state import token_path
from fleetedge.security.store import security_dir

# Files that exist to hold secrets (0600), and the places that are not logs or records.
SECRET_HOLDERS = ("server.properties", "mm2.properties", "api-token")
SKIPPED_DIRS = ("security", "data")


def secrets_of(home: Path) -> dict[str, str]:
    """Every secret of the fleet in ``home``: SCRAM and broker passwords, the API token, and a
    line from the middle of every private key."""
    found: dict[str, str] = {}
    directory = security_dir(home)
    for path in [*directory.glob("principals/*.json"), *directory.glob("brokers/*.json")]:
        found[f"password of {path.stem}"] = json.loads(path.read_text())["password"]
    for path in [directory / "ca.key", *directory.glob("*.pem")]:
        lines = path.read_text().splitlines()
        if "-----BEGIN PRIVATE KEY-----" in lines:  # ca.pem holds the certificate only
            start = lines.index("-----BEGIN PRIVATE KEY-----")
            found[f"private key in {path.name}"] = lines[start + 1]
    if token_path(home).exists():
        found["API operator token"] = token_path(home).read_text().strip()
    return found


def log_files(home: Path) -> list[Path]:
    """Every log, output and state record under ``home`` (not the secret holders)."""
    files = []
    for path in home.rglob("*"):
        relative = path.relative_to(home).parts
        if not path.is_file() or any(part in SKIPPED_DIRS for part in relative[:-1]):
            continue
        if path.name in SECRET_HOLDERS or relative[0] == "security":
            continue
        if path.suffix in (".log", ".out", ".json", ".txt") or ".log." in path.name:
            files.append(path)
    return files


def leaks(secrets: dict[str, str], texts: Iterable[tuple[str, str]]) -> list[str]:
    """``where: what`` for every secret found in the (where, text) pairs."""
    return [
        f"{where}: {what}"
        for where, text in texts
        for what, secret in secrets.items()
        if secret in text
    ]


def file_texts(files: Iterable[Path]) -> Iterable[tuple[str, str]]:
    for path in files:
        yield str(path), path.read_text(errors="replace")
