"""A role's configuration file: ``vessel.toml`` or ``shore.toml``, validated with pydantic.

An invalid file gives one :class:`ConfigError` naming the file and the key. Relative paths in
a file (CA, password file, manifest, state directory) are read from the file's own directory.
Secrets stay in files of their own (``password_file``), never in the role's file.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fleetedge.events import topics
from fleetedge.roles.exceptions import ConfigError
from fleetedge.runtime.ports import is_loopback
from fleetedge.security.clients import ClientAuth

DEFAULT_METRICS_PORT = 18300
DEFAULT_API_PORT = 18080


def _near_file(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base")
    return value if value.is_absolute() or base is None else Path(base) / value


def _existing(value: Path, info: ValidationInfo) -> Path:
    path = _near_file(value, info)
    if not path.is_file():
        raise ValueError(f"no such file: {path}")
    return path


RelPath = Annotated[Path, AfterValidator(_near_file)]
FilePath = Annotated[Path, AfterValidator(_existing)]
Port = Annotated[int, Field(ge=1, le=65535)]


def _bootstrap(value: str) -> str:
    servers = [s.strip() for s in value.split(",") if s.strip()]
    if not servers:
        raise ValueError("no server given")
    for server in servers:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{server!r} is not host:port")
    return ",".join(servers)


def _vessel_id(value: str) -> str:
    if not topics.is_vessel_id(value):
        raise ValueError(
            f"{value!r} is not a topic-safe vessel id (lower-case letters, digits, '-' and '_',"
            " up to 63, no dot, not 'shore')"
        )
    return value


Bootstrap = Annotated[str, AfterValidator(_bootstrap)]
VesselId = Annotated[str, AfterValidator(_vessel_id)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Login(_Strict):
    """A SCRAM identity: the user, and the file holding its password (one line)."""

    username: str = Field(min_length=1)
    password_file: FilePath

    def password(self) -> SecretStr:
        try:
            return SecretStr(self.password_file.read_text().strip())
        except OSError as exc:  # it existed when validated
            raise ConfigError(f"password_file {self.password_file}: {exc.strerror}") from exc


class KafkaAccess(_Strict):
    """How a role reaches its Kafka: the bootstrap servers and, on a secured listener
    (SASL_SSL, SCRAM-SHA-512), the CA that signed the brokers and a login."""

    bootstrap: Bootstrap
    ca_file: FilePath | None = None
    username: str | None = Field(default=None, min_length=1)
    password_file: FilePath | None = None

    @model_validator(mode="after")
    def _login_whole(self) -> Self:
        given = {
            k: v is not None
            for k, v in (
                ("ca_file", self.ca_file),
                ("username", self.username),
                ("password_file", self.password_file),
            )
        }
        if any(given.values()) and not all(given.values()):
            missing = ", ".join(k for k, v in given.items() if not v)
            raise ValueError(f"a secured listener needs ca_file, username and password_file: "
                             f"missing {missing}")  # fmt: skip
        return self

    def auth(self, login: Login | None = None) -> ClientAuth | None:
        """The identity to present: ``login`` (a service's own) or the file's, on a secured
        listener; None on a plaintext one."""
        if login is None and self.username is not None and self.password_file is not None:
            login = Login(username=self.username, password_file=self.password_file)
        if self.ca_file is None or login is None:
            return None
        return ClientAuth(login.username, login.password(), self.ca_file)


# -- the vessel ----------------------------------------------------------------------------------


class Simulated(_Strict):
    """Simulated reefers (the demo's and the tests' source)."""

    source: Literal["simulator"] = "simulator"
    containers: int = Field(default=200, ge=1, le=10_000)
    seed: int = 1
    speedup: float = Field(default=60.0, ge=0, description="simulated/real time")
    interval_seconds: int = Field(default=60, ge=1, le=3600)
    start: datetime | None = Field(default=None, description="simulated start; else now")

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Mqtt(_Strict):
    """Real reefers, through the vessel's MQTT broker on 127.0.0.1."""

    source: Literal["mqtt"]
    port: Port = 1883
    manifest: FilePath | None = Field(default=None, description="container ids, one per line")
    containers: int = Field(default=200, ge=1, le=10_000)
    seed: int = 1
    interval_seconds: int = Field(default=60, ge=1, le=3600)


class EdgeSettings(_Strict):
    window_minutes: int = Field(default=15, ge=1, le=60)
    grace_minutes: int = Field(default=5, ge=0, le=120)


class VesselLinkSettings(_Strict):
    """Where the ship reaches the shore's Kafka for commands: the downlink that `fleet deploy
    render` writes for the ship's cluster reads the vessel's commands there."""

    shore_bootstrap: Bootstrap


class VesselConfig(_Strict):
    """``vessel.toml``: one vessel's services on the vessel's own Kafka."""

    vessel: VesselId
    kafka: KafkaAccess
    reefers: Annotated[Simulated | Mqtt, Field(discriminator="source")] = Simulated()
    edge: EdgeSettings = EdgeSettings()
    link: VesselLinkSettings | None = None
    state_dir: RelPath | None = Field(default=None, description="logs and state")
    metrics_port: Port = Field(
        default=DEFAULT_METRICS_PORT, description="the first of the services' metrics ports"
    )
    # 0.0.0.0 in a pod, so a scraper outside it reaches the services' /metrics.
    metrics_host: str = Field(default="127.0.0.1", min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _simulated_unless_said(cls, data: Any) -> Any:
        """``[reefers]`` without ``source`` is the simulator's."""
        reefers = data.get("reefers") if isinstance(data, dict) else None
        if isinstance(reefers, dict) and "source" not in reefers:
            return {**data, "reefers": {**reefers, "source": "simulator"}}
        return data


# -- the shore -----------------------------------------------------------------------------------

ShoreKind = Literal["normalizer", "analytics", "projector", "backfill", "api", "link"]
SHORE_KINDS: tuple[ShoreKind, ...] = (
    "normalizer", "analytics", "projector", "backfill", "api", "link",
)  # fmt: skip


class ApiSettings(_Strict):
    """Where the API listens. Beyond loopback, reads need a token and it serves TLS."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: Port = DEFAULT_API_PORT
    reads: Literal["open", "token"] = "open"
    tls_cert: FilePath | None = None
    tls_key: FilePath | None = None
    # The API's token book (hashes only; `fleet api token add` writes it). Default: the
    # one in FLEET_HOME.
    tokens_file: RelPath | None = None

    @model_validator(mode="after")
    def _exposed_safely(self) -> Self:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        if is_loopback(self.host):
            return self
        if self.reads != "token":
            raise ValueError(f'listening on {self.host} needs reads = "token"')
        if self.tls_cert is None:
            raise ValueError(f"listening on {self.host} needs tls_cert and tls_key")
        return self

    @property
    def url(self) -> str:
        """Where this host's supervisor reaches it."""
        scheme = "https" if self.tls_cert else "http"
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"{scheme}://{host}:{self.port}"


class AnalyticsSettings(_Strict):
    workers: int = Field(default=2, ge=1, le=64)
    commit_interval: float = Field(default=2.0, gt=0, le=60)


class BackfillSettings(_Strict):
    every_seconds: float = Field(default=30.0, gt=0)
    cooldown_minutes: float = Field(default=2.0, ge=0)


class ShoreVessel(_Strict):
    """A vessel of the fleet, as the shore knows it: its id, where the shore's Connect cluster
    reaches its link listener, and the vessel's principal (``fleet security add-vessel``),
    which its connectors present ashore and, on a secured link listener (``link_ca_file``),
    aboard too."""

    id: VesselId
    link_bootstrap: Bootstrap
    username: str | None = Field(default=None, min_length=1)
    password_file: FilePath | None = None
    link_ca_file: FilePath | None = None

    @model_validator(mode="after")
    def _login_whole(self) -> Self:
        if (self.username is None) != (self.password_file is None):
            raise ValueError("username and password_file go together")
        if self.link_ca_file is not None and self.username is None:
            raise ValueError("a secured link listener (link_ca_file) needs username and "
                             "password_file")  # fmt: skip
        return self

    def login(self) -> Login | None:
        if self.username is None or self.password_file is None:
            return None
        return Login(username=self.username, password_file=self.password_file)


def _connect_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value.rstrip("/")


class ConnectSettings(_Strict):
    """The shore's Kafka Connect cluster that carries the vessels' MirrorMaker 2 connectors:
    someone else runs it (Strimzi's ``KafkaConnect``, or your own workers); the ``link`` kind
    watches it over REST."""

    workers: int = Field(default=2, ge=1, le=64, description="rendered KafkaConnect replicas")
    # Its workers' REST URLs. Given, the shore runs the ``link`` kind unless ``run`` says.
    urls: list[Annotated[str, AfterValidator(_connect_url)]] = Field(default_factory=list)
    # False where Strimzi's KafkaConnector resources own the connectors: then the link only
    # restarts failed tasks and reports each link's health.
    manage_connectors: bool = True
    # Where the link writes each vessel's JAAS line for the workers' FileConfigProvider: a
    # path the workers read as it is. Default: under the role's state directory.
    secrets_dir: RelPath | None = None


class ShoreConfig(_Strict):
    """``shore.toml``: the shore services on the shore's Kafka."""

    kafka: KafkaAccess
    # A service kind's own login (its principal and ACLs); else the [kafka] login.
    principals: dict[ShoreKind, Login] = Field(default_factory=dict)
    database: str = Field(description="sqlite:///PATH or postgresql://...")
    # The kinds this process runs (a Kubernetes pod runs one kind; a host, all). Unsaid: every
    # kind, the link only where connect.urls names a Connect cluster.
    run: list[ShoreKind] = Field(min_length=1)
    # False where someone else makes the topics (Strimzi's Topic Operator).
    create_topics: bool = True
    connect: ConnectSettings = ConnectSettings()
    api: ApiSettings = ApiSettings()
    analytics: AnalyticsSettings = AnalyticsSettings()
    backfill: BackfillSettings = BackfillSettings()
    vessels: list[ShoreVessel] = Field(default_factory=list)
    state_dir: RelPath | None = Field(default=None, description="logs and state")
    metrics_port: Port = Field(
        default=DEFAULT_METRICS_PORT, description="the first of the services' metrics ports"
    )
    # 0.0.0.0 in a pod, so a scraper outside it reaches the services' /metrics.
    metrics_host: str = Field(default="127.0.0.1", min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _default_kinds(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "run" in data:
            return data
        connect = data.get("connect")
        linked = isinstance(connect, dict) and bool(connect.get("urls"))
        return {**data, "run": [k for k in SHORE_KINDS if k != "link" or linked]}

    @model_validator(mode="after")
    def _link_has_connect(self) -> Self:
        if "link" in self.run and not self.connect.urls:
            raise ValueError("the link kind needs connect.urls (the Connect workers' REST URLs)")
        return self

    @field_validator("database")
    @classmethod
    def _database(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("not a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("vessels")
    @classmethod
    def _unique(cls, value: list[ShoreVessel]) -> list[ShoreVessel]:
        ids = [v.id for v in value]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"vessel listed twice: {', '.join(twice)}")
        return value


Config = TypeVar("Config", VesselConfig, ShoreConfig)


def load_config(path: Path, model: type[Config]) -> Config:
    """Read and validate ``path``; ConfigError naming the file and the first bad key."""
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: unreadable ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not TOML: {exc}") from exc
    try:
        return model.model_validate(raw, context={"base": path.parent.resolve()})
    except ValidationError as exc:
        raise ConfigError(_first_error(path, exc)) from exc


def _first_error(path: Path, exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    # A discriminated union's member name is not a key of the file: drop it.
    key = ".".join(str(p) for p in first["loc"] if p not in ("simulator", "mqtt")) or "(top)"
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "missing":
        message = "missing"
    elif first["type"] == "extra_forbidden":
        message = "not a known key"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path}: {key}: {message}{more}"
