"""What reader pages show in their own words: times in the reader's zone, covers, descriptions, schedules."""

from datetime import datetime, timedelta
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

from readers import times
from readers.markup import description_html
from readers.models import Status

register = template.Library()


@register.inclusion_tag("readers/when.html")
def when(value, prefix=""):
    """A time as "3 min ago" or "Mon 15:00" in the reader's time zone, the full time on hover."""
    if not isinstance(value, datetime):
        return {"value": None}
    zone = timezone.get_current_timezone()
    return {
        "value": value,
        "text": times.relative(value, timezone.now(), zone),
        "full": times.absolute(value, zone),
        "prefix": prefix,
    }


@register.inclusion_tag("readers/cover.html")
def cover(title, size="small"):
    """A title's cover as batoshelf keeps it, or the placeholder with its first letter."""
    return {"title": title, "size": size, "initial": (title.name or "?")[:1].upper()}


@register.filter
def description(title):
    return mark_safe(description_html(title.description, title.description_format))  # noqa: S308 (rendered safely)


@register.filter
def lasting(seconds):
    """Seconds as a reader reads a duration: "about 25 min"."""
    return times.lasting(float(seconds or 0))


@register.filter
def status_label(value):
    """A reading status as the pages say it: "on hold", not "on_hold"."""
    return dict(Status.choices).get(value, value)


@register.filter
def chapter_number(value):
    """58, 10.5: a stored number without its trailing zeros."""
    if value is None:
        return ""
    return f"{Decimal(value).normalize():f}"


@register.simple_tag
def schedule_in_words(schedule):
    """How a title is checked, in sentences a reader reads: its rhythm, the next release expected, the next check."""
    if schedule is None:
        return "Not checked yet: batoshelf is fetching it."
    zone, now = timezone.get_current_timezone(), timezone.now()
    learned = schedule.learned or {}
    parts = []
    gap = learned.get("typical_gap_s")
    predicted = schedule.expected_release_at
    if learned.get("regular") and gap:
        around = f" around {predicted.astimezone(zone):%H:%M}" if predicted and learned.get("hour_known", True) else ""
        parts.append(f"It comes out {times.every(timedelta(seconds=gap))}{around}.")
    elif learned.get("releases", 0) >= 3:
        parts.append("It comes out irregularly; it is checked more often the more often it does.")
    if predicted:
        late = " (late: not out at the last check)" if schedule.late else ""
        parts.append(f"Next release expected {times.relative(predicted, now, zone)}{late}.")
    if schedule.paused:
        parts.append("Checks are paused.")
    else:
        parts.append(f"Next check {times.relative(schedule.next_check_at, now, zone)}.")
    return " ".join(parts)
