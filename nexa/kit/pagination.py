"""Page-number paging as Chatwoot does it: `?page=N`, fixed page sizes, no total page count."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Query
from sqlalchemy import Select

StatementT = TypeVar("StatementT", bound=Select[Any])

PageNumber = Annotated[int, Query(ge=1, le=100_000, description="1-based page number")]


def paginate(statement: StatementT, page: int, per_page: int) -> StatementT:
    return statement.limit(per_page).offset((max(page, 1) - 1) * per_page)
