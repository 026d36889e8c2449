"""A newcomer runs `nexa dev simulate` against their local Nexa and chats as a WhatsApp customer."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.fixtures.nexa_process import ADMIN, NexaProcess

pytestmark = pytest.mark.slow


async def _read_until(stream: asyncio.StreamReader, text: str, timeout: float = 20) -> str:
    seen = ""
    async with asyncio.timeout(timeout):
        while text not in seen:
            line = await stream.readline()
            if not line:
                raise AssertionError(f"simulator ended before printing {text!r}; it printed: {seen}")
            seen += line.decode()
    return seen


async def test_customer_chats_through_the_simulator(own_database_url: str, tmp_path: Path) -> None:
    nexa = NexaProcess(own_database_url, tmp_path, worker=True)
    await nexa.start()
    simulator = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "nexa.cli.main", "dev", "simulate", "--url", nexa.url,
        "--email", ADMIN["email"], "--password", ADMIN["password"], "--phone", "5521987654321", "--name", "Joana",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert simulator.stdin is not None and simulator.stdout is not None
        await _read_until(simulator.stdout, "Type and press Enter")
        simulator.stdin.write("Oi, vocês abrem sábado?\n".encode())
        await simulator.stdin.drain()

        headers = await nexa.admin_headers()
        async with httpx.AsyncClient(base_url=nexa.url, headers=headers) as api:
            account = (await api.get("/api/v1/profile")).json()["account_id"]
            base = f"/api/v1/accounts/{account}/conversations"
            conversations: list = []
            async with asyncio.timeout(15):
                while not conversations:
                    await asyncio.sleep(0.2)
                    query = {"status": "all", "assignee_type": "all"}
                    conversations = (await api.get(base, params=query)).json()["data"]["payload"]
            conversation = conversations[0]
            assert conversation["meta"]["sender"]["name"] == "Joana"
            assert conversation["meta"]["sender"]["phone_number"] == "+5521987654321"

            reply = (await api.post(f"{base}/{conversation['id']}/messages", json={"content": "Abrimos sim, das 9h às 13h!"})).json()
            await _read_until(simulator.stdout, "Business: Abrimos sim, das 9h às 13h!")
            async with asyncio.timeout(15):
                while True:
                    messages = (await api.get(f"{base}/{conversation['id']}/messages")).json()["payload"]
                    if next(m for m in messages if m["id"] == reply["id"])["status"] == "read":
                        break
                    await asyncio.sleep(0.2)

        simulator.stdin.close()
        output = (await asyncio.wait_for(simulator.stdout.read(), 20)).decode()
        assert await asyncio.wait_for(simulator.wait(), 20) == 0
        assert "1 message(s) sent" in output
    finally:
        if simulator.returncode is None:
            simulator.kill()
        nexa.stop()


def test_simulator_explains_when_nexa_is_not_running() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nexa.cli.main", "dev", "simulate", "--url", "http://127.0.0.1:9", "--token", "x"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 1
    assert "Nexa does not answer at http://127.0.0.1:9" in result.stderr
