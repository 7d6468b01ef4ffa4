"""The operator commands, called as a person would call them."""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from notifications.models import Notification
from readers.models import Follow
from scraping.gate import keeper
from scraping.models import CheckLog, CheckSchedule, Title
from tests.conftest import run_command as run
from tests.processes import ROOT, free_port, project_env

pytestmark = pytest.mark.django_db


def test_addtitle_by_url_stores_schedules_follows_and_says_what_it_stored(standin, reader):
    standin.add_title("110100", "진격의 문구점", chapters=12)
    out, _ = run("addtitle", "https://batotwo.com/title/110100-some-slug", "--user", "reader")
    assert "bato:110100 진격의 문구점 (Bato): stored 12 chapters (latest: Chapter 12), next check" in out
    assert "reader follows it" in out
    assert Follow.objects.get(user=reader, title__source_id="110100").unread_count == 12, "new to it, by default"
    assert len(standin.api_requests()) == 1


def test_addtitle_says_where_the_reader_is(standin, reader):
    standin.add_title("110100", chapters=12)
    run("addtitle", "110100", "--user", "reader", "--at", "10")
    assert Follow.objects.get(user=reader).unread_count == 2
    with pytest.raises(CommandError, match="--at: 'soon' is not a chapter number"):
        run("addtitle", "110100", "--user", "reader", "--at", "soon")


@pytest.mark.parametrize(
    "args, message",
    [
        (["https://example.com/title/1"], "example.com is not a site batoshelf follows"),
        (["999"], "Bato has no title 999"),
        (["1", "--user", "nobody"], "there is no user 'nobody'"),
        ([], "give either one title URL or id, or --file PATH"),
    ],
)
def test_addtitle_refuses_bad_input_with_a_clear_error(standin, args, message):
    standin.add_title("1", chapters=1)
    with pytest.raises(CommandError, match=message):
        run("addtitle", *args)
    assert not Title.objects.exists()


def test_addtitle_from_a_file_continues_past_bad_lines_and_ends_with_a_summary(standin, reader, tmp_path):
    standin.add_title("1", chapters=2)
    standin.add_title("2", chapters=3)
    listing = tmp_path / "titles.txt"
    listing.write_text(
        "# my reading list\nhttps://bato.to/title/1-one\n\nnot a url\nhttps://bato.to/series/2/two\n999\n1\n",
        encoding="utf-8",
    )
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="2 lines of .* could not be added"):
        call_command("addtitle", "--file", str(listing), "--user", "reader", stdout=out, stderr=err)
    progress = err.getvalue().splitlines()
    assert [line.split("]")[0] for line in progress] == ["[1/5", "[2/5", "[3/5", "[4/5", "[5/5"]
    assert "line 4: failed" in progress[1]
    assert "5 titles: 2 added, 1 already tracked, 2 failed" in out.getvalue()
    assert "line 4 (not a url)" in out.getvalue() and "line 6 (999): Bato has no title 999" in out.getvalue()
    assert set(Title.objects.values_list("source_id", flat=True)) == {"1", "2"}
    assert Follow.objects.filter(user=reader).count() == 2


def test_addtitle_from_a_file_takes_comments_after_a_title(standin, tmp_path):
    standin.add_title("110100", chapters=1)
    standin.add_title("2", chapters=1)
    listing = tmp_path / "titles.txt"
    listing.write_text("110100 # the stationery one\nhttps://bato.to/title/2-two#notes\n   # only a comment\n")
    out, _ = run("addtitle", "--file", str(listing))
    assert "2 titles: 2 added, 0 already tracked, 0 failed" in out


def test_addtitle_with_a_missing_file_says_so():
    with pytest.raises(CommandError, match="cannot read /nonexistent/list.txt"):
        run("addtitle", "--file", "/nonexistent/list.txt")


@pytest.fixture
def two_titles(standin):
    standin.add_title("1", "First", chapters=2)
    standin.add_title("2", "Second", chapters=2)
    run("addtitle", "1")
    run("addtitle", "2")
    return standin


def make_due(source_id):
    CheckSchedule.objects.filter(title__source_id=source_id).update(next_check_at=timezone.now() - timedelta(minutes=1))


def test_checktitles_once_checks_only_due_titles_with_a_line_each(two_titles):
    make_due("1")
    two_titles.add_chapters("1", 1)
    two_titles.add_chapters("2", 1)
    out, _ = run("checktitles", "--once")
    assert "bato:1 First: 1 new chapter (Chapter 3)" in out
    assert "Second" not in out
    assert "checked 1: 1 with 1 new chapter, 0 unchanged, 0 failed, 0 skipped" in out
    out, _ = run("checktitles", "--once")
    assert "no title is due" in out


def test_checktitles_force_and_limit(two_titles):
    out, _ = run("checktitles", "--once", "--force", "--limit", "1")
    assert "checked 1:" in out
    out, _ = run("checktitles", "--once", "--force")
    assert "checked 2:" in out


