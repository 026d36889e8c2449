"""The fan-out reference: a bare WebSocket broadcast server (the `websockets` library, nothing else).

    python -m bench._ws_reference --port 8765 --redis redis://127.0.0.1:6379/0 --channel nexa:rt:events

It takes events from the same Redis channel and wire format Nexa's bus uses (`<channels>\\n<frame>`)
and sends the frame to every connected socket: no authentication, no channel filtering, no per-client
queue. Like `nexa serve`, without permessage-deflate and on uvloop (uvicorn's loop when it is installed, as
with `uvicorn[standard]`). What Nexa's `/ws` adds on top of this is the ratio
bench/ws_fanout.py reports.
"""

from __future__ import annotations

import argparse

import uvloop
import websockets
from redis.asyncio import Redis


async def serve(port: int, redis_url: str, channel: str) -> None:
    clients: set[websockets.ServerConnection] = set()

    async def handler(connection: websockets.ServerConnection) -> None:
        clients.add(connection)
        try:
            await connection.wait_closed()
        finally:
            clients.discard(connection)

    redis = Redis.from_url(redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel)
    async with websockets.serve(handler, "127.0.0.1", port, ping_interval=None, max_queue=16,
                                compression=None):
        print("ready", flush=True)  # the parent waits for this line
        async for message in pubsub.listen():
            if message["type"] == "message":
                websockets.broadcast(clients, message["data"].decode().partition("\n")[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--channel", required=True)
    options = parser.parse_args()
    uvloop.run(serve(options.port, options.redis, options.channel))


if __name__ == "__main__":
    main()
