"""`nexa worker` and `nexa scheduler`: run until SIGTERM or SIGINT, then shut down gracefully.

Every `nexa` command imports this module to register these two, so they import what they run when they run.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from nexa.config import Settings
    from nexa.db.engine import Database


def register(app: typer.Typer) -> None:
    """Add the `worker` and `scheduler` commands to the main CLI."""

    @app.command("worker")
    def worker_command(
        queues: str = typer.Option("", help="Comma-separated queues to work (default: all of NEXA_WORKER_QUEUES)."),
        shutdown_timeout: float = typer.Option(30.0, help="Seconds running jobs get to finish on shutdown."),
    ) -> None:
        """Run jobs until SIGTERM or SIGINT."""
        from nexa.config import get_settings
        from nexa.kit import aio

        names = [name.strip() for name in queues.split(",") if name.strip()] or None
        aio.run(_run_worker(get_settings(), names, shutdown_timeout))

    @app.command("scheduler")
    def scheduler_command() -> None:
        """Enqueue recurring (cron) jobs until SIGTERM or SIGINT; safe to run more than one."""
        from nexa.config import get_settings
        from nexa.kit import aio

        aio.run(_run_scheduler(get_settings()))


async def _run_worker(settings: Settings, queues: list[str] | None, shutdown_timeout: float) -> None:
    from nexa.jobs.worker import Worker
    from nexa.kit.memory import tune_garbage_collection
    from nexa.realtime.bus import build_bus
    from nexa.realtime.hub import Hub, set_hub

    database = _open(settings)
    worker = Worker(database, settings, queues)
    # Jobs publish realtime events; a worker has no clients of its own, so its hub only sends (no start()).
    hub = Hub(build_bus(settings))
    set_hub(hub)
    stop = _stop_on_signal()
    try:
        await worker.start()
        tune_garbage_collection()
        await stop.wait()
    finally:
        await worker.stop(shutdown_timeout)
        set_hub(None)
        await hub.stop()
        await database.dispose()


async def _run_scheduler(settings: Settings) -> None:
    from nexa.jobs.scheduler import Scheduler

    database = _open(settings)
    scheduler = Scheduler(database, settings)
    stop = _stop_on_signal()
    try:
        await scheduler.start()
        await stop.wait()
    finally:
        await scheduler.stop()
        await database.dispose()


def _open(settings: Settings) -> Database:
    from nexa.db.engine import Database
    from nexa.kit.logging import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    return Database(settings.resolved_database_url, pool_size=settings.database_pool_size)


def _stop_on_signal() -> asyncio.Event:
    # Installed before starting, so a SIGTERM during start-up still means a graceful stop.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


if __name__ == "__main__":
    _app = typer.Typer()
    register(_app)
    _app()
