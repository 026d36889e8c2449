from __future__ import annotations

import re
from urllib.parse import urlsplit
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, Field

from nexa.kit.i18n import SUPPORTED_LOCALES

_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


def _color(value: str | None) -> str | None:
    value = (value or "").strip() or None  # "" clears the color, as an emptied form field sends it
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


def _asset_url(value: str | None) -> str | None:
    """An http(s) URL or a path on this server. Brand images go into <img>, <link rel=icon> and CSS on every
    page, so schemes such as javascript: or data: and characters that end a CSS url() are refused."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    parts = urlsplit(value)
    local_path = value.startswith("/") and not value.startswith("//")
    if not (local_path or (parts.scheme in ("http", "https") and parts.hostname)):
        raise ValueError("must be an http(s) URL or a path starting with /")
    if any(c.isspace() or c in "\"'()<>\\" for c in value):
        raise ValueError("must not contain spaces, quotes, parentheses or angle brackets")
    return value


def _product_name(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


Color = Annotated[str | None, AfterValidator(_color)]
AssetUrl = Annotated[str | None, Field(max_length=2048), AfterValidator(_asset_url)]


class Branding(BaseModel):
    """The account's white-label brand; a field set to null or "" falls back to the default look."""

    product_name: Annotated[str | None, Field(max_length=80), AfterValidator(_product_name)] = None
    logo_url: AssetUrl = None
    favicon_url: AssetUrl = None
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
