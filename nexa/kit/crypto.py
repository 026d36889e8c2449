"""Secrets at rest and random tokens.

Credentials (channel access tokens, app secrets) are encrypted with Fernet. `NEXA_ENCRYPTION_KEY` may
hold several comma-separated keys: the first encrypts, all decrypt, which is how keys are rotated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from nexa.config import Settings, get_settings

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int = 32) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def sign(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def generate_encryption_key() -> str:
    return Fernet.generate_key().decode()


def _fernet_key(material: str) -> bytes:
    """A Fernet key as given, or one derived from any other string (development's secret_key)."""
    try:
        if len(base64.urlsafe_b64decode(material.encode())) == 32:
            return material.encode()
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest())


# Secrets kept decrypted per process: every inbox's few credentials, many times over.
_DECRYPTED_KEPT = 4096


class Cipher:
    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or get_settings()
        materials = [k.strip() for k in (settings.encryption_key or settings.secret_key).split(",") if k.strip()]
        self._fernet = MultiFernet([Fernet(_fernet_key(m)) for m in materials])
        self._decrypted: dict[str, str] = {}

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        """The plaintext, decrypted once per ciphertext: a provider send, a webhook's signature check and a media
        download each read their inbox's secret, and Fernet's HMAC and AES were ~3 % of the delivery worker. A
        changed secret is a new ciphertext (Fernet encrypts with a fresh IV), so it is never answered stale."""
        plaintext = self._decrypted.get(ciphertext)
        if plaintext is None:
            try:
                plaintext = self._fernet.decrypt(ciphertext.encode()).decode()
            except InvalidToken as exc:
                raise ValueError("stored secret cannot be decrypted with the configured NEXA_ENCRYPTION_KEY") from exc
            if len(self._decrypted) >= _DECRYPTED_KEPT:
                self._decrypted.pop(next(iter(self._decrypted)))  # the oldest
            self._decrypted[ciphertext] = plaintext
        return plaintext
