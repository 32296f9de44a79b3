"""The recorded state of a cluster (``<home>/clusters/<name>/cluster.json``).

The nodes' data lives in ``directory``: by default beside the state file, or a chosen data dir.

Another ``fleet`` process finds and controls a cluster through this file: its ports, its
directories and the pid of each node. Writes are atomic (temp file + rename).
"""

from __future__ import annotations

import base64
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fleetedge.runtime.ports import NodePorts

STATE_FILE = "cluster.json"


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (as Uuid.toString)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):  # Kafka avoids ids that read as a command-line flag
            return text


class NodeState(BaseModel):
    """One combined broker+controller node."""

    model_config = ConfigDict(extra="forbid")

    id: int
    broker_port: int
    controller_port: int
    link_port: int | None = None
    proxy_port: int | None = None
    pid: int | None = None

    @property
    def ports(self) -> NodePorts:
        return NodePorts(self.broker_port, self.controller_port, self.link_port, self.proxy_port)


class ClusterSecurity(BaseModel):
    """How a cluster's listeners are secured (files made by ``fleetedge.security``).

    ``cluster`` (the shore): every client listener is SASL_SSL with SCRAM-SHA-512 and ACLs;
    brokers and controllers authenticate among themselves; ``admin_file`` holds the admin's
    credentials. ``link`` (a vessel): only the listener the shore reaches through the link is
    SASL_SSL; the vessel's own services stay on loopback plaintext.
    """

    model_config = ConfigDict(extra="forbid")

    scope: Literal["cluster", "link"]
    server_pem: Path
    ca_file: Path
    broker_secret_file: Path | None = None
    admin_file: Path | None = None


class ClusterState(BaseModel):
    """Everything needed to find, start and stop a cluster from any process."""

    model_config = ConfigDict(extra="forbid")

    name: str
    cluster_id: str = Field(default_factory=new_cluster_id)
    kafka_version: str
    directory: Path
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    nodes: list[NodeState]
    overrides: dict[str, str] = Field(default_factory=dict)
    security: ClusterSecurity | None = None

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{n.broker_port}" for n in self.nodes)

    @property
    def link_bootstrap_servers(self) -> str | None:
        """Where the shore reaches this cluster: the link emulator's ports; None without a link."""
        if any(n.proxy_port is None for n in self.nodes):
            return None
        return ",".join(f"127.0.0.1:{n.proxy_port}" for n in self.nodes)

    def node(self, node_id: int) -> NodeState:
        for node in self.nodes:
            if node.id == node_id:
                return node
        ids = ", ".join(str(n.id) for n in self.nodes)
        raise KeyError(f"cluster {self.name!r} has no node {node_id} (nodes: {ids})")

    def node_dir(self, node_id: int) -> Path:
        return self.directory / f"node-{node_id}"

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(self.model_dump_json(indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ClusterState:
        return cls.model_validate_json(path.read_text())
