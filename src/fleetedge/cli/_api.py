"""Calls to the running fleet's API from the CLI: its URL from the fleet plan, the operator
token from ``api-token``; a refusal becomes one line naming the field at fault."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from fleetedge.cli._common import settings
from fleetedge.exceptions import FleetEdgeError
from fleetedge.orchestration.spec import FleetPlan
from fleetedge.orchestration.state import plan_path, token_path


class ApiCallFailed(FleetEdgeError):
    """The API refused the call."""


class ApiUnavailable(ApiCallFailed):
    """The API did not answer, or answered 503: the same call may succeed later."""

    retriable = True


def _api() -> tuple[str, dict[str, str]]:
    home = settings().home
    path = plan_path(home)
    if not path.exists():
        raise ApiCallFailed("no fleet here", hint="start one with `fleet up`")
    token = token_path(home).read_text().strip() if token_path(home).exists() else ""
    return FleetPlan.load(path).api_url, {"Authorization": f"Bearer {token}"}


def fetch(path: str, body: dict[str, Any] | None = None, *, timeout: float = 30) -> bytes:
    """GET ``path`` (with its query), or POST ``body`` as JSON; the answer's bytes."""
    url, headers = _api()
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url + path, data=data, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 - the plan's
            answer: bytes = reply.read()
            return answer
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read() or b"{}").get("detail", exc.reason)
        except ValueError:
            detail = exc.reason
        if isinstance(detail, list):  # validation: name each field
            detail = "; ".join(f"{d['loc'][-1]}: {d['msg']}" for d in detail)
        if exc.code == 503:
            raise ApiUnavailable(f"unavailable for now: {detail}") from exc
        raise ApiCallFailed(f"refused ({exc.code}): {detail}") from exc
    except OSError as exc:
        raise ApiUnavailable(f"the API at {url} did not answer: {exc}") from exc


def call(path: str, body: dict[str, Any] | None = None) -> Any:
    """:func:`fetch`, the answer read as JSON."""
    return json.loads(fetch(path, body))
