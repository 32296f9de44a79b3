"""The dead-letter envelope: a rejected record, kept whole, with the reason it was rejected."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from fleetedge.events.base import Event


class DeadLetter(Event):
    """A record a service could not accept. ``payload`` holds its bytes untouched, so nothing is
    lost and it can be replayed once fixed; ``seq`` numbers the dead letters of that service."""

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    KIND: ClassVar[str] = "dead_letter"
    TYPE_ID: ClassVar[int] = 7
    VERSION: ClassVar[int] = 1
    kind: Literal["dead_letter"] = "dead_letter"
    schema_version: Literal[1] = 1

    service: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=1000)
    error: str = Field(description="the EventError class, e.g. SchemaViolation")
    field: str | None = None
    source_topic: str
    source_partition: int = Field(ge=0)
    source_offset: int = Field(ge=0)
    payload: bytes
