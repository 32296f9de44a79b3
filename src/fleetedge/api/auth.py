"""Who may read and who may act.

Write routes need a token of the ``operator`` role as ``Authorization: Bearer <token>``; none
or an unknown one is 401, a ``viewer``'s is 403. Reads are open while the API listens on
loopback only; an API that leaves the host needs a token of either role on every read, the
metrics and the live stream included. A browser cannot put a header on an ``EventSource``, so
``POST /api/session`` with a token sets it as an HttpOnly, SameSite=Strict session cookie,
which reads accept as well (writes never do: a cookie is sent by any page's form, a header is
not). Tokens are checked against their hashes in constant time
(:mod:`fleetedge.security.tokens`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, HTTPException, Response, status
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from fleetedge.api.params import Credentials
from fleetedge.security.tokens import TokenBook

SESSION_COOKIE = "fleetedge_session"
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def writes(tokens: TokenBook) -> dict[str, Any]:
    """Route keywords for a write endpoint: the operator check (before the body is looked at)
    and its documented answers."""

    def operator(credentials: Credentials) -> None:
        role = tokens.role_of(credentials.credentials) if credentials else None
        if role is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "operator token required", headers=UNAUTHORIZED
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


@dataclass(frozen=True)
class ReadAccess:
    """Whether reads need a token (``required``), and the cookie's ``secure`` flag (set when
    the API serves TLS, so the browser never sends the cookie in clear)."""

    tokens: TokenBook
    required: bool
    secure: bool = False

    def allows(self, bearer: str | None, session: str | None) -> bool:
        if not self.required:
            return True
        return any(t is not None and self.tokens.role_of(t) is not None for t in (bearer, session))

    def dependency(self) -> Any:
        """A FastAPI dependency: 401 for a read without a valid token (header or cookie)."""

        def viewer(
            credentials: Credentials,
            session: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
        ) -> None:
            if not self.allows(credentials.credentials if credentials else None, session):
                raise HTTPException(
                    status.HTTP_401_UNAUTHORIZED, "viewer token required", headers=UNAUTHORIZED
                )

        return Depends(viewer)

    def guard(self, inner: ASGIApp) -> ASGIApp:
        """``inner`` (a mounted ASGI app: the Prometheus metrics) behind the same check."""

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                request = Request(scope)
                scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
                given = bearer.strip() if scheme.lower() == "bearer" else None
                if not self.allows(given or None, request.cookies.get(SESSION_COOKIE)):
                    refused = JSONResponse(
                        {"detail": "viewer token required"}, 401, headers=UNAUTHORIZED
                    )
                    await refused(scope, receive, send)
                    return
            await inner(scope, receive, send)

        return guarded

    def session_routes(self) -> APIRouter:
        """``POST /api/session`` (a token as Bearer: its cookie) and ``DELETE`` (sign out)."""
        router = APIRouter()

        @router.post(
            "/api/session",
            tags=["session"],
            status_code=204,
            responses={401: {"description": "no or unknown token"}},
        )
        def open_session(credentials: Credentials, response: Response) -> None:
            """Sign this browser in: the token becomes an HttpOnly session cookie, which the
            live stream and every read accept."""
            token = credentials.credentials if credentials else None
            if token is None or self.tokens.role_of(token) is None:
                raise HTTPException(
                    status.HTTP_401_UNAUTHORIZED, "a valid token is required", headers=UNAUTHORIZED
                )
            response.set_cookie(
                SESSION_COOKIE,
                token,
                httponly=True,
                samesite="strict",
                secure=self.secure,
                path="/",
            )

        @router.delete("/api/session", tags=["session"], status_code=204)
        def close_session(response: Response) -> None:
            """Sign this browser out."""
            response.delete_cookie(SESSION_COOKIE, path="/")

        return router
