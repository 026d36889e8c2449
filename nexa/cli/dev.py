from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from nexa.cli.common import console, err_console


def register(app: typer.Typer) -> None:
    dev = typer.Typer(help="Tools for trying Nexa on your machine.", no_args_is_help=True)
    app.add_typer(dev, name="dev")

    @dev.command("simulate")
    def simulate_command(
        url: Annotated[str, typer.Option(help="Where Nexa runs")] = "http://127.0.0.1:8000",
        email: Annotated[str | None, typer.Option(help="An administrator's email (default NEXA_ADMIN_EMAIL)")] = None,
        password: Annotated[str | None, typer.Option(help="Their password (default NEXA_ADMIN_PASSWORD)")] = None,
        token: Annotated[str | None, typer.Option(help="An API token instead of email and password")] = None,
        account: Annotated[int | None, typer.Option(help="Account id (default: the user's first)")] = None,
        phone: Annotated[str, typer.Option(help="The customer's WhatsApp number, digits only")] = "5511987654321",
        name: Annotated[str, typer.Option(help="The customer's profile name")] = "Maria",
    ) -> None:
        """Chat as a WhatsApp customer with a local Nexa through a built-in fake WhatsApp Cloud API."""
        from nexa.devtools.simulate import Login, SimulationError, simulate

        login = Login(token=token) if token else Login(
            email=email or os.environ.get("NEXA_ADMIN_EMAIL") or typer.prompt("Administrator email"),
            password=password or os.environ.get("NEXA_ADMIN_PASSWORD") or typer.prompt("Password", hide_input=True),
        )
        try:
            sent = asyncio.run(simulate(url, login, phone=phone, name=name, account_id=account))
        except SimulationError as exc:
            err_console.print(f"[red]{exc}[/red]", highlight=False)
            raise typer.Exit(1) from exc
        console.print(f"{sent} message(s) sent. The conversation stays in Nexa.")
