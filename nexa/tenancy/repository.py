"""Tenant scoping in one place.

Every query on an account-owned table is built from `AccountRepository.select()`, which always carries
`account_id = :account`. A row of another account is therefore indistinguishable from a missing row:
callers get `None`, endpoints answer 404, never 403 and never the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.db.base import Base
from nexa.kit.errors import NotFound

ModelT = TypeVar("ModelT", bound=Base)
_ID_MIN, _ID_MAX = -(2**63), 2**63 - 1  # BIGINT


def storable_id(value: int) -> bool:
    """Whether `value` fits an id column: no row has a larger one, and the drivers fail on it (a 500 where an
    id from a URL should get a 404)."""
    return _ID_MIN <= value <= _ID_MAX


class Repository(Generic[ModelT]):
    """Queries on a global (not account-owned) table."""

    model: type[ModelT]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def select(self) -> Select[tuple[ModelT]]:
        return select(self.model)

    async def get(self, id: int) -> ModelT | None:
        if not storable_id(id):
            return None
        # Session.get answers from the identity map when the row is already loaded in this transaction
        # (no query at all); scoping is then checked on the row itself.
        found = await self.session.get(self.model, id)
        return found if found is not None and self._visible(found) else None

    def _visible(self, row: ModelT) -> bool:
        return True

    async def get_or_404(self, id: int) -> ModelT:
        found = await self.get(id)
        if found is None:
            raise NotFound()
        return found

    async def by_ids(self, ids: Iterable[int]) -> dict[int, ModelT]:
        """The rows of `ids` that exist (and are visible to this repository), by id, with one select."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        id_column = self.model.id  # type: ignore[attr-defined]
        return {row.id: row for row in await self.list(self.select().where(id_column.in_(wanted)))}  # type: ignore[attr-defined]

    async def list(self, statement: Select[tuple[ModelT]] | None = None) -> Sequence[ModelT]:
        return (await self.session.scalars(statement if statement is not None else self.select())).all()

    async def count(self, statement: Select[Any] | None = None) -> int:
        base = statement if statement is not None else self.select()
        return int(await self.session.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0)

    async def add(self, obj: ModelT) -> ModelT:
        self.session.add(obj)
        await self.session.flush()
        return obj

    async def delete(self, obj: ModelT) -> None:
        await self.session.delete(obj)
        await self.session.flush()


class AccountRepository(Repository[ModelT]):
    """Queries on an account-owned table, always limited to one account."""

    def __init__(self, session: AsyncSession, account_id: int) -> None:
        super().__init__(session)
        self.account_id = account_id

    def select(self) -> Select[tuple[ModelT]]:
        return select(self.model).where(self.model.account_id == self.account_id)  # type: ignore[attr-defined]

    def _visible(self, row: ModelT) -> bool:
        return row.account_id == self.account_id  # type: ignore[attr-defined]

    async def add(self, obj: ModelT) -> ModelT:
        obj.account_id = self.account_id  # type: ignore[attr-defined]
        return await super().add(obj)


class MemberSetRepository(AccountRepository[ModelT]):
    """Rows putting users in a group of the account (an inbox's agents, a team's members).

    `group_column` names the group's column on the row; every row also has `user_id`.
    """

    group_column: str

    def _in_group(self, group_id: int) -> ColumnElement[bool]:
        return getattr(self.model, self.group_column) == group_id

    async def user_ids(self, group_id: int) -> list[int]:
        statement = select(self.model.user_id).where(  # type: ignore[attr-defined]
            self.model.account_id == self.account_id, self._in_group(group_id)  # type: ignore[attr-defined]
        )
        return sorted((await self.session.scalars(statement)).all())

    async def add_users(self, group_id: int, user_ids: Iterable[int]) -> list[int]:
        """Adds the users not in the group yet; returns them."""
        added = sorted(set(user_ids) - set(await self.user_ids(group_id)))
        for user_id in added:
            await self.add(self.model(**{self.group_column: group_id, "user_id": user_id}))
        return added

    async def remove_users(self, group_id: int, user_ids: Iterable[int]) -> None:
        await self.session.execute(
            delete(self.model).where(
                self.model.account_id == self.account_id,  # type: ignore[attr-defined]
                self._in_group(group_id),
                self.model.user_id.in_(list(user_ids)),  # type: ignore[attr-defined]
            )
        )

    async def replace_users(self, group_id: int, user_ids: Iterable[int]) -> list[int]:
        """Makes the group exactly `user_ids`."""
        wanted = sorted(set(user_ids))
        await self.remove_users(group_id, set(await self.user_ids(group_id)) - set(wanted))
        await self.add_users(group_id, wanted)
        return wanted
