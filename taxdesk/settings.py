"""TaxDesk settings, read from the environment.

The embedded default (``TAXDESK_MODE=demo``) needs no variable at all: SQLite under ``var/``,
jobs run in-process, a secret key generated once into ``var/``. ``TAXDESK_MODE=production``
refuses to start on a missing secret key, ``DEBUG`` on, or any value it cannot parse, and
names the variable at fault.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TAXDESK_VAR_DIR", BASE_DIR / "var"))

MODES = ("demo", "production")


def _bad(name: str, why: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}: {why}")


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise _bad(name, f"{value!r} is not a boolean; use true or false")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise _bad(name, f"{value!r} is not a whole number") from None
    if number < minimum:
        raise _bad(name, f"{number} is below the minimum {minimum}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


MODE = env_str("TAXDESK_MODE", "demo")
if MODE not in MODES:
    raise _bad("TAXDESK_MODE", f"{MODE!r} is not one of {', '.join(MODES)}")
PRODUCTION = MODE == "production"

DEBUG = env_bool("TAXDESK_DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise _bad("TAXDESK_DEBUG", "DEBUG must be off in production mode")


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key is not None:
        if PRODUCTION and (len(key) < 50 or len(set(key)) < 5):
            raise _bad("SECRET_KEY", "must be at least 50 characters with 5 distinct ones")
        return key
    if PRODUCTION:
        raise _bad("SECRET_KEY", "is required in production mode")
    # The embedded default keeps a key generated once, so sessions survive a restart.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        # Several processes may start at once (gunicorn's workers, the test suite's): each
        # writes its own file, then links it into place; the first link wins, and every
        # process reads the winner's whole key, never a half-written file.
        draft = VAR_DIR / f".secret_key.{os.getpid()}"
        draft.write_text(secrets.token_urlsafe(64))
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise _bad("ALLOWED_HOSTS", "is required in production mode (comma-separated host names)")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise _bad("CSRF_TRUSTED_ORIGINS", f"{_origin!r} must start with http:// or https://")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "taxdesk.core",
    "taxdesk.workdays",
    "taxdesk.clocks",
    "taxdesk.customers",
    "taxdesk.devices",
    "taxdesk.billing",
    "taxdesk.sales",
    "taxdesk.imports",
    "taxdesk.notifications",
    "taxdesk.home",
    "taxdesk.demo",
    "taxdesk.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "taxdesk.core.middleware.ChineseByDefaultMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "taxdesk.core.middleware.AuditContextMiddleware",
    "taxdesk.core.middleware.IdleSessionMiddleware",
]

ROOT_URLCONF = "taxdesk.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "taxdesk" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "taxdesk.core.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "taxdesk.wsgi.application"


def _database() -> dict:
    url = env_str("DATABASE_URL")
    if url is None:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "taxdesk.sqlite3",
            "OPTIONS": {
                # A web server's SQLite: concurrent readers (WAL), writers wait instead of
                # failing at once, and a transaction takes the write lock when it begins.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                # Pages are read through a memory map (no read call per page) and each
                # connection keeps 64 MiB of them parsed: a register of a million taxpayers
                # answers as fast as a small one.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                    "PRAGMA mmap_size=2147483648; PRAGMA cache_size=-65536;"
                ),
            },
            "TEST": {"NAME": None},
        }
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # the library raises several kinds; all mean the same here
        raise _bad("DATABASE_URL", f"cannot be parsed ({exc})") from None
    if not config.get("ENGINE"):
        raise _bad("DATABASE_URL", "names no database engine")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config.setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = ["taxdesk.core.auth.ThrottledModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A session without a request for this long is signed out (users without a service unit;
# each unit sets its own, ServiceUnit.session_idle_minutes).
SESSION_IDLE_MINUTES = env_int("TAXDESK_SESSION_IDLE_MINUTES", 30, minimum=5)
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "home:home"
LOGOUT_REDIRECT_URL = "core:login"

# Failed logins (taxdesk/core/auth.py): after LOGIN_FAILURE_LIMIT failures of one user name from
# one address, that name is refused from that address; after LOGIN_ADDRESS_FAILURE_LIMIT
# failures from one address, whatever the names, the address is refused. Each lock ends when
# the window has passed since the last counted attempt.
LOGIN_FAILURE_LIMIT = env_int("TAXDESK_LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("TAXDESK_LOGIN_ADDRESS_FAILURE_LIMIT", 20, minimum=1)
LOGIN_FAILURE_WINDOW_MINUTES = env_int("TAXDESK_LOGIN_FAILURE_WINDOW_MINUTES", 15, minimum=1)


def _trusted_proxies() -> list[str]:
    networks = []
    for item in env_list("TAXDESK_TRUSTED_PROXIES", []):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            why = f"{item!r} is not an address or network"
            raise _bad("TAXDESK_TRUSTED_PROXIES", why) from None
    return networks


# The client's address is REMOTE_ADDR, unless that is one of these proxies: then it is read
# from X-Forwarded-For, right to left, up to the first address that is not a trusted proxy.
TRUSTED_PROXIES = _trusted_proxies()

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "taxdesk" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise looks here at start-up
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"

# Where `manage.py backup` writes its archives (docs/operations.md): copy them off the machine.
BACKUP_DIR = Path(env_str("TAXDESK_BACKUP_DIR") or VAR_DIR / "backups")


def _xstatic_dirs() -> list[tuple[str, str]]:
    import xstatic.pkg.bootstrap

    return [("bootstrap", xstatic.pkg.bootstrap.BASE_DIR)]


STATICFILES_DIRS = [BASE_DIR / "taxdesk" / "static", *_xstatic_dirs()]

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL is not None and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise _bad("REDIS_URL", f"{REDIS_URL!r} must start with redis://, rediss:// or unix://")

# The cache holds the API's throttle counts, which every server process must share: Redis
# when there is one; in production without it, files under TAXDESK_VAR_DIR (shared by the
# gunicorn workers of one machine); in the embedded default (one process), memory.
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
elif PRODUCTION:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background jobs: Celery with Redis in a deployment; in the embedded default the jobs run
# in-process (eagerly) so nothing has to be installed.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
# With a worker (REDIS_URL): `celery -A taxdesk beat` sends messages due for another attempt
# every minute; without one, cron runs `manage.py send_due_messages` (docs/operations.md).
CELERY_BEAT_SCHEDULE = {
    "notifications-retry-due": {
        "task": "taxdesk.notifications.tasks.retry_due",
        "schedule": 60.0,
    },
}

# Messages (taxdesk.notifications). SMS: kept in the database and marked sent (nothing leaves
# the machine) unless TAXDESK_SMS_URL names an HTTP provider. E-mail: kept likewise unless
# EMAIL_BACKEND or EMAIL_HOST is set, then sent through Django's e-mail backends.
TAXDESK_SMS_URL = env_str("TAXDESK_SMS_URL")
TAXDESK_SMS_KEY = env_str("TAXDESK_SMS_KEY", "")
TAXDESK_SMS_SIGNATURE = env_str("TAXDESK_SMS_SIGNATURE", "")
TAXDESK_SMS_TIMEOUT = env_int("TAXDESK_SMS_TIMEOUT", 10, minimum=1)
if TAXDESK_SMS_URL is not None:
    if not TAXDESK_SMS_URL.startswith(("http://", "https://")):
        raise _bad("TAXDESK_SMS_URL", f"{TAXDESK_SMS_URL!r} must start with http:// or https://")
    if not TAXDESK_SMS_KEY:
        raise _bad("TAXDESK_SMS_KEY", "is required with TAXDESK_SMS_URL")
    if not TAXDESK_SMS_SIGNATURE:
        raise _bad("TAXDESK_SMS_SIGNATURE", "is required with TAXDESK_SMS_URL (e.g. 【某某税控】)")
NOTIFICATIONS_SMS_BACKEND = "http" if TAXDESK_SMS_URL else "stored"

EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise _bad("EMAIL_USE_SSL", "EMAIL_USE_TLS and EMAIL_USE_SSL exclude each other")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "taxdesk@localhost")
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
NOTIFICATIONS_EMAIL_BACKEND = (
    "django" if env_str("EMAIL_BACKEND") or env_str("EMAIL_HOST") else "stored"
)

# A worker process that grew beyond this after a task is replaced by a fresh one (KiB).
CELERY_WORKER_MAX_MEMORY_PER_CHILD = (
    env_int("TAXDESK_WORKER_MAX_MEMORY_MB", 1024, minimum=64) * 1024
)

# Imports: what an uploaded .xlsx may hold; beyond it the job fails before or while the file is
# read (docs/decisions/0006-upload-limits.md). A 100,000-row taxpayer file unpacks to 89 MB.
IMPORTS_MAX_UNPACKED_MB = env_int("TAXDESK_IMPORT_MAX_UNPACKED_MB", 400, minimum=1)
IMPORTS_MAX_PART_MB = env_int("TAXDESK_IMPORT_MAX_PART_MB", 300, minimum=1)
IMPORTS_MAX_SHARED_STRINGS_MB = env_int("TAXDESK_IMPORT_MAX_SHARED_STRINGS_MB", 64, minimum=1)
IMPORTS_MAX_SHARED_STRINGS = env_int("TAXDESK_IMPORT_MAX_SHARED_STRINGS", 1_000_000, minimum=1)
IMPORTS_MAX_STYLES = env_int("TAXDESK_IMPORT_MAX_STYLES", 64_000, minimum=1)
IMPORTS_MAX_ROWS = env_int("TAXDESK_IMPORT_MAX_ROWS", 300_000, minimum=1)
IMPORTS_MAX_COLUMNS = env_int("TAXDESK_IMPORT_MAX_COLUMNS", 1_000, minimum=1)
# Each run (the check, then the import) stops after this; Celery's limits follow it.
IMPORTS_TIME_LIMIT_SECONDS = env_int("TAXDESK_IMPORT_TIME_LIMIT_MINUTES", 30, minimum=1) * 60

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "taxdesk.core.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "taxdesk.core.api.errors.exception_handler",
    # "sign-in": API token requests per client address (taxdesk/core/api/throttling.py).
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "sign-in": "10/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "TaxDesk API",
    "DESCRIPTION": (
        "The API of TaxDesk (税控服务综合管理系统). Every list is scoped to the caller: a "
        "record outside the caller's scope answers 404. Errors have one shape: "
        '`{"error": {"code": ..., "message": ..., "fields": {...}}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs are for signed-in callers only, in every mode.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "taxdesk.core.api.schema.forbid_unknown_fields",
    ],
    # One schema name per choice set, whatever the field is called.
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "taxdesk.core.choices.Role",
        "AuditActionEnum": "taxdesk.core.choices.AuditAction",
        "ClockKindEnum": "taxdesk.clocks.choices.ClockKind",
        "ClockStatusEnum": "taxdesk.clocks.choices.ClockStatus",
        "PauseReasonEnum": "taxdesk.clocks.choices.PauseReason",
        "TaxpayerStatusEnum": "taxdesk.customers.choices.TaxpayerStatus",
        "TaxpayerTypeEnum": "taxdesk.customers.choices.TaxpayerType",
        "InvoiceTypeEnum": "taxdesk.customers.choices.InvoiceType",
        "ContactRoleEnum": "taxdesk.customers.choices.ContactRole",
        "ChangeKindEnum": "taxdesk.customers.choices.ChangeKind",
        "DeviceTypeEnum": "taxdesk.devices.choices.DeviceType",
        "DeviceStatusEnum": "taxdesk.devices.choices.DeviceStatus",
        "RepairCauseEnum": "taxdesk.devices.choices.RepairCause",
        "FeeKindEnum": "taxdesk.billing.choices.FeeKind",
        "ChargeKindEnum": "taxdesk.billing.choices.ChargeKind",
        "PaymentStateEnum": "taxdesk.billing.choices.PaymentState",
        "ContractStateEnum": "taxdesk.billing.choices.ContractState",
    },
}

# Production hardening (manage.py check --deploy passes in production mode). Two ways to serve:
# TAXDESK_HTTPS=true (the default), behind a proxy that ends TLS and sets X-Forwarded-Proto:
# secure cookies, HSTS, a redirect to https; TAXDESK_HTTPS=false, plain HTTP inside a closed
# network: cookies a browser sends over HTTP, no HSTS or redirect, and exactly the four checks
# that only HTTPS can pass silenced (HSTS W004, redirect W008, secure session cookie W012,
# secure CSRF cookie W016); every other deployment check still applies.
HTTPS_ONLY_CHECKS = ["security.W004", "security.W008", "security.W012", "security.W016"]
if PRODUCTION:
    HTTPS = env_bool("TAXDESK_HTTPS", True)
    SECURE_SSL_REDIRECT = HTTPS
    SESSION_COOKIE_SECURE = HTTPS
    CSRF_COOKIE_SECURE = HTTPS
    SECURE_HSTS_SECONDS = env_int("TAXDESK_HSTS_SECONDS", 31536000 if HTTPS else 0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
    SECURE_HSTS_PRELOAD = HTTPS
    if HTTPS:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    else:
        SILENCED_SYSTEM_CHECKS = HTTPS_ONLY_CHECKS
SECURE_CONTENT_TYPE_NOSNIFF = True
# The pages' Content-Security-Policy (django-csp): everything from TaxDesk itself, no inline
# script or style anywhere (scripts are static files); data: images for Bootstrap's icons. The
# API docs (Swagger UI) relax styles on that one view (taxdesk/api_urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("TAXDESK_LOG_LEVEL", "INFO")},
}
