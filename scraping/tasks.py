"""Functions the django-q2 cluster runs. Each is safe to run twice: delivery is at least once."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from scraping.checks import check_manga
from scraping.models import CheckRequest, CheckSchedule, Manga, SiteState
from scraping.worker import cluster_is_stopping

logger = logging.getLogger(__name__)


def dispatch_due_checks(limit=None):
    """Queue one check per due title, most urgent first; return how many were queued.

    Titles are claimed before they are queued, so a title already queued or
    being checked is not queued again by the next dispatch.
    """
    now = timezone.now()
    paused = SiteState.active_pause(now)
    if paused:
        logger.info("dispatch skipped: %s", paused)
        return 0
    claims = CheckSchedule.objects.claim_due(now, limit or settings.BATO_DISPATCH_LIMIT, CheckSchedule.CLAIM_LEASE)
    for manga_id, token in claims:
        transaction.on_commit(
            lambda m=manga_id, t=token: async_task(
                check_manga_task, m, t, task_name=f"check title {m}", group="checks"
            )
        )
    if claims:
        logger.info("dispatched %d due check(s)", len(claims))
    return len(claims)


def check_manga_task(manga_id, claim_token=None):
    """Check one title; the result line is what staff see in the task list."""
    if cluster_is_stopping():
        # Taken from the queue before the worker was told to stop: leave it for the next dispatch.
        if claim_token:
            CheckSchedule.objects.filter(manga_id=manga_id).release_claim(claim_token)
        logger.info("title %s not checked: the worker is stopping", manga_id)
        return f"title {manga_id} not checked: the worker is stopping"
    manga = Manga.objects.select_related("schedule").filter(pk=manga_id).first()
    if manga is None:
        return f"title {manga_id} no longer exists"
    return check_manga(manga, claim_token=claim_token).describe()


def request_check(manga, user, now=None):
    """Queue a check of `manga` that `user` asked for, within the limits; return the answer."""
    with transaction.atomic():
        answer = CheckRequest.objects.admit(manga, user, now or timezone.now())
        if answer.queued:
            transaction.on_commit(
                lambda: async_task(
                    check_manga_task, manga.pk, task_name=f"check title {manga.pk} (asked by {user})", group="checks"
                )
            )
    return answer
