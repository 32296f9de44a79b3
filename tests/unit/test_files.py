"""Secrets are written whole, mode 0600, even over a file that had wider permissions."""

from __future__ import annotations

import stat
from pathlib import Path

from fleetedge.files import write_private


def test_a_secret_file_is_private_whole_and_replaced_atomically(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "admin.json"
    write_private(path, "first")
    path.chmod(0o644)
    write_private(path, b"second")
    assert path.read_bytes() == b"second"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["admin.json"]
