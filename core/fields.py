"""Field-level encryption for credentials, with key rotation (cryptography's MultiFernet)."""

from __future__ import annotations

from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

CIPHERTEXT_PREFIX = "fernet:"


@cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("HUB_ENCRYPTION_KEYS is empty: credentials cannot be stored.")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    """The current key ring; re-read from settings so rotation needs no restart in tests."""
    return _fernet_for(tuple(settings.HUB_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return CIPHERTEXT_PREFIX + fernet().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(CIPHERTEXT_PREFIX):
        raise ValueError("Stored credential is not encrypted with the hub's scheme.")
    try:
        return fernet().decrypt(stored[len(CIPHERTEXT_PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored credential cannot be decrypted with HUB_ENCRYPTION_KEYS "
            "(was a key removed before `rotate_encryption_keys` ran?)."
        ) from exc


def reencrypt(stored: str) -> str:
    """Re-encrypt a stored value with the primary key (used by key rotation)."""
    token = stored[len(CIPHERTEXT_PREFIX) :].encode()
    return CIPHERTEXT_PREFIX + fernet().rotate(token).decode()


class EncryptedTextField(models.TextField):
    """Text stored as Fernet ciphertext; empty values stay empty so 'not set' is visible."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str:
        if not value:
            return ""
        return decrypt(value)

    def get_prep_value(self, value: Any) -> str:
        value = super().get_prep_value(value)
        if not value:
            return ""
        return encrypt(str(value))
