"""The runtime's warm-up: the class-data archive (:mod:`fleetedge.runtime.classes`) built from
the classes a broker and a Connect worker load as they start, once per machine and jar set.

A one-node cluster is formatted, started and written to, and a Connect worker is started
against it until its REST API answers, each JVM listing the classes it loads; the JDK then
archives the lists' classes. About half a minute, paid once by ``fleet runtime fetch``.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from fleetedge.link.connect import ConnectGroup, ConnectSettings
from fleetedge.runtime import KafkaCluster, KafkaRuntime, free_node_ports
from fleetedge.runtime.classes import archive_path, dump, list_option, merge_lists
from fleetedge.runtime.jars import Progress
from fleetedge.runtime.node import format_storage
from fleetedge.runtime.ports import free_ports


def _listing_options(class_list: Path) -> tuple[str, ...]:
    """Without an archive (its classes would not be listed), listing into ``class_list``."""
    return ("-Xshare:off", list_option(class_list))


def _listing(runtime: KafkaRuntime, class_list: Path) -> KafkaRuntime:
    return dataclasses.replace(
        runtime, extra_options=(*runtime.extra_options, *_listing_options(class_list))
    )


def build_class_archive(runtime: KafkaRuntime, progress: Progress | None = None) -> Path:
    """Start a broker and a Connect worker once, listing their classes; archive them."""
    say = progress or (lambda _: None)
    with tempfile.TemporaryDirectory(prefix="fleetedge-warmup-") as tmp:
        work = Path(tmp)
        lists = [work / f"{jvm}.classes" for jvm in ("format", "broker", "worker")]
        format_list, broker_list, worker_list = lists
        say("a broker starts, listing its classes")
        cluster = KafkaCluster.create(
            "warmup",
            home=work / "home",
            runtime=_listing(runtime, broker_list),
            ports=free_node_ports(1),
        )
        try:
            format_storage(runtime, cluster.state, cluster.node_ids, _listing_options(format_list))
            cluster.up()
            say("a Connect worker starts, listing its classes")
            settings = ConnectSettings(cluster.bootstrap_servers, replication_factor=1)
            group = ConnectGroup(
                _listing(runtime, worker_list), work / "connect", settings, free_ports(1)
            )
            try:
                group.start()
            finally:
                group.stop()
        finally:
            cluster.down(purge=True)
        merged = work / "all.classes"
        count = merge_lists(lists, merged)
        say(f"archiving {count} classes")
        dump(runtime.java, runtime.jars, merged)
    return archive_path(runtime.jars)
