"""A reader in a real browser (Debian's headless chromium) against `manage.py serve`: live chapters,
the shelf a newcomer uses, and every reader page at a phone's width."""

import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone
from django_q.brokers import get_broker

from library.models import ImportEntry, LibraryImport
from notifications.models import Notification
from readers.models import Follow, Invite
from scraping.checking.pipeline import import_title
from scraping.checking.tasks import request_check
from scraping.models import CheckRequest, Cover
from scraping.sources import TitleRef
from tests.conftest import UNDER_CI, bato
from tests.processes import ROOT, ManagedProcess, free_port, http_status, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Long enough for the worker to start and take the queued check on a busy CI machine.
ARRIVAL_TIMEOUT = 90
# Made by each run, never committed (var/ is ignored): the last run's are there to look at.
SCREENSHOTS = ROOT / "var" / "screenshots"
PHONE = (390, 844)
ON_SCREEN = "const top = arguments[0].getBoundingClientRect().top; return top >= 0 && top < innerHeight"


def waiting(browser, seconds):
    """A wait that looks again when the page it read was replaced under it (a live row redrawn, a
    form's answer loaded), instead of failing on the stale element."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds, ignored_exceptions=(StaleElementReferenceException,))


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
    os.environ.pop("SE_OFFLINE", None)


def serve(tmp_path, **extra_env):
    """`manage.py serve` (daphne and the worker) on a free port, against the test database and the stand-ins."""
    port = free_port()
    # An uncollected STATIC_ROOT makes the server read static files from the repository, never a stale copy.
    server = ManagedProcess(
        tmp_path / "serve.log",
        "serve",
        "--port",
        str(port),
        STATIC_ROOT=str(tmp_path / "not-collected"),
        Q_WORKERS="1",
        **extra_env,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http_status(f"{base_url}/accounts/login/") == 200, 30, "the web process to answer")
        yield base_url
    finally:
        code = server.stop(signal.SIGINT)
        assert code == 0, server.output()


@pytest.fixture
def service(standin, mangadex, mangaupdates, tmp_path):
    yield from serve(tmp_path)


def with_real_password(user, password):
    # The server runs production settings, which do not know the tests' fast hasher.
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(password, hasher.salt())
    user.save()


def log_in(browser, service, name, password, then="/shelf/"):
    from selenium.webdriver.common.by import By

    browser.get(f"{service}/accounts/login/?next={then}")
    browser.find_element(By.NAME, "username").send_keys(name)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    waiting(browser, 15).until(lambda d: d.find_element(By.ID, "live-status").text == "live")


def shot(browser, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    browser.save_screenshot(str(path))
    return path


def failing(browser, tmp_path):
    path = shot(browser, f"failure-{tmp_path.name}")
    print(f"screenshot: {path}; browser log: {browser.get_log('browser')}")


def test_a_new_chapter_appears_live_and_is_marked_read(browser, service, standin, reader, tmp_path):
    from selenium.webdriver.common.by import By

    with_real_password(reader, "reader-pass-123")
    standin.add_title("110100", "Solo Stationer", chapters=3)
    title = import_title(bato("110100"), user=reader).title
    get_broker().purge_queue()
    wait = waiting(browser, 15)

    def badge():
        return browser.find_element(By.ID, "unread-badge")

    def newest_row():
        return browser.find_element(By.CSS_SELECTOR, "#notification-list > li.notification")

    try:
        log_in(browser, service, "reader", "reader-pass-123", then="/notifications/")
        assert browser.current_url == f"{service}/notifications/"
        assert not badge().is_displayed()

        standin.add_chapters("110100", 1)
        assert request_check(title, reader).queued  # the worker inside `serve` runs it
        toast = waiting(browser, ARRIVAL_TIMEOUT).until(
            lambda d: next((t for t in d.find_elements(By.CSS_SELECTOR, ".toast") if "Chapter 4" in t.text), None)
        )
        assert "Solo Stationer" in toast.text
        assert badge().is_displayed() and badge().text == "1"
        assert browser.title.startswith("(1) ")  # the tab says it too
        row = browser.find_element(By.CSS_SELECTOR, "li.notification.unread")
        assert "Chapter 4 of Solo Stationer" in row.text and "just now" in row.text

        row.find_element(By.CSS_SELECTOR, "button.mark-read").click()
        wait.until(lambda d: not badge().is_displayed())
        assert not browser.title.startswith("(")
        assert Notification.objects.get(user=reader).is_read

        # Two chapters in one check: one row, the same live as after a reload.
        standin.add_chapters("110100", 2)
        CheckRequest.objects.filter(title=title).delete()
        assert request_check(title, reader).queued
        waiting(browser, ARRIVAL_TIMEOUT).until(lambda d: "Chapter 6" in newest_row().text)
        live = newest_row().text
        assert "2 new chapters of Solo Stationer: Chapter 5 – Chapter 6" in live
        browser.refresh()
        wait.until(lambda d: d.find_element(By.ID, "live-status").text == "live")
        assert (
            newest_row().text.replace("\n", " ").split("Mark read")[0].strip()
            == live.replace("\n", " ").split("Mark read")[0].strip()
        )

        # "Mark all read" on the Unread tab leaves nothing there.
        browser.get(f"{service}/notifications/?show=unread")
        assert "2 new chapters of Solo Stationer" in browser.find_element(By.ID, "notification-list").text
        browser.find_element(By.CSS_SELECTOR, "#read-all-form button").click()
        wait.until(lambda d: "Nothing unread" in d.find_element(By.ID, "notification-list").text)
        assert not badge().is_displayed()
    except Exception:
        failing(browser, tmp_path)
        raise


def test_a_newcomer_adds_by_name_follows_their_progress_and_reads_on_from_another_tab(
    browser, service, mangadex, reader, tmp_path
):
    """The issue's walk: type a name, pick the cover, say "I'm at chapter 498", see 3 unread; a chapter
    comes and the row says 4 and a toast tells it; read up to the newest on the title page in another
    tab, and the first tab's count and badge drop."""
    from selenium.webdriver.common.by import By

    with_real_password(reader, "reader-pass-123")
    entry = mangadex.add_title(name="Kaguya-sama: Love Is War", chapters=501, year=2015)
    wait = waiting(browser, ARRIVAL_TIMEOUT)

    def row():
        return browser.find_element(By.CSS_SELECTOR, "li.shelf-row")

    try:
        log_in(browser, service, "reader", "reader-pass-123")
        search = browser.find_element(By.ID, "q")
        search.send_keys("Kaguya")
        search.submit()
        result = wait.until(
            lambda d: next(
                (
                    r
                    for r in d.find_elements(By.CSS_SELECTOR, "li.result")
                    if "Kaguya-sama" in r.text and r.find_elements(By.CSS_SELECTOR, "img.cover")
                ),
                None,
            )
        )
        assert "2015" in result.text and "MangaDex" in result.text
        # Covers still being fetched come in one by one, and leave a form being filled in as it is.
        Cover.objects.update(fetched_at=None)
        browser.refresh()
        result = wait.until(
            lambda d: next((r for r in d.find_elements(By.CSS_SELECTOR, "li.result") if "Kaguya-sama" in r.text), None)
        )
        assert not result.find_elements(By.CSS_SELECTOR, "img.cover")
        result.find_element(By.NAME, "number").send_keys("498")
        Cover.objects.update(fetched_at=timezone.now())
        wait.until(lambda d: result.find_elements(By.CSS_SELECTOR, "img.cover"))
        assert result.find_element(By.NAME, "number").get_attribute("value") == "498"
        assert result.find_element(By.CSS_SELECTOR, "input[value=at]").is_selected(), "typing a chapter picks it"
        result.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda d: "3 unread" in row().text)
        assert "ch. 498 / 501" in row().text and row().find_elements(By.CSS_SELECTOR, "img.cover")
        shot(browser, "shelf-1280")

        title = Follow.objects.get(user=reader).title
        mangadex.add_chapters(entry.dex_id, 1)
        CheckRequest.objects.filter(title=title).delete()
        row().find_element(By.CSS_SELECTOR, "summary").click()
        row().find_element(By.CSS_SELECTOR, "button.check-now").click()
        wait.until(lambda d: "4 unread" in row().text)
        wait.until(lambda d: any("Chapter 502" in t.text for t in d.find_elements(By.CSS_SELECTOR, ".toast")))
        assert browser.find_element(By.ID, "unread-badge").text == "1"

        first = browser.current_window_handle
        browser.switch_to.new_window("tab")
        browser.get(f"{service}/titles/{title.pk}/")
        newest = browser.find_element(By.CSS_SELECTOR, "li.chapter")
        assert "Chapter 502" in newest.text
        newest.find_element(By.CSS_SELECTOR, "button[value=up_to]").click()
        waiting(browser, 15).until(lambda d: "caught up" in d.find_element(By.ID, "follow").text)
        browser.switch_to.window(first)
        wait.until(lambda d: "caught up" in row().text and not d.find_element(By.ID, "unread-badge").is_displayed())

        # Removing a title asks first: "no" keeps it, "yes" removes it.
        def remove(d):
            # A late live update may redraw the row under the click: the wait then finds it again.
            button = row().find_element(By.CSS_SELECTOR, "button.danger-link")
            # The row's menu open, and the toasts (which fade by themselves) out of the way.
            browser.execute_script(
                "arguments[0].closest('details').open = true;"
                "document.querySelectorAll('.toast').forEach((toast) => toast.remove())",
                button,
            )
            button.click()
            return True

        wait.until(remove)
        asked = waiting(browser, 5).until(lambda d: d.switch_to.alert)
        assert "Remove Kaguya-sama: Love Is War from your shelf?" in asked.text
        asked.dismiss()
        assert Follow.objects.filter(user=reader).exists(), "'no' keeps it"
        wait.until(lambda d: "caught up" in row().text)
        wait.until(remove)
        waiting(browser, 5).until(lambda d: d.switch_to.alert).accept()
        wait.until(lambda d: not Follow.objects.filter(user=reader).exists())
    except Exception:
        failing(browser, tmp_path)
        raise


