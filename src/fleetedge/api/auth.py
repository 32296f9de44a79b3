"""Who may act: write routes need a token of the ``operator`` role as ``Authorization: Bearer
<token>``; none or an unknown one is 401, a ``viewer``'s is 403. Tokens are checked against
their hashes in constant time (:mod:`fleetedge.security.tokens`)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, HTTPException, status

from fleetedge.api.params import Credentials
from fleetedge.security.tokens import TokenBook


def writes(tokens: TokenBook) -> dict[str, Any]:
    """Route keywords for a write endpoint: the operator check (before the body is looked at)
    and its documented answers."""

    def operator(credentials: Credentials) -> None:
        role = tokens.role_of(credentials.credentials) if credentials else None
        if role is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "operator token required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if role != "operator":
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {role} role may not do this")

    return {
        "dependencies": [Depends(operator)],
        "responses": {
            401: {"description": "no or unknown token"},
            403: {"description": "a token whose role may not act (viewer)"},
        },
    }
