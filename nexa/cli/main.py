"""`nexa` command line: serve, worker, scheduler, db, accounts, users, tokens, doctor.

Typer builds every command on each invocation, so the modules registering them stay light (see nexa/cli/common.py).
"""

from __future__ import annotations

import typer

from nexa.cli import admin, db, dev, doctor, serve
from nexa.cli.common import console
from nexa.jobs import cli as jobs_cli

app = typer.Typer(help="Nexa: WhatsApp-first customer engagement platform.", no_args_is_help=True)

serve.register(app)
db.register(app)
admin.register(app)
doctor.register(app)
dev.register(app)
jobs_cli.register(app)


@app.command()
def version() -> None:
    """Print the version."""
    from nexa import __version__

    console.print(__version__)


if __name__ == "__main__":
    app()
