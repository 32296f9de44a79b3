"""Cargo classes, their setpoints and the band a reading may stray within."""

from __future__ import annotations

from dataclasses import dataclass

from fleetedge.events.telemetry import Cargo


@dataclass(frozen=True)
class CargoProfile:
    """Setpoints a shipper may order (``setpoint_min``..``setpoint_max``), the usual one, and the
    tolerance around the setpoint outside which the cargo is out of range."""

    cargo: Cargo
    setpoint_min: float
    setpoint_max: float
    usual_setpoint: float
    tolerance_c: float
    humidity_pct: float
    defrost_interval_h: float

    def setpoint_ok(self, setpoint: float) -> bool:
        return self.setpoint_min <= setpoint <= self.setpoint_max


PROFILES: dict[Cargo, CargoProfile] = {
    Cargo.FROZEN: CargoProfile(Cargo.FROZEN, -25.0, -18.0, -20.0, 2.0, 60.0, 8.0),
    Cargo.CHILLED: CargoProfile(Cargo.CHILLED, 0.0, 4.0, 2.0, 1.0, 88.0, 12.0),
    Cargo.BANANAS: CargoProfile(Cargo.BANANAS, 13.0, 14.0, 13.3, 0.7, 90.0, 12.0),
    Cargo.PHARMA: CargoProfile(Cargo.PHARMA, 2.0, 8.0, 5.0, 1.5, 50.0, 12.0),
    # USDA cold treatment: pulp below 1.1 °C for 15 days, so the band is tight.
    Cargo.COLD_TREATMENT: CargoProfile(Cargo.COLD_TREATMENT, -0.5, 1.1, 0.5, 0.6, 90.0, 12.0),
}
