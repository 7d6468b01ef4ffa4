"""Readers without the admin: invites and sign-up, their own settings, password mail, the daily digest,
and deleting an account. Mail goes through a real SMTP server on loopback."""

import email
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule

from notifications import digest
from notifications.models import Channel, Notification
from readers.models import Follow, Invite, Reader
from scraping.checking.jobs import ensure_all, run_job
from scraping.checking.pipeline import check_title, import_title
from scraping.models import Title
from tests.conftest import bato, logged_in
from tests.processes import free_port

pytestmark = pytest.mark.django_db


class Inbox:
    """What the SMTP server on loopback received, as parsed messages."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()


def text_of(message, subtype="plain"):
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}":
            return part.get_payload(decode=True).decode().replace("\r\n", "\n")
    return ""


def make_invite(staff_user, **fields):
    return Invite.objects.create(created_by=staff_user, expires_at=timezone.now() + timedelta(days=7), **fields)


def test_staff_invite_someone_who_signs_up_without_the_admin(admin_client, admin_user, client):
    made = admin_client.post("/invites/", {"note": "Ana", "days": 7})
    assert made.status_code == 302
    page = admin_client.get("/invites/").content.decode()
    [link] = re.findall(r"http://testserver/signup/[\w-]+/", page)
    assert client.get(link).status_code == 200
    signed_up = client.post(
        link,
        {
            "username": "ana",
            "email": "ana@example.org",
            "password1": "a long pass phrase 42",
            "password2": "a long pass phrase 42",
            "time_zone": "Europe/Lisbon",
        },
    )
    assert signed_up.status_code == 302 and signed_up["Location"] == "/shelf/"
    ana = get_user_model().objects.get(username="ana")
    assert not ana.is_staff and ana.reader.time_zone == "Europe/Lisbon"
    assert client.get("/shelf/").status_code == 200  # logged in
    # The link works once.
    again = Client().get(link)
    assert again.status_code == 404 and b"used, revoked or expired" in again.content
    assert Invite.objects.get().used_by == ana


def test_an_expired_revoked_or_made_up_invite_signs_no_one_up(admin_user, admin_client, client):
    expired = Invite.objects.create(created_by=admin_user, expires_at=timezone.now() - timedelta(seconds=1))
    revoked = make_invite(admin_user)
    admin_client.post(f"/invites/{revoked.pk}/revoke")
    for token in (expired.token, revoked.token, "made-up"):
        answer = client.post(
            f"/signup/{token}/", {"username": "x", "password1": "a long pass 42!", "password2": "a long pass 42!"}
        )
        assert answer.status_code == 404
    assert not get_user_model().objects.filter(username="x").exists()


def test_a_staff_invite_makes_staff_and_only_staff_make_invites(admin_user, as_reader, client):
    invite = make_invite(admin_user, staff=True)
    client.post(
        f"/signup/{invite.token}/",
        {"username": "new-staff", "password1": "a long pass 42!", "password2": "a long pass 42!", "time_zone": "UTC"},
    )
    assert get_user_model().objects.get(username="new-staff").is_staff
    assert as_reader.get("/invites/").status_code == 302  # to the admin's login, not a page
    assert as_reader.post("/invites/", {"note": "x", "days": 7}).status_code == 302
    assert Invite.objects.count() == 1


def test_a_reader_sets_mail_time_zone_and_digest(as_reader, reader):
    refused = as_reader.post(
        "/settings/", {"form": "account", "email": "", "time_zone": "UTC", "digest": "on", "digest_hour": 8}
    )
    assert refused.status_code == 400 and b"give an address" in refused.content
    bad_zone = as_reader.post(
        "/settings/", {"form": "account", "email": "r@example.org", "time_zone": "Mars/Olympus", "digest_hour": 8}
    )
    assert bad_zone.status_code == 400
    saved = as_reader.post(
        "/settings/",
        {"form": "account", "email": "r@example.org", "time_zone": "Asia/Tokyo", "digest": "on", "digest_hour": 7},
    )
    assert saved.status_code == 302
    reader.refresh_from_db()
    assert reader.email == "r@example.org"
    assert (reader.reader.time_zone, reader.reader.digest, reader.reader.digest_hour) == ("Asia/Tokyo", True, 7)
    assert b"Your next digest comes" in as_reader.get("/settings/").content
    # Chosen here, the zone is not offered another on the next login.
    page = logged_in(reader).get("/shelf/").content.decode()
    assert 'data-time-zone="Asia/Tokyo" data-time-zone-asked="1"' in page


def test_a_new_password_by_mail(reader, client, smtp, settings):
    settings.BATOSHELF_SITE_URL = "https://shelf.example.org"
    reader.email = "reader@example.org"
    reader.save()
    # The link is built from BATOSHELF_SITE_URL, whatever Host the request says.
    answer = client.post("/accounts/password_reset/", {"email": "reader@example.org"}, HTTP_HOST="127.0.0.1:6666")
    assert answer.status_code == 302
    [mail] = smtp.messages
    assert mail["To"] == "reader@example.org" and "6666" not in text_of(mail)
    link = re.search(r"https://shelf\.example\.org(/accounts/reset/\S+/)", text_of(mail)).group(1)
    form_page = client.get(link, follow=True)
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    done = client.post(set_url, {"new_password1": "another long phrase 7", "new_password2": "another long phrase 7"})
    assert done.status_code == 302
    logged_in = client.post("/accounts/login/", {"username": "reader", "password": "another long phrase 7"})
    assert logged_in.status_code == 302 and logged_in["Location"] == "/shelf/"
    # An address nobody has gets the same answer and no mail.
    client.post("/accounts/password_reset/", {"email": "nobody@example.org"})
    assert len(smtp.messages) == 1


def test_mails_to_set_a_new_password_are_limited(reader, client, smtp, settings):
    reader.email = "reader@example.org"
    reader.save()
    answers = [client.post("/accounts/password_reset/", {"email": "reader@example.org"}) for _ in range(7)]
    assert [a.status_code for a in answers] == [302] * settings.PASSWORD_RESETS_PER_HOUR + [429, 429]
    assert "Too many tries from here" in answers[-1].content.decode()
    assert len(smtp.messages) == settings.PASSWORD_RESETS_PER_HOUR


def test_wrong_passwords_lock_the_account_and_the_address_and_the_right_one_then_waits(client, reader, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "reader", "password": "not it"})
    locked = client.post("/accounts/login/", {"username": "reader", "password": "reader-pass-123"})
    assert locked.status_code == 429 and "Too many wrong passwords" in locked.content.decode()
    elsewhere = logged_in_from("10.9.9.9", "reader", "reader-pass-123")
    assert elsewhere.status_code == 429, "the account is locked from every address"
    from axes.models import AccessAttempt

    assert AccessAttempt.objects.filter(username="reader").exists(), "staff see it, and unlock it, in the admin"
    from axes.utils import reset

    reset(username="reader")
    assert client.post("/accounts/login/", {"username": "reader", "password": "reader-pass-123"}).status_code == 302


def logged_in_from(address, username, password):
    return Client(REMOTE_ADDR=address).post("/accounts/login/", {"username": username, "password": password})


def test_a_name_that_looks_like_someone_elses_is_refused(client, reader):
    invite = Invite.objects.create(expires_at=timezone.now() + timedelta(days=1))
    page = client.post(
        f"/signup/{invite.token}/",
        {"username": "rеader", "password1": "a long phrase 12", "password2": "a long phrase 12", "time_zone": "UTC"},
    )
    assert page.status_code == 400 and "looks the same as &#x27;reader&#x27;" in page.content.decode()


@pytest.mark.parametrize("name", ["reader", "Reader", "READER"])
def test_a_name_that_is_taken_is_refused_and_the_invite_still_works(client, reader, name):
    invite = Invite.objects.create(expires_at=timezone.now() + timedelta(days=1))
    form = {"username": name, "password1": "a long phrase 12", "password2": "a long phrase 12", "time_zone": "UTC"}
    page = client.post(f"/signup/{invite.token}/", form)
    assert page.status_code == 400 and "already exists" in page.content.decode()
    assert client.post(f"/signup/{invite.token}/", {**form, "username": "newcomer"}).status_code == 302


def test_a_reader_changes_their_password(as_reader, reader):
    changed = as_reader.post(
        "/accounts/password_change/",
        {
            "old_password": "reader-pass-123",
            "new_password1": "a new long phrase 9",
            "new_password2": "a new long phrase 9",
        },
    )
    assert changed.status_code == 302
    reader.refresh_from_db()
    assert reader.check_password("a new long phrase 9")


@pytest.fixture
def followed(standin, reader):
    standin.add_title("110100", "Solo Stationer", chapters=3)
    standin.add_title("110200", "Other Title", chapters=3)
    first = import_title(bato("110100"), user=reader).title
    second = import_title(bato("110200"), user=reader).title
    return first, second


def test_the_daily_digest_mails_whats_unread_once_at_the_readers_hour(standin, followed, reader, smtp):
    reader.email = "reader@example.org"
    reader.save()
    # The reader's hour is one to two hours ahead of now in Tokyo, whatever the hour the suite runs.
    now_in_tokyo = timezone.now().astimezone(ZoneInfo("Asia/Tokyo"))
    due = now_in_tokyo.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    Reader.objects.create(user=reader, time_zone="Asia/Tokyo", digest=True, digest_hour=due.hour)
    first, second = followed
    for _ in range(2):  # two checks, a chapter each: two notifications
        standin.add_chapters("110100", 1)
        check_title(Title.objects.get(pk=first.pk))
    standin.add_chapters("110200", 1)
    check_title(Title.objects.get(pk=second.pk))
    Notification.objects.filter(message__startswith="Chapter 4 of Other").update(is_read=True)
    assert digest.send_due(due - timedelta(hours=1)) == (0, 0)  # the hour before: not yet
    assert digest.next_digest_at(Reader.objects.get(user=reader), due - timedelta(hours=1)) == due
    assert digest.send_due(due) == (1, 0)
    [mail] = smtp.messages
    assert mail["Subject"] == "batoshelf: 2 new notifications" and mail["To"] == "reader@example.org"
    text = text_of(mail)
    assert "Solo Stationer\n  - Chapter 5 of Solo Stationer" in text and "Other Title" not in text
    assert text.index("Chapter 5") < text.index("Chapter 4")
    assert "<h3" in text_of(mail, "html") and "Chapter 4 of Solo Stationer" in text_of(mail, "html")
    # Once a day: later that day nothing more; the next day, nothing new means no mail.
    assert digest.send_due(due + timedelta(minutes=59)) == (0, 0)
    assert digest.send_due(due + timedelta(days=1)) == (0, 1)
    assert len(smtp.messages) == 1


def test_a_digest_turned_on_after_its_hour_waits_for_the_next_day(standin, followed, reader, smtp):
    reader.email = "reader@example.org"
    reader.save()
    now_in_tokyo = timezone.now().astimezone(ZoneInfo("Asia/Tokyo"))
    hour_passed = now_in_tokyo.replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    Reader.objects.create(user=reader, time_zone="Asia/Tokyo", digest=True, digest_hour=hour_passed.hour)
    standin.add_chapters("110100", 1)
    check_title(Title.objects.get(pk=followed[0].pk))
    assert digest.send_due(timezone.now()) == (0, 0), "five hours after its hour, it waits for tomorrow's"
    tomorrow = hour_passed + timedelta(days=1)
    assert digest.next_digest_at(Reader.objects.get(user=reader), timezone.now()) == tomorrow
    assert digest.send_due(tomorrow) == (1, 0)
    assert len(smtp.messages) == 1


def test_the_digest_job_is_scheduled_and_mails(standin, followed, reader, smtp):
    reader.email = "reader@example.org"
    reader.save()
    Reader.objects.create(user=reader, time_zone="UTC", digest=True, digest_hour=timezone.now().hour)
    standin.add_chapters("110100", 1)
    check_title(Title.objects.get(pk=followed[0].pk))
    ensure_all()
    assert Schedule.objects.filter(func="scraping.checking.jobs.run_scheduled_job", args="'send_digests'").exists()
    run = run_job("send_digests", trigger="manual", force=True)
    assert run.status == "succeeded" and len(smtp.messages) == 1


def test_deleting_an_account_takes_everything_of_it(standin, followed, reader, as_reader):
    Channel.objects.create(user=reader, name="hook", url="json://example.org/hook")
    kept = as_reader.post("/settings/delete-account", {"password": "wrong"})
    assert kept.status_code == 302 and get_user_model().objects.filter(pk=reader.pk).exists()
    gone = as_reader.post("/settings/delete-account", {"password": "reader-pass-123"})
    assert gone.status_code == 302 and gone["Location"] == "/accounts/login/"
    assert not get_user_model().objects.filter(pk=reader.pk).exists()
    assert not Follow.objects.exists() and not Channel.objects.exists() and not Reader.objects.exists()
    assert as_reader.get("/shelf/").status_code == 302  # logged out
