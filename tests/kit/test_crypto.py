from __future__ import annotations

import pytest
from cryptography.fernet import MultiFernet

from nexa.config import Settings
from nexa.kit.crypto import Cipher, generate_encryption_key


def test_a_secret_is_decrypted_once_and_a_changed_one_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    cipher = Cipher(Settings(encryption_key=generate_encryption_key()))
    decryptions: list[bytes] = []
    decrypt = MultiFernet.decrypt

    def counted(fernet: MultiFernet, token: bytes, *args: object) -> bytes:
        decryptions.append(token)
        return decrypt(fernet, token, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(MultiFernet, "decrypt", counted)
    token = cipher.encrypt("EAAG-old")
    assert [cipher.decrypt(token) for _ in range(3)] == ["EAAG-old"] * 3
    assert len(decryptions) == 1
    changed = cipher.encrypt("EAAG-new")
    assert cipher.decrypt(changed) == "EAAG-new" and cipher.decrypt(token) == "EAAG-old"
    assert len(decryptions) == 2


def test_a_rotated_key_still_decrypts_and_a_foreign_secret_is_refused() -> None:
    old, new = generate_encryption_key(), generate_encryption_key()
    token = Cipher(Settings(encryption_key=old)).encrypt("segredo")
    assert Cipher(Settings(encryption_key=f"{new},{old}")).decrypt(token) == "segredo"
    with pytest.raises(ValueError, match="NEXA_ENCRYPTION_KEY"):
        Cipher(Settings(encryption_key=new)).decrypt(token)
