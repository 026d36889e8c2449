"""Where media files live: a small store interface, a local-directory implementation, and signed links.

Keys are relative paths chosen by Nexa (`<account>/<yyyy>/<mm>/<random><ext>`), never user input, so a
key cannot climb out of the store's root. `NEXA_MEDIA_STORE` picks the store: a local directory (default)
or an S3-compatible bucket (docs/channels/delivery.md, "Media").
"""

from __future__ import annotations

import asyncio
import hmac
import math
import mimetypes
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import quote

import httpx

from nexa.config import Settings
from nexa.kit.clock import utcnow
from nexa.kit.crypto import random_token, sign
from nexa.kit.s3 import S3Client, S3Location, presigned_get_url
from nexa.runtime import current_runtime


# Bytes per chunk when a file is sent on: large enough for few round trips, small enough to hold many.
CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class MediaFile:
    size: int | None
    chunks: AsyncIterator[bytes]  # closing it early (the reader went away) releases the file or connection


class MediaStore(Protocol):
    async def write(self, key: str, data: bytes) -> None: ...

    async def read(self, key: str) -> bytes:
        """The file's bytes; FileNotFoundError when the key holds nothing."""

    async def open(self, key: str) -> MediaFile:
        """The file to send in chunks (a video need not sit in memory); FileNotFoundError when the key
        holds nothing, raised here, before any byte is sent."""

    async def delete(self, key: str) -> None:
        """Remove the file; nothing happens when the key holds nothing."""

    def direct_url(self, key: str, content_type: str | None, filename: str | None) -> str | None:
        """A short-lived link that serves the file without Nexa in the way, or None to stream it through
        Nexa. Only called after Nexa has authorized the reader."""


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

    async def open(self, key: str) -> MediaFile:
        handle = await asyncio.to_thread(self._path(key).open, "rb")
        size = (await asyncio.to_thread(os.fstat, handle.fileno())).st_size
        return MediaFile(size, self._chunks(handle))

    @staticmethod
    async def _chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    def direct_url(self, key: str, content_type: str | None, filename: str | None) -> str | None:
        return None

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside then renamed: a reader never sees half a file, a crash leaves no truncated one.
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        partial.replace(path)


# How long a presigned redirect target stays valid: the browser follows the redirect at once, and S3 checks
# expiry only when a download starts, so a slow large download is not cut off.
_PRESIGNED_REDIRECT_SECONDS = 60


class S3MediaStore:
    """Objects in one S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, DigitalOcean Spaces, Backblaze B2)."""

    def __init__(self, location: S3Location, *, redirect: bool = False, http: httpx.AsyncClient | None = None) -> None:
        self.location = location
        self.redirect = redirect
        self._http = http

    def _client(self) -> S3Client:
        # The process's one shared AsyncClient (house rule), looked up per call because stores are built from
        # settings alone wherever media is touched (jobs, endpoints, knowledge uploads).
        return S3Client(self.location, self._http or current_runtime().http)

    async def write(self, key: str, data: bytes) -> None:
        content_type = mimetypes.guess_type(key)[0]
        await self._client().put(key, data, content_type)

    async def read(self, key: str) -> bytes:
        return await self._client().get(key)

    async def open(self, key: str) -> MediaFile:
        response = await self._client().open(key)
        length = response.headers.get("content-length")
        return MediaFile(int(length) if length and length.isdigit() else None, self._chunks(response))

    @staticmethod
    async def _chunks(response: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_bytes(CHUNK_BYTES):
                yield chunk
        finally:
            await response.aclose()

    async def delete(self, key: str) -> None:
        await self._client().delete(key)

    def direct_url(self, key: str, content_type: str | None, filename: str | None) -> str | None:
        if not self.redirect:
            return None
        params = {"response-content-type": content_type or "application/octet-stream"}
        if filename:
            params["response-content-disposition"] = inline_disposition(filename)
        return presigned_get_url(self.location, key, _PRESIGNED_REDIRECT_SECONDS, response_params=params)


def inline_disposition(filename: str) -> str:
    """`Content-Disposition` that shows the file in the browser under its original (any-language) name."""
    return "inline; filename*=UTF-8''" + quote(filename, safe="")


def media_store(settings: Settings) -> MediaStore:
    if settings.media_store == "s3":
        return S3MediaStore(settings.s3_location(), redirect=settings.s3_redirect)
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


# Expiry times are rounded up to the minute: every link to one file made within a minute is the same URL
# (one payload naming a file twice names it once; browsers cache it), valid for the TTL plus under a minute.
MEDIA_URL_EXPIRY_STEP = 60


def signed_media_url(settings: Settings, attachment_id: int, *, now: float | None = None) -> str:
    """`<public url>/media/<id>?expires=..&signature=..`: fetchable without a session (an <img> tag, a
    provider downloading an attachment) until `expires`, NEXA_MEDIA_URL_TTL_SECONDS from now (rounded up
    to the minute)."""
    earliest = (now if now is not None else time.time()) + settings.media_url_ttl_seconds
    expires = math.ceil(earliest / MEDIA_URL_EXPIRY_STEP) * MEDIA_URL_EXPIRY_STEP
    signature = _signature(settings.secret_key, attachment_id, expires)
    return f"{settings.base_url}/media/{attachment_id}?expires={expires}&signature={signature}"


def media_signature_valid(settings: Settings, attachment_id: int, expires: int, signature: str) -> bool:
    if expires < time.time():
        return False
    return hmac.compare_digest(_signature(settings.secret_key, attachment_id, expires), signature)
