"""Token formats: API tokens (opaque, hashed at rest) and login access tokens (short-lived JWT)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import jwt

from nexa.config import Settings
from nexa.kit.clock import utcnow
from nexa.kit.crypto import random_token, sha256_hex

API_TOKEN_PREFIX = "nexa_"
_LOOKUP_LENGTH = 12
_SECRET_LENGTH = 32
_JWT_ALGORITHM = "HS256"
_JWT_AUDIENCE = "nexa-api"


@dataclass(frozen=True)
class NewApiToken:
    plaintext: str
    lookup_id: str
    token_hash: str


def new_api_token() -> NewApiToken:
    lookup_id = random_token(_LOOKUP_LENGTH)
    plaintext = f"{API_TOKEN_PREFIX}{lookup_id}_{random_token(_SECRET_LENGTH)}"
    return NewApiToken(plaintext=plaintext, lookup_id=lookup_id, token_hash=sha256_hex(plaintext))


def parse_api_token(plaintext: str) -> str | None:
    """The lookup id of a well-formed API token, else None."""
    if not plaintext.startswith(API_TOKEN_PREFIX):
        return None
    lookup_id, sep, secret = plaintext[len(API_TOKEN_PREFIX):].partition("_")
    if not sep or len(lookup_id) != _LOOKUP_LENGTH or len(secret) != _SECRET_LENGTH:
        return None
    return lookup_id


def encode_access_token(settings: Settings, *, user_id: int, session_id: int) -> str:
    now = utcnow()
    claims = {
        "sub": str(user_id),
        "sid": session_id,
        "aud": _JWT_AUDIENCE,
        "iat": now,
        "exp": now + timedelta(seconds=settings.access_token_ttl_seconds),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=_JWT_ALGORITHM)


def decode_access_token(settings: Settings, token: str) -> tuple[int, int] | None:
    """(user_id, session_id) of a valid, unexpired access token, else None."""
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=[_JWT_ALGORITHM], audience=_JWT_AUDIENCE)
        return int(claims["sub"]), int(claims["sid"])
    except (jwt.PyJWTError, KeyError, ValueError):
        return None


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and not token.startswith(API_TOKEN_PREFIX)
