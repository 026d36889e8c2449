from __future__ import annotations

from pydantic import BaseModel, Field

from nexa.kit.params import WrappedParams


class LabelCreate(WrappedParams):
    wrapper = "label"

    title: str = Field(min_length=1, max_length=255)
    description: str | None = None
    color: str | None = Field(default=None, pattern=r"^#(?:[0-9a-fA-F]{3}){1,2}$")
    show_on_sidebar: bool = True


class LabelUpdate(WrappedParams):
    wrapper = "label"

    title: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    color: str | None = Field(default=None, pattern=r"^#(?:[0-9a-fA-F]{3}){1,2}$")
    show_on_sidebar: bool | None = None


class LabelOut(BaseModel):
    id: int
    title: str
    description: str | None
    color: str
    show_on_sidebar: bool


class LabelList(BaseModel):
    payload: list[LabelOut]


class LabelTitles(BaseModel):
    """Request body of POST .../labels on a contact or conversation: the complete new list."""

    labels: list[str] = Field(default_factory=list)


class LabelTitlesOut(BaseModel):
    payload: list[str]
