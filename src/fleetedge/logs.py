"""Structured logging for every FleetEdge process: structlog over the standard library.

A service (run by the supervisor, its stderr going to its own log file) writes console lines,
or JSON lines (``--log-json`` or not a TTY). A command a person runs (``fleet up``, ``fleet
demo``, ...) writes its structured log to a file instead (``to_file``), and its terminal gets
only one-line warnings and errors beside the command's own progress and story. Library modules
log through ``structlog.get_logger(__name__)`` or stdlib loggers (librdkafka's log goes to
``fleetedge.runtime.kafka``, and reaches no terminal unless the level is DEBUG).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import structlog


def configure(
    *, json: bool | None = None, level: str = "INFO", to_file: Path | None = None
) -> None:
    """Configure logging once, at a process entry point."""
    as_json = (not sys.stderr.isatty()) if json is None else json
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    root.setLevel(level)
    if to_file is None:
        renderer: structlog.types.Processor = (
            structlog.processors.JSONRenderer()
            if as_json
            else structlog.dev.ConsoleRenderer(colors=False)
        )
        root.handlers[:] = [_handler(logging.StreamHandler(sys.stderr), shared, renderer)]
    else:
        to_file.parent.mkdir(parents=True, exist_ok=True)
        structured = _handler(
            logging.FileHandler(to_file), shared, structlog.processors.JSONRenderer()
        )
        terminal = _handler(logging.StreamHandler(sys.stderr), shared, _one_line)
        terminal.setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
        if level != "DEBUG":
            terminal.addFilter(lambda record: record.name != KAFKA_LOGGER)
        root.handlers[:] = [structured, terminal]
    if level != "DEBUG":
        # librdkafka reports every refused connection while a broker is down; that is expected
        # during start-up and failure drills, so only its errors are kept.
        logging.getLogger(KAFKA_LOGGER).setLevel(logging.ERROR)


KAFKA_LOGGER = "fleetedge.runtime.kafka"


def _handler(
    handler: logging.Handler,
    shared: list[structlog.types.Processor],
    renderer: structlog.types.Processor,
) -> logging.Handler:
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    return handler


def _one_line(_logger: object, _name: str, event: MutableMapping[str, Any]) -> str:
    """``warning: the event (key=value, ...)`` on one line, for a person."""
    level = str(event.pop("level", "info"))
    text = " ".join(str(event.pop("event", "")).split())
    for key in ("logger", "timestamp", "exc_info", "stack_info"):
        event.pop(key, None)
    details = ", ".join(f"{k}={v}" for k, v in event.items())
    return f"{level}: {text}" + (f" ({details})" if details else "")
