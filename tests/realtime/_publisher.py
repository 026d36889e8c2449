"""Run as `python -m tests.realtime._publisher REDIS_URL PREFIX`: another process publishing, the way a
worker does (hub installed, never started)."""

from __future__ import annotations

import asyncio
import sys

from nexa.config import Settings
from nexa.realtime import Event, EventName, Hub, account_channel, build_bus, publish_now, set_hub


async def main(redis_url: str, prefix: str) -> None:
    hub = Hub(build_bus(Settings(redis_url=redis_url, realtime_prefix=prefix)))
    set_hub(hub)
    for account_id in (2, 1):
        await publish_now(
            Event(EventName.MESSAGE_CREATED, {"content": f"para a conta {account_id}"}, account_id=account_id,
                  channels=[account_channel(account_id)])
        )
    await hub.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
