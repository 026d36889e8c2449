from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.kit.errors import ValidationFailed
from nexa.kit.lazy_text import _
from nexa.labels.models import DEFAULT_LABEL_COLOR, Label
from nexa.labels.repository import LabelRepository, normalize_title
from nexa.labels.schemas import LabelCreate, LabelUpdate

# Chatwoot's rule: letters, digits, '-' and '_' only, so titles work in filters and URLs.
_TITLE = re.compile(r"^[\w-]+$", re.UNICODE)


async def create_label(session: AsyncSession, account_id: int, params: LabelCreate) -> Label:
    repository = LabelRepository(session, account_id)
    title = await _checked_title(repository, params.title)
    label = Label(
        title=title,
        description=params.description,
        color=params.color or DEFAULT_LABEL_COLOR,
        show_on_sidebar=params.show_on_sidebar,
    )
    return await repository.add(label)


async def update_label(session: AsyncSession, account_id: int, label: Label, params: LabelUpdate) -> Label:
    changes = params.model_dump(exclude_unset=True)
    if changes.get("title") is not None:
        label.title = await _checked_title(LabelRepository(session, account_id), changes.pop("title"), current=label)
    for field, value in changes.items():
        # description may be cleared; color and show_on_sidebar keep their value when sent as null
        if value is not None or field == "description":
            setattr(label, field, value)
    await session.flush()
    return label


async def _checked_title(repository: LabelRepository, raw: str, current: Label | None = None) -> str:
    title = normalize_title(raw)
    if not _TITLE.match(title):
        raise ValidationFailed(_("Title is invalid"), ["title"])
    existing = await repository.get_by_title(title)
    if existing is not None and existing is not current:
        raise ValidationFailed(_("Title has already been taken"), ["title"])
    return title
