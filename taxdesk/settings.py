"""TaxDesk settings, read from the environment.

The embedded default (``TAXDESK_MODE=demo``) needs no variable at all: SQLite under ``var/``,
jobs run in-process, a secret key generated once into ``var/``. ``TAXDESK_MODE=production``
refuses to start on a missing secret key, ``DEBUG`` on, or any value it cannot parse, and
names the variable at fault.
"""

from __future__ import annotations

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
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
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
    "taxdesk.home",
    "taxdesk.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
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
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "home:home"
LOGOUT_REDIRECT_URL = "core:login"

# Failed logins: after this many failures for one user name within the window, the name is
# refused until the window has passed (counted from the audit trail, so all processes agree).
LOGIN_FAILURE_LIMIT = env_int("TAXDESK_LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_FAILURE_WINDOW_MINUTES = env_int("TAXDESK_LOGIN_FAILURE_WINDOW_MINUTES", 15, minimum=1)

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


def _xstatic_dirs() -> list[tuple[str, str]]:
    import xstatic.pkg.bootstrap

    return [("bootstrap", xstatic.pkg.bootstrap.BASE_DIR)]


STATICFILES_DIRS = [BASE_DIR / "taxdesk" / "static", *_xstatic_dirs()]

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL is not None and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise _bad("REDIS_URL", f"{REDIS_URL!r} must start with redis://, rediss:// or unix://")

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
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
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min"},
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

# Production hardening (manage.py check --deploy passes in production mode).
if PRODUCTION:
    HTTPS = env_bool("TAXDESK_HTTPS", True)
    SECURE_SSL_REDIRECT = HTTPS
    SESSION_COOKIE_SECURE = HTTPS
    CSRF_COOKIE_SECURE = HTTPS
    SECURE_HSTS_SECONDS = env_int("TAXDESK_HSTS_SECONDS", 31536000 if HTTPS else 0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
    SECURE_HSTS_PRELOAD = HTTPS
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("TAXDESK_LOG_LEVEL", "INFO")},
}
