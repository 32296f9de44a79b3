"""The Kafka JVMs' class-data archive (fleetedge.runtime.classes), as `fleet runtime fetch`
(which `make test` runs) built it: a JVM of the fetched jars maps it, and loads Kafka's classes
from it rather than from the jars."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fleetedge.runtime import KafkaRuntime
from fleetedge.runtime.classes import archive_path, is_current, merge_lists, use_options

pytestmark = pytest.mark.kafka


def test_a_kafka_tool_loads_its_classes_from_the_archive(runtime: KafkaRuntime) -> None:
    archive = archive_path(runtime.jars)
    assert is_current(runtime.java, runtime.jars), f"`fleet runtime fetch` builds {archive}"
    assert runtime.class_data_options() == use_options(archive) != ()
    done = subprocess.run(
        [
            str(runtime.java.path),
            # "on", not "auto": a JVM that cannot map the archive fails instead of going on.
            "-Xshare:on",
            f"-XX:SharedArchiveFile={archive}",
            "-Xlog:class+load=info",
            "-cp",
            runtime.jars.classpath,
            "kafka.tools.StorageTool",
            "random-uuid",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    kafka = [line for line in done.stdout.splitlines() if " org.apache.kafka." in line]
    shared = [line for line in kafka if "source: shared objects file" in line]
    assert kafka, "the tool loaded no Kafka class?"
    assert len(shared) >= 0.9 * len(kafka), f"{len(shared)} of {len(kafka)} from the archive"


def test_class_lists_merge_each_class_once_in_first_order(tmp_path: Path) -> None:
    first, second, merged = tmp_path / "a", tmp_path / "b", tmp_path / "all"
    first.write_text("java/lang/Object id: 0\nkafka/Kafka\n\n")
    second.write_text("kafka/Kafka\norg/apache/kafka/connect/cli/ConnectDistributed\n")
    assert merge_lists([first, second], merged) == 3
    assert merged.read_text().splitlines() == [
        "java/lang/Object id: 0",
        "kafka/Kafka",
        "org/apache/kafka/connect/cli/ConnectDistributed",
    ]


def test_no_archive_means_no_option(tmp_path: Path) -> None:
    assert use_options(tmp_path / "absent.jsa") == ()
