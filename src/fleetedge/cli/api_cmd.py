"""``fleet api serve``: the fleet API and its dashboard on 127.0.0.1.

The API's modules (FastAPI, uvicorn, the PDF reports' matplotlib) load only when it is
served: every ``fleet`` command and supervised service goes through this CLI, and they cost
a second of CPU to import.
"""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from fleetedge.cli._common import console, fails_cleanly, out, settings
from fleetedge.orchestration.state import ensure_token, tokens_path
from fleetedge.security.tokens import ROLES, Role, TokenBook, in_memory

app = typer.Typer(help="The fleet API and dashboard.", no_args_is_help=True)


class ApiSettings(BaseSettings):
    """The operator token, from ``FLEET_API_TOKEN``; else the fleet's token file is used."""

    model_config = SettingsConfigDict(env_prefix="FLEET_API_", frozen=True, extra="ignore")

    token: SecretStr | None = Field(default=None, description="operator bearer token")


@app.command()
@fails_cleanly
def serve(
    bootstrap: Annotated[str, typer.Option(help="the shore cluster's bootstrap servers")],
    database: Annotated[str, typer.Option(help="the read model: sqlite:///PATH or postgresql://")],
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 18080,
) -> None:
    """Serve the API (OpenAPI at /docs and /openapi.json) and the dashboard at /."""
    import uvicorn  # noqa: PLC0415

    from fleetedge.api import ReadModel  # noqa: PLC0415
    from fleetedge.api.app import create_app  # noqa: PLC0415
    from fleetedge.orchestration.operations import FleetOperations  # noqa: PLC0415

    cfg = settings()
    given = ApiSettings().token
    if given is None:
        ensure_token(cfg.home)
    extra = [in_memory("FLEET_API_TOKEN", "operator", given)] if given else []
    tokens = TokenBook(tokens_path(cfg.home), extra)
    reader = ReadModel(database)
    api = create_app(reader, FleetOperations(cfg, bootstrap, database), tokens)
    console.print(f"API and dashboard on http://127.0.0.1:{port}/")
    try:
        uvicorn.run(api, host="127.0.0.1", port=port, log_config=None, access_log=False)
    finally:
        reader.close()


token_app = typer.Typer(help="API tokens: viewer (read) or operator (act).", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("add")
@fails_cleanly
def token_add(
    name: Annotated[str, typer.Argument(help="who or what holds it")],
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")] = "viewer",
) -> None:
    """Make a token for NAME and print it once; only its hash is kept."""
    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}")
    chosen: Role = "operator" if role == "operator" else "viewer"
    token = TokenBook(tokens_path(settings().home)).add(name, chosen)
    console.print(f"{chosen} token for {name} (shown once, keep it):")
    out.print(token.get_secret_value())


@token_app.command("list")
@fails_cleanly
def token_list() -> None:
    """Every token's name and role (never the token)."""
    for record in TokenBook(tokens_path(settings().home)).records():
        out.print(f"{record.name}\t{record.role}")


@token_app.command("revoke")
@fails_cleanly
def token_revoke(name: Annotated[str, typer.Argument(help="the token's name")]) -> None:
    """Remove NAME's token; requests bearing it are refused from now on."""
    if not TokenBook(tokens_path(settings().home)).revoke(name):
        console.print(f"no token named {name}")
        raise typer.Exit(1)
    console.print(f"{name}'s token is revoked")
