"""The class-data archive of the Kafka JVMs (AppCDS): the classes a broker and a Connect worker
load at start, parsed and verified once, then mapped by every JVM started later.

A JVM's start is mostly class loading: a 3-node cluster's brokers took 10.5 to 12.4 s of CPU
to start without the archive, 8.4 to 10.3 s with it, and its format tools 3.2 to 3.7 s against
2.0 to 2.3 s (a test run starts well over a hundred of these JVMs on 2 cores). The archive
is built by ``fleet runtime fetch`` from the lists of classes a broker and a Connect worker
loaded (:func:`list_option`); a JVM uses it when it is there
(:meth:`fleetedge.runtime.jvm.KafkaRuntime.class_data_options`), and one that finds it not
matching its Java or its jars starts as if there were none.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from fleetedge.runtime.exceptions import RuntimeSetupError
from fleetedge.runtime.jars import CLASS_ARCHIVE, KafkaJars
from fleetedge.runtime.toolchain import Java

_MARKER = "classes.json"  # the Java and the jars it was built for


def archive_path(jars: KafkaJars) -> Path:
    """Where the archive of ``jars`` lives: beside them (a new fetch removes it)."""
    return jars.cache_dir / CLASS_ARCHIVE


def _built_for(java: Java, jars: KafkaJars) -> dict[str, str]:
    return {"java": java.version_line, "jars": jars.digest()}


def is_current(java: Java, jars: KafkaJars) -> bool:
    """True if the archive exists and was built for this Java and these jars."""
    marker = jars.cache_dir / _MARKER
    if not archive_path(jars).is_file() or not marker.is_file():
        return False
    try:
        return bool(json.loads(marker.read_text()) == _built_for(java, jars))
    except (OSError, ValueError):
        return False


def use_options(archive: Path) -> tuple[str, ...]:
    """The options that map ``archive``, if it exists. ``auto``: a stale archive (other jars,
    another Java) is skipped, with a warning in the JVM's output, and the JVM starts anyway."""
    if not archive.is_file():
        return ()
    return (f"-XX:SharedArchiveFile={archive}", "-Xshare:auto")


def list_option(path: Path) -> str:
    """The option that makes a JVM write the classes it loads to ``path``."""
    return f"-XX:DumpLoadedClassList={path}"


def merge_lists(lists: Iterable[Path], merged: Path) -> int:
    """One class list of ``lists``' lines, each once, in their first order; the line count."""
    seen: dict[str, None] = {}
    for path in lists:
        for line in path.read_text(errors="replace").splitlines():
            if line.strip():
                seen.setdefault(line, None)
    merged.write_text("".join(f"{line}\n" for line in seen))
    return len(seen)


def dump(java: Java, jars: KafkaJars, class_list: Path, timeout: float = 300) -> Path:
    """Build the archive of ``class_list`` (classes of the JDK and of ``jars``), written aside
    and renamed into place: a JVM never maps a half-written archive."""
    archive = archive_path(jars)
    partial = archive.with_name(f".{archive.name}.{os.getpid()}")
    command = [
        str(java.path),
        "-Xshare:dump",
        f"-XX:SharedClassListFile={class_list}",
        f"-XX:SharedArchiveFile={partial}",
        "-cp",
        jars.classpath,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise RuntimeSetupError(
            f"the class-data archive could not be built (exit {done.returncode}):\n"
            f"{(done.stdout + done.stderr)[-1500:]}",
            hint="the Kafka JVMs start without it; `fleet runtime fetch` tries again",
        )
    partial.replace(archive)
    (jars.cache_dir / _MARKER).write_text(json.dumps(_built_for(java, jars)))
    return archive
