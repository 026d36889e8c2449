from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from pydantic import ValidationError
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
    except (ConfigError, ValidationError) as exc:
        err_console.print(f"[red]{describe_config_error(exc)}[/red]", highlight=False)
        raise typer.Exit(2) from exc


def describe_config_error(exc: ConfigError | ValidationError) -> str:
    """Plain words, without pydantic's framing: 'NEXA_PORT: Input should be a valid integer'."""
    if isinstance(exc, ConfigError):
        return str(exc)
    lines = []
    for error in exc.errors():
        field = "NEXA_" + "_".join(str(part) for part in error["loc"]).upper() if error["loc"] else ""
        message = str(error.get("ctx", {}).get("error") or error["msg"])
        lines.append(f"{field}: {message}" if field else message)
    return "\n".join(lines)


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
