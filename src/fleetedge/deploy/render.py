"""``fleet deploy render``: the roles' files as deployment files in a directory."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Literal

import yaml

from fleetedge.deploy import kubernetes, systemd
from fleetedge.deploy.exceptions import DeployError
from fleetedge.deploy.strimzi import Manifest
from fleetedge.roles.config import ShoreConfig, VesselConfig

Target = Literal["kubernetes", "systemd"]
DEFAULT_IMAGE = "fleetedge:0.1.0"
INSTALLED_FLEET = Path("/opt/fleetedge/bin/fleet")
CONFIG_DIR = Path("/etc/fleetedge")


def render(
    target: Target,
    out: Path,
    *,
    vessels: list[tuple[Path, VesselConfig]],
    shore: tuple[Path, ShoreConfig] | None,
    namespace: str = "fleetedge",
    image: str = DEFAULT_IMAGE,
) -> list[Path]:
    """Write ``target``'s files for the roles given into ``out``; the files written."""
    if not vessels and shore is None:
        raise DeployError("nothing to render: give --vessel FILE and/or --shore FILE")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if target == "kubernetes":
        files: dict[str, list[Manifest]] = {}
        if shore is not None:
            files |= kubernetes.render_shore(shore[1], namespace=namespace, image=image)
        for _, vessel in vessels:
            files |= kubernetes.render_vessel(vessel, image=image)
        for name, objects in files.items():
            path = out / name
            path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
            written.append(path)
        return written
    roles = [("vessel", f"vessel {v.vessel}", v.vessel, path) for path, v in vessels]
    if shore is not None:
        roles.append(("shore", "shore", "shore", shore[0]))
    for role, what, name, source in roles:
        config = CONFIG_DIR / f"{name}.toml"
        unit = out / f"fleetedge-{name}.service"
        unit.write_text(systemd.unit(role, what, fleet=INSTALLED_FLEET, config=config))
        copy = out / f"{name}.toml"
        shutil.copyfile(source, copy)
        written += [unit, copy]
    return written
