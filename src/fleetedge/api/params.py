"""Request parameters shared by the API's routes: the bearer token, a vessel id.

At module level: FastAPI resolves the (string) annotations of dependencies in module globals.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fleetedge.events import topics

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]
VesselId = Annotated[str, Query(pattern=rf"^{topics.VESSEL_ID}$")]
