"""Helpers the commands share.

Every `nexa` invocation imports all command modules (Typer builds every command to parse the arguments), so the
modules of nexa/cli import only Typer, Rich and the standard library at their top; commands import the
application parts they use in their bodies. tests/cli/test_cli.py checks that `--help` stays that light.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from pydantic import ValidationError

    from nexa.config import ConfigError, Settings
    from nexa.runtime import Runtime

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)


def load_settings() -> Settings:
    from pydantic import ValidationError

    from nexa.config import ConfigError, get_settings

    try:
        return get_settings()
    except (ConfigError, ValidationError) as exc:
        err_console.print(f"[red]{describe_config_error(exc)}[/red]", highlight=False)
        raise typer.Exit(2) from exc


def describe_config_error(exc: ConfigError | ValidationError) -> str:
    """Plain words, without pydantic's framing: 'NEXA_PORT: Input should be a valid integer'."""
    from nexa.config import ConfigError

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
    # Every model, so that SQLAlchemy can resolve the relationships of whichever models `work` loads.
    import nexa.models  # noqa: F401
    from nexa.kit.errors import NexaError
    from nexa.runtime import Runtime

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
