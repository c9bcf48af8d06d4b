"""Settings for kalabarg, read from the environment (django-environ).

With no environment at all the project runs its *embedded default*: a SQLite file, Celery
tasks executed eagerly in-process, a local-memory cache and the console SMS backend. Setting
``DATABASE_URL``, ``REDIS_URL`` / ``CELERY_BROKER_URL`` and ``SMS_BACKEND`` switches to the
real services. Every variable is listed in ``.env.example``; a malformed value stops start-up
with ``ImproperlyConfigured`` instead of being silently ignored.

One module on purpose (about 600 lines): Django reads one settings module, and every value here
is read from the environment and checked in the same few helpers; splitting it by topic would
scatter the checks that make a bad deployment refuse to start.
"""

import ipaddress
from pathlib import Path
from urllib.parse import urlparse

import environ
from django.core.exceptions import ImproperlyConfigured
from pghistory import config as pghistory_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = BASE_DIR / ".env"
if _env_file.exists():
    env.read_env(str(_env_file))


def _bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="1" if default else "0").strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def _int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.str(name, default=str(default)).strip()
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from exc
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def _url(name: str, default: str, *, schemes: set[str]) -> str:
    raw = env.str(name, default=default).strip()
    parsed = urlparse(raw)
    if parsed.scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ImproperlyConfigured(f"{name} must be a URL with scheme {allowed}; got {raw!r}")
    return raw


DEBUG = _bool("DEBUG", default=False)
# The embedded default (SQLite, DEBUG) runs on these development keys; a production start (DEBUG
# off on PostgreSQL) refuses them — see _require_production_key at the end of this file.
_DEVELOPMENT_SECRET_KEY = "kalabarg-insecure-development-key-change-me"  # noqa: S105 - refused in production
_DEVELOPMENT_CARD_HASH_KEY = "kalabarg-insecure-development-card-hash-key-change-me"
SECRET_KEY = env.str("SECRET_KEY", default="")
# Keyed hash for bank-card look-ups and payment codes: its own key, so that rotating SECRET_KEY
# (sessions, signed values) never orphans the stored card hashes. Changing it invalidates them.
CARD_HASH_KEY = env.str("CARD_HASH_KEY", default="")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "kalabarg.lib",
    "approvals",
    "households",
    "stores",
    "settlements",
    "notifications",
    "kalabarg.portal",
    "kalabarg.backoffice",
    "kalabarg.audit",
    "kalabarg.figures",
    "devdata",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kalabarg.urls"
WSGI_APPLICATION = "kalabarg.wsgi.application"
ASGI_APPLICATION = "kalabarg.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kalabarg.portal.context_processors.site",
            ],
            "builtins": ["kalabarg.lib.templatetags.persian"],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = _url(
    "DATABASE_URL",
    default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
    schemes={"sqlite", "postgres", "postgresql", "pgsql"},
)
DATABASE_PREPARED_STATEMENTS = _bool("DATABASE_PREPARED_STATEMENTS", True)
# "transaction": DATABASE_URL is PgBouncer (or another pooler) in transaction mode, so a server
# connection is ours only for one transaction: no server-side cursors, and the hot path's
# statements are prepared by name on whichever server connection runs them (kalabarg/lib/hot_sql.py,
# docs/decisions.md "Connection pooling and a read replica"). "none": PostgreSQL directly.
DATABASE_POOL_MODE = env.str("DATABASE_POOL_MODE", default="none").strip() or "none"
if DATABASE_POOL_MODE not in {"none", "transaction"}:
    raise ImproperlyConfigured(
        f"DATABASE_POOL_MODE must be none or transaction; got {DATABASE_POOL_MODE!r}"
    )