def set_phone(browser, on):
    """A phone's viewport through the DevTools protocol: headless Chromium's window stops at 500 px wide."""
    if on:
        width, height = PHONE
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True},
        )
    else:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_every_reader_page_fits_a_phone_without_sideways_scrolling(
    browser, service, mangadex, reader, admin_user, tmp_path
):
    from selenium.webdriver.common.by import By

    with_real_password(reader, "reader-pass-123")
    admin_user.is_staff = True
    with_real_password(admin_user, "admin-pass-123")
    entry = mangadex.add_title(name="A Title With A Rather Long Name That Wraps On A Phone", chapters=40)
    title = import_title(TitleRef("mangadex", entry.dex_id), user=admin_user).title
    invite = Invite.objects.create(created_by=admin_user, expires_at=timezone.now() + timedelta(days=3))
    for _ in range(3):
        Notification.objects.create(
            user=admin_user, title=title, kind="new_chapter", message="Chapter 41 of " + title.name
        )
    preview = LibraryImport.objects.create(
        user=admin_user,
        kind="file",
        origin="app.mihon_2026-11-30_19-14.tachibk",
        described="Mihon or Tachiyomi backup",
        state="preview",
        total=2,
    )
    ImportEntry.objects.create(
        library_import=preview,
        position=0,
        name=title.name,
        match="matched",
        source="mangadex",
        source_id=entry.dex_id,
        given={"progress": "12", "status": "reading"},
    )
    ImportEntry.objects.create(
        library_import=preview,
        position=1,
        name="Kaguya-sama: Love Is War, a name a phone has to wrap",
        match="uncertain",
        candidates=[
            {
                "source": "mangadex",
                "source_id": entry.dex_id,
                "name": title.name,
                "year": 2020,
                "url": "https://mangadex.org/title/x",
                "cover_url": "",
            },
            {
                "source": "mangaupdates",
                "source_id": "1",
                "name": "Another Candidate With A Long Long Name",
                "year": None,
                "url": "https://www.mangaupdates.com/series/1",
                "cover_url": "",
            },
        ],
    )
    pages = {
        "shelf": "/shelf/",
        "import": "/shelf/import/",
        "import-preview": f"/shelf/import/{preview.pk}/?show=uncertain",
        "search": "/shelf/?q=Title",
        "title": f"/titles/{title.pk}/",
        "notifications": "/notifications/",
        "settings": "/settings/",
        "invites": "/invites/",
        "move": f"/shelf/{title.pk}/move",
    }
    try:
        log_in(browser, service, "admin", "admin-pass-123")
        for width_name, phone in (("390", True), ("1280", False)):
            set_phone(browser, phone)
            for name, path in pages.items():
                browser.get(f"{service}{path}")
                waiting(browser, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")
                inner, scroll = browser.execute_script(
                    "return [window.innerWidth, document.documentElement.scrollWidth]"
                )
                refused = [
                    e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]
                ]
                assert not refused, f"{name}: the page's own policy refused {refused}"
                if phone:
                    assert inner == PHONE[0], "the viewport is really a phone's, or the check means nothing"
                    assert scroll <= PHONE[0], f"{name} is {scroll} px wide at {PHONE[0]}"
                shot(browser, f"{name}-{width_name}")
            if phone:
                # The top bar folds: its menu opens and every item is on screen.
                browser.get(f"{service}/shelf/")
                browser.find_element(By.CSS_SELECTOR, "#top-menu summary").click()
                for link in browser.find_elements(By.CSS_SELECTOR, "#top-menu nav a, #top-menu nav button"):
                    box = link.rect
                    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0], link.text
                # A refused form's reason shows where the form is, on screen, not at the top of a long page.
                browser.get(f"{service}/titles/{title.pk}/")
                browser.execute_script("document.querySelector('.reading-settings').open = true")
                groups = browser.find_element(By.NAME, "groups_ignored")
                groups.send_keys(", ".join(f"group {n}" for n in range(51)))
                groups.submit()
                waiting(browser, 10).until(
                    lambda d: d.execute_script(ON_SCREEN, d.find_element(By.CSS_SELECTOR, ".errorlist"))
                )
                shot(browser, "title-refused-390")
                # An invite's link has a Copy button: the clipboard, or the link selected where it is refused.
                browser.get(f"{service}/invites/")
                browser.find_element(By.CSS_SELECTOR, "table.invites button.copy").click()
                waiting(browser, 5).until(
                    lambda d: any(
                        t.text.startswith(("Copied", "Selected")) for t in d.find_elements(By.CSS_SELECTOR, ".toast")
                    )
                )
        for path in ("/admin/", "/admin/scraping/title/", f"/admin/scraping/title/{title.pk}/change/"):
            browser.get(f"{service}{path}")
            refused = [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
            assert not refused, f"{path}: {refused}"
        browser.delete_all_cookies()
        set_phone(browser, True)
        browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Tokyo"})
        for name, path in (("login", "/accounts/login/"), ("signup", f"/signup/{invite.token}/")):
            browser.get(f"{service}{path}")
            assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0], name
            shot(browser, f"{name}-390")
        # Logged out, the sign-up form still starts with the browser's time zone.
        zone = browser.find_element(By.CSS_SELECTOR, "#signup-form select[name=time_zone]")
        waiting(browser, 5).until(lambda _: zone.get_attribute("value") == "Asia/Tokyo")
        print(f"screenshots: {SCREENSHOTS}")
    except Exception:
        failing(browser, tmp_path)
        raise


