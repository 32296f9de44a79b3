"""The event contracts: typed, versioned records, their encodings, topics and validation."""

from fleetedge.events.aggregates import ContainerWindow
from fleetedge.events.alerts import Alert, AlertKind, AlertState, Severity
from fleetedge.events.base import Event
from fleetedge.events.codec import BINARY, CODECS, EVENT_TYPES, JSON, decode
from fleetedge.events.deadletter import DeadLetter
from fleetedge.events.exceptions import EventError
from fleetedge.events.link import LinkReport, LinkState
from fleetedge.events.telemetry import Cargo, Compressor, ReeferReading
from fleetedge.events.validation import ReadingValidator
from fleetedge.events.vessel import Command, CommandAck, CommandAction, CommandStatus, VesselStatus

__all__ = [
    "BINARY",
    "CODECS",
    "EVENT_TYPES",
    "JSON",
    "Alert",
    "AlertKind",
    "AlertState",
    "Cargo",
    "Command",
    "CommandAck",
    "CommandAction",
    "CommandStatus",
    "Compressor",
    "ContainerWindow",
    "DeadLetter",
    "Event",
    "EventError",
    "LinkReport",
    "LinkState",
    "ReadingValidator",
    "ReeferReading",
    "Severity",
    "VesselStatus",
    "decode",
]
