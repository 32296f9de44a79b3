"""The smart reefer containers: a seeded physical simulator and its Kafka producer."""

from fleetedge.devices.faults import FaultKind, FaultRates, ScriptedFault, parse_script
from fleetedge.devices.physics import ReeferUnit
from fleetedge.devices.producer import TelemetryProducer
from fleetedge.devices.route import Voyage
from fleetedge.devices.run import RunStats, run
from fleetedge.devices.vessel import VesselSimulator, manifest

__all__ = [
    "FaultKind",
    "FaultRates",
    "ReeferUnit",
    "RunStats",
    "ScriptedFault",
    "TelemetryProducer",
    "VesselSimulator",
    "Voyage",
    "manifest",
    "parse_script",
    "run",
]
