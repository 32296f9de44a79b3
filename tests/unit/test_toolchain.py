from __future__ import annotations

from pathlib import Path

import pytest

from fleetedge.runtime.exceptions import JarsNotFetchedError, JavaNotFoundError, MavenNotFoundError
from fleetedge.runtime.jars import KafkaJars
from fleetedge.runtime.toolchain import find_java, find_maven, parse_java_major


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('java version "1.8.0_361"', 8),
        ('openjdk version "25" 2025-09-16', 25),
        ('openjdk version "21.0.2-ea" 2024-01-16', 21),
    ],
)
def test_java_versions_are_read(output: str, major: int) -> None:
    assert parse_java_major(output) == major


def test_missing_java_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(JavaNotFoundError, match="Java was not found") as info:
        find_java(env={"PATH": str(tmp_path)})
    assert info.value.hint is not None
    assert "openjdk-17" in info.value.hint
    with pytest.raises(JavaNotFoundError, match="not found"):
        find_java(env={"JAVA_HOME": str(tmp_path / "nowhere"), "PATH": ""})


def test_old_java_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "java"
    fake.write_text("#!/bin/sh\necho 'java version \"1.8.0_361\"' >&2\n")
    fake.chmod(0o755)
    with pytest.raises(JavaNotFoundError, match="version 8"):
        find_java(fake)


def test_missing_maven_is_named(tmp_path: Path) -> None:
    with pytest.raises(MavenNotFoundError, match="mvn"):
        find_maven(env={"PATH": str(tmp_path)})


def test_jars_are_not_fetched_until_a_complete_fetch_marks_them(tmp_path: Path) -> None:
    jars = KafkaJars(tmp_path)
    assert not jars.is_fetched()
    with pytest.raises(JarsNotFetchedError, match="fleet runtime fetch"):
        jars.require()
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "kafka_2.13-4.3.1.jar").write_bytes(b"")
    assert not jars.is_fetched()  # jars without the marker: an interrupted fetch
    (tmp_path / "fetched.json").write_text('{"pom": "an older pom"}')
    assert not jars.is_fetched()
