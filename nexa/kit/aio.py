"""Running Nexa's own event loops."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on uvloop when it is installed (it is, with `uvicorn[standard]`), else on
    asyncio's own loop: what uvicorn's `loop="auto"` gives `nexa serve`, for the processes that run jobs.

    A job worker is I/O callbacks all the way down (database, Redis, provider sends); on asyncio's selector
    loop the socket writes and callback scheduling were a third of a delivery worker's samples.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
