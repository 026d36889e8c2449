"""The database handle: one async engine, read and write sessions, and the transaction boundary.

SQLite and PostgreSQL differ here and only here:
- SQLite gets WAL, foreign keys and a busy timeout on every connection, and write transactions start
  with `BEGIN IMMEDIATE` so two writers queue instead of failing when a read lock cannot be upgraded (the
  classic SQLITE_BUSY_SNAPSHOT in WAL mode). Within a process they queue on an asyncio lock, in order:
  SQLite's busy handler polls with sleeps of up to 100 ms, so writers left to it wait long after the lock
  is free, and under steady load some wait past the busy timeout and fail. Other processes on the same
  file still queue on the busy timeout.
- PostgreSQL gets a sized pool; row locks and `SKIP LOCKED` do the rest.

Losing the database (a restart, a failover, a network cut) surfaces from `Database.session()` as
`DatabaseUnavailable`, a 503 for requests and a retried attempt for jobs; once the server is back, the
pool's ping of idle connections and its invalidation after a disconnect replace the dead connections, so
recovery needs nothing from anyone.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.sql.expression import Executable

from nexa.kit.errors import ServiceUnavailable
from nexa.kit.lazy_text import _

logger = logging.getLogger(__name__)

AfterCommitHook = Callable[[], Awaitable[None]]
_AFTER_COMMIT = "nexa_after_commit"
_AT_COMMIT = "nexa_at_commit"
_WRITE_OPTION = "nexa_write"
_CHECKED_IN_AT = "nexa_checked_in_at"
_PING_IDLE_AFTER_SECONDS = 1.0
SQLITE_BUSY_TIMEOUT_MS = 30_000
# SQLSTATEs of a server out of reach: 08 connection exception; 57P01-57P03 admin/crash shutdown, starting
# up; 53300 too many connections (full for now: a retry later succeeds, so it is a 503 too, not a 500).
_UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


class DatabaseUnavailable(ServiceUnavailable):
    default_message = _("The database is unavailable, please retry")


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` means the database server is out of reach (down, restarting, cut off), as opposed
    to a statement it refused. Connecting raises the driver's own OSError; a connection lost mid-query
    is a DBAPIError that SQLAlchemy marks invalidated (or tags with a connection SQLSTATE)."""
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or ""
        return exc.connection_invalidated or code.startswith(_UNREACHABLE_SQLSTATES)
    # Not the builtin TimeoutError: code inside a transaction uses asyncio timeouts for its own reasons.
    return isinstance(exc, (ConnectionError, socket.gaierror, PoolTimeout))


class _Session(AsyncSession):
    """The sessions `Database.session()` gives: an `AsyncSession` whose `get` answers a row the session already
    holds without leaving the event loop's thread of control.

    `AsyncSession.get` runs `Session.get` in a greenlet even when the row is in the identity map and no query
    is needed: 11.8 µs a call against 1.2 from the map (measured), and the inbound pipeline asks about three
    times per customer message for rows it has loaded (a receipt's conversation, a message's contact). Here
    a held row comes straight from the identity map, on the same terms as `Session.get` (not expired, of the
    class asked for); anything else, or any option, takes the usual way.
    """

    async def get(self, entity: Any, ident: Any, **options: Any) -> Any:
        if not any(options.values()) and isinstance(entity, type) and isinstance(ident, (int, str)):
            held = self.identity_map.get(inspect(entity).identity_key_from_primary_key([ident]))
            if held is not None and isinstance(held, entity) and not instance_state(held).expired:
                return held
        return await super().get(entity, ident, **options)


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        self.engine = self._create_engine(pool_size=pool_size, echo=echo)
        self._write_sessions = async_sessionmaker(
            self.engine.execution_options(**{_WRITE_OPTION: True}), expire_on_commit=False, class_=_Session
        )
        if self.is_postgres:
            # Each statement commits on its own: no BEGIN and COMMIT round trips (see `session`).
            self._read_sessions = self._untransacted_sessions = async_sessionmaker(
                self.engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False, class_=_Session
            )
        else:
            # SQLite's writers queue for their turn (decision 0008) and take it with BEGIN IMMEDIATE.
            self._read_sessions = async_sessionmaker(self.engine, expire_on_commit=False, class_=_Session)
            self._untransacted_sessions = self._write_sessions
        # One per event loop: an asyncio lock belongs to the loop it first waited on.
        self._sqlite_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _WriterQueue] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def _create_engine(self, *, pool_size: int, echo: bool) -> AsyncEngine:
        if self.is_sqlite:
            database = self.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_async_engine(
                self.url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            )
            _configure_sqlite(engine)
            return engine
        # asyncpg's statements are prepared once per connection and kept in an LRU cache (SQLAlchemy's, 100
        # by default). A multi-row INSERT is another statement for each number of rows: the workers write
        # batches of 1 to ~50 rows to half a dozen tables, a few hundred statements per connection, which
        # 100 would keep evicting and preparing again. A URL's own `?prepared_statement_cache_size=` wins.
        cache = {} if "prepared_statement_cache_size" in self.url.query else {"prepared_statement_cache_size": 500}
        engine = create_async_engine(
            self.url, echo=echo, pool_size=pool_size, max_overflow=pool_size, connect_args=cache
        )
        _ping_idle_connections(engine)
        return engine

    @asynccontextmanager
    async def session(self, *, write: bool = True, transaction: bool = True) -> AsyncIterator[AsyncSession]:
        """A transaction: commits when the block ends, rolls back on error, then runs after-commit hooks.

        This is the request and job boundary; services take the session and never commit. A lost
        database raises `DatabaseUnavailable` (503), whether it went away before, during or at commit.
        The caller may retry: at worst a commit cut off mid-way did land, and every write a client or
        provider retries is deduplicated.

        On PostgreSQL, reading sessions (`write=False`) and `transaction=False` run without a transaction:
        each statement commits on its own, which saves the BEGIN and COMMIT round trips (two of the three
        of a one-statement block; a third of all the statements of the full loop were BEGIN or COMMIT).
        Reads see the same either way: in READ COMMITTED every statement takes its own snapshot, inside a
        transaction or not. `transaction=False` is for a block that writes with one statement, atomic on
        its own: a block with several would no longer be all or nothing. On SQLite both are transactions.
        """
        try:
            async with self._transaction(write, transaction) as session:
                yield session
        except Exception as exc:
            if database_unreachable(exc):
                raise DatabaseUnavailable() from exc
            raise

    @asynccontextmanager
    async def _transaction(self, write: bool, transaction: bool) -> AsyncIterator[AsyncSession]:
        if not write:
            maker = self._read_sessions
        elif transaction:
            maker = self._write_sessions
        else:
            maker = self._untransacted_sessions
        kept: BaseException | None = None
        async with self._writer_turn(write), maker() as session:
            await session.begin()
            try:
                yield session
            except BaseException as exc:
                # Some failures must leave a trace, e.g. a failed login's audit row or the revocation
                # of a stolen refresh token: such errors say so with `keep_writes`.
                if not getattr(exc, "keep_writes", False):
                    await session.rollback()
                    raise
                kept = exc
            await session.commit()
            hooks: list[AfterCommitHook] = session.info.pop(_AFTER_COMMIT, [])
        # After the writer's turn is over: a hook may well write.
        await run_hooks(hooks)
        if kept is not None:
            raise kept

    @asynccontextmanager
    async def _writer_turn(self, write: bool) -> AsyncIterator[None]:
        if not (write and self.is_sqlite):
            yield
            return
        loop = asyncio.get_running_loop()
        writers = self._sqlite_writers.get(loop)
        if writers is None:
            writers = self._sqlite_writers[loop] = _WriterQueue()
        async with writers.turn():
            yield

    async def dispose(self) -> None:
        await self.engine.dispose()


