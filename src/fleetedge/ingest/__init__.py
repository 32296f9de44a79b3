"""Bridging real devices into a vessel's telemetry topic, through the contracts' validation."""

from fleetedge.ingest.mqtt import MqttBridge, device_topic

__all__ = ["MqttBridge", "device_topic"]
