"""Settings for the blood-donation quota portal, read from the environment (django-environ).

`DATABASE_URL` (default: an SQLite file in the project), `DJANGO_SECRET_KEY`, `DJANGO_DEBUG`,
`DJANGO_ALLOWED_HOSTS`, `DONOR_ID_KEY` (Fernet key for donors' ID numbers) and
`DONOR_ID_HMAC_KEY` (keyed hash for look-ups). `config.settings_production` tightens these.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-not-secret-3f9a1c7e5b2d4a6c8e0f1a2b3c4d5e6f")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "import_export",
    "axes",
    "simple_history",
    "django_tasks",
    "django_tasks_db",
    "core",
    "units",
    "quotas",
    "campaigns",
    "stations",
    "ops",  # backup and restore, recounts, demo data: over every app
    "bench",  # benchmark commands; left out of the production settings
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.PortalLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Audit trail: the signed-in user becomes the author of every recorded change.
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: turns the failed-login lockout into a response.
    "axes.middleware.AxesMiddleware",
]

# Audit trail (django-simple-history): change reasons name whole files and batches, so no limit.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
# History is a record, not an undo button: a revert would bypass the donor rules and the import.
SIMPLE_HISTORY_REVERT_DISABLED = True

SESSION_ENGINE = "config.sessions"  # database sessions, read in plain SQL

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out username/address before checking
    # ModelBackend, reading the signed-in user and their role in one query on every request.
    "config.backends.PortalBackend",
]

# Failed logins (django-axes, core.lockout): five wrong passwords for one username from one
# address lock that pair for 15 minutes, and twenty from one address, whatever the user names,
# lock the address (a password sprayed across many accounts); a successful login resets the
# pair's count.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_ADDRESS_FAILURE_LIMIT = env.int("AXES_ADDRESS_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_PARAMETER_FAILURE_LIMITS = [AXES_FAILURE_LIMIT, AXES_ADDRESS_FAILURE_LIMIT]  # one per parameter above
AXES_HANDLER = "core.lockout.PortalLockoutHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# The client address (django-ipware). AXES_PROXY_COUNT is the number of reverse proxies in front
# of the portal that append the address they see to X-Forwarded-For (nginx with
# $proxy_add_x_forwarded_for: 1). The client is then the entry that many places from the end:
# whatever a client writes into the header itself stays to the left and is never used. With 0
# (no proxy: runserver, tests) the header is ignored and REMOTE_ADDR is the client.
PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)
AXES_IPWARE_PROXY_ORDER = "left-most"
AXES_IPWARE_PROXY_COUNT = max(PROXY_COUNT - 1, 0)  # ipware counts the proxies listed in the header
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if PROXY_COUNT else ["REMOTE_ADDR"]
IPWARE_STRICT = False  # more entries than proxies: a client-written prefix, ignored (not a reason to give up)

# Content-Security-Policy (django-csp): no inline script anywhere; charts read their data from
# json_script elements. Styles allow inline attributes (the admin's widgets set them).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections: opening a PostgreSQL connection per request costs more than the request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})
if "postgresql" in DATABASES["default"]["ENGINE"]:
    # JIT compilation costs ~0.6 s on the dashboard's large aggregates (its cost estimates trip
    # jit_above_cost) and gains nothing on this workload: measured with bench_dashboard.
    # random_page_cost 1.1 (SSD, data in memory; the default 4 assumes spinning disks) lets the
    # planner look up a few hundred stale plans' members and tally rows by index instead of
    # hashing the whole year: measured with bench_dashboard (busy view).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off -c random_page_cost=1.1")
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # The verified-donation index's INCLUDE column (migration 0023) is PostgreSQL's covering
    # index; SQLite (the demo, the tests) builds the same partial index without it, as Django
    # warns. Nothing to act on there.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = False  # grouped where a page asks (intcomma), not in forms
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Uploads: notice attachments and rosters. The form enforces the limit; Django keeps larger
# uploads on disk rather than in memory.
NOTICE_UPLOAD_MAX_BYTES = env.int("NOTICE_UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
# Every upload is parsed in a child process with these limits (core.sandbox): address space
# above the child's start, and CPU seconds (twice that of wall time, then it is killed).
UPLOAD_PARSE_MEMORY_MB = env.int("UPLOAD_PARSE_MEMORY_MB", default=1024)
UPLOAD_PARSE_CPU_SECONDS = env.int("UPLOAD_PARSE_CPU_SECONDS", default=60)
# A previewed upload waits this long for its confirmation (core.uploads), then is purged.
UPLOAD_STAGING_HOURS = env.int("UPLOAD_STAGING_HOURS", default=24)
# Background tasks (django-tasks): a scanned notice is read by OCR outside the request
# (quotas.tasks), queued in the database and run by `manage.py db_worker` (docs/deploy.md;
# `make run` starts one beside the server). TASKS_BACKEND=django_tasks.backends.immediate.
# ImmediateBackend runs each task inside the request instead (the tests do): no worker needed,
# no progress seen.
TASKS = {"default": {"BACKEND": env("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")}}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# django-import-export: a view-only user must not import.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
# The library's escaping strips a leading "=" (lossy); quotas.resources escapes = + - @ tab CR
# with an apostrophe and unescapes on import instead.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = False

# Donors' ID numbers: encrypted at rest (Fernet) with a keyed hash for look-ups. The defaults
# are for the demo and tests only; production settings refuse to start without real keys.
DONOR_ID_KEY = env("DONOR_ID_KEY", default="bW9jay1rZXktZm9yLWRlbW8tYW5kLXRlc3RzLW9ubHk=")
DONOR_ID_HMAC_KEY = env("DONOR_ID_HMAC_KEY", default="demo-and-tests-only-hmac-key")

# Donor rules (GB 18467-2011); local rules differ, so each interval is a setting (days).
# The most quotas of stale plans one dashboard view recomputes itself (~0.1 s of work, measured
# with bench_dashboard); beyond it the page shows the last kept figures with their time, and
# `manage.py refresh_figures` (every minute) brings them up to date. docs/performance.md.
DASHBOARD_RECOMPUTE_QUOTAS = env.int("DASHBOARD_RECOMPUTE_QUOTAS", default=5000)
# The same for the jurisdictions' monthly sums (from the tally), in jurisdictions.
DASHBOARD_RECOMPUTE_JURISDICTIONS = env.int("DASHBOARD_RECOMPUTE_JURISDICTIONS", default=500)
# Pages of the whole country and of jurisdictions at this level or above (1: provinces) are
# computed once for the leaders who open them at the same moment (core.shared; PostgreSQL);
# 0: every reader computes its page (bench_dashboard compares the two).
DASHBOARD_SHARED_LEVEL = env.int("DASHBOARD_SHARED_LEVEL", default=1)

DONOR_RULES = {
    "MIN_AGE": 18,
    "MAX_AGE": 60,
    "WARN_AGE": 55,
    "WHOLE_BLOOD_INTERVAL_DAYS": env.int("RULE_WHOLE_BLOOD_INTERVAL_DAYS", default=182),
    "PLATELET_INTERVAL_DAYS": env.int("RULE_PLATELET_INTERVAL_DAYS", default=14),
    "PLATELETS_PER_YEAR": env.int("RULE_PLATELETS_PER_YEAR", default=24),
    "PLATELET_TO_WHOLE_DAYS": env.int("RULE_PLATELET_TO_WHOLE_DAYS", default=28),
    "WHOLE_TO_PLATELET_DAYS": env.int("RULE_WHOLE_TO_PLATELET_DAYS", default=91),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="WARNING")},
}
