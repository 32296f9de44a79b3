"""A command a person runs keeps its structured log in a file; the terminal gets one-line
warnings, and librdkafka's lines only at DEBUG."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from fleetedge import logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    kafka = logging.getLogger(logs.KAFKA_LOGGER)
    kafka_level = kafka.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    kafka.setLevel(kafka_level)
    structlog.reset_defaults()


def _emit() -> None:
    structlog.get_logger("fleetedge.orchestration.supervisor").info("service started", pid=7)
    structlog.get_logger("fleetedge.link").warning("link degraded", vessel="vessel-1")
    logging.getLogger(logs.KAFKA_LOGGER).error("FAIL [rdkafka#consumer-1] connection refused")


def test_the_terminal_gets_one_line_warnings_and_the_file_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    log = tmp_path / "cli-up.log"
    logs.configure(level="INFO", to_file=log)
    _emit()
    terminal = capsys.readouterr().err.splitlines()
    assert terminal == ["warning: link degraded (vessel=vessel-1)"]
    written = [json.loads(line) for line in log.read_text().splitlines()]
    assert [w["event"] for w in written] == [
        "service started",
        "link degraded",
        "FAIL [rdkafka#consumer-1] connection refused",
    ]


def test_at_debug_librdkafka_reaches_the_terminal_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    logs.configure(level="DEBUG", to_file=tmp_path / "cli-up.log")
    _emit()
    terminal = capsys.readouterr().err
    assert "error: FAIL [rdkafka#consumer-1] connection refused" in terminal
