"""Test settings: batoshelf's own, read from the environment like production,
with the few values a test machine needs filled in when the environment is silent."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")
# The tests' cache is their own, never a running instance's (tests clear it).
os.environ.setdefault("CACHE_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test-cache"))
# Tests that measure spacing set their own delays; the rest should not wait.
for _source in ("BATO", "MANGADEX", "MANGAUPDATES", "MANGAPLUS", "WEBTOON", "TAPAS", "FEED"):
    os.environ.setdefault(f"{_source}_MIN_DELAY", "0")
    os.environ.setdefault(f"{_source}_MAX_DELAY", "0")

from batoshelf.settings import *  # noqa: E402,F403

# Test users are made by the dozen; the production hasher is slow on purpose.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
