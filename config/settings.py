"""Rapport settings: one file, every deploy-specific value read from the environment.

Development needs no environment at all: SQLite in the checkout, a Celery broker on the
filesystem, e-mail kept for admins to read in the app and a secret key generated once into
``.secret_key``. Production sets ``DEBUG=False`` and the variables documented in README.md;
a missing or malformed one stops start-up with a single line naming it.
"""

from __future__ import annotations

import ipaddress
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local .env (never committed) may hold developer overrides; real environment wins.
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)


def config_error(name: str, problem: str) -> None:
    """Stop start-up with one line that names the variable (no traceback to dig through)."""
    sys.exit(f"Configuration error: {name} {problem}")


_BOOLEAN_WORDS = {"true", "false", "1", "0", "yes", "no", "on", "off", ""}


def env_value(name: str, cast: str, default=environ.Env.NOTSET):
    """Read one typed variable; a malformed value is a configuration error, not a traceback."""
    raw = env.str(name, default=None)
    if raw is not None:
        # django-environ reads any unknown word as False and any string as a URL; be strict.
        if cast == "bool" and raw.strip().lower() not in _BOOLEAN_WORDS:
            config_error(name, f"is malformed: {raw!r} is not true/false")
        if cast == "db_url" and (
            "://" not in raw or raw.split("://", 1)[0] not in environ.Env.DB_SCHEMES
        ):
            config_error(name, f"is malformed: {raw!r} is not a database URL (postgres://…)")
    try:
        return getattr(env, cast)(name, default=default)
    except environ.ImproperlyConfigured:
        config_error(name, "is required but not set.")
    except (ValueError, TypeError) as exc:
        config_error(name, f"is malformed: {exc}")


DEBUG: bool = env_value("DEBUG", "bool", default=True)
# `make run` (scripts/run.py) serves this checkout on this machine with DEBUG off, so that
# someone trying Rapport sees its own error pages, over plain HTTP. RAPPORT_LOCAL keeps what
# development needs: a generated SECRET_KEY, SITE_URL on loopback, no HTTPS redirect or
# HTTPS-only cookies, static files served from the apps, e-mails kept for admins to read.
# Never on a server: it is refused unless ALLOWED_HOSTS names this machine only.
LOCAL: bool = env_value("RAPPORT_LOCAL", "bool", default=False)
DEVELOPMENT = DEBUG or LOCAL

SECRET_KEY: str = env_value("SECRET_KEY", "str", default="")
if not SECRET_KEY:
    if not DEVELOPMENT:
        config_error("SECRET_KEY", "is required when DEBUG is off.")
    # Development: generate once and keep it beside the checkout (git-ignored), so sessions
    # survive restarts without a secret ever being committed.
    key_file = BASE_DIR / ".secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS: list[str] = env_value(
    "ALLOWED_HOSTS", "list", default=["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if LOCAL and not set(ALLOWED_HOSTS) <= {"localhost", "127.0.0.1", "[::1]", "testserver"}:
    config_error("RAPPORT_LOCAL", "is for this machine only: ALLOWED_HOSTS must be loopback.")
CSRF_TRUSTED_ORIGINS: list[str] = env_value("CSRF_TRUSTED_ORIGINS", "list", default=[])
# The reverse proxies in front (addresses or networks). Only requests from them may say who
# the client is (X-Forwarded-For) and that it came over HTTPS (X-Forwarded-Proto); see
# core/proxies.py. Empty: the socket address is the client.
TRUSTED_PROXIES: list[str] = env_value("TRUSTED_PROXIES", "list", default=[])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy.strip())
    except ValueError:
        config_error("TRUSTED_PROXIES", f"is malformed: {_proxy!r} is not an address or network")
if env.str("PROXY_COUNT", default=None) is not None:
    config_error("PROXY_COUNT", "is no longer read: list the proxies in TRUSTED_PROXIES.")
for origin in CSRF_TRUSTED_ORIGINS:
    if not origin.startswith(("http://", "https://")):
        config_error("CSRF_TRUSTED_ORIGINS", f"is malformed: {origin!r} must start with https://")

