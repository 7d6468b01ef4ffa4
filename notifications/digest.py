"""The daily digest: one mail a day, at the hour each reader chose in their time zone, with their
unread notifications since the last one, grouped by title. Nothing new, no mail."""

import logging
from datetime import datetime, time, timedelta
from itertools import groupby

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.models import Notification
from readers.models import Reader

logger = logging.getLogger(__name__)

# A first digest looks back this far.
FIRST_DIGEST_SINCE = timedelta(days=1)
# A digest still goes this long after its hour (the hourly job may have missed a run); later, it waits
# for the next day's hour: one turned on at 19:00 for 07:00 goes at 07:00, not at once.
LATE_BY_AT_MOST = timedelta(hours=3)


def _slot(reader, now):
    """The latest moment at the reader's hour in their zone, at or before `now`."""
    local = now.astimezone(reader.zone)
    slot = datetime.combine(local.date(), time(reader.digest_hour), reader.zone)
    return slot if slot <= local else slot - timedelta(days=1)


def is_due(reader, now):
    """Whether `reader`'s digest goes at `now`: their hour came less than LATE_BY_AT_MOST ago, and that
    hour's digest has not gone."""
    if not reader.digest or not reader.user.email:
        return False
    slot, sent = _slot(reader, now), reader.last_digest_at
    return now - slot < LATE_BY_AT_MOST and (sent is None or sent < slot)


def unread_since(reader, now):
    since = reader.last_digest_at or now - FIRST_DIGEST_SINCE
    return list(
        Notification.objects.filter(user=reader.user, is_read=False, created_at__gt=since, created_at__lte=now)
        .for_rows()
        .order_by("title__name", "title_id", "-created_at", "-id")
    )


def mail_for(reader, notifications, now):
    """The digest mail: plain text and HTML, the notifications grouped by title."""
    groups = [
        {"title": title_name or "batoshelf", "notifications": list(items)}
        for title_name, items in groupby(notifications, key=lambda n: n.title.name if n.title_id else "")
    ]
    context = {
        "user": reader.user,
        "groups": groups,
        "count": len(notifications),
        "day": now.astimezone(reader.zone).date(),
        "site_url": settings.BATOSHELF_SITE_URL,
    }
    mail = EmailMultiAlternatives(
        subject=f"batoshelf: {len(notifications)} new notification{'s' if len(notifications) != 1 else ''}",
        body=render_to_string("notifications/digest.txt", context),
        to=[reader.user.email],
    )
    mail.attach_alternative(render_to_string("notifications/digest.html", context), "text/html")
    return mail


def send_due(now=None):
    """Send every digest due at `now`; return (mails sent, readers with nothing new)."""
    now = now or timezone.now()
    sent = quiet = 0
    for reader in Reader.objects.filter(digest=True, user__is_active=True).select_related("user"):
        if not is_due(reader, now):
            continue
        notifications = unread_since(reader, now)
        if notifications:
            try:
                mail_for(reader, notifications, now).send()
            except Exception:
                logger.warning("could not mail user %s their digest; the next hour tries again", reader.user_id)
                continue
            sent += 1
        else:
            quiet += 1
        # Today's digest is done, mailed or not: the next one covers from here.
        Reader.objects.filter(pk=reader.pk).update(last_digest_at=now)
    return sent, quiet


def next_digest_at(reader, now):
    """When `reader`'s next digest would go (for the settings page), or None when it is off."""
    if not reader.digest:
        return None
    slot = _slot(reader, now)
    return slot if is_due(reader, now) else slot + timedelta(days=1)
