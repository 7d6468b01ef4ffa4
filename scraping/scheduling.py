"""When to check a title next. Pure functions: no database, no settings reads
beyond the defaults, so the policy can be replayed and tested in isolation."""

from datetime import timedelta

from django.conf import settings

# A failing title backs off on its own: 15 min, 30 min, 1 h ... up to a day.
FAILURE_BACKOFF_FIRST = timedelta(minutes=15)
FAILURE_BACKOFF_MAX = timedelta(hours=24)


def next_check_at(release_times, now, status, misses, *, interval_hours=None):
    """The time to check a title again after a check at `now` that worked.

    `release_times`: ascending aware datetimes of the title's known chapters;
    `status`: its upload status; `misses`: consecutive checks, ending with this
    one, that found nothing new. The policy for now is a fixed interval
    (BATO_CHECK_INTERVAL_HOURS); the signature is what a learning policy needs.
    """
    hours = settings.BATO_CHECK_INTERVAL_HOURS if interval_hours is None else interval_hours
    return now + timedelta(hours=hours)


def retry_after_failure(now, failures):
    """When to try a title again after its `failures`-th failure in a row."""
    exponent = max(0, min(failures - 1, 16))
    return now + min(FAILURE_BACKOFF_FIRST * (2**exponent), FAILURE_BACKOFF_MAX)
