"""Every page, answer and job costs what it shows: the same queries for a batoshelf and one ten times its size.

A query per row, or one that counts a whole table, shows here as a count that grows with the tenfold
copy; the figures at real sizes (10,000 titles, a million chapters) are benchmarks/scale.py's.
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from readers.models import Reader
from scraping.checking import jobs
from scraping.checking.tasks import dispatch_due_checks
from scraping.models import CheckSchedule, Title
from tests import bulk

pytestmark = pytest.mark.django_db

SMALL = bulk.Size(
    titles=16, chapters_per_title=4, readers=2, follows_per_reader=3, notifications_per_reader=8, logs_per_title=1
)
# Rows an admin page shows at each size: full pages, a third one at both, ten times the rows on each
# (every list below, searches and filters too, is longer than a page at both sizes).
PER_PAGE = {SMALL: 5, SMALL.times(10): 50}

STAFF_PAGES = [
    "/admin/scraping/title/",
    "/admin/scraping/title/?p=3",
    "/admin/scraping/title/?q=o",
    "/admin/scraping/title/?o=-7",  # by latest release
    "/admin/scraping/chapter/",
    "/admin/scraping/chapter/?p=3",
    "/admin/scraping/chapter/?q=o",
    "/admin/scraping/checklog/",
    "/admin/scraping/checklog/?p=3",
    "/admin/scraping/checklog/?outcome__exact=no_change",
    "/admin/scraping/checklog/?q=o",
    "/admin/scraping/checkschedule/",
    "/admin/scraping/checkschedule/?q=o",
    "/admin/readers/follow/",
    "/admin/readers/follow/?q=o",
    "/admin/notifications/notification/",
    "/admin/notifications/notification/?p=3",
    "/admin/notifications/notification/?q=reader1",
    "/admin/notifications/notification/?q=o",
    "/admin/scraping/jobrun/",
    "/admin/dashboard/",
    "/api/admin/stats",
    "/api/admin/logs",
    "/api/admin/system-status",
]
READER_PAGES = [
    "/shelf/",
    "/notifications/",
    "/api/notifications?limit=100",
    "/api/notifications/count",
    "/api/shelf",
    "/titles/{title}/",
    "/api/titles/{title}",
    "/api/titles/{title}/chapters",
    "/feeds/{feed}/",
]


def rebuild(size):
    Title.objects.all().delete()
    get_user_model().objects.filter(username__startswith="reader").delete()
    return bulk.build(size, timezone.now())


def queries_of(client, url):
    cache.clear()  # what a page keeps for a while must not hide what it costs
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def staff_costs(admin_user):
    client = Client()
    client.force_login(admin_user)
    client.get("/admin/")  # the session's first page keeps the time zone: not counted
    return {url: queries_of(client, url) for url in STAFF_PAGES}


def reader_costs(names):
    user = get_user_model().objects.get(username=names[0])
    client = Client()
    client.force_login(user)
    client.get("/shelf/")
    ids = {
        "title": user.follows.values_list("title_id", flat=True).first(),
        "feed": Reader.objects.get(user=user).feed_token,
    }
    return {url: queries_of(client, url.format(**ids)) for url in READER_PAGES}


def test_staff_pages_cost_the_same_queries_at_a_size_and_ten_times_it(admin_user, monkeypatch):
    costs = []
    for size, per_page in PER_PAGE.items():
        rebuild(size)
        for model_admin in admin.site._registry.values():
            monkeypatch.setattr(model_admin, "list_per_page", per_page)
        costs.append(staff_costs(admin_user))
    assert costs[1] == costs[0]


def test_reader_pages_cost_the_same_queries_at_a_size_and_ten_times_it():
    small = reader_costs(rebuild(SMALL))
    assert reader_costs(rebuild(SMALL.times(10))) == small


def job_queries(job, options):
    with CaptureQueriesContext(connection) as queries:
        job(options, timezone.now())
    return len(queries)


@pytest.mark.parametrize(
    "name",
    ["roll_up_statistics", "prune_history"],
)
def test_jobs_cost_the_same_queries_at_a_size_and_ten_times_it(name):
    job = jobs.REGISTRY[name]
    rebuild(SMALL)
    small = job_queries(job.run, job.default_options)
    rebuild(SMALL.times(10))
    large = job_queries(job.run, job.default_options)
    assert large == small
    assert small <= 30


def dispatch_queries(due):
    CheckSchedule.objects.update(claim_token=None, claimed_until=None)
    CheckSchedule.objects.filter(
        title__in=list(Title.objects.order_by("pk").values_list("pk", flat=True)[:due])
    ).update(next_check_at=timezone.now() - timedelta(minutes=1))
    with CaptureQueriesContext(connection) as queries:
        queued = dispatch_due_checks(limit=1000)
    assert queued == due
    return len(queries)  # the tasks go to the broker once this test's transaction would commit: not counted


def test_dispatch_claims_any_number_due_in_the_same_few_queries():
    rebuild(SMALL.times(10))
    dispatch_queries(1)  # the first keeps each source's state: not counted
    few = dispatch_queries(5)
    assert dispatch_queries(150) == few
    assert few <= 20
