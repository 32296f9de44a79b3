"""The link's own word on a vessel's link, written ashore by the link supervisor."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from fleetedge.events.base import Event

Count = Annotated[int, Field(ge=0)]


class LinkState(StrEnum):
    """``online``: heartbeats fresh and nothing waits long; ``degraded``: answering but behind;
    ``offline``: no heartbeat within the limit (link cut, or the vessel's cluster silent)."""

    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"


class LinkReport(Event):
    """One measurement of a vessel's link. ``seq`` numbers the reports of that vessel's
    supervisor; the report is a state, so a lost one is superseded by the next."""

    KIND: ClassVar[str] = "link.report"
    TYPE_ID: ClassVar[int] = 8
    VERSION: ClassVar[int] = 1
    kind: Literal["link.report"] = "link.report"
    schema_version: Literal[1] = 1

    state: LinkState
    backlog_records: Count
    backlog_bytes: Count
    oldest_unmirrored_s: Annotated[float, Field(ge=0)] | None = None
    heartbeat_age_s: Annotated[float, Field(ge=0)] | None = None
    seconds_to_drain: Annotated[float, Field(ge=0)] | None = None
    lost_to_retention: Count = 0
