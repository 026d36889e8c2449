from __future__ import annotations

from pydantic import BaseModel, Field

from nexa.kit.params import WrappedParams


class TeamCreate(WrappedParams):
    wrapper = "team"

    name: str = Field(min_length=1, max_length=255)
    description: str | None = None
    allow_auto_assign: bool = True


class TeamUpdate(WrappedParams):
    wrapper = "team"

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    allow_auto_assign: bool | None = None


class TeamOut(BaseModel):
    id: int
    name: str
    description: str | None
    allow_auto_assign: bool
    account_id: int
    is_member: bool


class UserIds(BaseModel):
    user_ids: list[int] = Field(default_factory=list)