# A streaming replica for the read-only pages (kalabarg/lib/replica.py); empty: every read on
# DATABASE_URL. Reads go there only inside an explicit read-only scope, never writes.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="").strip()
# After a replica failure the read-only pages read the primary for this long before trying again.
DATABASE_REPLICA_RETRY_SECONDS = _int("DATABASE_REPLICA_RETRY_SECONDS", 30, minimum=1)
# A replica that does not answer a connection attempt within this many seconds counts as down.
DATABASE_REPLICA_CONNECT_TIMEOUT = _int("DATABASE_REPLICA_CONNECT_TIMEOUT", 2, minimum=1)
# On PostgreSQL a card purchase is written by one call of the checkout_record_purchase function
# (settlements/sql/checkout_record_purchase.sql); 0 writes it from Python instead, in the same steps (slower).
CHECKOUT_IN_ONE_CALL = _bool("CHECKOUT_IN_ONE_CALL", True)
try:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
except Exception as exc:  # django-environ raises several types for a bad URL
    raise ImproperlyConfigured(f"DATABASE_URL is malformed: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = _int("DB_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})
    # Django's own cursors never prepare; the POS hot path's fixed statements do (see
    # kalabarg/lib/hot_sql.py): by the protocol on a direct connection, by name through a
    # transaction-mode pooler (DATABASE_POOL_MODE=transaction), where psycopg must never prepare
    # on its own (its statement names are per client connection, the pooler's server connections
    # are shared).
    if DATABASE_PREPARED_STATEMENTS and DATABASE_POOL_MODE == "none":
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5
    else:
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
    if DATABASE_POOL_MODE == "transaction":
        # A named cursor outlives its transaction's server connection (Django's docs, "Transaction
        # pooling and server-side cursors").
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    # Default test database: "test_<name>", so runs against different databases never collide.
    if env.str("TEST_DATABASE_NAME", default=""):
        DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}
else:
    # SQLite: wait for a writer instead of failing at once ("database is locked").
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if DATABASE_POOL_MODE != "none" and not IS_POSTGRES:
    raise ImproperlyConfigured("DATABASE_POOL_MODE needs a PostgreSQL DATABASE_URL")
if DATABASE_REPLICA_URL:
    if not IS_POSTGRES:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs a PostgreSQL DATABASE_URL")
    _url("DATABASE_REPLICA_URL", DATABASE_REPLICA_URL, schemes={"postgres", "postgresql", "pgsql"})
    try:
        _replica = env.db_url_config(DATABASE_REPLICA_URL)
    except Exception as exc:  # django-environ raises several types for a bad URL
        raise ImproperlyConfigured(f"DATABASE_REPLICA_URL is malformed: {exc}") from exc
    # The primary's engine options; the replica is always reached directly (no hot-path statement
    # runs there), and fails fast so that a read-only page can fall back to the primary.
    DATABASES["replica"] = {
        **_replica,
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            **DATABASES["default"]["OPTIONS"],
            **_replica.get("OPTIONS", {}),
            "connect_timeout": DATABASE_REPLICA_CONNECT_TIMEOUT,
        },
        # Tests: the replica's test database is the primary's (its NAME follows default's test
        # database): the ordinary suite reads the same rows through the second alias, and against
        # a real replica (tests/infra) the name is the one replicated from the primary.
        "TEST": {"MIRROR": "default"},
    }
# Reads go to the replica only inside kalabarg.lib.replica's read-only scope; otherwise (and
# without a replica) everything is on "default".
DATABASE_ROUTERS = ["kalabarg.lib.replica.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery -----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="").strip()
if REDIS_URL:
    _url("REDIS_URL", REDIS_URL, schemes={"redis", "rediss"})
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="kalabarg"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL).strip()
if CELERY_BROKER_URL:
    _url("CELERY_BROKER_URL", CELERY_BROKER_URL, schemes={"redis", "rediss", "amqp", "memory"})
# Without a broker, tasks run eagerly in the calling process (the embedded default).
CELERY_TASK_ALWAYS_EAGER = _bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="").strip() or None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "Asia/Tehran"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_TIME_LIMIT = _int("CELERY_TASK_TIME_LIMIT", 30 * 60, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = _int("CELERY_TASK_SOFT_TIME_LIMIT", 25 * 60, minimum=1)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Redis redelivers a task whose worker died without acking after this long; it must exceed the
# longest task (CELERY_TASK_TIME_LIMIT). Chunks are idempotent, so a redelivery is harmless.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _int("CELERY_VISIBILITY_TIMEOUT", 2 * 60 * 60, minimum=60)
}

