"""Production settings: everything from the environment, HTTPS behind nginx, nothing defaulted
that must be secret. Use with `DJANGO_SETTINGS_MODULE=config.settings_production` (docs/deploy.md).

`python manage.py check --deploy` with these settings prints no warning
(tests/test_deploy.py runs it).
"""

from .settings import *  # noqa: F403
from .settings import BASE_DIR, INSTALLED_APPS, STORAGES, env

# The benchmark commands (bench_*, generate_scale_data) are not part of a production install.
INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "bench"]

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")  # no default: refuse to start without one
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[f"https://{h}" for h in ALLOWED_HOSTS])

DONOR_ID_KEY = env("DONOR_ID_KEY")
DONOR_ID_HMAC_KEY = env("DONOR_ID_HMAC_KEY")
# System checks (core.checks) refuse the development secret key, the demo Fernet key however it
# is written, and an empty, demo or short (< 32 bytes) HMAC key: `check` and `migrate` fail, and
# config/wsgi.py refuses to start.
REQUIRE_STRONG_KEYS = True

# HTTPS: nginx terminates TLS and sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_SECONDS", default=8 * 3600)  # one working day
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"

# The client address for django-axes comes from nginx's X-Forwarded-For (one proxy by default).
PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=1)
AXES_IPWARE_PROXY_COUNT = max(PROXY_COUNT - 1, 0)
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if PROXY_COUNT else ["REMOTE_ADDR"]

# Static files: hashed names, compressed, served by whitenoise from STATIC_ROOT (collectstatic).
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
STATIC_ROOT = env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
