from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute

from nexa.labels.models import Label, TaggingMixin
from nexa.tenancy.repository import AccountRepository

TaggingT = TypeVar("TaggingT", bound=TaggingMixin)


class LabelRepository(AccountRepository[Label]):
    model = Label

    async def get_by_title(self, title: str) -> Label | None:
        return await self.session.scalar(self.select().where(Label.title == title))

    async def ordered(self) -> Sequence[Label]:
        return await self.list(self.select().order_by(Label.title))


class TaggingRepository(AccountRepository[TaggingT]):
    """Label titles on one kind of row (contacts, conversations): shared so both behave identically."""

    owner_key: ClassVar[str]  # the tagged row's id column, e.g. "contact_id"

    @property
    def owner_column(self) -> InstrumentedAttribute[Any]:
        return getattr(self.model, self.owner_key)

    async def titles(self, owner_id: int) -> list[str]:
        return (await self.titles_by_owner([owner_id])).get(owner_id, [])

    async def titles_by_owner(self, owner_ids: Iterable[int]) -> dict[int, list[str]]:
        ids = list(owner_ids)
        if not ids:
            return {}
        statement = (
            select(self.owner_column, self.model.title)
            .where(self.model.account_id == self.account_id, self.owner_column.in_(ids))
            .order_by(self.model.title)
        )
        found: dict[int, list[str]] = defaultdict(list)
        for owner_id, title in await self.session.execute(statement):
            found[owner_id].append(title)
        return dict(found)

    async def replace(self, owner_id: int, titles: Iterable[str]) -> list[str]:
        """Make the owner's labels exactly `titles` (Chatwoot's POST .../labels replaces the list)."""
        wanted = sorted({normalize_title(t) for t in titles if t and t.strip()})
        current = set(await self.titles(owner_id))
        removed = current - set(wanted)
        if removed:
            await self.session.execute(
                delete(self.model).where(
                    self.model.account_id == self.account_id,
                    self.owner_column == owner_id,
                    self.model.title.in_(removed),
                )
            )
        for title in wanted:
            if title not in current:
                row = self.model(title=title)
                setattr(row, self.owner_key, owner_id)
                row.account_id = self.account_id
                self.session.add(row)
        await self.session.flush()
        return wanted

    def owners_with_all(self, titles: Sequence[str]) -> Any:
        """A subquery of owner ids carrying every one of `titles`."""
        wanted = sorted({normalize_title(t) for t in titles})
        return (
            select(self.owner_column)
            .where(self.model.account_id == self.account_id, self.model.title.in_(wanted))
            .group_by(self.owner_column)
            .having(func.count() == len(wanted))
        )


def normalize_title(title: str) -> str:
    return title.strip().lower()
