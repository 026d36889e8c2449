from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from nexa.config import ConfigError, Settings, get_settings
from nexa.kit.errors import NexaError
from nexa.runtime import Runtime

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)


def load_settings() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def run_with_runtime(work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run `work` with a runtime built from the environment; Nexa errors become a red line and exit 1."""

    async def main() -> T:
        runtime = Runtime.build(load_settings())
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except NexaError as exc:
        err_console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
