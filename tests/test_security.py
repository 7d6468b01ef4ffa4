"""Deployment settings, and every staff-only or per-user door tried with the wrong key.

The WebSocket's refusals are in test_live.py, title URLs in test_refs.py, the
fuzzing in test_fuzz.py.
"""

import os
import re
import secrets
import subprocess
import sys

import pytest
from django.test import Client

from notifications.models import Notification
from readers.models import Follow
from scraping.models import Title
from tests.conftest import logged_in, url_routes
from tests.processes import ROOT

PRODUCTION_HTTPS = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "shelf.example.org",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "BEHIND_TLS_PROXY": "true",
    "BATOSHELF_CONTACT_URL": "https://shelf.example.org/contact",
}


def manage(*args, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_", "PYTEST"))}
    clean.update(DJANGO_SETTINGS_MODULE="batoshelf.settings", **env)
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_the_production_https_settings():
    done = manage(
        "check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=secrets.token_urlsafe(50), **PRODUCTION_HTTPS
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_check_deploy_names_each_https_setting_left_out():
    done = manage("check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=secrets.token_urlsafe(50), DEBUG="false")
    assert done.returncode != 0
    for warning in ("W004", "W008", "W012", "W016"):
        assert f"security.{warning}" in done.stderr + done.stdout


def test_check_deploy_asks_for_a_contact_url_for_the_sources():
    without = {k: v for k, v in PRODUCTION_HTTPS.items() if k != "BATOSHELF_CONTACT_URL"}
    done = manage("check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=secrets.token_urlsafe(50), **without)
    assert done.returncode != 0 and "batoshelf.W001" in done.stderr + done.stdout


def test_a_weak_secret_key_is_reported():
    done = manage("check", "--deploy", "--fail-level", "WARNING", SECRET_KEY="short", **PRODUCTION_HTTPS)
    assert done.returncode != 0 and "security.W009" in done.stderr + done.stdout


def test_hsts_and_the_https_redirect_follow_the_settings(settings, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    plain = Client().get("/accounts/login/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    secure = Client().get("/accounts/login/", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_behind_a_tls_proxy_its_forwarded_scheme_is_trusted(settings, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert Client().get("/accounts/login/", headers={"X-Forwarded-Proto": "https"}).status_code == 200


STAFF_API = sorted(  # every concrete path, converters filled with 1
    "/" + re.sub(r"<(?:\w+:)?\w+>", "1", route).lstrip("^").rstrip("$")
    for route in url_routes()
    if route.startswith(("api/admin/", "api/jobs/"))
)
STAFF_PAGES = [
    "/admin/dashboard/",
    "/admin/",
    "/admin/scraping/title/",
    "/admin/scraping/sourcestate/",
    "/admin/scraping/jobconfig/",
    "/admin/auth/user/",
]


def test_the_sweep_found_every_staff_endpoint():
    assert len(STAFF_API) == 9, STAFF_API


@pytest.mark.django_db
@pytest.mark.parametrize("path", STAFF_API)
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_staff_api_refuses_a_reader(as_reader, path, method):
    answer = getattr(as_reader, method)(path)
    assert answer.status_code in (403, 405), (path, answer.status_code)
    if answer.status_code == 403:
        assert answer.json()["error"] == "staff only"


@pytest.mark.django_db
@pytest.mark.parametrize("path", STAFF_PAGES)
def test_every_staff_page_sends_a_reader_to_the_admin_login(as_reader, path):
    answer = as_reader.get(path)
    assert answer.status_code == 302 and answer["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_a_readers_own_follow_and_notifications_are_out_of_anothers_reach(reader, other_reader):
    title = Title.objects.create(source_id="102497", name="A title")
    Follow.objects.create(user=reader, title=title)
    mine = Notification.objects.create(user=reader, title=title, kind="alert", message="mine")
    other = logged_in(other_reader)
    assert other.post(f"/notifications/{mine.pk}/read").status_code == 404
    assert other.post(f"/api/notifications/{mine.pk}/read").status_code == 404
    assert other.post(f"/shelf/{title.pk}/unfollow").status_code == 404
    assert other.post(f"/shelf/{title.pk}/mute").status_code == 404
    assert Follow.objects.get(user=reader, title=title).muted is False
    assert Notification.objects.get(pk=mine.pk).is_read is False


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["follow", "unfollow", "mute", "move"])
def test_a_title_id_past_2_63_is_not_found_not_a_server_error(as_reader, action):
    assert as_reader.post(f"/shelf/9223372036854775808/{action}").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/admin/scraping/chapter/?title=99999999999999999999999",
        "/admin/scraping/checklog/?title=99999999999999999999999",
        "/admin/scraping/title/99999999999999999999999/change/",
    ],
)
def test_the_admin_answers_a_number_past_any_id_without_a_server_error(admin_client, path):
    assert admin_client.get(path).status_code in (200, 302, 404)


@pytest.mark.django_db
@pytest.mark.parametrize("view", ["change", "delete"])
def test_an_empty_to_field_on_an_admin_page_is_no_server_error(admin_client, view):
    job = admin_client.get("/admin/scraping/jobconfig/")  # makes the job rows
    assert job.status_code == 200
    assert admin_client.get(f"/admin/scraping/jobconfig/1/{view}/?_to_field=").status_code < 500


@pytest.mark.django_db
def test_deeply_nested_json_is_a_reason_not_a_server_error(admin_client):
    response = admin_client.post("/api/jobs/config", b"[" * 100_000, content_type="application/json")
    assert response.status_code == 400 and "nested too deep" in response.json()["error"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, path, status",
    [
        ("put", "/api/notifications", 405),
        ("delete", "/api/notifications/count", 405),
        ("get", "/api/no/such/thing", 404),
        ("get", "/api/notifications/9223372036854775808/read", 404),
        ("get", "/api/notifications/1/read", 405),
        ("post", "/api/titles/1/check", 404),
    ],
)
def test_every_api_answer_is_json_with_a_reason(as_reader, method, path, status):
    response = getattr(as_reader, method)(path)
    assert response.status_code == status and response["Content-Type"] == "application/json"
    assert response.json()["error"]
    if status == 405:
        assert response.json()["error"].startswith(f"{method.upper()} is not allowed here; use ")
        assert response["Allow"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, content_type, said",
    [
        ("/accounts/login/", "application/x-www-form-urlencoded; charset=utf-32", "must be sent in UTF-8"),
        ("/api/notifications/read-all", "application/x-www-form-urlencoded; charset=latin-1", "must be sent in UTF-8"),
    ],
)
def test_a_form_in_another_charset_than_utf8_is_a_400_with_a_reason_not_a_server_error(
    reader, path, content_type, said
):
    client = Client(enforce_csrf_checks=True)  # the CSRF check is what read the body, and read it again
    client.force_login(reader)
    client.get("/shelf/")
    token = client.cookies["csrftoken"].value
    response = client.post(path, b'{"a": "b"}', content_type=content_type, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert said in (response.json()["error"] if path.startswith("/api/") else response.content.decode())


@pytest.mark.django_db
def test_pages_refuse_methods_they_do_not_take(as_reader):
    assert as_reader.put("/shelf/").status_code == 405
    assert as_reader.delete("/notifications/").status_code == 405


@pytest.mark.django_db
def test_chapter_links_cannot_leave_the_sources_own_site(settings):
    from scraping.models import Chapter, Title

    settings.BATO_SITE_URLS = ["https://bato.to"]
    title = Title.objects.create(source="bato", source_id="5", name="T")
    for path in (
        "@evil.example/phish",
        "//evil.example/x",
        "/\\\\evil.example",
        "https://evil.example/x",
        "javascript:alert(1)",
        "/title/5 x",
    ):
        link = Chapter(title=title, source_id="1", url_path=path).link
        assert link.url == "https://bato.to/title/5" and not link.external, path
    assert Chapter(title=title, source_id="1", url_path="/title/5-x/1-ch_1").url == "https://bato.to/title/5-x/1-ch_1"
    dex = Title.objects.create(source="mangadex", source_id="11111111-2222-4333-8444-555555555555", name="D")
    official = Chapter(title=dex, source_id="c", external_url="https://mangaplus.shueisha.co.jp/viewer/1").link
    assert official.external and official.url == "https://mangaplus.shueisha.co.jp/viewer/1"


def test_every_page_says_where_scripts_styles_and_images_may_come_from(as_reader, client):
    for answer in (as_reader.get("/shelf/"), as_reader.get("/notifications/"), client.get("/accounts/login/")):
        policy = answer["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "<script>" not in answer.content.decode()


def test_pages_and_answers_that_show_a_secret_are_not_kept_by_caches(as_reader, reader):
    for path in ("/settings/", "/api/me/feed"):
        assert "no-store" in as_reader.get(path)["Cache-Control"], path
    feed = as_reader.get("/api/me/feed").json()["url"].replace("http://testserver", "")
    cache_control = as_reader.get(feed)["Cache-Control"]
    assert "private" in cache_control and "public" not in cache_control
