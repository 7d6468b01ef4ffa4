"""batoshelf settings: everything that differs between machines comes from the environment.

Embedded default (nothing set): SQLite in var/, django-q2's ORM broker and the
in-memory channel layer. Production: DATABASE_URL=mysql://..., REDIS_URL=redis://...
The README's configuration table lists every variable.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from batoshelf.env import (
    database_from_url,
    email_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    env_urls,
)
from batoshelf.logs import logging_config
from scraping.sources.values import CHAPTER_LANGUAGE as chapter_language

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set unless DEBUG is on")
    SECRET_KEY = "insecure-debug-only-key"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "batoshelf.apps.BatoshelfAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_q",
    "axes",
    "csp",
    "scraping",
    "readers",
    "notifications",
    "library",
]

MIDDLEWARE = [
    "batoshelf.http.JsonApiAnswers",
    "batoshelf.http.FormsInUtf8",
    "django.middleware.security.SecurityMiddleware",
    "batoshelf.http.ContentSecurityPolicy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "readers.middleware.ReaderTimeZone",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "batoshelf.http.NumbersBeyondAnyRow",
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Last: it turns a locked-out login into its answer.
    "axes.middleware.AxesMiddleware",
]
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]

ROOT_URLCONF = "batoshelf.urls"
ASGI_APPLICATION = "batoshelf.asgi.application"
WSGI_APPLICATION = "batoshelf.wsgi.application"

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
                "notifications.context_processors.notification_badge",
                "readers.middleware.reader_time_zone",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(env_str("DATABASE_URL", "sqlite:///var/batoshelf.sqlite3"), base_dir=BASE_DIR)
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
# Serve from the finders when the files were not collected (tests, DEBUG).
WHITENOISE_USE_FINDERS = DEBUG or not STATIC_ROOT.is_dir()
# Logins: after LOGIN_FAILURE_LIMIT wrong passwords for one account, or from one address, that account or
# address waits LOGIN_LOCKOUT_MINUTES (django-axes; staff unlock under Access attempts in the admin).
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "batoshelf.http.client_address"
AXES_VERBOSE = False
# Mails to set a new password: so many an hour from one address, and for one mail address (django-ratelimit).
PASSWORD_RESETS_PER_HOUR = env_int("PASSWORD_RESETS_PER_HOUR", 5, minimum=1)
RATELIMIT_VIEW = "batoshelf.http.too_many_requests"
# Every page says where its scripts, styles and images may come from: here, and nowhere else.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "manifest-src": ["'self'"],
        "worker-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "readers:shelf"
LOGOUT_REDIRECT_URL = "login"
CSRF_FAILURE_VIEW = "batoshelf.http.csrf_failure"

# HTTPS. Behind a proxy that terminates TLS, set all of these (`manage.py check
# --deploy` is clean then); BEHIND_TLS_PROXY trusts its X-Forwarded-Proto.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Redis, when configured, carries both the channel layer and the task queue.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and urlsplit(REDIS_URL).scheme not in ("redis", "rediss", "unix"):
    raise ImproperlyConfigured(f"REDIS_URL must start with redis://, rediss:// or unix://, not {REDIS_URL!r}")

# A cache every process shares (search answers, the fetches already queued): Redis, or files in var/
# (the embedded default runs on one machine).
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env_str("CACHE_DIR", str(BASE_DIR / "var" / "cache")),
        }
    }

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # A burst must not be dropped at the default capacity of 100 messages.
            # No read timeout: redis-py 8's 5 s default cut the layer's blocking
            # 5 s pop and killed idle consumers (requirements.txt keeps it below 8).
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 5000, "expiry": 60},
        }
    }
else:
    # One process only: the web process relays notifications to it (notifications.delivery).
    CHANNEL_LAYERS = {"default": {"BACKEND": "batoshelf.layers.InMemoryChannelLayer"}}

# Bato: where its requests go, most preferred first, and the hosts of title URLs a user may
# paste. Unset, Bato's own lists (scraping/sources/bato.py). When the address in use blocks
# us or cannot be reached, the next check goes to the next one, and the one that works is
# remembered (SourceState.mirror) across restarts. Links in pages point at the first.
BATO_SITE_URLS = env_urls("BATO_SITE_URLS", None, schemes=("https", "http"))
BATO_MIRRORS = env_list("BATO_MIRRORS")
BATO_MIN_DELAY = env_float("BATO_MIN_DELAY", 4.0, minimum=0)
BATO_MAX_DELAY = env_float("BATO_MAX_DELAY", 7.0, minimum=0)
if BATO_MAX_DELAY < BATO_MIN_DELAY:
    raise ImproperlyConfigured(f"BATO_MAX_DELAY ({BATO_MAX_DELAY}) must not be below BATO_MIN_DELAY ({BATO_MIN_DELAY})")
# With the gate's spacing this bounds a check: a stopping worker waits for it.
SOURCE_TIMEOUT = env_float("SOURCE_TIMEOUT", 15.0, minimum=1, formerly="BATO_TIMEOUT")
# And this bounds a whole request (connect, headers, body), and CHECK_DEADLINE a whole check: a source
# that answers a byte a second is cut off, and the check ends in a failed log, its title given back.
SOURCE_DEADLINE = env_float("SOURCE_DEADLINE", 30.0, minimum=1)
CHECK_DEADLINE = env_float("CHECK_DEADLINE", 240.0, minimum=10)
# Unset: each title is checked on the schedule learned from its releases. Set:
# every title every this many hours (demos, or an install that wants it simple).
CHECK_INTERVAL_HOURS = env_float("CHECK_INTERVAL_HOURS", None, minimum=0.01, formerly="BATO_CHECK_INTERVAL_HOURS")
# The cluster-wide limiter (scraping.gate.keeper): at most this many requests an
# hour, on top of the spacing above. A check waits at most SOURCE_TURN_MAX_WAIT
# seconds for its turn; then it gives its title back for a later dispatch.
BATO_MAX_REQUESTS_PER_HOUR = env_int("BATO_MAX_REQUESTS_PER_HOUR", 300, minimum=1)
SOURCE_TURN_MAX_WAIT = env_float("SOURCE_TURN_MAX_WAIT", 60.0, minimum=1, formerly="BATO_TURN_MAX_WAIT")
# A 429 stops every check for its Retry-After, at most SOURCE_MAX_RETRY_AFTER
# seconds, or SOURCE_RATE_LIMIT_BACKOFF when it names none.
SOURCE_RATE_LIMIT_BACKOFF = env_float("SOURCE_RATE_LIMIT_BACKOFF", 60.0, minimum=1, formerly="BATO_RATE_LIMIT_BACKOFF")
SOURCE_MAX_RETRY_AFTER = env_float("SOURCE_MAX_RETRY_AFTER", 3600.0, minimum=1, formerly="BATO_MAX_RETRY_AFTER")
# The circuit breaker opens on a block, or on this many failures in a row to
# reach a source; it waits SOURCE_BREAKER_FIRST_WAIT seconds, doubling on each
# failed probe up to SOURCE_BREAKER_MAX_WAIT.
SOURCE_BREAKER_FAILURES = env_int("SOURCE_BREAKER_FAILURES", 3, minimum=1, formerly="BATO_BREAKER_FAILURES")
SOURCE_BREAKER_FIRST_WAIT = env_float("SOURCE_BREAKER_FIRST_WAIT", 300.0, minimum=1, formerly="BATO_BREAKER_FIRST_WAIT")
SOURCE_BREAKER_MAX_WAIT = env_float("SOURCE_BREAKER_MAX_WAIT", 6 * 3600.0, minimum=1, formerly="BATO_BREAKER_MAX_WAIT")
# A title its source says it does not have this many checks in a row is paused,
# and its followers are told once.
CHECK_NOT_FOUND_PAUSE_AFTER = env_int(
    "CHECK_NOT_FOUND_PAUSE_AFTER", 3, minimum=1, formerly="BATO_NOT_FOUND_PAUSE_AFTER"
)
# Titles handed to the queue per dispatch (every minute): more than the sources'
# spacing lets through in a minute would only wait in the queue.
CHECK_DISPATCH_LIMIT = env_int("CHECK_DISPATCH_LIMIT", 15, minimum=1, formerly="BATO_DISPATCH_LIMIT")

# MangaDex and MangaUpdates: where their APIs answer, and how often we may ask.
# The defaults keep well under what their documentation and well-behaved
# clients suggest: MangaDex allows about 5 requests a second per address
# (clients keep to 3), MangaUpdates asks for "reasonable spacing" (clients
# keep to 1 or 2 a second). A check is one or two requests.
MANGADEX_API_URL = env_urls("MANGADEX_API_URL", ["https://api.mangadex.org"], schemes=("https", "http"))[0]
MANGADEX_LANGUAGES = env_list("MANGADEX_LANGUAGES", ["en"])
for _language in MANGADEX_LANGUAGES:
    if not chapter_language.match(_language):
        raise ImproperlyConfigured(
            f"MANGADEX_LANGUAGES must hold language codes such as en, pt-br or es-la, not {_language!r}"
        )
# The content ratings of MangaDex titles this instance follows (searches, imports, feeds); all by default.
MANGADEX_CONTENT_RATINGS = env_list("MANGADEX_CONTENT_RATINGS", ["safe", "suggestive", "erotica", "pornographic"])
if not MANGADEX_CONTENT_RATINGS or set(MANGADEX_CONTENT_RATINGS) - {"safe", "suggestive", "erotica", "pornographic"}:
    raise ImproperlyConfigured(
        "MANGADEX_CONTENT_RATINGS must name one or more of safe, suggestive, erotica, pornographic, "
        f"not {','.join(MANGADEX_CONTENT_RATINGS)!r}"
    )
MANGADEX_MIN_DELAY = env_float("MANGADEX_MIN_DELAY", 1.0, minimum=0)
MANGADEX_MAX_DELAY = env_float("MANGADEX_MAX_DELAY", 2.0, minimum=0)
MANGADEX_MAX_REQUESTS_PER_HOUR = env_int("MANGADEX_MAX_REQUESTS_PER_HOUR", 1200, minimum=1)
MANGAUPDATES_API_URL = env_urls("MANGAUPDATES_API_URL", ["https://api.mangaupdates.com/v1"], schemes=("https", "http"))[
    0
]
# Where covers are fetched (once each, through the source's gate): the sources' image hosts.
MANGADEX_COVERS_URL = env_urls(
    "MANGADEX_COVERS_URL", ["https://uploads.mangadex.org/covers"], schemes=("https", "http")
)[0]
MANGAUPDATES_COVERS_URL = env_urls(
    "MANGAUPDATES_COVERS_URL", ["https://cdn.mangaupdates.com"], schemes=("https", "http")
)[0]
MANGAUPDATES_MIN_DELAY = env_float("MANGAUPDATES_MIN_DELAY", 2.0, minimum=0)
MANGAUPDATES_MAX_DELAY = env_float("MANGAUPDATES_MAX_DELAY", 4.0, minimum=0)
MANGAUPDATES_MAX_REQUESTS_PER_HOUR = env_int("MANGAUPDATES_MAX_REQUESTS_PER_HOUR", 600, minimum=1)
# MANGA Plus (Shueisha): its web API answers protobuf; at most a request a second.
MANGAPLUS_API_URL = env_urls(
    "MANGAPLUS_API_URL", ["https://jumpg-webapi.tokyo-cdn.com/api"], schemes=("https", "http")
)[0]
MANGAPLUS_COVERS_URL = env_urls(
    "MANGAPLUS_COVERS_URL", ["https://jumpg-assets.tokyo-cdn.com"], schemes=("https", "http")
)[0]
MANGAPLUS_MIN_DELAY = env_float("MANGAPLUS_MIN_DELAY", 1.0, minimum=0)
MANGAPLUS_MAX_DELAY = env_float("MANGAPLUS_MAX_DELAY", 2.0, minimum=0)
MANGAPLUS_MAX_REQUESTS_PER_HOUR = env_int("MANGAPLUS_MAX_REQUESTS_PER_HOUR", 1200, minimum=1)
# WEBTOON and Tapas: each series' RSS feed, at most a request a second.
WEBTOON_URL = env_urls("WEBTOON_URL", ["https://www.webtoons.com"], schemes=("https", "http"))[0]
WEBTOON_MIN_DELAY = env_float("WEBTOON_MIN_DELAY", 1.0, minimum=0)
WEBTOON_MAX_DELAY = env_float("WEBTOON_MAX_DELAY", 2.0, minimum=0)
WEBTOON_MAX_REQUESTS_PER_HOUR = env_int("WEBTOON_MAX_REQUESTS_PER_HOUR", 1200, minimum=1)
TAPAS_URL = env_urls("TAPAS_URL", ["https://tapas.io"], schemes=("https", "http"))[0]
TAPAS_MIN_DELAY = env_float("TAPAS_MIN_DELAY", 1.0, minimum=0)
TAPAS_MAX_DELAY = env_float("TAPAS_MAX_DELAY", 2.0, minimum=0)
TAPAS_MAX_REQUESTS_PER_HOUR = env_int("TAPAS_MAX_REQUESTS_PER_HOUR", 1200, minimum=1)
# Any RSS or Atom feed a reader names: each host has its own gate with these limits. A feed on this
# machine or a private network is refused unless FEEDS_ALLOW_PRIVATE (a feed must not become a way in).
FEED_MIN_DELAY = env_float("FEED_MIN_DELAY", 2.0, minimum=0)
FEED_MAX_DELAY = env_float("FEED_MAX_DELAY", 4.0, minimum=0)
FEED_MAX_REQUESTS_PER_HOUR = env_int("FEED_MAX_REQUESTS_PER_HOUR", 300, minimum=1)
FEEDS_ALLOW_PRIVATE = env_bool("FEEDS_ALLOW_PRIVATE", False)
for _prefix in ("MANGADEX", "MANGAUPDATES", "MANGAPLUS", "WEBTOON", "TAPAS", "FEED"):
    if globals()[f"{_prefix}_MAX_DELAY"] < globals()[f"{_prefix}_MIN_DELAY"]:
        raise ImproperlyConfigured(f"{_prefix}_MAX_DELAY must not be below {_prefix}_MIN_DELAY")
# Named in the User-Agent of every request to MangaDex and MangaUpdates, so
# they can reach whoever runs this instance.
BATOSHELF_CONTACT_URL = env_str("BATOSHELF_CONTACT_URL", "")
if BATOSHELF_CONTACT_URL and (
    urlsplit(BATOSHELF_CONTACT_URL).scheme not in ("http", "https", "mailto")
    or any(c.isspace() or c in "()" for c in BATOSHELF_CONTACT_URL)
):
    raise ImproperlyConfigured(
        f"BATOSHELF_CONTACT_URL must be an http(s) or mailto: URL without spaces, not {BATOSHELF_CONTACT_URL!r}"
    )

# Checks a follower asks for: so many an hour per user, and one per title in
# this many seconds whoever asks.
CHECK_NOW_PER_USER_PER_HOUR = env_int(
    "CHECK_NOW_PER_USER_PER_HOUR", 10, minimum=1, formerly="BATO_USER_CHECKS_PER_HOUR"
)
CHECK_NOW_COOLDOWN = env_int("CHECK_NOW_COOLDOWN", 300, minimum=0, formerly="BATO_REQUESTED_CHECK_COOLDOWN")

# Live notifications. The web process relays notifications no one has pushed
# yet (the embedded mode's only path; a safety net behind the worker's own
# publish with Redis) every this many seconds.
NOTIFICATIONS_RELAY_INTERVAL = env_float("NOTIFICATIONS_RELAY_INTERVAL", 5.0 if REDIS_URL else 1.0, minimum=0.1)
# Mail (password resets, the daily digest): EMAIL_URL, else Django's own EMAIL_HOST,
# EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS/SSL; with neither,
# mail is printed to the log (the embedded default has no mail server).
if env_str("EMAIL_URL"):
    globals().update(email_from_url(env_str("EMAIL_URL")))
elif env_str("EMAIL_HOST"):
    EMAIL_HOST = env_str("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_TIMEOUT = 20
# Where readers reach this instance: the links in mail that no request is behind (the digest).
# Readers' lists on other trackers, read when a reader brings their library in (library.trackers).
ANILIST_API_URL = env_urls("ANILIST_API_URL", ["https://graphql.anilist.co"], schemes=("https", "http"))[0]
MAL_API_URL = env_urls("MAL_API_URL", ["https://api.myanimelist.net/v2"], schemes=("https", "http"))[0]
MAL_CLIENT_ID = env_str("MAL_CLIENT_ID", "")

BATOSHELF_SITE_URL = env_urls("BATOSHELF_SITE_URL", ["http://127.0.0.1:8000"], schemes=("https", "http"))[0]
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "batoshelf <batoshelf@localhost>")

# Channels (Apprise URLs) may not reach this machine or a private network (a web hook
# at 127.0.0.1, a cloud's metadata address) unless this is set: a self-hoster's own
# ntfy at home needs it.
NOTIFY_ALLOW_PRIVATE_TARGETS = env_bool("NOTIFY_ALLOW_PRIVATE_TARGETS", False)
# Apprise services readers may send to besides batoshelf's list (notifications/channels.py), by scheme.
NOTIFY_EXTRA_SCHEMES = [scheme.lower() for scheme in env_list("NOTIFY_EXTRA_SCHEMES")]

# Web push to readers' devices (notifications/webpush.py). The VAPID key signs every push: left unset, one
# is made once and kept in the database. Its "sub" claim tells push services whom to reach (mailto: or
# https:); Apple's refuses a localhost address, so set it to a real one.
# A PEM's armour and line breaks are dropped: py_vapid reads the base64 between them.
WEBPUSH_VAPID_PRIVATE_KEY = "".join(
    line.strip() for line in env_str("WEBPUSH_VAPID_PRIVATE_KEY", "").splitlines() if not line.startswith("-----")
)
if WEBPUSH_VAPID_PRIVATE_KEY:
    from py_vapid import Vapid

    try:
        Vapid.from_string(WEBPUSH_VAPID_PRIVATE_KEY)
    except Exception:
        raise ImproperlyConfigured(
            "WEBPUSH_VAPID_PRIVATE_KEY must be a P-256 private key: PEM (vapid --gen writes one), or its "
            "DER or raw 32 bytes in base64url"
        ) from None
WEBPUSH_CONTACT = env_str("WEBPUSH_CONTACT", "")
if WEBPUSH_CONTACT and not WEBPUSH_CONTACT.startswith(("mailto:", "https://")):
    raise ImproperlyConfigured("WEBPUSH_CONTACT must be a mailto: or https:// address")

# django-q2. A check takes one request plus its wait for a turn at its source, far
# below the timeout; retry must exceed timeout or the ORM broker hands a running
# check to a second worker.
Q_TIMEOUT = env_int("Q_TIMEOUT", 300, minimum=30)
# A claimed title is not handed out again for this many seconds: longer than a
# queued check waits plus Q_TIMEOUT. A worker killed mid-check (whose task the
# Redis broker cannot hand out again) lets its title be checked after it.
CHECK_CLAIM_LEASE = env_int("CHECK_CLAIM_LEASE", 900, minimum=60, formerly="BATO_CLAIM_LEASE")
if CHECK_DEADLINE >= Q_TIMEOUT:
    raise ImproperlyConfigured(f"CHECK_DEADLINE ({CHECK_DEADLINE:g}) must be shorter than Q_TIMEOUT ({Q_TIMEOUT})")
if CHECK_CLAIM_LEASE <= Q_TIMEOUT:
    raise ImproperlyConfigured(f"CHECK_CLAIM_LEASE ({CHECK_CLAIM_LEASE}) must be longer than Q_TIMEOUT ({Q_TIMEOUT})")
Q_CLUSTER = {
    "name": "batoshelf",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    "timeout": Q_TIMEOUT,
    "retry": Q_TIMEOUT + 60,
    "max_attempts": 2,
    "catch_up": False,
    "save_limit": 1000,
    "ack_failures": True,
    "poll": 0.5,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# key=value lines on stdout; with LOG_DIR also general.log, errors.log and
# performance.log there, each rotating at 10 MB.
LOGGING = logging_config(env_str("LOG_LEVEL", "INFO"), env_str("LOG_DIR"))
