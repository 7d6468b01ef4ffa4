"""Times as a reader reads them: short, relative where that reads better, in their own time zone.

Pure: the caller gives the time zone and the moment it is now.
"""

from datetime import datetime, timedelta, tzinfo


def relative(when: datetime, now: datetime, zone: tzinfo) -> str:
    """ "just now", "3 min ago", "in 2 h", "today 15:00", "yesterday 09:10", "Mon 15:00", "3 Dec", "3 Dec 2025"."""
    seconds = (when - now).total_seconds()
    ahead, gap = seconds > 0, abs(seconds)
    if gap < 60:
        return "in a moment" if ahead else "just now"
    if gap < 3600:
        minutes = round(gap / 60)
        return f"in {minutes} min" if ahead else f"{minutes} min ago"
    local, today = when.astimezone(zone), now.astimezone(zone).date()
    if gap < 6 * 3600:
        hours = round(gap / 3600)
        return f"in {hours} h" if ahead else f"{hours} h ago"
    days = (local.date() - today).days
    clock = f"{local:%H:%M}"
    if days == 0:
        return f"today {clock}"
    if days == -1:
        return f"yesterday {clock}"
    if days == 1:
        return f"tomorrow {clock}"
    if abs(days) < 7:
        return f"{local:%a} {clock}"
    if local.year == today.year:
        return f"{local.day} {local:%b}"
    return f"{local.day} {local:%b %Y}"


def absolute(when: datetime, zone: tzinfo) -> str:
    """The full time, for a tooltip: "Mon 3 Dec 2026, 15:00 CET"."""
    local = when.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def every(gap: timedelta) -> str:
    """A rhythm in words: "every day", "every week", "every 3 days", "every 5 h"."""
    names = {timedelta(days=1): "every day", timedelta(days=7): "every week", timedelta(days=14): "every two weeks"}
    if gap in names:
        return names[gap]
    if gap >= timedelta(days=2):
        return f"every {gap / timedelta(days=1):.3g} days"
    hours = gap / timedelta(hours=1)
    return f"every {hours:.3g} h" if hours >= 1 else f"every {round(gap / timedelta(minutes=1))} min"


def lasting(seconds: float) -> str:
    """How long something takes, roughly: "under a minute", "about 25 min", "about 2.5 h", "about 3 days"."""
    if seconds < 60:
        return "under a minute"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"about {seconds / 3600:.2g} h"
    return f"about {round(seconds / 86400)} days"
