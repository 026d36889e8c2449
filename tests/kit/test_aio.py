import asyncio

from nexa.kit import aio


def test_run_returns_the_coroutines_result_on_uvloop() -> None:
    async def loop_module() -> str:
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()).__module__

    # uvloop comes with uvicorn[standard], a dependency: job workers get the loop `nexa serve` has.
    assert aio.run(loop_module()).startswith("uvloop")
