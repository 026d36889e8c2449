"""`nexa` command line: serve, worker, scheduler, db, accounts, users, tokens, doctor."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from nexa.cli import admin, db, dev, doctor, serve

app = typer.Typer(help="Nexa: WhatsApp-first customer engagement platform.", no_args_is_help=True)
console = Console()

serve.register(app)
db.register(app)
admin.register(app)
doctor.register(app)
dev.register(app)


def _register_jobs() -> None:
    from nexa.jobs.cli import register

    register(app)


_register_jobs()


@app.command()
def version() -> None:
    """Print the version."""
    from nexa import __version__

    console.print(__version__)


if __name__ == "__main__":
    app()
