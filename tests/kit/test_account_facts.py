"""A fact loaded before some work outlives the work: it is reloaded in the second half of its life."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.kit import account_facts
from nexa.kit.account_facts import AccountFact


async def test_a_fact_is_reloaded_once_half_its_life_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[int] = []

    async def loader(_session: AsyncSession, account_id: int) -> bool:
        loads.append(account_id)
        return False

    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    monkeypatch.setattr(account_facts, "_FACTS", [])
    fact = AccountFact("test fact", loader, ttl=10.0)
    session = None  # the loader above reads nothing

    assert fact.needs_refresh(7)
    await fact.refresh(session, 7)  # type: ignore[arg-type]
    assert loads == [7] and fact.known(7) is False

    now[0] += 4.9  # first half: fresh, nothing to load
    assert not fact.needs_refresh(7)
    await fact.refresh(session, 7)  # type: ignore[arg-type]
    assert loads == [7]

    now[0] += 0.2  # second half: still known, but loaded again so it lasts another full life
    assert fact.known(7) is False and fact.needs_refresh(7)
    await fact.refresh(session, 7)  # type: ignore[arg-type]
    assert loads == [7, 7]
    now[0] += 9.9
    assert fact.known(7) is False


async def test_a_changed_fact_is_unknown_and_not_reloaded_until_the_change_settles(monkeypatch: pytest.MonkeyPatch) -> None:
    async def loader(_session: AsyncSession, _account_id: int) -> bool:
        return True

    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    monkeypatch.setattr(account_facts, "_FACTS", [])
    fact = AccountFact("test fact", loader, ttl=10.0)
    await fact.refresh(None, 7)  # type: ignore[arg-type]
    fact.changed(7)
    assert fact.known(7) is None and not fact.needs_refresh(7)
    now[0] += 10.1
    assert fact.needs_refresh(7)