class _WriterQueue:
    """This process's SQLite writers, one at a time, first come first served."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            # It would wait for itself: SQLite allows one writer, and this task already is it.
            raise RuntimeError("a write transaction was opened inside another one on SQLite")
        try:
            async with asyncio.timeout(SQLITE_BUSY_TIMEOUT_MS / 1000):
                await self._lock.acquire()
        except TimeoutError:
            raise DatabaseUnavailable() from None
        self._holder = task
        try:
            yield
        finally:
            self._holder = None
            self._lock.release()


def execute_at_commit(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any] | None = None, *, key: Hashable | None = None
) -> None:
    """Run `statement` (with `params`) as the transaction's last one, right before COMMIT (never if it rolls
    back).

    For writes many transactions share, such as a counter row or a NOTIFY: a row lock taken here is
    held for the commit only, not for the rest of the transaction, so concurrent transactions do not
    queue behind each other for their whole length. A statement queued with the `key` of an earlier one
    takes its place: a counter bumped several times in one transaction is one UPDATE of the sum.
    """
    queued: dict[Hashable, tuple[Executable, Mapping[str, Any] | None]] = session.info.setdefault(_AT_COMMIT, {})
    queued[key if key is not None else object()] = (statement, params)


@event.listens_for(Session, "before_commit")
def _execute_at_commit(session: Session) -> None:
    for statement, params in session.info.pop(_AT_COMMIT, {}).values():
        session.execute(statement, params)


def after_commit(session: AsyncSession, hook: AfterCommitHook) -> None:
    """Run `hook` once the session's transaction has committed; never if it rolls back."""
    session.info.setdefault(_AFTER_COMMIT, []).append(hook)


def discard_after_commit(session: AsyncSession) -> None:
    session.info.pop(_AFTER_COMMIT, None)


def pop_after_commit(session: AsyncSession) -> list[AfterCommitHook]:
    return session.info.pop(_AFTER_COMMIT, [])


async def run_hooks(hooks: list[AfterCommitHook]) -> None:
    # The transaction is already durable: a failing hook is logged, never turned into a failed request.
    for hook in hooks:
        try:
            await hook()
        except Exception:
            logger.exception("after-commit hook failed", extra={"hook": getattr(hook, "__qualname__", repr(hook))})


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Pre-ping, but only connections idle for a while: SQLAlchemy's `pool_pre_ping` costs a round trip per
    transaction, most of them on connections that answered a moment ago.

    A connection used within the last second that the server has since dropped fails its first statement
    instead: that transaction gets `DatabaseUnavailable` (503, or a retried job), and the pool, seeing the
    disconnect, replaces every connection it held before it, as after a failed ping.
    """
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get(_CHECKED_IN_AT)
        if checked_in is not None and time.monotonic() - checked_in < _PING_IDLE_AFTER_SECONDS:
            return
        try:
            sync_engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out another (a new one, if need be).
            raise DisconnectionError(f"idle connection failed its ping: {exc}") from exc


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours (see the "begin" listener).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
