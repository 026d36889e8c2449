"""Where media files live: a small store interface, a local-directory implementation, and signed links.

Keys are relative paths chosen by Nexa (`<account>/<yyyy>/<mm>/<random><ext>`), never user input, so a
key cannot climb out of the store's root. S3-compatible storage is not implemented yet (see
docs/channels/delivery.md); it would be a second `MediaStore`.
"""

from __future__ import annotations

import asyncio
import hmac
import mimetypes
import time
from pathlib import Path
from typing import Protocol

from nexa.config import Settings
from nexa.kit.clock import utcnow
from nexa.kit.crypto import random_token, sign


class MediaStore(Protocol):
    async def write(self, key: str, data: bytes) -> None: ...

    async def read(self, key: str) -> bytes:
        """The file's bytes; FileNotFoundError when the key holds nothing."""

    async def delete(self, key: str) -> None:
        """Remove the file; nothing happens when the key holds nothing."""


class LocalMediaStore:
    """Files under one directory (`NEXA_MEDIA_DIR`, default `<data_dir>/media`)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"media key {key!r} leaves the store")
        return path

    async def write(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    async def read(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside then renamed: a reader never sees half a file, a crash leaves no truncated one.
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        partial.replace(path)


def media_store(settings: Settings) -> MediaStore:
    return LocalMediaStore(settings.resolved_media_dir)


def new_media_key(account_id: int, content_type: str | None, filename: str | None = None) -> str:
    """A fresh key for one file of `account_id`, keeping the extension clients and providers look at."""
    extension = Path(filename).suffix.lower() if filename and Path(filename).suffix else None
    extension = extension or (mimetypes.guess_extension((content_type or "").split(";")[0].strip()) or "")
    now = utcnow()
    return f"{account_id}/{now:%Y}/{now:%m}/{random_token(24)}{extension}"


# --- signed links ----------------------------------------------------------------------------------------


def _signature(secret: str, attachment_id: int, expires: int) -> str:
    return sign(secret, f"media:{attachment_id}:{expires}")


def signed_media_url(settings: Settings, attachment_id: int, *, now: float | None = None) -> str:
    """`<public url>/media/<id>?expires=..&signature=..`: fetchable without a session (an <img> tag, a
    provider downloading an attachment) until `expires`, NEXA_MEDIA_URL_TTL_SECONDS from now."""
    expires = int((now if now is not None else time.time()) + settings.media_url_ttl_seconds)
    signature = _signature(settings.secret_key, attachment_id, expires)
    return f"{settings.base_url}/media/{attachment_id}?expires={expires}&signature={signature}"


def media_signature_valid(settings: Settings, attachment_id: int, expires: int, signature: str) -> bool:
    if expires < time.time():
        return False
    return hmac.compare_digest(_signature(settings.secret_key, attachment_id, expires), signature)
