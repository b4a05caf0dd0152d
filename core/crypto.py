"""Protection of donors' ID numbers at rest: Fernet encryption and an HMAC look-up key.

A database dump shows neither the number nor anything a dictionary attack could reverse
without the HMAC key; duplicate and interval checks compare the keyed hashes.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode() if isinstance(key, str) else key)


def encrypt(value: str) -> str:
    return _fernet(settings.DONOR_ID_KEY).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet(settings.DONOR_ID_KEY).decrypt(token.encode()).decode()


def encrypt_bytes(data: bytes) -> bytes:
    """A file's bytes encrypted with the same key (staged uploads hold donors' ID numbers)."""
    return _fernet(settings.DONOR_ID_KEY).encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    return _fernet(settings.DONOR_ID_KEY).decrypt(token)


def lookup_hash(value: str) -> str:
    """The keyed hash stored beside the ciphertext, for equality look-ups."""
    return hmac.new(settings.DONOR_ID_HMAC_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def lookup_hasher():
    """`lookup_hash` for many values: the keyed state is computed once and copied per value
    (the same digests; a station export hashes 100,000 ID numbers)."""
    keyed = hmac.new(settings.DONOR_ID_HMAC_KEY.encode(), digestmod=hashlib.sha256)

    def digest(value: str) -> str:
        state = keyed.copy()
        state.update(value.encode())
        return state.hexdigest()

    return digest
