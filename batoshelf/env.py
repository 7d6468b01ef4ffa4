"""Typed readers for settings that come from the environment.

Each helper returns a default when the variable is unset or empty and raises
ImproperlyConfigured naming the variable when its value cannot be used, so a
typo in deployment stops the process at start instead of misbehaving later.
"""

import os
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name, formerly=None):
    """The variable's value, or None when unset or empty; `formerly` is its old name, still read
    (with a warning naming the new one) when the new one is not set."""
    value = os.environ.get(name, "").strip()
    if value or not formerly:
        return value or None
    old = os.environ.get(formerly, "").strip()
    if not old:
        return None
    warnings.warn(
        f"{formerly} is now called {name}: rename it in your environment (the old name is read for one more release)",
        FutureWarning,
        stacklevel=3,
    )
    return old


def env_str(name, default=None, *, required=False, formerly=None):
    value = _raw(name, formerly)
    if value is None:
        if required:
            raise ImproperlyConfigured(f"{name} must be set")
        return default
    return value


def env_bool(name, default=False, *, formerly=None):
    value = _raw(name, formerly)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of {sorted(_TRUE | _FALSE)}, not {value!r}")


def _number(name, default, kind, minimum, maximum, formerly):
    value = _raw(name, formerly)
    if value is None:
        return default
    try:
        number = kind(value)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ImproperlyConfigured(f"{name} must be {what}, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value!r}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, not {value!r}")
    return number


def env_int(name, default, *, minimum=None, maximum=None, formerly=None):
    return _number(name, default, int, minimum, maximum, formerly)


def env_float(name, default, *, minimum=None, maximum=None, formerly=None):
    return _number(name, default, float, minimum, maximum, formerly)


def env_list(name, default=()):
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_urls(name, default, *, schemes):
    """A comma-separated list of one or more URLs, each with one of `schemes` and a host; `default`
    None leaves the choice to the caller (None when unset)."""
    if default is None and _raw(name) is None:
        return None
    urls = env_list(name, default)
    if not urls:
        raise ImproperlyConfigured(f"{name} must name at least one URL")
    for value in urls:
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.hostname:
            raise ImproperlyConfigured(
                f"{name} must hold URLs starting with {' or '.join(s + '://' for s in schemes)}, not {value!r}"
            )
    return [value.rstrip("/") for value in urls]


def database_from_url(url, *, base_dir: Path):
    """Turn DATABASE_URL into a Django DATABASES entry (read by django-environ), with our options.

    sqlite:///relative/path (to the project) or sqlite:////absolute/path, and
    mysql://user:password@host:port/name (MariaDB or MySQL through mysqlclient; mariadb:// too),
    `?conn_max_age=N` to keep connections.
    """
    scheme = urlsplit(url).scheme
    if scheme not in ("sqlite", "mysql", "mariadb"):
        raise ImproperlyConfigured(f"DATABASE_URL must start with sqlite:// or mysql://, not {url!r}")
    try:
        parsed = environ.Env.db_url_config("mysql" + url[len(scheme) :] if scheme == "mariadb" else url)
    except ValueError:  # a port that is no number
        raise ImproperlyConfigured(f"DATABASE_URL {url!r} has a bad port") from None
    if scheme == "sqlite":
        path = parsed["NAME"]
        if not path or path == ":memory:":
            raise ImproperlyConfigured(f"DATABASE_URL {url!r} names no SQLite file")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path if Path(path).is_absolute() else base_dir / path,
            "OPTIONS": {
                # Web and worker processes write at once: WAL lets readers
                # through, IMMEDIATE takes the write lock up front so a
                # transaction never fails half-way, and the timeout waits for it.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            "TEST": {"NAME": str(base_dir / "var" / "test.sqlite3")},
        }
    if not parsed["NAME"] or not parsed["HOST"]:
        raise ImproperlyConfigured(f"DATABASE_URL {url!r} must look like mysql://user:password@host:port/name")
    return {
        "ENGINE": "django.db.backends.mysql",
        "NAME": parsed["NAME"],
        "USER": parsed["USER"],
        "PASSWORD": parsed["PASSWORD"],
        "HOST": parsed["HOST"],
        "PORT": str(parsed["PORT"] or ""),
        # Django under ASGI runs each request in a thread of its own: a
        # persistent connection would be left open on every one of them
        # ("Too many connections" under load). Loopback connects are cheap.
        "CONN_MAX_AGE": parsed.get("CONN_MAX_AGE", 0),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            # Korean and Japanese titles need the full four-byte UTF-8.
            "charset": "utf8mb4",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
            "isolation_level": "read committed",
        },
        "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
    }


# EMAIL_URL's schemes, as django-environ spells the same thing: smtps:// is TLS from the start (port 465).
_MAIL_SCHEMES = {"smtp": ("smtp", 25), "smtp+tls": ("smtp+tls", 587), "smtps": ("smtp+ssl", 465)}


def email_from_url(url):
    """Django's mail settings from EMAIL_URL (read by django-environ): smtp://user:password@host:port
    (plain), smtp+tls:// (STARTTLS) or smtps:// (TLS from the start); user and password URL-quoted.
    console:// prints mail."""
    parts = urlsplit(url)
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme not in _MAIL_SCHEMES or not parts.hostname:
        raise ImproperlyConfigured(
            "EMAIL_URL must look like smtp://user:password@host:port (or smtp+tls://, smtps://, console://), "
            f"not {url!r}"
        )
    scheme, default_port = _MAIL_SCHEMES[parts.scheme]
    try:
        parsed = environ.Env.email_url_config(scheme + url[len(parts.scheme) :])
    except ValueError:
        raise ImproperlyConfigured(f"EMAIL_URL {url!r} has a bad port") from None
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parsed["EMAIL_HOST"],
        "EMAIL_PORT": parsed["EMAIL_PORT"] or default_port,
        "EMAIL_HOST_USER": parsed["EMAIL_HOST_USER"],
        "EMAIL_HOST_PASSWORD": parsed["EMAIL_HOST_PASSWORD"],
        "EMAIL_USE_TLS": bool(parsed.get("EMAIL_USE_TLS")),
        "EMAIL_USE_SSL": bool(parsed.get("EMAIL_USE_SSL")),
    }
