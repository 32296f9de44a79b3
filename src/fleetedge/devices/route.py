"""Voyages between real ports: positions along great circles, ambient air along the way."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

EARTH_RADIUS_NM = 3440.065

PORTS: dict[str, tuple[float, float]] = {
    "Guayaquil": (-2.28, -79.91),
    "Balboa": (8.95, -79.57),
    "Cristobal": (9.35, -79.91),
    "Rotterdam": (51.95, 4.05),
    "Algeciras": (36.13, -5.44),
    "Santos": (-23.98, -46.30),
    "Singapore": (1.26, 103.84),
    "Colombo": (6.95, 79.84),
    "Port Said": (31.26, 32.31),
    "Cape Town": (-33.91, 18.43),
    "Halifax": (44.64, -63.57),
    "New York": (40.67, -74.04),
}
# Open-sea waypoints keep legs off the land between ports.
WAYPOINTS: dict[str, tuple[float, float]] = {
    "Gulf of Panama": (7.5, -79.6),
    "Windward Passage": (20.0, -73.8),
    "Mid Atlantic": (35.0, -40.0),
    "Ushant": (48.5, -5.8),
    "Cape Verde Sea": (15.0, -25.0),
    "Cape São Roque": (-5.0, -34.0),
    "Gulf of Aden": (12.5, 47.0),
    "Bab el Mandeb": (12.6, 43.3),
    "Suez Gulf": (28.0, 33.5),
    "Dondra Head": (5.7, 80.6),
}

ROUTES: dict[str, tuple[str, ...]] = {
    "banana-express": (
        "Guayaquil",
        "Gulf of Panama",
        "Balboa",
        "Cristobal",
        "Windward Passage",
        "Mid Atlantic",
        "Ushant",
        "Rotterdam",
    ),
    "south-atlantic": (
        "Santos",
        "Cape São Roque",
        "Cape Verde Sea",
        "Algeciras",
        "Ushant",
        "Rotterdam",
    ),
    "asia-europe": (
        "Singapore",
        "Dondra Head",
        "Colombo",
        "Gulf of Aden",
        "Bab el Mandeb",
        "Suez Gulf",
        "Port Said",
        "Algeciras",
        "Ushant",
        "Rotterdam",
    ),
}


def _coords(name: str) -> tuple[float, float]:
    return PORTS.get(name) or WAYPOINTS[name]


def distance_nm(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_NM * math.asin(min(1.0, math.sqrt(h)))


def interpolate(a: tuple[float, float], b: tuple[float, float], f: float) -> tuple[float, float]:
    """The point a fraction ``f`` of the way along the great circle from a to b."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    d = distance_nm(a, b) / EARTH_RADIUS_NM
    if d < 1e-9:
        return a
    s1, s2 = math.sin((1 - f) * d) / math.sin(d), math.sin(f * d) / math.sin(d)
    x = s1 * math.cos(lat1) * math.cos(lon1) + s2 * math.cos(lat2) * math.cos(lon2)
    y = s1 * math.cos(lat1) * math.sin(lon1) + s2 * math.cos(lat2) * math.sin(lon2)
    z = s1 * math.sin(lat1) + s2 * math.sin(lat2)
    return math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))


@dataclass(frozen=True)
class Voyage:
    """A vessel sailing ``route`` back and forth at ``speed_kn``, ``offset_nm`` along at start."""

    route: str
    speed_kn: float = 18.0
    offset_nm: float = 0.0

    def __post_init__(self) -> None:
        if self.route not in ROUTES:
            raise ValueError(f"unknown route {self.route!r}; known: {', '.join(ROUTES)}")

    @property
    def points(self) -> list[tuple[float, float]]:
        return [_coords(n) for n in ROUTES[self.route]]

    @property
    def length_nm(self) -> float:
        pts = self.points
        return sum(distance_nm(pts[i], pts[i + 1]) for i in range(len(pts) - 1))

    def position(self, hours: float) -> tuple[float, float]:
        """Latitude and longitude ``hours`` after the start (ping-pong between the ends)."""
        total = self.length_nm
        travelled = (self.offset_nm + self.speed_kn * hours) % (2 * total)
        along = travelled if travelled <= total else 2 * total - travelled
        pts = self.points
        for i in range(len(pts) - 1):
            leg = distance_nm(pts[i], pts[i + 1])
            if along <= leg or i == len(pts) - 2:
                return interpolate(pts[i], pts[i + 1], min(1.0, along / leg if leg else 0.0))
            along -= leg
        return pts[-1]


def ambient_c(lat: float, lon: float, when: datetime) -> float:
    """Outside air: about 28 °C in the tropics, falling 0.4 °C per degree beyond 15° of latitude
    (about 14 °C off Rotterdam), with a ±3 °C daily swing peaking at 15:00 local solar time."""
    base = 28.0 - 0.4 * max(0.0, abs(lat) - 15.0)
    solar_hour = (when.hour + when.minute / 60 + lon / 15.0) % 24
    return base + 3.0 * math.sin(2 * math.pi * (solar_hour - 9.0) / 24)
