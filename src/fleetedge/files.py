"""Files that hold secrets: written whole or not at all, readable by their owner only."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600, atomically (a temporary file, then a rename),
    so that no reader ever sees half a file, or the secret with wider permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
    tmp.chmod(0o600)  # an existing temporary file keeps its mode through O_CREAT
    tmp.replace(path)
