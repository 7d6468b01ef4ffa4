"""The daily digest: one mail a day, at the hour each reader chose in their time zone, with their
unread notifications since the last one, grouped by title. Nothing new, no mail."""

import logging
from datetime import datetime, timedelta
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


def is_due(reader, now):
    """Whether `reader`'s digest goes at `now`: their hour has come today, and today's has not gone."""
    if not reader.digest or not reader.user.email:
        return False
    local = now.astimezone(reader.zone)
    if local.hour < reader.digest_hour:
        return False
    sent = reader.last_digest_at
    return sent is None or sent.astimezone(reader.zone).date() < local.date()


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
    tz = reader.zone
    local = now.astimezone(tz)
    today = datetime.combine(local.date(), datetime.min.time(), tz) + timedelta(hours=reader.digest_hour)
    return today if is_due(reader, now) or today > local else today + timedelta(days=1)
