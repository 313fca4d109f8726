"""wpdash settings: everything comes from the environment (see README, "Settings").

Defaults are the embedded, safe ones: SQLite and a generated secret key in the data
directory, an in-process cache, DEBUG off. A bad value stops start-up with one line
naming the variable (env.settings_or_exit).
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.messages import constants as message_constants
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils.functional import lazy

from wpdash import env, env_alerts

BASE_DIR = Path(__file__).resolve().parent.parent

DATA_DIR = env.data_dir("WPDASH_DATA_DIR", BASE_DIR / "var")
SECRET_KEY = env.secret_key("DJANGO_SECRET_KEY", DATA_DIR / "secret_key")
DEBUG = env.envbool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env.allowed_hosts("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "daphne",  # first, so `runserver` serves ASGI (WebSockets included)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "channels",
    "axes",
    "server_monitor",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "wpdash.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "server_monitor.web.sessions.SessionMiddleware",  # Django's; a slide that cannot be saved is skipped
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "server_monitor.web.sessions.SessionActivityMiddleware",  # sliding expiry; "your session expired"
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a lockout into the lockout page
    "wpdash.middleware.DatabaseUnavailableMiddleware",  # a locked or gone database: 503, not a 500
]

# False in the watcher's process (wpdash/watch_settings.py): no web edge to set up.
WPDASH_WEB_EDGE = True

ROOT_URLCONF = "wpdash.urls"
WSGI_APPLICATION = "wpdash.wsgi.application"
ASGI_APPLICATION = "wpdash.asgi.application"

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
            ],
        },
    },
]

# A message's tags are the page's banner tones (wpdash.css: .banner.ok/.info/.warn/.bad).
MESSAGE_TAGS = {
    message_constants.DEBUG: "info",
    message_constants.INFO: "info",
    message_constants.SUCCESS: "ok",
    message_constants.WARNING: "warn",
    message_constants.ERROR: "bad",
}

DATABASES = {"default": env.database("DATABASE_URL", f"sqlite:///{DATA_DIR / 'wpdash.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # How long a request waits for another writer's lock before it gives up with a 503
    # (wpdash.middleware); long enough for any restart's audit write.
    DATABASES["default"]["OPTIONS"]["timeout"] = env.envint("WPDASH_SQLITE_TIMEOUT", 20, minimum=1, maximum=600)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.envstr("REDIS_URL", "")
if REDIS_URL:
    REDIS_URL = env.envurl("REDIS_URL", "", ["redis", "rediss", "unix"])
    # Several daphne processes share the cache (the set-up checks shown to admins).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Brute-force protection on every authenticate() call: the login page, the admin
# and the JWT token endpoint. Lockout is per username + client address, so an
# attacker cannot lock a real operator out from elsewhere.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_ENABLED = env.envbool("WPDASH_LOGIN_LOCKOUT", True)
AXES_FAILURE_LIMIT = env.envint("WPDASH_LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=1000)
AXES_COOLOFF_TIME = timedelta(minutes=env.envint("WPDASH_LOGIN_COOLOFF_MINUTES", 15, minimum=1, maximum=7 * 24 * 60))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# The client address is REMOTE_ADDR: daphne's --proxy-headers (deploy/) puts the
# real client there from nginx, so a client-supplied X-Forwarded-For is never trusted.

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "status"
# The sign-in page then says "You have signed out." (server_monitor/web/sessions.py).
LOGOUT_REDIRECT_URL = lazy(lambda: reverse("login") + "?signed_out=1", str)()

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.envzone("WPDASH_TIME_ZONE", "UTC")
# Every datetime shown says its zone ("2026-11-22 03:05:41 CET"): wpdash/formats/en/formats.py.
FORMAT_MODULE_PATH = "wpdash.formats"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every start when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve app static files straight from their folders when collectstatic has not run
# (the README's run command); production runs collectstatic and lets nginx serve them.
WHITENOISE_USE_FINDERS = True

# --- HTTPS and cookies -------------------------------------------------------------
# WPDASH_HTTPS=on when the dashboard is reached over TLS (nginx in front, see deploy/).
HTTPS = env.envbool("WPDASH_HTTPS", False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# From five minutes (a shorter session ends while a form is being filled) to 30 days,
# counted from the last request its person made (server_monitor/web/sessions.py).
SESSION_COOKIE_AGE = env.envint("WPDASH_SESSION_SECONDS", 12 * 3600, minimum=300, maximum=30 * 24 * 3600)
CSRF_COOKIE_HTTPONLY = False  # the status page's fetch() reads it for X-CSRFToken
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    # nginx on the same host terminates TLS and says so in this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Two years at most, the longest max-age the HSTS preload list asks for.
    SECURE_HSTS_SECONDS = env.envint("WPDASH_HSTS_SECONDS", 31536000, minimum=0, maximum=2 * 365 * 24 * 3600)
    # The dashboard lives on a host name of its own, so its subdomains (if any) are
    # ours to force onto HTTPS too; the preload directive alone submits nothing.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.envbool("WPDASH_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env.envbool("WPDASH_HSTS_PRELOAD", True)
    CSRF_TRUSTED_ORIGINS = [f"https://{host}" for host in ALLOWED_HOSTS if host not in {"*", ""}]

# --- API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    # JWT first: its WWW-Authenticate header makes anonymous requests 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "server_monitor.web.authentication.CachedUserJWTAuthentication",  # simplejwt's, its user cached 5 s
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's own three, with JSON nested past the recursion limit a 400 rather than a 500.
    "DEFAULT_PARSER_CLASSES": [
        "server_monitor.web.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "server_monitor.web.errors.api_exception_handler",
    # The browsable API shows docstrings with `code` spans as code, not as backticks.
    "VIEW_DESCRIPTION_FUNCTION": "server_monitor.web.api.browsable.describe",
}
SIMPLE_JWT: dict[str, Any] = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.envint("WPDASH_JWT_ACCESS_MINUTES", 5, minimum=1, maximum=60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(hours=env.envint("WPDASH_JWT_REFRESH_HOURS", 24, minimum=1, maximum=720)),
    "UPDATE_LAST_LOGIN": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "wpdash API",
    "DESCRIPTION": "Health, services, restarts and logs of one WordOps-style web server.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files: no CDN, so a strict CSP holds.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Keep the default enum hook; ours documents the error answers DRF and Django give
    # before a view runs (401, 403, 404, 405, 406, 415, 429), so clients can rely on them.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "wpdash.schema.add_error_responses",
        "wpdash.schema.add_configured_names",
        "wpdash.schema.paths_without_trailing_slash",
    ],
}

# --- wpdash --------------------------------------------------------------------------
NETDATA_URL = env.envurl("NETDATA_URL", "http://127.0.0.1:19999", ["http", "https"])
WPDASH_METRICS_SOURCE = env.envchoice("WPDASH_METRICS_SOURCE", "auto", ["auto", "netdata", "local"])

DEFAULT_SERVICES = [
    "nginx",
    *(f"php{version}-fpm" for version in ("7.4", "8.0", "8.1", "8.2", "8.3", "8.4")),
    "mariadb",
    "mysql",
    "redis-server",
    "postfix",
    "fail2ban",
    "ufw",
    "netdata",
]
WPDASH_SERVICES = env.service_allowlist("WPDASH_SERVICES", DEFAULT_SERVICES)
WPDASH_SYSTEMCTL = env.envpath("WPDASH_SYSTEMCTL", "/usr/bin/systemctl")
WPDASH_SUDO = env.envbool("WPDASH_SUDO", True)
WPDASH_RESTART_APPROVAL = env.envbool("WPDASH_RESTART_APPROVAL", False)
# A request not approved within this many minutes expires and never runs
# (server_monitor/workflows/pending.py): an approval hours later must not restart at once.
WPDASH_RESTART_APPROVAL_MINUTES = env.envint("WPDASH_RESTART_APPROVAL_MINUTES", 60, minimum=1, maximum=7 * 24 * 60)
# The units that carry the dashboard's own traffic (the proxy in front of it): a restart
# of one, asked through a proxy or with WPDASH_HTTPS=on, answers before it runs
# (server_monitor/workflows/detach.py). `none` for no unit.
WPDASH_PROXY_UNITS = env.unit_names("WPDASH_PROXY_UNITS", ["nginx"])
# The systemd journal, read only through journalctl (server_monitor/adapters/journal/).
# An empty directory means the system journal; a directory (e.g. of journal files
# copied from another host, or the tests' own) is read with `--directory=`.
WPDASH_JOURNALCTL = env.envpath("WPDASH_JOURNALCTL", "/usr/bin/journalctl")
WPDASH_JOURNAL_DIRECTORY = env.envpath("WPDASH_JOURNAL_DIRECTORY", "")


def _newest_php_fpm_log() -> str:
    """The highest-versioned /var/log/phpX.Y-fpm.log that exists (Debian's naming)."""
    candidates = sorted(
        Path("/var/log").glob("php*-fpm.log"),
        key=lambda path: tuple(int(part) for part in path.name[3:-8].split(".") if part.isdigit()),
    )
    return str(candidates[-1]) if candidates else "/var/log/php8.2-fpm.log"


def _mariadb_log() -> str:
    """MariaDB's error log where it writes one; on Debian 12 it logs to the journal only."""
    path = "/var/log/mysql/error.log"
    return path if os.path.exists(path) else env.JOURNAL_PREFIX + "mariadb.service"


# A path that goes through a symbolic link is resolved here, once: its target is read from
# then on, since logs are opened without following links (WPDASH_LOG_PINS: target -> as
# configured; the notes are logged once the app is ready).
WPDASH_LOGS, WPDASH_LOG_PINS, WPDASH_LOG_PIN_NOTES = env.pin_log_links(
    env.log_sources(
        "WPDASH_LOGS",
        {
            "nginx-access": "/var/log/nginx/access.log",
            "nginx-error": "/var/log/nginx/error.log",
            "php-fpm": _newest_php_fpm_log(),
            "mysql": _mariadb_log(),
        },
    )
)
# How far back a search (?q=) of a file log reads before it answers with what it found:
# the bound on its time and I/O, whatever the file's size.
WPDASH_LOG_SEARCH_BYTES = env.envint(
    "WPDASH_LOG_SEARCH_BYTES", 256 * 1024 * 1024, minimum=64 * 1024, maximum=16 * 1024 * 1024 * 1024
)
# inotify wakes the live tail when a log changes; "poll" looks every 50 ms instead, for a log on a
# network or FUSE file system, whose remote writes send no inotify events.
WPDASH_LOG_WATCH = env.envchoice("WPDASH_LOG_WATCH", "inotify", ("inotify", "poll"))
# Seconds a WebSocket may go without its client reading (64 KiB unsent all that time) before
# it is closed with 4008 (wpdash.ws_backpressure); it then gets as long again to read the
# close frame. Past about 50 s it changes little: daphne's pings, unanswered, end such a
# socket by then.
WPDASH_WS_STALL_SECONDS = env.envint("WPDASH_WS_STALL_SECONDS", 30, minimum=1, maximum=120)
# The WordPress sites (server_monitor/workflows/sites/): found in nginx's enabled sites, with
# the log formats its main file (and its includes) define. Read as text, never run.
WPDASH_SITES_DIR = env.envpath("WPDASH_SITES_DIR", "/etc/nginx/sites-enabled")
WPDASH_NGINX_CONF = env.envpath("WPDASH_NGINX_CONF", "/etc/nginx/nginx.conf")
# After a restart the counter reads each site's access log (and its rotated copies) back
# from the end for the last 24 h, but never more than this many bytes per site.
WPDASH_SITES_REBUILD_BYTES = env.envint(
    "WPDASH_SITES_REBUILD_BYTES", 1024 * 1024 * 1024, minimum=1024 * 1024, maximum=64 * 1024 * 1024 * 1024
)
# Where bin/run serves; the systemd units in deploy/ pass their own --bind and --port.
# Read here so that a bad value stops bin/run in its first step, in one line.
WPDASH_BIND = env.envaddress("WPDASH_BIND", "127.0.0.1")
WPDASH_PORT = env.envint("WPDASH_PORT", 8000, minimum=1, maximum=65535)

# --- alerts: the watcher (manage.py watch) and its messages --------------------------
# How often the watcher looks at units, disk, CPU, RAM, certificates, updates (logs wake it themselves).
WPDASH_WATCH_SECONDS = env.envint("WPDASH_WATCH_SECONDS", 5, minimum=1, maximum=60)
# A firing alert is sent again after this many minutes while it fires (0: never).
WPDASH_ALERT_RENOTIFY_MINUTES = env.envint("WPDASH_ALERT_RENOTIFY_MINUTES", 60, minimum=0, maximum=7 * 24 * 60)
# A firing alert resolves once its condition has been clear this long: a flapping unit is one episode.
WPDASH_ALERT_CLEAR_SECONDS = env.envint("WPDASH_ALERT_CLEAR_SECONDS", 30, minimum=0, maximum=3600)
WPDASH_ALERT_DISK_PERCENT = env.envint("WPDASH_ALERT_DISK_PERCENT", 90, minimum=1, maximum=100)
WPDASH_ALERT_DISK_DAYS = env.envint("WPDASH_ALERT_DISK_DAYS", 7, minimum=0, maximum=365)
WPDASH_DISK_TREND_HOURS = env.envint("WPDASH_DISK_TREND_HOURS", 6, minimum=2, maximum=24)
WPDASH_ALERT_CPU_PERCENT = env.envint("WPDASH_ALERT_CPU_PERCENT", 90, minimum=1, maximum=100)
WPDASH_ALERT_RAM_PERCENT = env.envint("WPDASH_ALERT_RAM_PERCENT", 90, minimum=1, maximum=100)
WPDASH_ALERT_SUSTAINED_MINUTES = env.envint("WPDASH_ALERT_SUSTAINED_MINUTES", 10, minimum=2, maximum=60)
# A log-pattern alert resolves when no line has matched for this long.
WPDASH_ALERT_LOG_QUIET_SECONDS = env.envint("WPDASH_ALERT_LOG_QUIET_SECONDS", 300, minimum=5, maximum=86400)
WPDASH_ALERT_CERT_DAYS = env.envint("WPDASH_ALERT_CERT_DAYS", 14, minimum=1, maximum=365)
# The WordPress sites (issue 28): a 5xx share or a p95 this high in every telling minute of the last few.
WPDASH_ALERT_SITE_5XX_PERCENT = env.envint("WPDASH_ALERT_SITE_5XX_PERCENT", 5, minimum=1, maximum=100)
WPDASH_ALERT_SITE_P95_MS = env.envint("WPDASH_ALERT_SITE_P95_MS", 3000, minimum=50, maximum=120_000)
WPDASH_ALERT_SITE_MINUTES = env.envint("WPDASH_ALERT_SITE_MINUTES", 5, minimum=2, maximum=60)
WPDASH_ALERT_SITE_MIN_REQUESTS = env.envint("WPDASH_ALERT_SITE_MIN_REQUESTS", 10, minimum=1, maximum=100_000)
# Where WordOps's acme.sh and certbot keep the certificates in use (one folder per name).
WPDASH_CERT_DIR = env.envpath("WPDASH_CERT_DIR", "/etc/letsencrypt/live")
WPDASH_APT_GET = env.envpath("WPDASH_APT_GET", "/usr/bin/apt-get")
WPDASH_APT_CONFIG = env.envpath("WPDASH_APT_CONFIG", "")  # an apt.conf given with -c (another root, tests)
WPDASH_REBOOT_REQUIRED_FILE = env.envpath("WPDASH_REBOOT_REQUIRED_FILE", "/var/run/reboot-required")
# The built-in rules (server_monitor/workflows/alerts/rules/); any can be switched off.
ALERT_RULES = (
    "unit-failed",
    "autorestart-gave-up",
    "disk-full",
    "disk-filling",
    "cpu-high",
    "ram-high",
    "certificate",
    "security-updates",
    "reboot-required",
    "site-errors",
    "site-slow",
)
DEFAULT_ALERT_PATTERNS = (
    "php-fatal=PHP Fatal error,"
    "php-max-children=server reached pm.max_children,"
    "wp-database=Error establishing a database connection,"
    "nginx-emerg=[emerg],"
    "nginx-crit=[crit],"
    # nginx writes its ordinary errors as [error]: MariaDB's [ERROR] is looked for in its own logs only.
    "mariadb-error@mysql+journal:mariadb+journal:mysql=[ERROR]"
)
WPDASH_ALERT_PATTERNS = env_alerts.alert_patterns("WPDASH_ALERT_PATTERNS", DEFAULT_ALERT_PATTERNS, ALERT_RULES)
WPDASH_ALERT_OFF = env.envlist("WPDASH_ALERT_OFF", [])
for _rule in WPDASH_ALERT_OFF:
    if _rule not in ALERT_RULES and _rule not in {name for name, _, _ in WPDASH_ALERT_PATTERNS}:
        raise ImproperlyConfigured(
            f"WPDASH_ALERT_OFF: {_rule!r} is not a rule: use {', '.join(ALERT_RULES)} or a pattern's name."
        )
# Who is told: mail through Django's (EMAIL_URL: the box's postfix by default), push through Apprise.
_email = env_alerts.email_url("EMAIL_URL", "smtp://127.0.0.1:25")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"]
EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"]
WPDASH_ALERT_EMAIL = env_alerts.email_addresses("WPDASH_ALERT_EMAIL")
DEFAULT_FROM_EMAIL = env.envstr("WPDASH_ALERT_FROM", f"wpdash@{socket.getfqdn() or 'localhost'}")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
WPDASH_ALERT_URLS = env.envstr("WPDASH_ALERT_URLS", "")
WPDASH_PUBLIC_URL = env_alerts.public_url("WPDASH_PUBLIC_URL", HTTPS, ALLOWED_HOSTS, WPDASH_PORT)
# Units the watchdog may restart when they fail (through the same audited restart as a person).
WPDASH_AUTORESTART = env.unit_names("WPDASH_AUTORESTART", [])
for _unit in WPDASH_AUTORESTART:
    if _unit not in WPDASH_SERVICES:
        raise ImproperlyConfigured(f"WPDASH_AUTORESTART: {_unit!r} is not in WPDASH_SERVICES.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # One record, one line: any further line of a record starts with "  | " (wpdash.log_config).
    "formatters": {
        "plain": {
            "class": "wpdash.log_config.OneRecordPerLine",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "filters": {"unavailable_is_a_warning": {"()": "wpdash.log_config.UnavailableIsAWarning"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "nowhere": {"class": "logging.NullHandler"},  # not even Python's last-resort handler
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "server_monitor": {
            "level": env.envchoice("WPDASH_LOG_LEVEL", "info", ["debug", "info", "warning", "error"]).upper()
        },
        # Django logs every 5xx at ERROR. wpdash's 503s say that systemd, Netdata, the
        # journal or the database cannot answer now: expected, so a WARNING.
        "django.request": {"filters": ["unavailable_is_a_warning"]},
        # wpdash.errors.bad_request logs a refused Host in one line naming
        # DJANGO_ALLOWED_HOSTS; Django's own line names ALLOWED_HOSTS, with a traceback.
        "django.security.DisallowedHost": {"handlers": ["nowhere"], "propagate": False},
        # django-axes logs each failed sign-in with the user and address masked;
        # server_monitor.signin logs them in full, one line each, for fail2ban.
        "axes": {"level": "ERROR"},
        # Apprise's lines may quote a push URL, secrets and all. It runs in a child process
        # (server_monitor/adapters/push/), which captures them; never here.
        "apprise": {"handlers": ["nowhere"], "propagate": False},
        # urllib3 (under Apprise and requests) names the path of a URL it retries: a
        # webhook's path may be its secret. wpdash sets no retries; errors still show.
        "urllib3": {"level": "ERROR"},
    },
}
