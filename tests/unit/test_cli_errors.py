"""The CLI's errors: one line and a hint, exit 1; a retriable one says "try again", exit 75."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from fleetedge.cli._common import EXIT_TRY_AGAIN, fails_cleanly
from fleetedge.exceptions import FleetEdgeError


class _Loading(FleetEdgeError):
    retriable = True


def _app(error: FleetEdgeError) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @fails_cleanly
    def act() -> None:
        raise error

    return app


def test_a_retriable_error_says_try_again() -> None:
    result = CliRunner().invoke(_app(_Loading("the coordinator is loading")))
    assert result.exit_code == EXIT_TRY_AGAIN
    assert "error: the coordinator is loading" in result.output
    assert "try again" in result.output


def test_a_fatal_error_is_one_line_and_its_hint() -> None:
    result = CliRunner().invoke(_app(FleetEdgeError("no fleet here", hint="fleet up")))
    assert result.exit_code == 1
    assert result.output.splitlines() == ["error: no fleet here", "hint: fleet up"]
