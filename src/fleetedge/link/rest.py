"""A small client of Kafka Connect's REST API (the calls the link needs, nothing more).

Any worker takes any request: followers forward writes to the leader. A worker that does not
answer is skipped for the next one; a 409 (a rebalance under way, no known leader) and a
worker that does not answer at all are :class:`ConnectUnavailable`, retriable; any other
refusal is a :class:`ConnectRestError` with Connect's own message, on one line.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fleetedge.link.exceptions import ConnectRestError, ConnectUnavailable

# Connect answers within its own 90 s request timeout; fencing a connector's zombies can take
# that long on a loaded machine.
REQUEST_TIMEOUT_S = 95.0


@dataclass(frozen=True)
class TaskState:
    id: int
    state: str
    worker: str
    trace: str | None = None


@dataclass(frozen=True)
class ConnectorState:
    """A connector's status as Connect reports it (``GET /connectors/{name}/status``)."""

    name: str
    state: str
    worker: str | None
    tasks: tuple[TaskState, ...]
    trace: str | None = None

    @property
    def failed(self) -> bool:
        return self.state == "FAILED" or any(t.state == "FAILED" for t in self.tasks)

    @property
    def tasks_paused(self) -> bool:
        """True once every task has taken a pause: no record moves. (The connector itself
        reports PAUSED only when its stop is done, up to a minute when the source is away.)"""
        return bool(self.tasks) and all(t.state == "PAUSED" for t in self.tasks)

    def first_trace(self) -> str | None:
        traces = [self.trace, *(t.trace for t in self.tasks)]
        return next((t.strip().splitlines()[0] for t in traces if t and t.strip()), None)


def _connector_state(name: str, body: Mapping[str, Any]) -> ConnectorState:
    connector = body.get("connector", {})
    return ConnectorState(
        name=name,
        state=str(connector.get("state", "UNKNOWN")),
        worker=connector.get("worker_id"),
        trace=connector.get("trace"),
        tasks=tuple(
            TaskState(int(t["id"]), str(t["state"]), str(t.get("worker_id", "")), t.get("trace"))
            for t in body.get("tasks", [])
        ),
    )


class ConnectRest:
    """Kafka Connect's REST API through any of ``urls`` (one per worker)."""

    def __init__(self, urls: Sequence[str], *, timeout: float = REQUEST_TIMEOUT_S) -> None:
        if not urls:
            raise ValueError("Connect needs at least one worker URL")
        self.urls = list(urls)
        self.timeout = timeout

    # -- reads ---------------------------------------------------------------------------------

    def alive(self) -> bool:
        """True if some worker serves its API (``GET /connectors``)."""
        try:
            self._call("GET", "/connectors")
        except ConnectRestError:
            return False
        return True

    def connectors(self) -> dict[str, ConnectorState]:
        """Every connector with its status, in one call (KIP-465 ``expand=status``)."""
        body = self._call("GET", "/connectors?expand=status")
        return {
            name: _connector_state(name, entry.get("status", {}))
            for name, entry in (body or {}).items()
        }

    def config(self, name: str) -> dict[str, str] | None:
        """The connector's config, or None if there is no such connector."""
        try:
            body = self._call("GET", f"/connectors/{_q(name)}/config")
        except ConnectRestError as exc:
            if exc.status == 404:
                return None
            raise
        return {str(k): str(v) for k, v in (body or {}).items()}

    def status(self, name: str) -> ConnectorState | None:
        try:
            body = self._call("GET", f"/connectors/{_q(name)}/status")
        except ConnectRestError as exc:
            if exc.status == 404:
                return None
            raise
        return _connector_state(name, body or {})

    def task_ids(self, name: str) -> list[int]:
        """The ids of the connector's tasks as its config lists them (whatever their status)."""
        body = self._call("GET", f"/connectors/{_q(name)}/tasks") or []
        return sorted(int(t["id"]["task"]) for t in body)

    # -- writes --------------------------------------------------------------------------------

    def put_config(self, name: str, config: Mapping[str, str]) -> bool:
        """Create or replace the connector's config; True if it was created."""
        before = self.config(name)
        if before is not None and before == {**config, "name": name}:
            return False  # Connect restarts a connector on every PUT, even an identical one
        self._call("PUT", f"/connectors/{_q(name)}/config", dict(config))
        return before is None

    def delete(self, name: str) -> bool:
        """Remove the connector (its offsets stay, so the same name later resumes); True if it
        was there."""
        try:
            self._call("DELETE", f"/connectors/{_q(name)}")
        except ConnectRestError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def pause(self, name: str) -> None:
        """Stop the connector's tasks polling until :meth:`resume` (their offsets stay)."""
        self._call("PUT", f"/connectors/{_q(name)}/pause")

    def resume(self, name: str) -> None:
        self._call("PUT", f"/connectors/{_q(name)}/resume")

    def restart_connector(self, name: str) -> None:
        """Restart the connector alone (the form that needs no status of it in Connect)."""
        self._call("POST", f"/connectors/{_q(name)}/restart")

    def restart_task(self, name: str, task: int) -> None:
        """Restart one task (the form that needs no status of it in Connect)."""
        self._call("POST", f"/connectors/{_q(name)}/tasks/{task}/restart")

    def restart(self, name: str, *, only_failed: bool) -> None:
        """Restart the connector and its tasks (only the FAILED ones if ``only_failed``)."""
        flag = "true" if only_failed else "false"
        self._call("POST", f"/connectors/{_q(name)}/restart?includeTasks=true&onlyFailed={flag}")

    # -- transport -----------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        unavailable: str = "no Connect worker configured"
        for url in self.urls:
            request = urllib.request.Request(  # noqa: S310 - our own 127.0.0.1 workers
                url + path, data=data, method=method,
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    text = response.read()
                    return json.loads(text) if text else None
            except urllib.error.HTTPError as exc:
                message, from_connect = _message(exc)
                # A worker whose REST server is up before its resources are (it is starting)
                # answers 404 without Connect's JSON error body.
                if exc.code == 409 or exc.code >= 500 or not from_connect:
                    unavailable = f"{method} {path}: {exc.code} {message}"
                    continue
                raise ConnectRestError(
                    f"Kafka Connect refused {method} {path}: {exc.code} {message}", status=exc.code
                ) from None
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                unavailable = f"{url} does not answer ({getattr(exc, 'reason', exc)})"
                continue
        raise ConnectUnavailable(
            f"Kafka Connect unavailable: {unavailable}",
            hint="the workers may be starting or rebalancing; `fleet status` shows them",
        )


def _q(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _message(exc: urllib.error.HTTPError) -> tuple[str, bool]:
    """Connect's one-line message, and whether the body was Connect's own JSON error."""
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        return str(exc.reason or ""), False
    if not isinstance(body, dict) or "error_code" not in body:
        return str(exc.reason or ""), False
    text = str(body.get("message") or exc.reason or "")
    return (text.strip().splitlines()[0] if text.strip() else ""), True
