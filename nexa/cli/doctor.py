"""`nexa doctor`: checks what a deployment needs and says what is wrong in plain words."""

from __future__ import annotations

import asyncio

import typer
from rich.table import Table

from nexa.cli.common import console, describe_config_error


def register(app: typer.Typer) -> None:
    @app.command()
    def doctor() -> None:
        """Check configuration, database, migrations and Redis; exit 1 when something is wrong."""
        from pydantic import ValidationError

        from nexa.cli.checks import run_checks
        from nexa.config import ConfigError, Settings

        try:
            settings = Settings()
        except (ConfigError, ValidationError) as exc:
            console.print(f"[red]✗ configuration[/red]: {describe_config_error(exc)}", highlight=False)
            raise typer.Exit(1) from exc
        checks = asyncio.run(run_checks(settings))
        table = Table(show_header=False, box=None)
        for check in checks:
            table.add_row("[green]✓[/green]" if check.ok else "[red]✗[/red]", check.name, check.detail)
        console.print(table)
        if not all(check.ok for check in checks):
            raise typer.Exit(1)
