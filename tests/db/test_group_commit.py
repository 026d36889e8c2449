from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.db.engine import Database
from nexa.db.group_commit import GroupCommit
from nexa.jobs.enqueue import add_job
from nexa.jobs.models import Job


class Rows:
    """A write that adds one job row per item and remembers how many items each transaction held."""

    def __init__(self) -> None:
        self.transactions: list[int] = []

    async def __call__(self, session: AsyncSession, items: list[str]) -> None:
        self.transactions.append(len(items))
        for item in items:
            if item == "bad":
                raise ValueError("a bad item")
            add_job(session, "test.group_commit", {"item": item})


async def stored(db: Database) -> list[str]:
    async with db.session(write=False) as session:
        return sorted(row.args["item"] for row in (await session.scalars(select(Job))).all())


async def test_concurrent_callers_share_transactions_and_each_returns_once_committed(db: Database) -> None:
    write = Rows()
    committer = GroupCommit(db, write)

    await committer.submit("alone")
    assert write.transactions == [1]  # a lone caller waits for nothing but its own commit

    await asyncio.gather(*(committer.submit(f"item {n:02}") for n in range(40)))

    assert await stored(db) == ["alone", *(f"item {n:02}" for n in range(40))]
    assert sum(write.transactions[1:]) == 40 and len(write.transactions[1:]) < 40


async def test_a_bad_item_fails_alone_and_the_others_are_committed(db: Database) -> None:
    committer = GroupCommit(db, Rows())

    results = await asyncio.gather(
        *(committer.submit(item) for item in ["a", "b", "bad", "c", "d"]), return_exceptions=True
    )

    assert [type(result).__name__ if result else None for result in results] == [None, None, "ValueError", None, None]
    assert await stored(db) == ["a", "b", "c", "d"]


async def test_a_caller_that_goes_away_does_not_cancel_the_others(db: Database) -> None:
    committer = GroupCommit(db, Rows())
    first = asyncio.create_task(committer.submit("first"))
    leaving = asyncio.create_task(committer.submit("leaving"))
    staying = asyncio.create_task(committer.submit("staying"))
    await asyncio.sleep(0)
    leaving.cancel()

    await first
    await staying
    with pytest.raises(asyncio.CancelledError):
        await leaving
    async with db.session(write=False) as session:
        # The item was submitted before its caller left: it is written all the same (providers retry a
        # webhook whose answer they did not get, and inbound processing drops the duplicate).
        assert await session.scalar(select(func.count()).select_from(Job)) == 3
