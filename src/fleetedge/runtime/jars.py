"""The Kafka jars: resolved once from Maven Central into a cache, then used offline.

The cache holds ``lib/*.jar`` and a ``fetched.json`` marker naming the pom it came from; a
fetch with the same pom is a no-op, so ``fleet runtime fetch`` is idempotent and later runs need
neither Maven nor the network.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fleetedge.runtime.exceptions import JarsNotFetchedError, RuntimeSetupError
from fleetedge.runtime.toolchain import find_maven

KAFKA_VERSION = "4.3.1"
_MARKER = "fetched.json"
# The Kafka JVMs' class-data archive (fleetedge.runtime.classes) beside the jars, built from
# them: removed when they are replaced.
CLASS_ARCHIVE = "classes.jsa"
_DOWNLOADED = re.compile(r"Download(?:ed|ing) from \S+: (\S+)")

Progress = Callable[[str], None]


def pom_text() -> str:
    """The pom that pins the runtime's artifacts (shipped inside the package)."""
    return resources.files("fleetedge.runtime").joinpath("pom.xml").read_text(encoding="utf-8")


def _pom_digest() -> str:
    return hashlib.sha256(pom_text().encode()).hexdigest()[:16]


@dataclass(frozen=True)
class KafkaJars:
    """A cache directory of Kafka jars for one pinned version."""

    cache_dir: Path

    @property
    def lib_dir(self) -> Path:
        return self.cache_dir / "lib"

    @property
    def classpath(self) -> str:
        """A JVM class path naming every jar of the cache (``lib/*``)."""
        return str(self.lib_dir / "*")

    def is_fetched(self) -> bool:
        marker = self.cache_dir / _MARKER
        if not marker.is_file():
            return False
        try:
            recorded = json.loads(marker.read_text())
        except (OSError, ValueError):
            return False
        return bool(
            recorded.get("pom") == _pom_digest() and any(self.lib_dir.glob("kafka_2.13-*.jar"))
        )

    def digest(self) -> str:
        """The pinned pom's digest: what these jars were fetched from."""
        return _pom_digest()

    def jar_count(self) -> int:
        return sum(1 for _ in self.lib_dir.glob("*.jar")) if self.lib_dir.is_dir() else 0

    def require(self) -> KafkaJars:
        """Self if fetched, else JarsNotFetchedError with the command that fixes it."""
        if not self.is_fetched():
            raise JarsNotFetchedError(
                f"the Kafka {KAFKA_VERSION} jars are not in {self.cache_dir}",
                hint="run `fleet runtime fetch` (needs Maven and Maven Central, once)",
            )
        return self

    def fetch(self, progress: Progress | None = None) -> bool:
        """Resolve the jars with Maven into the cache; False if they were there already.

        Maven writes into a temporary directory that replaces ``lib/`` only when complete, so
        an interrupted fetch never leaves a half-filled cache that looks finished.
        """
        if self.is_fetched():
            return False
        mvn = find_maven()
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.cache_dir, prefix=".fetch-") as tmp:
            work = Path(tmp)
            (work / "pom.xml").write_text(pom_text())
            out_dir = work / "lib"
            command = [
                str(mvn),
                "-B",
                "-f",
                str(work / "pom.xml"),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={out_dir}",
                "-DincludeScope=runtime",
            ]
            log_lines: list[str] = []
            with subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            ) as proc:
                assert proc.stdout is not None  # noqa: S101 - guaranteed by stdout=PIPE
                for line in proc.stdout:
                    log_lines.append(line.rstrip())
                    match = _DOWNLOADED.search(line)
                    if match and progress is not None:
                        progress(match.group(1).rsplit("/", 1)[-1])
                code = proc.wait()
            if code != 0:
                tail = "\n".join(line for line in log_lines if "ERROR" in line)[-2000:]
                raise RuntimeSetupError(
                    f"Maven could not resolve Kafka {KAFKA_VERSION}'s jars (exit {code}):\n{tail}",
                    hint="is Maven Central reachable? The pom is fleetedge/runtime/pom.xml",
                )
            if self.lib_dir.exists():
                shutil.rmtree(self.lib_dir)
            (self.cache_dir / CLASS_ARCHIVE).unlink(missing_ok=True)
            out_dir.rename(self.lib_dir)
        (self.cache_dir / _MARKER).write_text(
            json.dumps({"pom": _pom_digest(), "kafka": KAFKA_VERSION, "jars": self.jar_count()})
        )
        return True
