"""``fleet api serve``: the fleet API and its dashboard; on 127.0.0.1 unless told otherwise,
and then with tokens on reads and TLS.

The API's modules (FastAPI, uvicorn, the PDF reports' matplotlib) load only when it is
served: every ``fleet`` command and supervised service goes through this CLI, and they cost
a second of CPU to import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from fleetedge.cli._common import console, fails_cleanly, out, settings
from fleetedge.orchestration.state import ensure_token, tokens_path
from fleetedge.runtime.ports import is_loopback
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
    port: Annotated[int, typer.Option(help="the port to listen on")] = 18080,
    host: Annotated[str, typer.Option(help="the address to listen on")] = "127.0.0.1",
    reads: Annotated[
        Literal["open", "token"], typer.Option(help="whether reads need a viewer token")
    ] = "open",
    tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate (chain) to serve")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert")] = None,
    tokens_file: Annotated[
        Path | None, typer.Option(help="the token book (default: the fleet home's)")
    ] = None,
) -> None:
    """Serve the API (OpenAPI at /docs and /openapi.json) and the dashboard at /."""
    import uvicorn  # noqa: PLC0415

    from fleetedge.api import ReadModel  # noqa: PLC0415
    from fleetedge.api.app import create_app  # noqa: PLC0415
    from fleetedge.orchestration.operations import FleetOperations  # noqa: PLC0415

    check_exposure(host, reads, tls_cert, tls_key)
    cfg = settings()
    given = ApiSettings().token
    if given is None and tokens_file is None:
        ensure_token(cfg.home)
    extra = [in_memory("FLEET_API_TOKEN", "operator", given)] if given else []
    tokens = TokenBook(tokens_file or tokens_path(cfg.home), extra)
    reader = ReadModel(database)
    tls = tls_cert is not None
    api = create_app(
        reader,
        FleetOperations(cfg, bootstrap, database),
        tokens,
        reads_need_token=reads == "token",
        tls=tls,
    )
    scheme = "https" if tls else "http"
    console.print(f"API and dashboard on {scheme}://{host}:{port}/ (reads: {reads})")
    try:
        uvicorn.run(
            api,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            ssl_certfile=str(tls_cert) if tls_cert else None,
            ssl_keyfile=str(tls_key) if tls_key else None,
        )
    finally:
        reader.close()


def check_exposure(host: str, reads: str, cert: Path | None, key: Path | None) -> None:
    """Beyond loopback the API needs tokens on reads and TLS; a certificate needs its key."""
    if (cert is None) != (key is None):
        raise typer.BadParameter("--tls-cert and --tls-key go together")
    for path in (cert, key):
        if path is not None and not path.is_file():
            raise typer.BadParameter(f"{path} is not a file")
    if is_loopback(host):
        return
    if reads != "token":
        raise typer.BadParameter(f"listening on {host} needs --reads token")
    if cert is None:
        raise typer.BadParameter(f"listening on {host} needs --tls-cert and --tls-key")


token_app = typer.Typer(help="API tokens: viewer (read) or operator (act).", no_args_is_help=True)
app.add_typer(token_app, name="token")
BookFile = Annotated[
    Path | None,
    typer.Option("--file", help="a token book of its own (for a Secret), not the fleet home's"),
]


def _book(file: Path | None) -> TokenBook:
    return TokenBook(file or tokens_path(settings().home))


@token_app.command("add")
@fails_cleanly
def token_add(
    name: Annotated[str, typer.Argument(help="who or what holds it")],
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")] = "viewer",
    file: BookFile = None,
) -> None:
    """Make a token for NAME and print it once; only its hash is kept."""
    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}")
    chosen: Role = "operator" if role == "operator" else "viewer"
    token = _book(file).add(name, chosen)
    console.print(f"{chosen} token for {name} (shown once, keep it):")
    out.print(token.get_secret_value())


@token_app.command("list")
@fails_cleanly
def token_list(file: BookFile = None) -> None:
    """Every token's name and role (never the token)."""
    for record in _book(file).records():
        out.print(f"{record.name}\t{record.role}")


@token_app.command("revoke")
@fails_cleanly
def token_revoke(
    name: Annotated[str, typer.Argument(help="the token's name")], file: BookFile = None
) -> None:
    """Remove NAME's token; requests bearing it are refused from now on."""
    if not _book(file).revoke(name):
        console.print(f"no token named {name}")
        raise typer.Exit(1)
    console.print(f"{name}'s token is revoked")
