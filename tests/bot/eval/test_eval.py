"""The no-LLM bot hands off exactly the conversations it should (>= 95 %) and never a cold lead."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from nexa.devtools.fake_graph import FakeGraph
from nexa.runtime import Runtime
from tests.bot.eval.scripts import SCRIPTS, play, table
from tests.channels.whatsapp.helpers import WhatsAppInbox


def test_the_evaluation_set_covers_three_languages() -> None:
    assert len(SCRIPTS) >= 40 and {s.language for s in SCRIPTS} == {"pt", "es", "en"}


# One test per language: the same bar for each, and the three can run on different test workers.
@pytest.mark.parametrize("language", ["pt", "es", "en"])
async def test_the_scripted_conversations_are_handed_off_exactly_when_they_should(
    language: str, backend: str, client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph,
    bot_inbox: WhatsAppInbox, worker: Any,
) -> None:
    if backend != "sqlite":
        # The evaluation grades the bot's decisions, which no SQL decides; tests/bot covers both databases.
        pytest.skip("the bot's decisions do not depend on the database; one backend keeps the suite short")
    results = await play(client, runtime, fake_graph, bot_inbox, language)
    print(table(results))
    assert not [r for r in results if r.script.category == "cold" and r.handed_off], table(results)
    assert sum(r.correct for r in results) >= 0.95 * len(results), table(results)
