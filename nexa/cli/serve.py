from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from nexa.cli.common import console, load_settings

if TYPE_CHECKING:
    from nexa.bootstrap import FirstLogin
    from nexa.config import Settings


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str | None, typer.Option(help="Default: NEXA_HOST or 127.0.0.1")] = None,
        port: Annotated[int | None, typer.Option(help="Default: NEXA_PORT or 8000")] = None,
        no_worker: Annotated[bool, typer.Option("--no-worker", help="Do not run jobs in this process")] = False,
        migrate: Annotated[bool, typer.Option(help="Apply migrations before starting")] = True,
    ) -> None:
        """Serve the API, the web UI and (unless --no-worker) the job worker and scheduler."""
        settings = load_settings()  # before importing the application, so a bad configuration fails at once

        import uvicorn

        from nexa.app import create_app
        from nexa.db import migrations
        from nexa.kit.logging import configure_logging
        from nexa.kit.memory import tune_garbage_collection
        from nexa.realtime.ws import MAX_CLIENT_FRAME_BYTES

        configure_logging(settings.log_level, settings.log_json)
        if migrate:
            migrations.upgrade(settings.resolved_database_url)
        first = asyncio.run(_first_start(settings))
        if first is not None:
            console.rule("[bold green]Nexa is ready")
            console.print(f"Sign in at {settings.base_url} with [bold]{first.email}[/bold]", highlight=False)
            if first.password:
                console.print(f"Password (shown once): [bold]{first.password}[/bold]", highlight=False)
            console.rule()

        application = create_app(settings, run_worker=not no_worker)
        tune_garbage_collection()
        uvicorn.run(
            application,
            host=host or settings.host,
            port=port or settings.port,
            log_config=None,
            proxy_headers=True,
            forwarded_allow_ips="127.0.0.1",
            # The sans-I/O implementation: the legacy one took twice the CPU per fanned-out event, and from
            # 0.52.1 on this one waits on a client that stops reading, which the send timeout and the lagging
            # close rely on (docs/realtime.md).
            ws="websockets-sansio",
            # Clients send small control frames only; anything bigger is refused before it is buffered.
            ws_max_size=16 * MAX_CLIENT_FRAME_BYTES,
            # No permessage-deflate: its zlib state costs ~40 KB per socket (200 MB at 5,000 agents) and every
            # event would be compressed once per socket; realtime frames are 1-2 KB (docs/realtime.md).
            ws_per_message_deflate=False,
        )


async def _first_start(settings: Settings) -> FirstLogin | None:
    from nexa.bootstrap import ensure_first_account
    from nexa.runtime import Runtime

    runtime = Runtime.build(settings)
    try:
        return await ensure_first_account(runtime)
    finally:
        await runtime.close()
