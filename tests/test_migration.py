"""The migrations since sources arrived (sources, the gate's SourceState, the checking paths, one word
per thing) carry every Bato row over unchanged to today's schema, on SQLite and on MariaDB."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType as CurrentContentType
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django_q.models import Schedule

from notifications.models import Notification
from readers.models import Follow, Invite, Reader
from scraping.models import (
    Chapter,
    CheckLog,
    CheckRequest,
    CheckSchedule,
    DailyStats,
    JobConfig,
    SourceState,
    Title,
    TitleDailyStats,
)

BEFORE = [("scraping", "0009_site_gate"), ("notifications", "0004_site_alerts")]
# Today's schema: the last migration of each app, so the current models can read the rows back.
AFTER = [
    node
    for node in MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes()
    if node[0] in {"scraping", "notifications", "readers"}
]
# The schema before readers had their own app (the last release's).
BEFORE_READERS = [("scraping", "0016_reader_jobs"), ("notifications", "0007_channels_readers_invites")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def fill_at_the_old_schema(apps, now):
    """One of everything, as the schema before sources held it."""
    user = apps.get_model("auth", "User").objects.create(username="reader")
    other = apps.get_model("auth", "User").objects.create(username="other")
    manga = apps.get_model("scraping", "Manga").objects.create(
        bato_id="110100",
        name="진격의 문구점",
        alt_names=["別名"],
        summary="문구점 이야기",
        upload_status="ongoing",
        score=8.5,
        views_all_time=1234567,
        emotions={"love": 3},
        refreshed_at=now,
    )
    chapters = [
        apps.get_model("scraping", "Chapter").objects.create(
            bato_id=str(1906652 + n),
            manga=manga,
            dname=f"Chapter {n}",
            url_path=f"/title/110100-x/{1906652 + n}-ch_{n}",
            number=Decimal(n),
            published_at=now - timedelta(days=7 * (3 - n)),
            views_guest=10 * n,
        )
        for n in (1, 2, 3)
    ]
    apps.get_model("scraping", "CheckSchedule").objects.create(
        manga=manga, next_check_at=now + timedelta(days=2), misses=2, learned={"regular": True}, reason="weekly"
    )
    apps.get_model("scraping", "ScrapeLog").objects.create(
        manga=manga, outcome="success", new_chapters=1, http_requests=1, http_status=200
    )
    apps.get_model("scraping", "CheckRequest").objects.create(manga=manga, requested_by=user, requested_at=now)
    apps.get_model("scraping", "SiteState").objects.create(
        pk=1,
        mirror="https://batotwo.com",
        breaker_openings=4,
        breaker_until=now + timedelta(hours=1),
        breaker_reason="could not reach",
        limiter={"next_at": 5.0, "recent": [], "priority_until": 0.0},
        limiter_version=7,
    )
    apps.get_model("scraping", "DailyStats").objects.create(day=now.date(), checks=3, new_chapters=1)
    apps.get_model("scraping", "TitleDailyStats").objects.create(manga=manga, day=now.date(), checks=3, releases=1)
    apps.get_model("notifications", "Follow").objects.create(user=user, manga=manga)
    apps.get_model("notifications", "Follow").objects.create(user=other, manga=manga, muted=True)
    apps.get_model("notifications", "Notification").objects.create(
        user=user,
        manga=manga,
        chapter=chapters[2],
        kind="new_chapter",
        importance=3,
        message="Chapter 3 of 진격의 문구점",
    )
    apps.get_model("notifications", "Notification").objects.create(user=user, kind="alert", message="site down")
    # The queue's schedule rows as they named the jobs' module then.
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="batoshelf job: heartbeat", defaults={"func": "scraping.jobs.run_scheduled_job", "args": "'heartbeat'"}
    )
    # A prune job configured before its option took the name of check logs.
    apps.get_model("scraping", "JobConfig").objects.update_or_create(
        job_type="prune_history",
        defaults={
            "interval_minutes": 1440,
            "options": {"scrape_log_days": 45, "read_notification_days": 180, "job_run_days": 30},
        },
    )


@pytest.mark.django_db(transaction=True)
def test_every_bato_row_carries_over_to_todays_schema():
    now = timezone.now().replace(microsecond=0)
    try:
        fill_at_the_old_schema(migrate(BEFORE), now)
        migrate(AFTER)
        title = Title.objects.get()
        assert (title.source, title.source_id, title.name, title.description) == (
            "bato",
            "110100",
            "진격의 문구점",
            "문구점 이야기",
        )
        assert (title.alt_names, title.score, title.views_all_time, title.emotions) == (
            [{"name": "別名", "language": ""}],
            8.5,
            1234567,
            {"love": 3},
        )
        assert title.languages == [] and title.languages_synced == [] and title.moved_to is None
        assert title.source_url.endswith("/title/110100")
        chapters = list(Chapter.objects.order_by("number"))
        assert [c.source_id for c in chapters] == ["1906653", "1906654", "1906655"]
        assert [c.name for c in chapters] == ["Chapter 1", "Chapter 2", "Chapter 3"]
        assert [c.url_path for c in chapters] == [f"/title/110100-x/{1906652 + n}-ch_{n}" for n in (1, 2, 3)]
        assert all(c.available and c.published_precision == "exact" and c.groups == [] for c in chapters)
        assert chapters[0].published_at == now - timedelta(days=14) and chapters[1].views_guest == 20
        schedule = CheckSchedule.objects.get()
        assert (schedule.title, schedule.misses, schedule.learned, schedule.reason) == (
            title,
            2,
            {"regular": True},
            "weekly",
        )
        assert CheckLog.objects.get().title == title and CheckRequest.objects.get().title == title
        assert DailyStats.objects.get().checks == 3 and TitleDailyStats.objects.get().title == title
        assert sorted(Follow.objects.values_list("user__username", "muted")) == [("other", True), ("reader", False)]
        notification = Notification.objects.get(kind="new_chapter")
        assert notification.chapter == chapters[2] and notification.title == title
        assert Notification.objects.get(kind="alert").title is None
        assert Schedule.objects.get(name="batoshelf job: heartbeat").func == "scraping.checking.jobs.run_scheduled_job"
        assert JobConfig.objects.get(job_type="prune_history").options["check_log_days"] == 45
        with connection.cursor() as cursor:
            indexes = {
                table: connection.introspection.get_constraints(cursor, table)
                for table in ("scraping_chapter", "scraping_checklog")
            }
        assert "scraping_ch_title_i_f68a13_idx" in indexes["scraping_chapter"]
        assert indexes["scraping_checklog"]["scraping_ch_title_i_84d5f3_idx"]["columns"][0] == "title_id"
        with pytest.raises(IntegrityError), transaction.atomic():
            Chapter.objects.create(title=title, source_id="1906653", name="again")
        with pytest.raises(IntegrityError), transaction.atomic():
            Follow.objects.create(user=notification.user, title=title)
        state = SourceState.objects.get()
        assert (state.source, state.mirror, state.breaker_openings, state.limiter_version) == (
            "bato",
            "https://batotwo.com",
            4,
            7,
        )
        assert state.limiter["next_at"] == 5.0 and state.breaker_until == now + timedelta(hours=1)
        # A title is its source and its id, together: the same id on another source is another title.
        Title.objects.create(source="mangaupdates", source_id="110100", name="other")
        with pytest.raises(IntegrityError), transaction.atomic():
            Title.objects.create(source="bato", source_id="110100", name="twice")
    finally:
        migrate(AFTER)


@pytest.mark.django_db(transaction=True)
def test_follows_readers_and_invites_move_to_the_readers_app_without_losing_a_row():
    now = timezone.now().replace(microsecond=0)
    try:
        apps = migrate(BEFORE_READERS)
        user = apps.get_model("auth", "User").objects.create(username="reader")
        staff = apps.get_model("auth", "User").objects.create(username="staff", is_staff=True)
        title = apps.get_model("scraping", "Title").objects.create(source="mangadex", source_id="x", name="진격")
        for n in (1, 2, 3):
            apps.get_model("scraping", "Chapter").objects.create(
                title=title, source_id=str(n), name=f"Chapter {n}", number=Decimal(n), published_at=now
            )
        apps.get_model("scraping", "Chapter").objects.create(title=title, source_id="extra", name="Extra")
        apps.get_model("notifications", "Follow").objects.create(user=user, title=title, muted=True)
        apps.get_model("notifications", "Reader").objects.create(user=user, feed_token="secret", time_zone="Asia/Seoul")
        apps.get_model("notifications", "Invite").objects.create(
            token="invite-token", created_by=staff, note="for a friend", expires_at=now + timedelta(days=3)
        )
        # As in the last release's database: the content types of these models were notifications'.
        CurrentContentType.objects.filter(app_label="readers").delete()
        CurrentContentType.objects.get_or_create(app_label="notifications", model="follow")

        migrate(AFTER)

        follow = Follow.objects.get()
        assert (follow.user.username, follow.title.name, follow.muted, follow.status) == (
            "reader",
            "진격",
            True,
            "reading",
        )
        # Followed before progress existed: caught up, chapters without a number too.
        assert (follow.last_read_number, follow.unread_count) == (Decimal(3), 0)
        assert follow.marks.get().chapter.name == "Extra"
        assert Title.objects.get().chapter_count == 4 and Title.objects.get().imported_at is not None
        reader = Reader.objects.get()
        assert (reader.user.username, reader.feed_token, reader.time_zone) == ("reader", "secret", "Asia/Seoul")
        invite = Invite.objects.get()
        assert (invite.token, invite.created_by.username, invite.note) == ("invite-token", "staff", "for a friend")
        assert CurrentContentType.objects.get_for_model(Follow).app_label == "readers"
        assert not CurrentContentType.objects.filter(app_label="notifications", model="follow").exists()
    finally:
        migrate(AFTER)
