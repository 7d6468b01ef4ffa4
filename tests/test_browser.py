"""A reader in a real browser (Debian's headless chromium) against `manage.py serve`:
a check the worker runs finds a chapter, and the page shows it without a reload."""

import os
import signal
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django_q.brokers import get_broker

from notifications.models import Notification
from scraping.checking.pipeline import import_title
from scraping.checking.tasks import request_check
from tests.conftest import UNDER_CI, bato
from tests.processes import ManagedProcess, free_port, http_status, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Long enough for the worker to start and take the queued check on a busy CI machine.
ARRIVAL_TIMEOUT = 90


@pytest.fixture
def browser(monkeypatch):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        reason = f"Debian's chromium and chromedriver are not installed at {CHROMIUM} and {CHROMEDRIVER}"
        if UNDER_CI:
            pytest.fail(f"CI=true and {reason}: scripts/setup --browser installs them")
        pytest.skip(f"{reason} (scripts/setup --browser installs them)")
    from selenium import webdriver

    # Never let Selenium fetch a browser or driver of its own.
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-extensions",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def service(standin, tmp_path):
    """`manage.py serve` (daphne and the worker) on a free port, against the test database and the stand-in."""
    port = free_port()
    # An uncollected STATIC_ROOT makes the server read static files from the repository, never a stale copy.
    server = ManagedProcess(
        tmp_path / "serve.log", "serve", "--port", str(port), STATIC_ROOT=str(tmp_path / "not-collected"), Q_WORKERS="1"
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http_status(f"{base_url}/accounts/login/") == 200, 30, "the web process to answer")
        yield base_url
    finally:
        code = server.stop(signal.SIGINT)
        assert code == 0, server.output()


def first_group(driver):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, "#notification-list > li.group")


def request_check_again(title, user):
    """Ask for a check past the cool-down of the last one asked for."""
    from scraping.models import CheckRequest

    CheckRequest.objects.filter(title=title).delete()
    assert request_check(title, user).queued


def test_a_new_chapter_appears_live_and_is_marked_read(browser, service, standin, reader, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # The server runs production settings, which do not know the tests' fast hasher.
    hasher = PBKDF2PasswordHasher()
    reader.password = hasher.encode("reader-pass-123", hasher.salt())
    reader.save()
    standin.add_title("110100", "Solo Stationer", chapters=3)
    title = import_title(bato("110100"), user=reader).title
    get_broker().purge_queue()
    wait = WebDriverWait(browser, 15)

    def badge():
        return browser.find_element(By.ID, "unread-badge")

    try:
        browser.get(f"{service}/accounts/login/?next=/notifications/")
        browser.find_element(By.NAME, "username").send_keys("reader")
        browser.find_element(By.NAME, "password").send_keys("reader-pass-123")
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait.until(lambda d: d.find_element(By.ID, "live-status").text == "live")
        assert browser.current_url == f"{service}/notifications/"
        assert not badge().is_displayed()

        standin.add_chapters("110100", 1)
        assert request_check(title, reader).queued  # the worker inside `serve` runs it

        toast = WebDriverWait(browser, ARRIVAL_TIMEOUT).until(
            lambda d: next((t for t in d.find_elements(By.CSS_SELECTOR, ".toast") if "Chapter 4" in t.text), None)
        )
        assert "Solo Stationer" in toast.text
        assert badge().is_displayed() and badge().text == "1"
        assert browser.title.startswith("(1) ")  # the tab says it too
        row = browser.find_element(By.CSS_SELECTOR, "li.notification.unread")
        assert "Chapter 4 of Solo Stationer" in row.text

        row.find_element(By.CSS_SELECTOR, "button.mark-read").click()
        wait.until(lambda d: not badge().is_displayed())
        assert not browser.title.startswith("(")
        assert Notification.objects.get(user=reader).is_read

        browser.refresh()
        wait.until(lambda d: d.find_element(By.ID, "live-status").text == "live")
        assert "Chapter 4" not in browser.find_element(By.ID, "notification-list").text

        # Two chapters in one check: live, they join one group, newest first, as a reload shows them.
        standin.add_chapters("110100", 2)
        Notification.objects.all().delete()
        request_check_again(title, reader)
        WebDriverWait(browser, ARRIVAL_TIMEOUT).until(lambda d: "Chapter 6" in first_group(d).text)
        live = first_group(browser).text
        assert live.splitlines()[0].startswith("Solo Stationer: 2 notifications from one check")
        assert live.index("Chapter 6") < live.index("Chapter 5")
        browser.refresh()
        wait.until(lambda d: d.find_element(By.ID, "live-status").text == "live")
        assert first_group(browser).text == live

        # "Check now" on the shelf: the row says when the check ran and what it found.
        from scraping.models import CheckRequest

        CheckRequest.objects.filter(title=title).delete()
        standin.add_chapters("110100", 1)
        browser.get(f"{service}/shelf/")
        row = browser.find_element(By.CSS_SELECTOR, f"tr[data-title-id='{title.pk}']")
        row.find_element(By.CSS_SELECTOR, "button.check-now").click()
        WebDriverWait(browser, ARRIVAL_TIMEOUT).until(
            lambda d: (
                "just now" in d.find_element(By.CSS_SELECTOR, f"tr[data-title-id='{title.pk}'] td.last-check").text
            )
        )
        assert any(
            "Checked Solo Stationer: new chapters found" in t.text
            for t in browser.find_elements(By.CSS_SELECTOR, ".toast")
        )
    except Exception:
        browser.save_screenshot(str(tmp_path / "failure.png"))
        print(f"screenshot: {tmp_path / 'failure.png'}; browser log: {browser.get_log('browser')}")
        raise
    finally:
        os.environ.pop("SE_OFFLINE", None)
