"""Brand images an administrator uploads (logo, favicon): kept in the media store, served publicly.

The login page, the widget and the app show them to anyone, so they are public by design, at
`/brand/{account_id}/{name}` where `name` is random per upload: the URL never changes meaning and can be
cached for a year. Only raster formats recognized by their first bytes are accepted; SVG is refused,
since an SVG opened from our origin could run script.
"""

from __future__ import annotations

import re
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth import audit
from nexa.config import Settings
from nexa.db.engine import after_commit
from nexa.kit.crypto import random_token
from nexa.kit.errors import ValidationFailed
from nexa.kit.lazy_text import _
from nexa.kit.storage import media_store
from nexa.tenancy.models import Account

BrandAsset = Literal["logo", "favicon"]
BRAND_FIELDS: dict[str, str] = {"logo": "logo_url", "favicon": "favicon_url"}
MAX_BRAND_IMAGE_BYTES = 1_000_000
CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
                 ".ico": "image/x-icon"}
_NAME = re.compile(r"^[A-Za-z0-9]{24}\.(png|jpg|gif|webp|ico)$")


def image_extension(data: bytes) -> str | None:
    """The extension of a PNG, JPEG, GIF, WebP or ICO file, judged by its signature; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if data.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return ".gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    if data.startswith(b"\x00\x00\x01\x00"):
        return ".ico"
    return None


def storage_key(account_id: int, name: str) -> str | None:
    """The media-store key of a brand image, or None when `name` is not one Nexa gave (no path tricks)."""
    return f"{account_id}/brand/{name}" if _NAME.match(name) else None


def public_path(account_id: int, name: str) -> str:
    return f"/brand/{account_id}/{name}"


async def upload_brand_image(
    session: AsyncSession, account: Account, asset: BrandAsset, data: bytes, *, settings: Settings, actor_user_id: int
) -> Account:
    """Store the image and point the brand's logo_url or favicon_url at it; the previous upload is
    removed once the change is committed."""
    if len(data) > MAX_BRAND_IMAGE_BYTES:
        raise ValidationFailed(
            _("The image is larger than %(megabytes)s MB", megabytes=MAX_BRAND_IMAGE_BYTES // 1_000_000),
            ["file"],
        )
    extension = image_extension(data)
    if extension is None:
        raise ValidationFailed(_("Upload a PNG, JPEG, GIF, WebP or ICO image"), ["file"])
    name = random_token(24) + extension
    store = media_store(settings)
    # Written before the brand points at it: a failed commit leaves an unused file, never a broken image.
    await store.write(f"{account.id}/brand/{name}", data)
    field = BRAND_FIELDS[asset]
    previous = str(account.branding.get(field) or "")
    account.branding = {**account.branding, field: public_path(account.id, name)}
    await audit.record(session, "account.branding_uploaded", account_id=account.id, actor_user_id=actor_user_id,
                       asset=asset)
    ours = public_path(account.id, "")
    previous_key = storage_key(account.id, previous.removeprefix(ours)) if previous.startswith(ours) else None
    if previous_key is not None:
        async def remove_previous() -> None:
            await store.delete(previous_key)

        after_commit(session, remove_previous)
    return account
