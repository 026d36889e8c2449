"""Group commit: many concurrent callers' writes in one transaction, each caller released at its commit.

A webhook must be durable before its 2xx, and a commit costs a few round trips and a disk flush whatever
it holds. When requests arrive faster than one transaction commits, the ones that arrive meanwhile wait
and are written together by the next transaction: the transaction count follows the database's speed,
not the request rate, and a lone request waits for nothing but its own commit (no timer, as in
PostgreSQL's own group commit of WAL flushes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.db.engine import Database, DatabaseUnavailable

logger = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
Write = Callable[[AsyncSession, list[ItemT]], Awaitable[None]]


class GroupCommit(Generic[ItemT]):
    def __init__(
        self, database: Database, write: Write[ItemT], *, max_items: int = 200, one_statement: bool = False
    ) -> None:
        """`one_statement`: `write` writes a group with a single statement, which is then all the transaction
        needs (`Database.session(transaction=False)`: no BEGIN and COMMIT round trips on PostgreSQL)."""
        self._database = database
        self._write = write
        self._max_items = max_items
        self._transaction = not one_statement
        self._waiting: list[tuple[ItemT, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: ItemT) -> None:
        """Return once `item` is committed; raise what its transaction raised if it was not."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        # Shielded: a caller that goes away (a client disconnect) must not cancel the others' transaction.
        await asyncio.shield(future)

    async def _write_all(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[: self._max_items], self._waiting[self._max_items :]
            error = await self._commit(group)
            if error is None or len(group) == 1 or isinstance(error, DatabaseUnavailable):
                _settle(group, error)
                continue
            # One bad item must not fail the others: each goes again in a transaction of its own.
            logger.warning("a group commit failed; writing its items one by one", exc_info=error)
            for one in group:
                _settle([one], await self._commit([one]))

    async def _commit(self, group: list[tuple[ItemT, asyncio.Future[None]]]) -> Exception | None:
        """Write the group's items in one transaction; the error that stopped it, if any."""
        try:
            async with self._database.session(transaction=self._transaction) as session:
                await self._write(session, [item for item, _ in group])
        except Exception as exc:
            return exc
        return None


def _settle(group: list[tuple[object, asyncio.Future[None]]], error: BaseException | None) -> None:
    for _, future in group:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
