from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.db import engine as engine_module
from nexa.db.engine import Database, DatabaseUnavailable, after_commit, execute_at_commit
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


async def _terminate_own_backend(db: Database) -> None:
    """Kill the server side of the pool's one connection, as a restart or a network cut does."""
    async with db.session(write=False) as session:
        pid = await session.scalar(text("SELECT pg_backend_pid()"))
    killer = Database(db.engine.url.render_as_string(hide_password=False), pool_size=1)
    try:
        async with killer.session(write=False) as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await killer.dispose()


async def test_a_dropped_idle_connection_is_replaced_quietly_and_a_hot_one_fails_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not db.is_postgres:
        pytest.skip("SQLite has no server connection to lose")
    pooled = Database(db.engine.url.render_as_string(hide_password=False), pool_size=1)
    try:
        # Idle past the threshold: the checkout ping finds the dead connection and the pool opens another.
        monkeypatch.setattr(engine_module, "_PING_IDLE_AFTER_SECONDS", 0.0)
        await _terminate_own_backend(pooled)
        async with pooled.session(write=False) as session:
            assert await session.scalar(text("SELECT 1")) == 1

        # Used a moment ago: no ping, so the first statement meets the dead connection (a 503 for a request)
        # and the disconnect replaces it for the next transaction.
        monkeypatch.setattr(engine_module, "_PING_IDLE_AFTER_SECONDS", 3600.0)
        await _terminate_own_backend(pooled)
        with pytest.raises(DatabaseUnavailable):
            async with pooled.session(write=False) as session:
                await session.scalar(text("SELECT 1"))
        async with pooled.session(write=False) as session:
            assert await session.scalar(text("SELECT 1")) == 1
    finally:
        await pooled.dispose()


async def test_a_write_transaction_inside_another_fails_at_once_on_sqlite(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("PostgreSQL allows a second writer")
    async with db.session() as session:
        session.add(Account(name="outer"))
        async with asyncio.timeout(1):
            with pytest.raises(RuntimeError, match="inside another one"):
                async with db.session() as inner:
                    inner.add(Account(name="inner"))  # would wait for the outer one's lock until the busy timeout
    async with db.session(write=False) as session:
        assert await session.scalar(select(Account.name)) == "outer"


async def _transaction_ids(session: AsyncSession, statements: int) -> set[int]:
    # txid_current() assigns an id to the transaction it runs in: one id for a transaction's statements.
    return {await session.scalar(text("SELECT txid_current()")) for _ in range(statements)}


async def test_reads_and_one_statement_blocks_run_without_a_transaction_on_postgres(db: Database) -> None:
    if not db.is_postgres:
        pytest.skip("SQLite sessions are always transactions")
    async with db.session() as session:
        assert len(await _transaction_ids(session, 3)) == 1
    async with db.session(write=False) as session:
        assert len(await _transaction_ids(session, 3)) == 3
    async with db.session(transaction=False) as session:
        assert len(await _transaction_ids(session, 3)) == 3


async def test_a_write_without_a_transaction_is_kept_even_when_the_block_fails_after_it(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.session(transaction=False) as session:
            session.add(Account(name="Kept"))
            await session.flush()
            raise RuntimeError("after the statement")
    async with db.session(write=False) as session:
        names = (await session.scalars(select(Account.name))).all()
    # On SQLite the block is a transaction, rolled back; on PostgreSQL the INSERT committed on its own.
    assert names == ([] if db.is_sqlite else ["Kept"])


async def test_get_answers_a_held_row_without_a_greenlet_and_anything_else_the_usual_way(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.session() as session:
        session.add_all([Account(name="Held"), Account(name="Elsewhere")])
    async with db.session() as session:
        held = await session.scalar(select(Account).where(Account.name == "Held"))
        elsewhere_id = await session.scalar(select(Account.id).where(Account.name == "Elsewhere"))
        assert held is not None and elsewhere_id is not None
        held_id = held.id
        spawned: list[object] = []
        greenlet_spawn = engine_module.AsyncSession.get

        async def counted(self: AsyncSession, *args: object, **kwargs: object) -> object:
            spawned.append(args)
            return await greenlet_spawn(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(engine_module.AsyncSession, "get", counted)
        assert await session.get(Account, held_id) is held
        assert spawned == []
        # Not held, expired, or with an option: Session.get's own way, which queries.
        found = await session.get(Account, elsewhere_id)
        assert found is not None and found.name == "Elsewhere"
        await session.execute(update(Account).where(Account.id == held_id).values(name="Renamed"))
        session.expire(held)
        assert (await session.get(Account, held_id)).name == "Renamed"  # type: ignore[union-attr]
        assert await session.get(Account, held_id, populate_existing=True) is held
        assert len(spawned) == 3
        assert await session.get(Account, 10**12) is None