# A running batch run (credit charge, bonus sweep, expiry) quiet this long while no batch node
# finished any chunk lost chunks with a dead worker node: the beat's ``resume_stalled_runs``
# queues them again. The same for a campaign's outbox build and its build chunks (``sms_kick``,
# ``notifications.services.stalls``). Must exceed the longest chunk of either (seconds at
# 50,000 households, docs/benchmarks.md); the broker's own redelivery (the visibility timeout
# above) takes hours.
RUN_STALL_SECONDS = _int("RUN_STALL_SECONDS", 5 * 60, minimum=1)
# The money tables' month partitions (settlements.services.partitions): how many months after
# the current one the beat keeps created, and how many before it stay attached (older ones may be
# detached for archive).
LEDGER_MONTHS_AHEAD = _int("LEDGER_MONTHS_AHEAD", 3, minimum=1)
LEDGER_ATTACHED_MONTHS = _int("LEDGER_ATTACHED_MONTHS", 24, minimum=1)

# --- SMS --------------------------------------------------------------------------------------
SMS_BACKEND = env.str("SMS_BACKEND", default="console").strip()
if SMS_BACKEND not in {"console", "memory", "http"}:
    raise ImproperlyConfigured(f"SMS_BACKEND must be console, memory or http; got {SMS_BACKEND!r}")
SMS_SENDER = env.str("SMS_SENDER", default="کالابرگ")
SMS_HTTP_URL = env.str("SMS_HTTP_URL", default="")
SMS_HTTP_API_KEY = env.str("SMS_HTTP_API_KEY", default="")
SMS_HTTP_TIMEOUT_SECONDS = _int("SMS_HTTP_TIMEOUT_SECONDS", 10, minimum=1)
if SMS_BACKEND == "http" and not SMS_HTTP_URL:
    raise ImproperlyConfigured("SMS_HTTP_URL must be set when SMS_BACKEND=http")
# Messages per second across every dispatcher (a shared counter in the cache: Redis in production).
SMS_RATE_PER_SECOND = _int("SMS_RATE_PER_SECOND", 200, minimum=1)
# Messages per gateway call (capped by what the gateway accepts) and per claim.
SMS_BATCH_SIZE = _int("SMS_BATCH_SIZE", 100, minimum=1)
# Transient failures (timeouts, 5xx) are retried with exponential backoff up to this many attempts.
SMS_MAX_ATTEMPTS = _int("SMS_MAX_ATTEMPTS", 5, minimum=1)
SMS_RETRY_BASE_SECONDS = _int("SMS_RETRY_BASE_SECONDS", 30, minimum=1)
SMS_RETRY_MAX_SECONDS = _int("SMS_RETRY_MAX_SECONDS", 3600, minimum=1)
# A message claimed by a dispatcher stays "sending" this long; after it, another may claim it.
# Must exceed the longest gateway call (SMS_HTTP_TIMEOUT_SECONDS times a few bisection calls).
SMS_LEASE_SECONDS = _int("SMS_LEASE_SECONDS", 300, minimum=1)
# A dispatch task sends for at most this long, then queues its own continuation.
SMS_DISPATCH_SLICE_SECONDS = _int("SMS_DISPATCH_SLICE_SECONDS", 60, minimum=1)
# Shared secret of the delivery-report webhook (header X-SMS-Webhook-Secret); empty refuses all.
SMS_WEBHOOK_SECRET = env.str("SMS_WEBHOOK_SECRET", default="")
# The Celery queue of every SMS task (tests point a private worker at their own queue).
SMS_QUEUE = env.str("SMS_QUEUE", default="sms").strip() or "sms"

# --- Store settlements -----------------------------------------------------------------------
# A settlement's cut-off must be at least this old, so every purchase before it has committed.
SETTLEMENT_CUTOFF_MIN_AGE_MINUTES = _int("SETTLEMENT_CUTOFF_MIN_AGE_MINUTES", 10, minimum=1)

# --- Money display ----------------------------------------------------------------------------
# Money is stored in rials; people see it in this unit (Iran has legislated a redenomination).
# The programme's support telephone number, shown as plain text in every page's footer.
SUPPORT_PHONE = env.str("SUPPORT_PHONE", default="").strip()
MONEY_DISPLAY_UNIT = env.str("MONEY_DISPLAY_UNIT", default="toman").strip()
if MONEY_DISPLAY_UNIT not in {"toman", "rial"}:
    raise ImproperlyConfigured(
        f"MONEY_DISPLAY_UNIT must be toman or rial; got {MONEY_DISPLAY_UNIT!r}"
    )

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "fa"
LANGUAGES = [("fa", "فارسی")]
TIME_ZONE = "Asia/Tehran"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where `collectstatic` writes (and WhiteNoise serves from); see the production block below.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = _int("SESSION_IDLE_SECONDS", 15 * 60, minimum=60)
SESSION_SAVE_EVERY_REQUEST = True  # makes SESSION_COOKIE_AGE an idle timeout
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
LOGIN_URL = "/admin/login/"

