from __future__ import annotations

import re
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, Field

from nexa.kit.i18n import SUPPORTED_LOCALES

_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


def _color(value: str | None) -> str | None:
    if value is not None and not _COLOR.match(value):
        raise ValueError("must be a hex color such as #1f93ff")
    return value


def _timezone(value: str | None) -> str | None:
    if value is not None and value not in available_timezones():
        raise ValueError("must be an IANA time zone such as America/Sao_Paulo")
    return value


def _locale(value: str | None) -> str | None:
    if value is not None and value not in SUPPORTED_LOCALES:
        raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
    return value


Color = Annotated[str | None, AfterValidator(_color)]


class Branding(BaseModel):
    product_name: str | None = Field(default=None, max_length=80)
    logo_url: str | None = Field(default=None, max_length=2048)
    favicon_url: str | None = Field(default=None, max_length=2048)
    primary_color: Color = None
    accent_color: Color = None


class AccountOut(BaseModel):
    id: int
    name: str
    locale: str
    timezone: str
    status: str
    plan: str
    limits: dict
    branding: Branding
    support_email: str | None
    domain: str | None
    custom_attributes: dict


class AccountUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    locale: Annotated[str | None, AfterValidator(_locale)] = None
    timezone: Annotated[str | None, AfterValidator(_timezone)] = None
    support_email: str | None = Field(default=None, max_length=255)
    domain: str | None = Field(default=None, max_length=255)
    branding: Branding | None = None
    custom_attributes: dict | None = None
