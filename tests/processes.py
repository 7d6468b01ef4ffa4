"""Starting the project's real processes (worker, serve) from tests, against the test database."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from scraping.sources import get

ROOT = Path(__file__).resolve().parent.parent


def test_database_url():
    """DATABASE_URL for the database this test run uses, so a child process sees the same rows."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = quote(db["USER"], safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    return f"mysql://{credentials}@{db['HOST']}:{db['PORT'] or 3306}/{db['NAME']}"


def project_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    env.update(
        DJANGO_SETTINGS_MODULE="batoshelf.settings",
        SECRET_KEY="tests-only-not-secret",
        DATABASE_URL=test_database_url(),
        BATO_SITE_URLS=",".join(get("bato").base_urls()),
        MANGADEX_API_URL=settings.MANGADEX_API_URL,
        MANGAUPDATES_API_URL=settings.MANGAUPDATES_API_URL,
        MANGADEX_COVERS_URL=settings.MANGADEX_COVERS_URL,
        MANGAUPDATES_COVERS_URL=settings.MANGAUPDATES_COVERS_URL,
        MANGAPLUS_API_URL=settings.MANGAPLUS_API_URL,
        MANGAPLUS_COVERS_URL=settings.MANGAPLUS_COVERS_URL,
        WEBTOON_URL=settings.WEBTOON_URL,
        TAPAS_URL=settings.TAPAS_URL,
        **{
            f"{source}_{bound}_DELAY": "0"
            for source in ("BATO", "MANGADEX", "MANGAUPDATES", "MANGAPLUS", "WEBTOON", "TAPAS", "FEED")
            for bound in ("MIN", "MAX")
        },
        PYTHONUNBUFFERED="1",
    )
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    env.update(extra)
    return env


class ManagedProcess:
    """A `manage.py` command running in its own session, its output in a file."""

    def __init__(self, log_path, *manage_args, **extra_env):
        self.log_path = log_path
        with open(log_path, "w") as log:
            self.popen = subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), *manage_args],
                cwd=ROOT,
                env=project_env(**extra_env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a signal to it reaches it alone, as Ctrl-C would in a terminal
            )

    def output(self):
        return Path(self.log_path).read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=40):
        """Signal the process, wait for it, and return its exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
            raise AssertionError(f"{self.popen.args} did not stop within {timeout} s:\n{self.output()}") from None


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_status(url):
    """The status a GET of `url` answers with, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except OSError:
        return None


def session_key_for(user):
    """A stored session in which `user` is logged in, as a browser's cookie would carry it."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session.update(
        {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
    )
    session.create()
    return session.session_key


def logged_in_sessions(prefix, count):
    """`count` new users named `prefix`0.. with a logged-in session each: [(user id, session key)]."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    User.objects.bulk_create([User(username=f"{prefix}{i}", password="!") for i in range(count)])
    return [
        (user.pk, session_key_for(user)) for user in User.objects.filter(username__startswith=prefix).order_by("pk")
    ]
