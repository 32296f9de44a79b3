"""``fleet api serve``: the fleet API and its dashboard on 127.0.0.1."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from fleetedge.api import FleetOperations, ReadModel, create_app
from fleetedge.cli._common import console, fails_cleanly, settings
from fleetedge.fleet.state import ensure_token

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
    cfg = settings()
    token = ApiSettings().token or SecretStr(ensure_token(cfg.home))
    reader = ReadModel(database)
    api = create_app(reader, FleetOperations(cfg, bootstrap, database), token)
    console.print(f"API and dashboard on http://127.0.0.1:{port}/")
    try:
        uvicorn.run(api, host="127.0.0.1", port=port, log_config=None, access_log=False)
    finally:
        reader.close()
