"""Settings read from the environment: typed, defaulted, and loud about bad values."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from batoshelf.env import (
    database_from_url,
    email_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_urls,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def environ(monkeypatch):
    def set_env(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def test_unset_and_empty_variables_take_the_default(environ, monkeypatch):
    monkeypatch.delenv("SOURCE_TIMEOUT", raising=False)
    environ(BATO_MIN_DELAY="  ")
    assert env_float("SOURCE_TIMEOUT", 30.0) == 30.0
    assert env_float("BATO_MIN_DELAY", 4.0) == 4.0


@pytest.mark.parametrize("value, expected", [("1", True), ("TRUE", True), ("on", True), ("0", False), ("no", False)])
def test_booleans(environ, value, expected):
    environ(DEBUG=value)
    assert env_bool("DEBUG") is expected


@pytest.mark.parametrize(
    "reader, value, message",
    [
        (lambda: env_bool("X"), "maybe", "X must be one of"),
        (lambda: env_int("X", 1), "4.5", "X must be a whole number"),
        (lambda: env_float("X", 1.0, minimum=0), "-1", "X must be at least 0"),
        (lambda: env_int("X", 1, maximum=10), "11", "X must be at most 10"),
        (
            lambda: env_urls("X", ["https://bato.to"], schemes=("https", "http")),
            "https://bato.to,ftp://x.to",
            "X must hold URLs starting with https:// or http://, not 'ftp://x.to'",
        ),
    ],
)
def test_bad_values_fail_loudly_naming_the_variable(environ, reader, value, message):
    environ(X=value)
    with pytest.raises(ImproperlyConfigured, match=message):
        reader()


def test_mirror_urls_keep_their_order_and_lose_trailing_slashes(environ):
    environ(X="https://wto.to/, https://bato.to")
    assert env_urls("X", [], schemes=("https",)) == ["https://wto.to", "https://bato.to"]


def test_lists_are_comma_separated(environ):
    environ(ALLOWED_HOSTS=" shelf.example.org, localhost ,,")
    assert env_list("ALLOWED_HOSTS") == ["shelf.example.org", "localhost"]


def test_sqlite_url_is_relative_to_the_project_with_wal_and_immediate_transactions(tmp_path):
    database = database_from_url("sqlite:///var/x.sqlite3", base_dir=tmp_path)
    assert database["NAME"] == tmp_path / "var" / "x.sqlite3"
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]
    assert database_from_url("sqlite:////srv/shelf.db", base_dir=tmp_path)["NAME"] == "/srv/shelf.db"


def test_mysql_url_uses_utf8mb4_strict_mode_and_health_checks(tmp_path):
    database = database_from_url("mysql://shelf:p%40ss@db.internal:3307/batoshelf", base_dir=tmp_path)
    assert database["ENGINE"] == "django.db.backends.mysql"
    assert (database["USER"], database["PASSWORD"], database["HOST"], database["PORT"], database["NAME"]) == (
        "shelf",
        "p@ss",
        "db.internal",
        "3307",
        "batoshelf",
    )
    assert database["OPTIONS"]["charset"] == "utf8mb4"
    assert "STRICT_TRANS_TABLES" in database["OPTIONS"]["init_command"]
    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["TEST"]["CHARSET"] == "utf8mb4"


def test_mariadb_urls_and_connection_ages_are_read(tmp_path):
    database = database_from_url("mariadb://me:p%40ss@db:3307/shelf?conn_max_age=60", base_dir=tmp_path)
    assert (database["ENGINE"], database["USER"], database["PASSWORD"]) == ("django.db.backends.mysql", "me", "p@ss")
    assert (database["HOST"], database["PORT"], database["NAME"], database["CONN_MAX_AGE"]) == (
        "db",
        "3307",
        "shelf",
        60,
    )


@pytest.mark.parametrize("url", ["postgres://x@y/z", "mysql://host-only", "sqlite://", "mysql://u@h:port/x"])
def test_unusable_database_urls_are_refused(url, tmp_path):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url(url, base_dir=tmp_path)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("smtp://mail.example.org", {"EMAIL_HOST": "mail.example.org", "EMAIL_PORT": 25, "EMAIL_USE_TLS": False}),
        (
            "smtp+tls://me%40example.org:p%40ss@mail.example.org",
            {
                "EMAIL_PORT": 587,
                "EMAIL_USE_TLS": True,
                "EMAIL_HOST_USER": "me@example.org",
                "EMAIL_HOST_PASSWORD": "p@ss",
            },
        ),
        ("smtps://mail.example.org:2465", {"EMAIL_PORT": 2465, "EMAIL_USE_SSL": True, "EMAIL_USE_TLS": False}),
        ("console://", {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}),
    ],
)
def test_mail_settings_come_from_one_url(url, expected):
    settings = email_from_url(url)
    assert {key: settings[key] for key in expected} == expected


@pytest.mark.parametrize("url", ["imap://mail.example.org", "smtp://", "smtp://host:port"])
def test_unusable_mail_urls_are_refused(url):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        email_from_url(url)


def _settings_in_subprocess(**env):
    """Load batoshelf.settings in a fresh interpreter with exactly these variables."""
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({'layer': settings.CHANNEL_LAYERS['default']['BACKEND'], "
        "'broker': 'redis' if 'redis' in settings.Q_CLUSTER else settings.Q_CLUSTER.get('orm'), "
        "'engine': settings.DATABASES['default']['ENGINE'], 'q': settings.Q_CLUSTER}))"
    )
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**base, "DJANGO_SETTINGS_MODULE": "batoshelf.settings", **env},
    )


def test_embedded_default_needs_no_redis_and_no_database_server():
    done = _settings_in_subprocess(SECRET_KEY="k")
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert loaded["layer"] == "batoshelf.layers.InMemoryChannelLayer"
    assert loaded["broker"] == "default"
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["q"]["catch_up"] is False
    assert loaded["q"]["timeout"] < loaded["q"]["retry"]


def test_production_settings_use_redis_for_the_layer_and_the_broker():
    done = _settings_in_subprocess(
        SECRET_KEY="k", REDIS_URL="redis://127.0.0.1:6379/3", DATABASE_URL="mysql://root@127.0.0.1:3306/batoshelf"
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert loaded["layer"] == "channels_redis.core.RedisChannelLayer"
    assert loaded["broker"] == "redis"
    assert loaded["engine"] == "django.db.backends.mysql"


def test_secret_key_is_required_unless_debug():
    refused = _settings_in_subprocess()
    assert refused.returncode != 0
    assert "SECRET_KEY must be set unless DEBUG is on" in refused.stderr
    assert _settings_in_subprocess(DEBUG="true").returncode == 0


def test_manage_py_names_the_bad_variable_without_a_traceback():
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "batoshelf.settings", "SECRET_KEY": "k", "SOURCE_TIMEOUT": "soon"},
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "batoshelf is not configured right: SOURCE_TIMEOUT must be a number, not 'soon'"


def test_a_bad_delay_stops_the_process_with_the_variable_named():
    done = _settings_in_subprocess(SECRET_KEY="k", BATO_MIN_DELAY="8", BATO_MAX_DELAY="5")
    assert done.returncode != 0
    assert "BATO_MAX_DELAY (5.0) must not be below BATO_MIN_DELAY (8.0)" in done.stderr


@pytest.mark.parametrize(
    "env, message",
    [
        (
            {"MANGADEX_MIN_DELAY": "3", "MANGADEX_MAX_DELAY": "1"},
            "MANGADEX_MAX_DELAY must not be below MANGADEX_MIN_DELAY",
        ),
        ({"MANGAUPDATES_MAX_DELAY": "0.5"}, "MANGAUPDATES_MAX_DELAY must not be below MANGAUPDATES_MIN_DELAY"),
        ({"MANGADEX_LANGUAGES": "en,English"}, "MANGADEX_LANGUAGES must hold language codes such as en, pt-br"),
        ({"MANGADEX_API_URL": "api.mangadex.org"}, "MANGADEX_API_URL must hold URLs starting with"),
        ({"BATOSHELF_CONTACT_URL": "call me (maybe)"}, "BATOSHELF_CONTACT_URL must be an http(s) or mailto: URL"),
        ({"MANGADEX_MAX_REQUESTS_PER_HOUR": "0"}, "MANGADEX_MAX_REQUESTS_PER_HOUR must be at least 1"),
    ],
)
def test_bad_source_settings_stop_the_process_with_the_variable_named(env, message):
    done = _settings_in_subprocess(SECRET_KEY="k", **env)
    assert done.returncode != 0 and message in done.stderr


def test_a_setting_under_its_old_name_is_still_read_with_a_warning_naming_the_new_one(environ, monkeypatch):
    monkeypatch.delenv("SOURCE_TIMEOUT", raising=False)
    environ(BATO_TIMEOUT="20")
    with pytest.warns(FutureWarning, match="BATO_TIMEOUT is now called SOURCE_TIMEOUT"):
        assert env_float("SOURCE_TIMEOUT", 15.0, formerly="BATO_TIMEOUT") == 20.0
    environ(SOURCE_TIMEOUT="25")
    assert env_float("SOURCE_TIMEOUT", 15.0, formerly="BATO_TIMEOUT") == 25.0  # the new name wins, silently


def test_old_names_of_the_settings_for_every_source_reach_the_running_settings():
    script = (
        "import django, warnings; from django.conf import settings; django.setup(); "
        "print(settings.SOURCE_BREAKER_FAILURES, settings.CHECK_INTERVAL_HOURS, settings.CHECK_NOW_COOLDOWN)"
    )
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "batoshelf.settings",
            "SECRET_KEY": "k",
            "BATO_BREAKER_FAILURES": "7",
            "BATO_CHECK_INTERVAL_HOURS": "0.5",
            "BATO_REQUESTED_CHECK_COOLDOWN": "30",
        },
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["7", "0.5", "30"]
    for old, new in (
        ("BATO_BREAKER_FAILURES", "SOURCE_BREAKER_FAILURES"),
        ("BATO_CHECK_INTERVAL_HOURS", "CHECK_INTERVAL_HOURS"),
        ("BATO_REQUESTED_CHECK_COOLDOWN", "CHECK_NOW_COOLDOWN"),
    ):
        assert f"{old} is now called {new}" in done.stderr


def test_bato_keeps_its_own_addresses_unless_the_settings_name_others(settings):
    from scraping.sources import get

    bato = get("bato")
    settings.BATO_SITE_URLS, settings.BATO_MIRRORS = None, []
    assert bato.base_urls()[0] == "https://bato.to" and {"mto.to", "zbato.org"} <= bato.hosts()
    settings.BATO_SITE_URLS, settings.BATO_MIRRORS = ["http://127.0.0.1:8765"], ["bato.example"]
    assert bato.base_urls() == ["http://127.0.0.1:8765"] and bato.hosts() == {"127.0.0.1", "bato.example"}


def test_content_ratings_must_be_mangadex_ones():
    done = _settings_in_subprocess(SECRET_KEY="k", MANGADEX_CONTENT_RATINGS="safe,gory")
    assert done.returncode != 0 and "MANGADEX_CONTENT_RATINGS must name one or more of safe" in done.stderr
