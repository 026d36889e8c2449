from __future__ import annotations

import typer

from nexa.cli.common import console, load_settings


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
    app.add_typer(db_app, name="db")

    @db_app.command("upgrade")
    def upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
        """Apply migrations up to REVISION (default: the latest)."""
        from nexa.db import migrations

        migrations.upgrade(load_settings().resolved_database_url, revision)
        console.print(f"[green]Database at {revision}.[/green]")

    @db_app.command("downgrade")
    def downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. -1 or base")) -> None:
        """Revert migrations down to REVISION."""
        from nexa.db import migrations

        migrations.downgrade(load_settings().resolved_database_url, revision)
        console.print(f"[yellow]Database at {revision}.[/yellow]")

    @db_app.command("current")
    def current() -> None:
        """Show the applied and the latest revision."""
        import asyncio

        from nexa.db import migrations
        from nexa.db.engine import Database

        settings = load_settings()

        async def read() -> str | None:
            database = Database(settings.resolved_database_url)
            try:
                return await migrations.current_revision(database)
            finally:
                await database.dispose()

        console.print(f"applied: {asyncio.run(read())}  latest: {migrations.head_revision()}")
