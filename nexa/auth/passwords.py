from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login answers in the same time either way. Made on
# first use, not at import: a hash costs about 0.1 s of CPU and most processes never verify a password.
_dummy_hash: str | None = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    global _dummy_hash
    if password_hash is None and _dummy_hash is None:
        _dummy_hash = _hasher.hash("nexa-timing-equalizer")
    try:
        return _hasher.verify(password_hash or _dummy_hash, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def use_cheapest_hashing() -> None:
    """Tests only: argon2's cheapest parameters. At the real cost, hashing the passwords of the users the
    tests create and sign in was a tenth of the suite's CPU time."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    _dummy_hash = None
