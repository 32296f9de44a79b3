"""Find the Java and Maven the runtime needs, and say clearly when they are missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fleetedge.runtime.exceptions import JavaNotFoundError, MavenNotFoundError

MIN_JAVA = 17
_VERSION_RE = re.compile(r'version "(\d+)(?:\.(\d+))?[^"]*"')


@dataclass(frozen=True)
class Java:
    """A Java executable and its major version."""

    path: Path
    major: int
    version_line: str


def parse_java_major(version_output: str) -> int:
    """Major version from ``java -version`` output ("1.8.0_x" is 8, "17.0.15" is 17)."""
    match = _VERSION_RE.search(version_output)
    if match is None:
        raise JavaNotFoundError(
            f"cannot read a Java version from: {version_output.strip()[:200]!r}"
        )
    first = int(match.group(1))
    if first == 1 and match.group(2) is not None:
        return int(match.group(2))
    return first


def find_java(explicit: str | Path | None = None, env: dict[str, str] | None = None) -> Java:
    """The Java to run Kafka with: ``explicit``, else ``$JAVA_HOME/bin/java``, else PATH's.

    Raises JavaNotFoundError when none exists, it does not run, or it is older than Java 17.
    """
    environ = os.environ if env is None else env
    candidate: str | None
    if explicit is not None:
        candidate = str(explicit)
    elif environ.get("JAVA_HOME"):
        candidate = str(Path(environ["JAVA_HOME"]) / "bin" / "java")
    else:
        candidate = shutil.which("java", path=environ.get("PATH", ""))
    install_hint = (
        "install Java 17+ (`apt-get install openjdk-17-jre-headless`) or point JAVA_HOME at one"
    )
    if candidate is None or not Path(candidate).is_file():
        where = candidate or "PATH and JAVA_HOME"
        raise JavaNotFoundError(f"Java was not found ({where})", hint=install_hint)
    try:
        done = subprocess.run(
            [candidate, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as exc:
        raise JavaNotFoundError(
            f"Java at {candidate} does not run: {exc}", hint=install_hint
        ) from exc
    output = done.stderr + done.stdout
    major = parse_java_major(output)
    if major < MIN_JAVA:
        raise JavaNotFoundError(
            f"Java at {candidate} is version {major}; Kafka 4 brokers need {MIN_JAVA}+",
            hint=install_hint,
        )
    return Java(path=Path(candidate), major=major, version_line=output.strip().splitlines()[0])


def find_maven(env: dict[str, str] | None = None) -> Path:
    """The ``mvn`` executable, or MavenNotFoundError."""
    environ = os.environ if env is None else env
    found = shutil.which("mvn", path=environ.get("PATH", ""))
    if found is None:
        raise MavenNotFoundError(
            "Maven (`mvn`) was not found on PATH",
            hint="install it (`apt-get install maven`); it is needed once, to fetch the Kafka jars",
        )
    return Path(found)
