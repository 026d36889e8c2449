from __future__ import annotations

from pydantic import BaseModel, Field

from nexa.kit.params import WrappedParams


class CannedResponseCreate(WrappedParams):
    wrapper = "canned_response"

    short_code: str = Field(min_length=1, max_length=255)
    content: str = Field(min_length=1)


class CannedResponseUpdate(WrappedParams):
    wrapper = "canned_response"

    short_code: str | None = Field(default=None, min_length=1, max_length=255)
    content: str | None = Field(default=None, min_length=1)


class CannedResponseOut(BaseModel):
    id: int
    account_id: int
    short_code: str
    content: str
    created_at: str
    updated_at: str
