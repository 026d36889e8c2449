from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from nexa.db.engine import Database, after_commit, execute_at_commit
from nexa.tenancy.models import Account


async def test_datetimes_round_trip_as_aware_utc(db: Database) -> None:
    local = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=-3)))
    async with db.session() as session:
        account = Account(name="Acme", created_at=local)
        session.add(account)
    async with db.session(write=False) as session:
        stored = await session.scalar(select(Account))
    assert stored is not None
    assert stored.created_at == local
    assert stored.created_at.tzinfo is not None
    assert stored.created_at.utcoffset() == timedelta(0)


async def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with db.session() as session:
            session.add(Account(name="Acme", created_at=datetime(2026, 1, 1)))


async def test_after_commit_hooks_run_only_on_commit(db: Database) -> None:
    ran: list[str] = []

    async def hook() -> None:
        ran.append("committed")

    async with db.session() as session:
        session.add(Account(name="A"))
        after_commit(session, hook)
    assert ran == ["committed"]

    with pytest.raises(RuntimeError):
        async with db.session() as session:
            session.add(Account(name="B"))
            after_commit(session, hook)
            raise RuntimeError("boom")
    assert ran == ["committed"]
    async with db.session(write=False) as session:
        names = (await session.scalars(select(Account.name))).all()
    assert names == ["A"]


async def test_statements_at_commit_run_last_and_never_after_a_rollback(db: Database) -> None:
    async with db.session() as session:
        account = Account(name="A")
        session.add(account)
        await session.flush()
        execute_at_commit(session, update(Account).where(Account.id == account.id).values(name=Account.name + " at commit"))
        account.name = "A renamed"  # flushed before the statement at commit runs
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            execute_at_commit(session, update(Account).values(name="rolled back"))
            raise RuntimeError("boom")
    async with db.session(write=False) as session:
        assert (await session.scalars(select(Account.name))).all() == ["A renamed at commit"]


async def test_json_columns_round_trip(db: Database) -> None:
    async with db.session() as session:
        session.add(Account(name="A", branding={"product_name": "Zap", "colors": ["#fff"]}))
    async with db.session(write=False) as session:
        account = await session.scalar(select(Account))
    assert account is not None and account.branding == {"product_name": "Zap", "colors": ["#fff"]}
    assert account.created_at <= datetime.now(UTC)