INSTALLED_APPS = [
    "config.apps.RapportAdminConfig",  # the admin, for admins only: config/admin_site.py
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django.forms",
    # third party
    "axes",
    "bootstrap",
    "csp",
    "django_filters",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "template_partials",
    # Rapport
    "accounts",
    "core",
    "stakeholders",
    "relationships",
    "plans",
    "reviews",
    "notifications",
    "dashboard",
    "webhooks",
    "security",
    "events",
    "devmail",
]

MIDDLEWARE = [
    # First: forwarded headers are dropped unless a trusted proxy sent the request.
    "core.proxies.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before anything reads the input: a NUL character or an oversized body answers 400/413
    # (after sessions and auth only so that the 400 page knows who is signed in).
    "core.middleware.InputLimitsMiddleware",
    # Marks request.user.is_verified() when the session was signed in with a second factor.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: a timed-out session is signed out with a message saying why.
    "security.middleware.SessionTimeoutMiddleware",
    "security.middleware.DeniedRequestLogMiddleware",
    "accounts.middleware.TwoFactorPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Events name the door a write came through (web, API and token, admin).
    "events.context.EventSourceMiddleware",
    # A view failing because the database is out of reach answers 503, not 500.
    "core.middleware.DatabaseOutageMiddleware",
    # Axes last: it turns a locked-out login into the lockout response.
    "axes.middleware.AxesMiddleware",
]

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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "core.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": env_value("DATABASE_URL", "db_url", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
DATABASES["default"]["CONN_MAX_AGE"] = env_value("CONN_MAX_AGE", "int", default=60)
# A pooled connection that died with a database restart is replaced, not reused to fail.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# QuerySet.iterator() (choice fields use it) would open a server-side cursor on PostgreSQL:
# three round trips for a few rows, and unusable behind a transaction-pooling PgBouncer.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Let the web server and the Celery worker write to the same file without "locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# A PostgreSQL streaming replica for report reads (the dashboard, exports, API lists), with
# read-your-writes: core/dbrouting.py. Reads go to the primary while the replica is further
# behind than the lag limit, and for DATABASE_REPLICA_RETRY_SECONDS after it failed.
DATABASE_REPLICA_MAX_LAG_SECONDS: float = env_value(
    "DATABASE_REPLICA_MAX_LAG_SECONDS", "float", default=5.0
)
DATABASE_REPLICA_RETRY_SECONDS: float = env_value(
    "DATABASE_REPLICA_RETRY_SECONDS", "float", default=10.0
)
if DATABASE_REPLICA_MAX_LAG_SECONDS <= 0:
    config_error("DATABASE_REPLICA_MAX_LAG_SECONDS", "must be more than 0.")
if DATABASE_REPLICA_RETRY_SECONDS <= 0:
    config_error("DATABASE_REPLICA_RETRY_SECONDS", "must be more than 0.")
if env.str("DATABASE_REPLICA_URL", default=""):
    _replica = env_value("DATABASE_REPLICA_URL", "db_url")
    if not IS_POSTGRES or _replica["ENGINE"] != "django.db.backends.postgresql":
        config_error(
            "DATABASE_REPLICA_URL", "needs PostgreSQL for it and for DATABASE_URL (postgres://…)."
        )
    DATABASES["replica"] = {
        **DATABASES["default"],
        **_replica,
        # A replica that is down must cost a report a moment, not a stalled page.
        "OPTIONS": {"connect_timeout": 2, **_replica.get("OPTIONS", {})},
        # Tests: the same database as default (no replica to create or to lag).
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["core.dbrouting.ReplicaRouter"]
    # Last: its process_view marks report reads after the session and user were read.
    MIDDLEWARE.append("core.dbrouting.ReplicaReadsMiddleware")

# --- Redis: broker, results, cache (optional in development) ----------------------------
REDIS_URL: str = env_value("REDIS_URL", "str", default="")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    config_error("REDIS_URL", f"is malformed: {REDIS_URL!r} must start with redis://")

if REDIS_URL:
    CACHES = {
        "default": {
            # Fails open: with Redis down, cache calls are misses and rate limits allow
            # (core/cache.py); short socket timeouts so an outage never stalls a request.
            "BACKEND": "core.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "rapport",
            "TIMEOUT": 300,
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Sessions live in the database so any web instance can serve any request, and are read
# through the cache (one query less per page); with the cache down they come from the
# database. End sessions with SessionStore(key).delete(), which clears both.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = env_value("SESSION_COOKIE_AGE", "int", default=12 * 60 * 60)
# Enforced by security.middleware: signed out after this long without activity, and this
# long after signing in whatever the activity.
SESSION_IDLE_TIMEOUT_MINUTES: int = env_value("SESSION_IDLE_TIMEOUT_MINUTES", "int", default=30)
SESSION_ABSOLUTE_TIMEOUT_HOURS: int = env_value("SESSION_ABSOLUTE_TIMEOUT_HOURS", "int", default=12)
if SESSION_IDLE_TIMEOUT_MINUTES < 1:
    config_error("SESSION_IDLE_TIMEOUT_MINUTES", "must be at least 1.")
if SESSION_ABSOLUTE_TIMEOUT_HOURS < 1:
    config_error("SESSION_ABSOLUTE_TIMEOUT_HOURS", "must be at least 1.")

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL: str = env_value("CELERY_BROKER_URL", "str", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Kombu's filesystem transport: a broker that needs no server, for development.
    _broker_dir = VAR_DIR / "celery" / "broker"
    _broker_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
    (VAR_DIR / "celery" / "processed").mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery" / "control").mkdir(parents=True, exist_ok=True)
    CELERY_RESULT_BACKEND = f"file://{VAR_DIR / 'celery' / 'results'}"
    (VAR_DIR / "celery" / "results").mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task taken by a worker that then vanished (killed with its pool, machine lost)
        # is redelivered after this many seconds; it must exceed the longest task's run.
        "visibility_timeout": env_value("CELERY_VISIBILITY_TIMEOUT", "int", default=3600),
        # Publishing while Redis is down fails within about a second (see below).
        "socket_connect_timeout": 1.0,
    }
    CELERY_RESULT_BACKEND = env_value("CELERY_RESULT_BACKEND", "str", default=CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = env_value("CELERY_TASK_ALWAYS_EAGER", "bool", default=False)
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is redelivered, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The web request that enqueues must not hang on a broker outage: two quick retries
# (~0.5 s in all), then the error reaches reviews/webhooks `enqueue`, which logs it and
# leaves the work to the periodic catch-up tasks.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.3,
}
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TIMEZONE = env_value("TIME_ZONE", "str", default="Europe/London")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {
    "reviews-reminders": {
        "task": "reviews.tasks.run_reminders",
        "schedule": crontab(minute=5),  # hourly; derived from database state, so it catches up
        "options": {"expires": 50 * 60},  # runs queued during an outage expire: no pile-up
    },
    "refresh-relationship-health": {
        "task": "relationships.tasks.refresh_health",
        "schedule": crontab(hour=2, minute=15),
    },
    "webhooks-retry-stalled": {
        "task": "webhooks.tasks.retry_stalled",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 4 * 60},
    },
    "clear-expired-sessions": {
        "task": "core.tasks.clear_expired_sessions",
        "schedule": timedelta(hours=6),
    },
    "prune-security-log": {
        "task": "security.tasks.prune_security_log",
        "schedule": crontab(hour=3, minute=40),
    },
    "events-dispatch-pending": {
        "task": "events.dispatch_pending",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50},
    },
}
# Beat never reads a result. Without ignore_result it subscribes to each one in Redis (one
# subscription per send, never drained) and, while Redis is down, blocks ~20 s on every send.
for _entry in CELERY_BEAT_SCHEDULE.values():
    _entry.setdefault("options", {}).setdefault("ignore_result", True)

# --- Auth -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Brute-force lockout: 5 failures for one username from one address lock it for 15 minutes.
# Two-factor codes back off per user and address (accounts/twofactor.py), not per device.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
AXES_FAILURE_LIMIT = env_value("AXES_FAILURE_LIMIT", "int", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env_value("AXES_COOLOFF_MINUTES", "int", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# The lockout page for people, the JSON error for the API (POST /api/v1/auth/token/).
AXES_LOCKOUT_CALLABLE = "security.lockout.lockout_response"
# The one client-address rule (TRUSTED_PROXIES); django-ipware, axes' own, is not installed.
AXES_CLIENT_IP_CALLABLE = "core.proxies.client_address"
# Unknown usernames are kept only as a keyed hash: people type passwords into that field.
AXES_USERNAME_CALLABLE = "security.lockout.username_for_records"
# Password spraying: failed sign-ins from one address across all usernames (sign-in form,
# token endpoint and the two-factor step alike) refuse that address for the cool-off.
SIGN_IN_ADDRESS_FAILURE_LIMIT: int = env_value("SIGN_IN_ADDRESS_FAILURE_LIMIT", "int", default=20)
# One account attacked from many addresses is refused after this many failures, except
# from an address it signed in from successfully in the last SIGN_IN_KNOWN_ADDRESS_DAYS: the
# lock can't be turned against the real user at their usual place.
SIGN_IN_ACCOUNT_FAILURE_LIMIT: int = env_value("SIGN_IN_ACCOUNT_FAILURE_LIMIT", "int", default=50)
SIGN_IN_KNOWN_ADDRESS_DAYS: int = env_value("SIGN_IN_KNOWN_ADDRESS_DAYS", "int", default=30)
for _name in ("SIGN_IN_ADDRESS_FAILURE_LIMIT", "SIGN_IN_ACCOUNT_FAILURE_LIMIT"):
    if globals()[_name] < 1:
        config_error(_name, "must be at least 1.")
# Security log (security app): how long events are kept before the daily prune.
SECURITY_LOG_RETENTION_DAYS: int = env_value("SECURITY_LOG_RETENTION_DAYS", "int", default=365)
if SECURITY_LOG_RETENTION_DAYS < 1:
    config_error("SECURITY_LOG_RETENTION_DAYS", "must be at least 1.")

# Two-factor authentication (accounts/twofactor.py): the name authenticator apps show, and
# admins never see another user's TOTP secret or QR code in the Django admin.
OTP_TOTP_ISSUER = "Rapport"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- E-mail ---------------------------------------------------------------------------
_email = env_value("EMAIL_URL", "email_url", default="consolemail://")
# Development without a mail server: every e-mail, from the web server or the worker, is
# kept in the database and admins read it in the app (devmail, /dev/mail/).
DEV_MAIL: bool = DEVELOPMENT and not env.str("EMAIL_URL", default="")
EMAIL_BACKEND = "devmail.backend.EmailBackend" if DEV_MAIL else _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_value("DEFAULT_FROM_EMAIL", "str", default="Rapport <rapport@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- I18N / time ----------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = CELERY_TIMEZONE
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
if DEVELOPMENT:
    STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing root in development
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEVELOPMENT
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Development (`make run` included) serves the apps' static folders as they are: nothing to
# collect first (compressing every file takes over a minute), and edits show at once.
WHITENOISE_USE_FINDERS = DEVELOPMENT

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # HTMX sends the token from the page, not from the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "core.views.csrf_failure"  # says what to do, in the product's look
if not DEVELOPMENT:
    SECURE_SSL_REDIRECT = env_value("SECURE_SSL_REDIRECT", "bool", default=True)
    # Believed only from TRUSTED_PROXIES: TrustedProxyMiddleware drops it from anyone else.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_value("SECURE_HSTS_SECONDS", "int", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # /healthz is probed over plain HTTP inside the deployment network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Logging --------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_value("LOG_LEVEL", "str", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # "E-mail to … kept": one line per message in development, whatever LOG_LEVEL.
        "devmail": {"level": "INFO"},
    },
}

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Token first: its challenge makes unauthenticated calls answer 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "core.api.TokenScopePermission",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.StablePagination",
    "DEFAULT_FILTER_BACKENDS": [
        "core.api.VisibleIdsFilterBackend",
        "core.api.NamedSearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.AnonRateThrottle",
        "core.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_value("API_THROTTLE_ANON", "str", default="60/min"),
        "user": env_value("API_THROTTLE_USER", "str", default="1200/min"),
    },
    "EXCEPTION_HANDLER": "core.api.api_exception_handler",
    # JSON only: the interactive documentation lives at /api/docs/ (CSP-friendly Swagger UI).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.StrictJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Rapport API",
    "DESCRIPTION": (
        "Stakeholder relationships over HTTP: the same records, rules and permissions as the "
        "web app. Authenticate with a personal token (`Authorization: Bearer rpt_…`) created "
        "on your profile page or with `POST /api/v1/auth/token/`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI's assets come from the drf-spectacular-sidecar package, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The default enum hook, then the answers every operation can give (401, 400, 404).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.document_common_answers",
    ],
}

# --- Rapport --------------------------------------------------------------------------
# `make bench` only: a query-count header on responses and a no-database floor view.
RAPPORT_BENCH: bool = env_value("RAPPORT_BENCH", "bool", default=False)
if RAPPORT_BENCH:
    MIDDLEWARE.insert(0, "core.bench.QueryCountMiddleware")

RAPPORT_HEALTH_BROKER_TIMEOUT = 2.0
RAPPORT_QUIET_DAYS: int = env_value("RAPPORT_QUIET_DAYS", "int", default=60)
RAPPORT_KEY_RELATIONSHIP_LIMIT: int = env_value("RAPPORT_KEY_RELATIONSHIP_LIMIT", "int", default=8)
# Every absolute link (e-mails, webhook payloads) starts here, never at a request's Host.
SITE_URL: str = env_value("SITE_URL", "str", default="")
if not SITE_URL:
    if not DEVELOPMENT:
        config_error(
            "SITE_URL", "is required when DEBUG is off (e.g. https://rapport.example.org)."
        )
    SITE_URL = "http://127.0.0.1:8000"
_site = urlsplit(SITE_URL)
if _site.scheme not in ("http", "https") or not _site.hostname or _site.query or _site.fragment:
    config_error(
        "SITE_URL", f"is malformed: {SITE_URL!r} must look like https://rapport.example.org"
    )
SITE_URL = SITE_URL.rstrip("/")
# How survey pages and e-mails name us; unset, they say "we" ("…has reached us").
ORGANISATION_NAME: str = env_value("ORGANISATION_NAME", "str", default="")

# Reviews, reminders, stakeholder feedback
REMINDER_LOOKAHEAD_DAYS: int = env_value("REMINDER_LOOKAHEAD_DAYS", "int", default=7)
REVIEW_ESCALATION_DAYS: int = env_value("REVIEW_ESCALATION_DAYS", "int", default=14)
REMINDER_DIGEST_HOUR: int = env_value("REMINDER_DIGEST_HOUR", "int", default=7)  # local time
FEEDBACK_LINK_DAYS: int = env_value("FEEDBACK_LINK_DAYS", "int", default=14)
FEEDBACK_RATE_LIMIT: int = env_value("FEEDBACK_RATE_LIMIT", "int", default=30)  # per IP/window
FEEDBACK_RATE_WINDOW_SECONDS = 600

# Webhooks: short timeouts so a slow receiver only ever delays its own delivery task.
WEBHOOK_CONNECT_TIMEOUT_SECONDS: float = env_value(
    "WEBHOOK_CONNECT_TIMEOUT_SECONDS", "float", default=3.0
)
WEBHOOK_TIMEOUT_SECONDS: float = env_value("WEBHOOK_TIMEOUT_SECONDS", "float", default=5.0)
WEBHOOK_MAX_ATTEMPTS: int = env_value("WEBHOOK_MAX_ATTEMPTS", "int", default=6)
WEBHOOK_RETRY_BASE_SECONDS: int = env_value("WEBHOOK_RETRY_BASE_SECONDS", "int", default=30)
WEBHOOK_DISABLE_AFTER_FAILURES: int = env_value("WEBHOOK_DISABLE_AFTER_FAILURES", "int", default=20)
# Webhooks only go to public addresses; these hosts may be internal (loopback, private,
# link-local…): host names, IP addresses or networks, e.g. "hooks.corp.example,10.20.0.0/16".
WEBHOOK_ALLOWED_INTERNAL_HOSTS: list[str] = env_value(
    "WEBHOOK_ALLOWED_INTERNAL_HOSTS", "list", default=[]
)
FORM_RENDERER = "config.forms.RapportFormRenderer"
