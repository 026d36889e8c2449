"""Short-lived per-account facts cached in this process, such as "this account has no webhooks".

Hot paths ask `fact.known(account_id)` (synchronous, no query) and fall back to their safe default when it
answers None. Async code that is about to do a lot of work for one account calls `refresh_all(session,
account_id)` once, which loads every registered fact that is missing or in the second half of its `ttl`:
a fact loaded before a job lasts at least `ttl / 2` into it, so it does not expire half-way through a busy
job and leave the rest of the job writing the safe default.

Any insert, update or delete of the rows a fact is derived from, in this process, drops the fact and keeps
it unknown for `ttl` seconds (long enough for that change to commit, so a refresh that ran before the
commit cannot bring the old answer back). Other processes see the change within `ttl` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession

Loader = Callable[[AsyncSession, int], Awaitable[bool]]

_MAX_ACCOUNTS = 100_000
_FACTS: list[AccountFact] = []


class AccountFact:
    def __init__(self, name: str, loader: Loader, *, ttl: float = 5.0) -> None:
        self.name = name
        self.ttl = ttl
        self._loader = loader
        self._values: dict[int, tuple[float, bool]] = {}
        self._unsettled: dict[int, float] = {}
        _FACTS.append(self)

    def known(self, account_id: int) -> bool | None:
        """The cached answer, or None when it is unknown or stale."""
        cached = self._values.get(account_id)
        if cached is None or cached[0] <= time.monotonic():
            return None
        return cached[1]

    def needs_refresh(self, account_id: int) -> bool:
        cached = self._values.get(account_id)
        fresh = cached is not None and cached[0] - self.ttl / 2 > time.monotonic()
        return not fresh and not self._changing(account_id)

    async def refresh(self, session: AsyncSession, account_id: int) -> None:
        if not self.needs_refresh(account_id):
            return
        value = await self._loader(session, account_id)
        if self._changing(account_id):
            return  # changed while we read: the answer may already be wrong
        if len(self._values) >= _MAX_ACCOUNTS:
            self._values.clear()
        self._values[account_id] = (time.monotonic() + self.ttl, value)

    def changed(self, account_id: int | None) -> None:
        if account_id is None:
            return
        self._values.pop(account_id, None)
        self._unsettled[account_id] = time.monotonic() + self.ttl

    def watch(self, *models: type[Any], columns: Sequence[str] = ()) -> None:
        """Treat every insert, update and delete of these account-scoped models as a change of the fact; with
        `columns`, an update only when it changes one of them (the ones the fact is derived from: a busy row
        updated for other reasons would otherwise keep the fact unknown, and hot paths on the safe default)."""
        for model in models:
            event.listen(model, "after_insert", self._on_change)
            event.listen(model, "after_delete", self._on_change)
            event.listen(model, "after_update", self._on_update_of(tuple(columns)) if columns else self._on_change)

    def _on_change(self, _mapper: Any, _connection: Any, row: Any) -> None:
        self.changed(getattr(row, "account_id", None))

    def _on_update_of(self, columns: tuple[str, ...]) -> Callable[[Any, Any, Any], None]:
        def on_update(mapper: Any, connection: Any, row: Any) -> None:
            attributes = inspect(row).attrs
            if any(attributes[name].history.has_changes() for name in columns):
                self._on_change(mapper, connection, row)

        return on_update

    def _changing(self, account_id: int) -> bool:
        until = self._unsettled.get(account_id)
        if until is None:
            return False
        if until <= time.monotonic():
            del self._unsettled[account_id]
            return False
        return True


def any_to_refresh(account_id: int) -> bool:
    """Whether `refresh_all` would load anything for `account_id` (no query needed to tell)."""
    return any(fact.needs_refresh(account_id) for fact in _FACTS)


async def refresh_all(session: AsyncSession, account_id: int) -> None:
    """Load every registered fact about `account_id` that is missing or stale."""
    for fact in _FACTS:
        await fact.refresh(session, account_id)