def test_checktitles_one_title_by_id_or_url(two_titles):
    out, _ = run("checktitles", "--once", "--title", "2")
    assert "not due until" in out and "--force checks it anyway" in out
    out, _ = run("checktitles", "--once", "--title", "https://bato.to/title/2-second", "--force")
    assert "title: Second (bato:2)" in out and "bato:2 Second: no change (2 chapters)" in out
    with pytest.raises(CommandError, match="bato:77 is not tracked"):
        run("checktitles", "--once", "--title", "77")


def test_a_bad_answer_from_the_source_is_a_line_not_a_traceback(two_titles):
    two_titles.set_fault("malformed")
    out, _ = run("checktitles", "--once", "--force")
    assert out.count("failed: Bato's answer is not JSON") == 2
    assert CheckLog.objects.filter(outcome="failed", error_kind="bad_response").count() == 2


def test_a_429_ends_the_cycle_and_the_next_cycle_waits_for_the_pause(two_titles):
    two_titles.set_fault("rate_limit", retry_after=300)
    out, _ = run("checktitles", "--once", "--force")
    assert "failed: Bato is rate limiting us (HTTP 429; it asked for 300 s)" in out
    assert "its titles wait for a later cycle" in out
    assert len(two_titles.api_requests()) == 3  # two imports, one check
    out, _ = run("checktitles", "--once", "--force")
    assert "checks to Bato are paused until" in out and "checked 0:" in out
    assert keeper.active_pause("bato", timezone.now()) is not None


def test_checktitles_rejects_a_bad_limit():
    with pytest.raises(CommandError, match="--limit must be 1 or more"):
        run("checktitles", "--once", "--limit", "0")


def test_a_full_cycle_notifies_followers(two_titles, reader):
    Follow.objects.create(user=reader, title=Title.objects.get(source_id="2"))
    two_titles.add_chapters("2", 3)
    run("checktitles", "--once", "--force")
    assert Notification.objects.get(user=reader).chapter_count == 3


def test_checkdb_says_ok_when_every_migration_is_applied():
    out, _ = run("checkdb")
    assert out.startswith("ok: the ") and "migrations are applied" in out


def test_checkdb_fails_with_the_reason_when_a_migration_is_missing():
    MigrationRecorder.Migration.objects.filter(app="notifications", name="0002_mute_and_emit_claims").delete()
    with pytest.raises(CommandError, match=r"1 migration not applied .*notifications.0002_mute_and_emit_claims"):
        run("checkdb")


def test_checkdb_exits_1_when_the_database_does_not_answer():
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "checkdb"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=project_env(DATABASE_URL="mysql://nobody@127.0.0.1:1/missing"),
    )
    assert done.returncode == 1
    assert "cannot use the mysql database missing" in done.stderr


def test_checkdb_says_a_missing_sqlite_file_is_missing_and_makes_none(tmp_path):
    missing = tmp_path / "nothing-here.sqlite3"
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "checkdb"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=project_env(DATABASE_URL=f"sqlite:///{missing}"),
    )
    assert done.returncode == 1 and f"the SQLite database file {missing} does not exist" in done.stderr
    assert not missing.exists()


def test_checklogs_lists_recent_checks_newest_first_and_filters(two_titles):
    make_due("1")
    two_titles.set_fault("server_error")
    run("checktitles", "--once")
    two_titles.set_fault(None)
    first = Title.objects.get(source_id="1")

    out, _ = run("checklogs")
    lines = out.splitlines()
    assert lines[0].startswith("started (UTC)")
    assert "failed" in lines[1] and "HTTP 502" in lines[1] and "First" in lines[1] and first.reference in lines[1]
    assert len(lines) == 4  # the failure and the two imports

    failed, _ = run("checklogs", "--failed")
    assert len(failed.splitlines()) == 2
    only_second, _ = run("checklogs", "--title", "https://bato.to/title/2-second", "--limit", "5")
    assert "title: Second (bato:2)" in only_second and "First" not in only_second


@pytest.mark.parametrize(
    "args, message",
    [
        (["--limit", "0"], "--limit must be between 1 and 1000"),
        (["--title", "999999"], "bato:999999 is not tracked"),
        (["--title", "not a url"], "is not a URL"),
    ],
)
def test_checklogs_refuses_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        run("checklogs", *args)


def test_checklogs_says_when_nothing_matches():
    assert run("checklogs", "--failed")[0] == "no checks match\n"


@pytest.mark.slow
def test_run_without_a_terminal_says_how_to_create_the_admin_account(tmp_path):
    env = project_env(DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}")
    started = subprocess.Popen(
        [str(ROOT / "scripts" / "run"), "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    said = []
    try:
        for line in started.stderr:
            said.append(line)
            if "createsuperuser --noinput" in line:
                break
    finally:
        os.killpg(started.pid, signal.SIGTERM)
        started.wait(timeout=60)
    text = "".join(said)
    assert "no terminal to ask for one" in text and "DJANGO_SUPERUSER_PASSWORD=" in text
    assert "createsuperuser --noinput" in text


@pytest.mark.django_db
def test_admin_pages_carry_their_own_empty_favicon(admin_client):
    assert '<link rel="icon" href="data:,">' in admin_client.get("/admin/").content.decode()
