"""One KRaft node on disk: its configuration, its formatted storage, its process.

Layout under the cluster directory::

    node-<k>/server.properties   written from the cluster state on every start
    node-<k>/data/               log.dirs (meta.properties, __cluster_metadata-0, topics)
    node-<k>/logs/               server.log (log4j2) and server.out (JVM stdout/stderr)
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from fleetedge.files import write_private
from fleetedge.runtime.config import (
    ADMIN_USER,
    BROKER_USER,
    SCRAM,
    log4j2_text,
    node_properties,
    read_secret,
    render_properties,
)
from fleetedge.runtime.exceptions import DataDirError, NodeStartError
from fleetedge.runtime.jvm import LOG_FILE, OUT_FILE, KafkaRuntime, tail
from fleetedge.runtime.state import ClusterState

KAFKA_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
META_FILE = "meta.properties"


def data_dir(state: ClusterState, node_id: int) -> Path:
    return state.node_dir(node_id) / "data"


def log_dir(state: ClusterState, node_id: int) -> Path:
    return state.node_dir(node_id) / "logs"


def properties_path(state: ClusterState, node_id: int) -> Path:
    return state.node_dir(node_id) / "server.properties"


def log4j_path(state: ClusterState) -> Path:
    return state.directory / "log4j2.properties"


def write_config(state: ClusterState, node_id: int) -> Path:
    """Write the node's server.properties (and the cluster's log4j2 file); return its path."""
    node_dir = state.node_dir(node_id)
    node_dir.mkdir(parents=True, exist_ok=True)
    props = node_properties(
        node_id,
        [n.ports for n in state.nodes],
        data_dir(state, node_id),
        state.overrides,
        state.security,
    )
    path = properties_path(state, node_id)
    # The properties of a secured cluster hold its brokers' password.
    write_private(path, render_properties(props))
    log4j_path(state).write_text(log4j2_text())
    return path


def read_meta(path: Path) -> dict[str, str]:
    """Parse a meta.properties file; raise ValueError when it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("not text") from exc
    meta: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"line without '=': {line[:60]!r}")
        meta[key.strip()] = value.strip()
    for required in ("cluster.id", "node.id"):
        if required not in meta:
            raise ValueError(f"no {required}")
    return meta


def is_formatted(state: ClusterState, node_id: int) -> bool:
    """Whether the node's storage is formatted for this cluster.

    Raises DataDirError when the directory holds something else: an unreadable meta.properties,
    one of another cluster or node, or data without any meta.properties.
    """
    directory = data_dir(state, node_id)
    meta_path = directory / META_FILE
    fix = (
        f"inspect {directory}; if its data is expendable, `fleet cluster down {state.name} --purge`"
        " and start afresh"
    )
    if not meta_path.exists():
        if directory.exists() and any(directory.iterdir()):
            raise DataDirError(
                f"data dir {directory} holds data but no {META_FILE}: it is corrupt or not Kafka's",
                cluster=state.name,
                node=node_id,
                hint=fix,
            )
        return False
    try:
        meta = read_meta(meta_path)
    except (OSError, ValueError) as exc:
        raise DataDirError(
            f"{meta_path} is corrupt ({exc})", cluster=state.name, node=node_id, hint=fix
        ) from exc
    if meta["cluster.id"] != state.cluster_id or meta["node.id"] != str(node_id):
        raise DataDirError(
            f"{meta_path} belongs to cluster {meta['cluster.id']} node {meta['node.id']}, "
            f"not to cluster {state.cluster_id} node {node_id}",
            cluster=state.name,
            node=node_id,
            hint=fix,
        )
    return True


def format_storage(
    runtime: KafkaRuntime,
    state: ClusterState,
    node_ids: Iterable[int],
    options: Sequence[str] = (),
) -> None:
    """Format the KRaft storage of ``node_ids`` in parallel (one StorageTool JVM each, with the
    JVM ``options`` added)."""
    running: list[tuple[int, subprocess.Popen[str]]] = []
    for node_id in node_ids:
        config = write_config(state, node_id)
        command = [
            str(runtime.java.path),
            *runtime.class_data_options(),
            "-Xmx128m",
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            *options,
            f"-Dlog4j2.configurationFile=file:{log4j_path(state)}",
            f"-Dkafka.logs.dir={log_dir(state, node_id)}",
            "-cp",
            runtime.jars.classpath,
            STORAGE_TOOL,
            "format",
            "-t",
            state.cluster_id,
            "-c",
            str(config),
            *scram_bootstrap(state),
        ]
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        running.append((node_id, proc))
    failures: list[str] = []
    for node_id, proc in running:
        output, _ = proc.communicate(timeout=180)
        if proc.returncode != 0:
            failures.append(f"node {node_id}: {output.strip()[-1500:]}")
    if failures:
        raise DataDirError(
            "formatting KRaft storage failed:\n" + "\n".join(failures), cluster=state.name
        )


def scram_bootstrap(state: ClusterState) -> list[str]:
    """StorageTool arguments that store the broker's and the admin's SCRAM credentials in the
    first metadata (KIP-900): brokers authenticate to each other with SCRAM from the start."""
    security = state.security
    if security is None or security.scope != "cluster":
        return []
    if security.broker_secret_file is None or security.admin_file is None:
        raise DataDirError("a secured shore needs its broker and admin secrets", cluster=state.name)
    args = []
    for user, path in (
        (BROKER_USER, security.broker_secret_file),
        (ADMIN_USER, security.admin_file),
    ):
        args += ["--add-scram", f"{SCRAM}=[name={user},password={read_secret(path)}]"]
    return args


def spawn(runtime: KafkaRuntime, state: ClusterState, node_id: int) -> subprocess.Popen[bytes]:
    """Start the node's JVM on its existing storage."""
    config = write_config(state, node_id)
    if state.security is not None and state.security.scope == "cluster":
        runtime = dataclasses.replace(runtime, full_jit=True)  # TLS everywhere: see KafkaRuntime
    return runtime.spawn(
        KAFKA_MAIN,
        [str(config)],
        log_dir=log_dir(state, node_id),
        log4j_config=log4j_path(state),
        marker=state.node_dir(node_id),
    )


def log_tail(state: ClusterState, node_id: int, lines: int = 25) -> str:
    """The end of the node's JVM output and server log, for error messages.

    When the log holds an ERROR, the excerpt starts at the last one: that is where Kafka says
    why it gave up, rather than in the configuration dump before it.
    """
    parts = []
    for name in (OUT_FILE, LOG_FILE):
        text = tail(log_dir(state, node_id) / name, 400).splitlines()
        errors = [i for i, line in enumerate(text) if " ERROR " in line or " FATAL " in line]
        excerpt = text[errors[-1] :][:lines] if errors else text[-lines:]
        if excerpt:
            parts.append(f"--- {name} ---\n" + "\n".join(excerpt))
    return "\n".join(parts) or "(no log written)"


def start_failure(state: ClusterState, node_id: int, why: str) -> NodeStartError:
    return NodeStartError(
        f"{why}\n{log_tail(state, node_id)}",
        cluster=state.name,
        node=node_id,
        hint=f"read {log_dir(state, node_id)} for the whole log",
    )
