"""Faults injected into a running simulation: an append-only file of fault lines.

The lines read as a fault script's (``AT TARGET KIND [DURATION|VALUE]``), but ``AT`` counts
from the moment the simulator reads the line, so ``0m bay 3 power-loss 40m`` cuts bay 3's power
at the next tick. ``fleet fault`` appends the lines; the simulator polls the file every tick and
keeps how far it has read in ``<file>.read``, so a line written while it was down takes effect
when it is back, and none twice. A restarted simulator resumes its readings from the fault
script alone: a live fault still under way at the restart ends there.
"""

from __future__ import annotations

from pathlib import Path

import structlog

from fleetedge.devices.exceptions import ScriptError
from fleetedge.devices.faults import ScriptedFault, parse_fault

log = structlog.get_logger("fleetedge.devices.live")


class LiveFaults:
    """Read the lines appended to ``path`` since the last :meth:`poll`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mark = path.with_name(path.name + ".read")
        self._offset = int(self._mark.read_text()) if self._mark.exists() else 0

    def poll(self) -> list[ScriptedFault]:
        """New complete lines as faults; a line that cannot be understood is logged, skipped."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self._offset:  # a new file under the same name
            self._offset = 0
        if size == self._offset:
            return []
        with self.path.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read(size - self._offset)
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line being written waits for its end
        if not complete:
            return []
        faults: list[ScriptedFault] = []
        for line in complete.decode("utf-8", "replace").splitlines():
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                faults.append(parse_fault(text))
            except ScriptError as exc:
                log.warning("live fault skipped", line=text, error=exc.message)
        self._offset += len(complete)
        self._mark.write_text(str(self._offset))
        return faults


def append(path: Path, line: str) -> ScriptedFault:
    """Check ``line`` and append it for the simulator reading ``path``."""
    fault = parse_fault(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(line.strip() + "\n")
    return fault
