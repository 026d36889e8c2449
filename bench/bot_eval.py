"""The bot without an LLM on the scripted evaluation set (tests/bot/eval/scripts.py): 47 conversations in
pt-BR, es and en played through signed WhatsApp webhooks, the fake Graph API and a real job worker, on
SQLite. Prints, per category and language, how many should have been handed to a human and how many were.

    .venv/bin/python bench/bot_eval.py

Targets (issue 6): >= 95 % of conversations with the right outcome, no cold lead ever handed off.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nexa.app import create_app  # noqa: E402
from nexa.config import Settings  # noqa: E402
from nexa.db import migrations  # noqa: E402
from nexa.db.engine import Database  # noqa: E402
from nexa.devtools.fake_graph import FakeGraph  # noqa: E402
from nexa.jobs.worker import Worker  # noqa: E402
from nexa.runtime import Runtime  # noqa: E402
from tests.bot.eval.scripts import play, table  # noqa: E402
from tests.bot.harness import enable_bot  # noqa: E402
from tests.channels.whatsapp.helpers import create_whatsapp_inbox  # noqa: E402
from tests.factories import make_member  # noqa: E402


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{directory}/eval.db"
        await migrations.upgrade_async(url)
        settings = Settings(env="test", data_dir=Path(directory), log_json=False, secret_key="bench-secret-key-" + "x" * 32,
                            worker_poll_interval=0.05)
        runtime = Runtime.build(settings, db=Database(url))
        app = create_app(runtime=runtime)
        worker = Worker(runtime.db, settings)
        await worker.start()
        try:
            async with FakeGraph().running() as fake, httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            ) as client:
                inbox = await create_whatsapp_inbox(client, await make_member(runtime), fake)
                await enable_bot(client, inbox)
                started = time.perf_counter()
                results = await play(client, runtime, fake, inbox)
                elapsed = time.perf_counter() - started
        finally:
            await worker.stop(timeout=5)
            await runtime.close_http()
            await runtime.db.dispose()
    print(table(results))
    cold = sum(r.handed_off for r in results if r.script.category == "cold")
    print(f"\ncold leads handed off: {cold}; {len(results)} conversations in {elapsed:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