# Trusted proxies and login limits (issue 14). X-Forwarded-For is believed only from these
# direct peers (addresses or CIDR ranges, comma-separated): the per-IP login limits then count
# the real client, not the proxy (kalabarg.lib.client_address).
TRUSTED_PROXIES = [
    entry.strip()
    for entry in env.str("TRUSTED_PROXIES", default="127.0.0.1").split(",")
    if entry.strip()
]
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES must be IP addresses or networks, comma-separated; got {_proxy!r}"
        ) from _exc
# Wrong payment codes a terminal may send in an hour before its payment-code purchases are
# refused (429 payment_code_attempts_exceeded): 8 digits cannot be guessed 10 at a time.
PAYMENT_CODE_MAX_FAILURES_PER_HOUR = _int("PAYMENT_CODE_MAX_FAILURES_PER_HOUR", 10, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "kalabarg.lib.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kalabarg API",
    "DESCRIPTION": "POS checkout, store finder and household API of the electronic kalabarg.",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    # The default enum hook, then the OpenAPI links between operations (issue 14).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "kalabarg.api_links.add_links",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Request ids, JSON errors under /api/, structured logs (issue 14) --------------------------
# Outermost, so every answer (even another middleware's) carries X-Request-ID and, under /api/,
# the API's error shape instead of Django's HTML error pages.
MIDDLEWARE = [
    "kalabarg.lib.middleware.RequestIdMiddleware",
    "kalabarg.lib.middleware.ApiErrorsAsJsonMiddleware",
    *MIDDLEWARE,
]
# One JSON object a line (python-json-logger) when DEBUG is off, for the log shipper; plain text
# for a developer's console. Every line carries the request id and, in a worker, the task id.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json").strip()
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain; got {LOG_FORMAT!r}")
LOGGING["filters"] = {"context": {"()": "kalabarg.lib.logcontext.ContextFilter"}}
LOGGING["formatters"] = {
    "plain": {
        "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(task_id)s] %(message)s"
    },
    "json": {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(task_id)s",
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        "json_ensure_ascii": False,
    },
}
LOGGING["handlers"] = {
    "console": {
        "class": "logging.StreamHandler",
        "formatter": LOG_FORMAT,
        "filters": ["context"],
    }
}
# The API is documented as JSON: DRF's form parsers still take a form (the SMS gateway's
# delivery report documents its own), but the document promises JSON only (issue 14).
SPECTACULAR_SETTINGS["PARSER_WHITELIST"] = ["rest_framework.parsers.JSONParser"]
# Workers log through LOGGING above (not Celery's own format), so their lines are JSON too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Tests that need real services fail (instead of skipping) when this is set; CI sets it.
REQUIRE_SERVICES = _bool("REQUIRE_SERVICES", default=False)

# --- Production web (issue 14) ----------------------------------------------------------------
# Kept in one block so that other changes to the lists above merge cleanly. Every default here is
# the production-safe one; DEBUG (make demo) relaxes only what plain-HTTP development needs, and
# the test suite turns SECURE_SSL_REDIRECT off and uses plain static storage (tests/conftest.py).

# A production start is DEBUG off on PostgreSQL: it must bring its own keys.
_PRODUCTION = not DEBUG and IS_POSTGRES
_DEVELOPMENT_KEY_MARKERS = ("insecure", "change-me", "changeme", "development", "example")
_MINIMUM_KEY_LENGTH = 50


def _require_production_key(variable: str, value: str) -> None:
    where = "DEBUG is off and DATABASE_URL is PostgreSQL"
    if not value:
        raise ImproperlyConfigured(f"{variable} must be set: {where} (see .env.example)")
    if any(marker in value.lower() for marker in _DEVELOPMENT_KEY_MARKERS):
        raise ImproperlyConfigured(f"{variable} is a development value: {where}")
    if len(value) < _MINIMUM_KEY_LENGTH:
        raise ImproperlyConfigured(
            f"{variable} must be at least {_MINIMUM_KEY_LENGTH} characters: {where}"
        )


if _PRODUCTION:
    _require_production_key("SECRET_KEY", SECRET_KEY)
    _require_production_key("CARD_HASH_KEY", CARD_HASH_KEY)
    if CARD_HASH_KEY == SECRET_KEY:
        raise ImproperlyConfigured(
            "CARD_HASH_KEY must differ from SECRET_KEY: rotating SECRET_KEY would orphan card hashes"
        )
else:
    SECRET_KEY = SECRET_KEY or _DEVELOPMENT_SECRET_KEY
    CARD_HASH_KEY = CARD_HASH_KEY or _DEVELOPMENT_CARD_HASH_KEY

# Static files: WhiteNoise serves what `collectstatic` wrote (make up runs it), under hashed,
# compressed names cached for a year. Under DEBUG the storage hands out plain names, so
# `make demo` needs no collectstatic.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "whitenoise.middleware.WhiteNoiseMiddleware",
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Behind the reverse proxy, which terminates TLS and sets X-Forwarded-Proto (it must overwrite
# any value the client sent). The load balancer's health check stays on plain HTTP.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = _int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = _bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy (django-csp 4): only this origin's files; no inline script or style
# anywhere (templates use classes and static files), no framing, forms post only here.
MIDDLEWARE.append("csp.middleware.CSPMiddleware")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Officers' login (issue 14) ----------------------------------------------------------------
# The officers' admin login: lockout after repeated failures (django-axes), a TOTP second factor
# (django-otp) and password validators. Kept in one block, after the lists it extends, so that
# other settings can change without touching it. See docs/decisions.md, "Officers' login".
# The admin's AppConfig is swapped for one whose default site is OfficerAdminSite (the TOTP check).
INSTALLED_APPS[INSTALLED_APPS.index("django.contrib.admin")] = (
    "kalabarg.lib.officer_admin.OfficerAdminConfig"
)
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "axes"]
# OTPMiddleware needs request.user (after AuthenticationMiddleware); AxesMiddleware must be last
# so that it turns a locked-out login into the lockout page whatever the view returned.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
# Axes must come first: it refuses a locked-out login before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# An officer (staff user) must confirm a TOTP code from an enrolled device to use the admin.
# Off by default only under DEBUG (the demo); the login page then says it asks for the
# password only.
OFFICER_TOTP_REQUIRED = _bool("OFFICER_TOTP_REQUIRED", default=not DEBUG)
# The issuer shown by the authenticator app next to the officer's name (ASCII: some apps garble
# other scripts, and a shorter URL makes a QR code that fits a terminal).
OTP_TOTP_ISSUER = "Kalabarg"

# Five failures lock that username *from that address* for an hour: locking by username alone
# would let anyone lock every officer out; by address alone, a shared office NAT would lock a
# whole office. The TOTP code and the 12-character minimum are what stop spread-out guessing.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 1  # hour; the lockout page shows it in minutes
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A retry while locked out does not restart the hour, so the time the page gives stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "admin/officer_locked_out.html"
# REMOTE_ADDR for now; behind a proxy this becomes the shared client-address helper.
AXES_CLIENT_IP_CALLABLE = "kalabarg.lib.officer_auth.client_ip"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- The audit trail with values (issue 15) -----------------------------------------------------
# django-pghistory's database triggers record every change of the audited models (kalabarg.audit)
# with its old and new values, whoever made it: an officer, an import, a task or raw SQL. Kept
# in one block, after the lists it extends. See docs/decisions.md, "The audit trail".
INSTALLED_APPS += ["pgtrigger", "pghistory"]
# The triggers sit on the domain apps' tables, but those apps' migrations must not carry them:
# kalabarg.audit installs them after every migrate (only those missing or changed), instead of
# pgtrigger's migration operations in each app.
PGTRIGGER_MIGRATIONS = False
PGTRIGGER_INSTALL_ON_MIGRATE = False
# A snapshot's foreign keys are kept as plain ids, without an index each (the trail is searched by
# object, moment and officer; kalabarg.audit.models declares those indexes).
PGHISTORY_FOREIGN_KEY_FIELD = pghistory_config.ForeignKey(db_index=False)
# Who made a web change (officer, URL, request id): after OTPMiddleware, so request.user is the
# officer. The POS API is left out: its purchases touch no audited table (see the middleware).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1,
    "kalabarg.audit.middleware.AuditContextMiddleware",
)

