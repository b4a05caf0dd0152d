"""System checks that refuse weak keys where the settings say keys must be strong.

`config.settings_production` sets `REQUIRE_STRONG_KEYS = True`; then `manage.py check` (and so
`migrate` and `check --deploy`) fails with an error — not a warning — when:

- `SECRET_KEY` is the development key of `config.settings` (public in the repository), or short;
- `DONOR_ID_KEY` decodes to the same 32 bytes as the demo Fernet key (however it is written:
  a leading space, other padding), or is not a Fernet key at all;
- `DONOR_ID_HMAC_KEY` is empty, the demo key, or shorter than 32 bytes: a short key of the
  ID-number hash can be found by trying keys against known ID numbers.

`config/wsgi.py` runs the same checks when the web application starts, so gunicorn refuses to
serve with weak keys even if nobody ran `check`.
"""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from django.core.checks import Error, register

TAG = "keys"
DEVELOPMENT_SECRET_KEY = "dev-only-not-secret-3f9a1c7e5b2d4a6c8e0f1a2b3c4d5e6f"
DEMO_DONOR_ID_KEY = "bW9jay1rZXktZm9yLWRlbW8tYW5kLXRlc3RzLW9ubHk="
DEMO_DONOR_ID_HMAC_KEY = "demo-and-tests-only-hmac-key"
MIN_HMAC_KEY_BYTES = 32
MIN_SECRET_KEY_CHARS = 50


def _fernet_key_bytes(key: str) -> bytes | None:
    """The 32 bytes a Fernet key stands for, however it is padded or spaced; None if it is not one."""
    text = "".join(str(key).split())
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


@register(TAG)
def check_keys(app_configs=None, **kwargs) -> list[Error]:
    if not getattr(settings, "REQUIRE_STRONG_KEYS", False):
        return []
    errors = []
    secret = settings.SECRET_KEY or ""
    if secret == DEVELOPMENT_SECRET_KEY or len(secret) < MIN_SECRET_KEY_CHARS or len(set(secret)) < 5:
        errors.append(
            Error(
                "DJANGO_SECRET_KEY is the development key or too short: the demo keys are public.",
                hint=f"Set DJANGO_SECRET_KEY to at least {MIN_SECRET_KEY_CHARS} random characters.",
                id="core.E001",
            )
        )
    fernet = _fernet_key_bytes(settings.DONOR_ID_KEY or "")
    if fernet is None:
        errors.append(
            Error(
                "DONOR_ID_KEY is not a Fernet key (32 bytes, URL-safe base64).",
                hint='Generate one: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"',
                id="core.E002",
            )
        )
    elif fernet == _fernet_key_bytes(DEMO_DONOR_ID_KEY):
        errors.append(
            Error(
                "DONOR_ID_KEY is the demo key: the demo keys are public.",
                hint="Generate a Fernet key for this installation and keep it safe (docs/deploy.md).",
                id="core.E003",
            )
        )
    hmac_key = (settings.DONOR_ID_HMAC_KEY or "").encode()
    if hmac_key.strip() == DEMO_DONOR_ID_HMAC_KEY.encode() or len(hmac_key) < MIN_HMAC_KEY_BYTES:
        errors.append(
            Error(
                f"DONOR_ID_HMAC_KEY is empty, the demo key or shorter than {MIN_HMAC_KEY_BYTES} bytes: "
                "the demo keys are public, and a short key can be found by trying ID numbers.",
                hint='Generate one: python -c "import secrets; print(secrets.token_urlsafe(48))"',
                id="core.E004",
            )
        )
    return errors
