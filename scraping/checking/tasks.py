"""Functions the django-q2 cluster runs. Each is safe to run twice: delivery is at least once."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from scraping.checking.pipeline import check_title
from scraping.checking.worker import cluster_is_stopping
from scraping.gate import keeper
from scraping.models import CheckRequest, CheckSchedule, Title

logger = logging.getLogger(__name__)


def dispatch_due_checks(limit=None):
    """Queue one check per due title, most urgent first, per source; return how many were queued.

    Titles are claimed before they are queued, so a title already queued or
    being checked is not queued again by the next dispatch. Each source's gate
    says how many of its titles may go: none while it is paused or its breaker
    is open, one probe when the breaker is half open, no more than its hourly
    request budget has left.
    """
    now = timezone.now()
    queued = 0
    for source in CheckSchedule.objects.due(now).values_list("title__source", flat=True).distinct():
        allowed, reason = keeper.dispatch_allowance(source, keeper.clock.now(), limit or settings.CHECK_DISPATCH_LIMIT)
        if reason:
            logger.info("dispatch of %s limited to %d: %s", source, allowed, reason)
        if not allowed:
            continue
        claims = CheckSchedule.objects.claim_due(now, allowed, CheckSchedule.claim_lease(), source)
        for title_id, token in claims:
            transaction.on_commit(
                lambda m=title_id, t=token: async_task(
                    check_title_task, m, t, task_name=f"check title {m}", group="checks"
                )
            )
        queued += len(claims)
    if queued:
        logger.info("dispatched %d due check(s)", queued)
    return queued


def _stopping(title_id, claim_token=None):
    if not cluster_is_stopping():
        return False
    # Taken from the queue before the worker was told to stop: leave it for the next dispatch.
    if claim_token:
        CheckSchedule.objects.filter(title_id=title_id).release_claim(claim_token)
    logger.info("title %s not checked: the worker is stopping", title_id)
    return True


def check_title_task(title_id, claim_token=None):
    """Check one title; the result lines are what staff see in the task list.

    Checks someone asked for go first, whichever task a worker takes next.
    """
    if _stopping(title_id, claim_token):
        return f"title {title_id} not checked: the worker is stopping"
    lines = run_asked_for_checks()
    title = Title.objects.select_related("schedule").filter(pk=title_id).first()
    if title is None:
        lines.append(f"title {title_id} no longer exists")
    elif _stopping(title_id, claim_token):
        lines.append(f"title {title_id} not checked: the worker is stopping")
    else:
        lines.append(check_title(title, claim_token=claim_token).describe())
    return "\n".join(lines)


def run_asked_for_checks():
    """Check every title someone asked for that no worker has taken yet, oldest ask first."""
    lines = []
    while not cluster_is_stopping():
        asked = CheckRequest.objects.take_next(timezone.now())
        if asked is None:
            break
        lines.append(f"asked for: {check_title(asked.title, priority=True).describe()}")
    return lines


def asked_for_checks_task():
    return "\n".join(run_asked_for_checks()) or "the checks asked for were already done by other tasks"


def request_check(title, user, now=None):
    """Queue a check of `title` that `user` asked for, within the limits; return the answer."""
    with transaction.atomic():
        answer = CheckRequest.objects.admit(title, user, now or timezone.now())
        if answer.queued:
            transaction.on_commit(
                lambda: async_task(
                    asked_for_checks_task, task_name=f"check title {title.pk} (asked by {user})", group="checks"
                )
            )
    return answer