# --- Store anomaly flags (issue 16) ------------------------------------------------------------
# The nightly job (settlements.services.anomalies) flags a store for an officer's review when a
# day's purchases show one of these patterns; a flag blocks nothing. See docs/decisions.md,
# "Store anomaly flags". Kept in one block so that other settings merge cleanly.
# A store's average basket at least this many times its province's other stores' average, once
# both the store and those stores have this many purchases in the period.
ANOMALY_BASKET_FACTOR = _int("ANOMALY_BASKET_FACTOR", 3, minimum=2)
ANOMALY_BASKET_MIN_PURCHASES = _int("ANOMALY_BASKET_MIN_PURCHASES", 20, minimum=1)
# This many purchases or more with one card (or one person's payment code) at one store in a day.
ANOMALY_CARD_PURCHASES_PER_DAY = _int("ANOMALY_CARD_PURCHASES_PER_DAY", 5, minimum=2)
# At least this percentage of a store's sales (rials) from its top ANOMALY_FEW_CARDS_COUNT cards,
# once the store has ANOMALY_FEW_CARDS_MIN_PURCHASES purchases in the period.
ANOMALY_FEW_CARDS_COUNT = _int("ANOMALY_FEW_CARDS_COUNT", 3, minimum=1)
ANOMALY_FEW_CARDS_SHARE_PERCENT = _int("ANOMALY_FEW_CARDS_SHARE_PERCENT", 50, minimum=1)
ANOMALY_FEW_CARDS_MIN_PURCHASES = _int("ANOMALY_FEW_CARDS_MIN_PURCHASES", 30, minimum=1)
# Night is [FROM_HOUR:00, TO_HOUR:00) Tehran time (it may wrap past midnight): at least
# MIN_PURCHASES purchases and SHARE_PERCENT of the store's purchases in those hours.
ANOMALY_NIGHT_FROM_HOUR = _int("ANOMALY_NIGHT_FROM_HOUR", 23)
ANOMALY_NIGHT_TO_HOUR = _int("ANOMALY_NIGHT_TO_HOUR", 5)
ANOMALY_NIGHT_MIN_PURCHASES = _int("ANOMALY_NIGHT_MIN_PURCHASES", 10, minimum=1)
ANOMALY_NIGHT_SHARE_PERCENT = _int("ANOMALY_NIGHT_SHARE_PERCENT", 30, minimum=1)
# Lines whose quantity is at least this percentage of the checkout's per-line limit and below
# it; a store with ANOMALY_UNDER_LIMIT_MIN_LINES such lines in the period is flagged.
ANOMALY_UNDER_LIMIT_PERCENT = _int("ANOMALY_UNDER_LIMIT_PERCENT", 90, minimum=1)
ANOMALY_UNDER_LIMIT_MIN_LINES = _int("ANOMALY_UNDER_LIMIT_MIN_LINES", 10, minimum=1)
if not (0 <= ANOMALY_NIGHT_FROM_HOUR <= 23 and 0 <= ANOMALY_NIGHT_TO_HOUR <= 23):
    raise ImproperlyConfigured(
        "ANOMALY_NIGHT_FROM_HOUR and ANOMALY_NIGHT_TO_HOUR are hours, 0 to 23"
    )
if ANOMALY_NIGHT_FROM_HOUR == ANOMALY_NIGHT_TO_HOUR:
    raise ImproperlyConfigured("ANOMALY_NIGHT_FROM_HOUR and ANOMALY_NIGHT_TO_HOUR must differ")
if ANOMALY_FEW_CARDS_SHARE_PERCENT > 100 or ANOMALY_NIGHT_SHARE_PERCENT > 100:
    raise ImproperlyConfigured("ANOMALY_*_SHARE_PERCENT are percentages, 1 to 100")
if ANOMALY_UNDER_LIMIT_PERCENT >= 100:
    raise ImproperlyConfigured("ANOMALY_UNDER_LIMIT_PERCENT must be below 100")