@pytest.fixture
def push_service():
    from tests.standins.push import PushServiceStandIn

    with PushServiceStandIn() as server:
        yield server


@pytest.fixture
def service_pushing(standin, mangadex, mangaupdates, push_service, tmp_path):
    """The service, allowed to reach the push service's stand-in on loopback."""
    yield from serve(tmp_path, NOTIFY_ALLOW_PRIVATE_TARGETS="true")


def test_a_device_gets_the_new_chapter_with_every_tab_closed(
    browser, service_pushing, standin, push_service, reader, tmp_path
):
    """Settings, "Get alerts on this device": the real service worker registers and the subscription reaches
    the server; with no batoshelf tab open, a new chapter's push reaches the push service, signed and
    encrypted for the device; given to the service worker, it shows the system notification. Headless
    Chromium cannot subscribe at a real push service (its own is not reachable here, and subscribe() never
    settles), so PushManager.subscribe answers with the stand-in's subscription; and it cannot receive from
    one, so the push the stand-in decrypted is handed to the service worker through DevTools."""
    import json

    from selenium.webdriver.common.by import By

    service = service_pushing
    with_real_password(reader, "reader-pass-123")
    standin.add_title("110100", "Solo Stationer", chapters=3)
    title = import_title(bato("110100"), user=reader).title
    subscription = push_service.subscription()
    browser.execute_cdp_cmd("Browser.grantPermissions", {"origin": service, "permissions": ["notifications"]})
    browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": f"""
            PushManager.prototype.getSubscription = async function () {{ return null; }};
            PushManager.prototype.subscribe = async function (options) {{
              if (!(options.applicationServerKey instanceof Uint8Array) || options.applicationServerKey.length !== 65)
                throw new Error("no applicationServerKey");
              return {{ toJSON: () => ({json.dumps(subscription)}) }};
            }};"""
        },
    )
    try:
        log_in(browser, service, "reader", "reader-pass-123", then="/settings/")
        browser.find_element(By.ID, "device-alerts").click()
        waiting(browser, 30).until(lambda d: "Chrome on Linux" in d.find_element(By.ID, "device-list").text)
        assert "no alert yet" in browser.find_element(By.ID, "device-list").text
        registered = browser.execute_async_script(
            "const done = arguments[0]; navigator.serviceWorker.getRegistration('/')"
            ".then((r) => done(r && r.active ? r.active.scriptURL : null));"
        )
        assert registered == f"{service}/sw.js"
        shot(browser, "settings-devices-1280")

        browser.get("about:blank")  # every batoshelf tab closed
        standin.add_chapters("110100", 1)
        request_check(title, reader)
        waiting(browser, ARRIVAL_TIMEOUT).until(lambda d: push_service.payloads())
        [payload] = push_service.payloads()
        assert payload["title"] == "Solo Stationer" and "Chapter 4" in payload["body"]
        assert payload["url"] == f"/titles/{title.pk}/" and push_service.refusals == []

        browser.get(f"{service}/settings/")
        browser.execute_cdp_cmd("ServiceWorker.enable", {})
        # DevTools wants the registration's id, which only its events tell; a fresh profile numbers them
        # from 0 and an id without a registration is ignored, so the first few are tried.
        for registration_id in map(str, range(10)):
            browser.execute_cdp_cmd(
                "ServiceWorker.deliverPushMessage",
                {"origin": service, "registrationId": registration_id, "data": json.dumps(payload)},
            )
        shown = waiting(browser, 15).until(
            lambda d: d.execute_async_script(
                "const done = arguments[0]; navigator.serviceWorker.ready.then((r) => r.getNotifications())"
                ".then((list) => done(list.map((n) => [n.title, n.body, n.data.url])));"
            )
        )
        assert shown == [["Solo Stationer", payload["body"], f"/titles/{title.pk}/"]]
        # The device's row says when it was last used.
        browser.get(f"{service}/settings/")
        assert "last alert" in browser.find_element(By.ID, "device-list").text
    except Exception:
        failing(browser, tmp_path)
        raise
