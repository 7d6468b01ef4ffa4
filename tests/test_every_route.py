"""No input reaches a 500: every URL pattern, every method, as anyone, with hostile ids, parameters and bodies.

The walk takes every route the URL configuration has (pages, the JSON API, the
staff API, every admin page, with each change list's filters) and fills it
with ids at and past 2^63, 5,000-digit numbers, deep JSON, long and odd
Unicode, as an anonymous caller, a reader and staff. A new route is walked the
day it is added: nothing to remember.
"""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib import admin
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batoshelf.asgi import application
from library.models import ImportEntry, LibraryImport
from notifications import delivery
from notifications.models import Notification
from readers.models import Follow
from scraping.models import Chapter, CheckLog, CheckSchedule, JobRun, Title
from tests.conftest import logged_in, url_routes

pytestmark = pytest.mark.django_db

NUMBERS = [
    "1",
    "0",
    "-1",
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    "9" * 25,
    "9" * 5000,
    "1e9",
    "0x10",
    "1.5",
    "²",
    "١٢",
    " 7",
]
TEXTS = [
    "",
    "\x00",
    "😀" * 500,
    "ß" * 5000,
    "\u202e",
    "\ufeff",
    "'; DROP TABLE scraping_title; --",
    "<script>",
    "%00",
    "../../etc/passwd",
    "a" * 20000,
    "null",
    "true",
    "[]",
    "{}",
]
values = st.one_of(st.sampled_from(NUMBERS + TEXTS), st.text(max_size=40), st.integers().map(str))
DEEP = [b"[" * 100_000, b'{"a":' * 50_000, b"[" * 100_000 + b"]" * 100_000]
bodies = st.one_of(
    st.sampled_from(
        DEEP
        + [
            b"",
            b"\xff\xfe",
            b"not json",
            json.dumps({"job_type": "9" * 5000}).encode(),
            json.dumps({"job_type": "heartbeat", "interval_minutes": 2**70}).encode(),
            json.dumps({"job_type": "heartbeat", "options": {"x": "😀" * 1000}}).encode(),
        ]
    ),
    st.dictionaries(
        st.sampled_from(
            [
                "job_type",
                "enabled",
                "interval_minutes",
                "active_from_hour",
                "options",
                "url",
                "to",
                "muted",
                "next",
                "limit",
            ]
        ),
        values,
        max_size=4,
    ).map(lambda d: json.dumps(d).encode()),
)
# Query parameters our views read, and the admin's own.
APP_PARAMETERS = [
    "limit",
    "title",
    "outcome",
    "error_kind",
    "unread",
    "show",
    "page",
    "job_type",
    "by_type",
    "since",
    "next",
]
ADMIN_PARAMETERS = ["q", "o", "p", "e", "all", "_changelist_filters", "_popup", "_to_field"]
# The ids a sweep puts in every id slot of every route, and the values in every parameter.
HOSTILE_IDS = [str(2**63 - 1), str(2**63), "9" * 25, "9" * 5000, "x"]
HOSTILE_VALUES = [str(2**64), "9" * 5000, "-" + "9" * 25, "😀\x00"]


def admin_parameters(model, model_admin):
    """What a model's change list and add form read from the query string: its filters, its date
    drill-down, and every field (a change list filters by it, an add form starts from it)."""
    names = []
    for item in model_admin.list_filter:
        if isinstance(item, str):
            names += [item, f"{item}__exact", f"{item}__id__exact", f"{item}__isnull", f"{item}__gte"]
        elif isinstance(item, type):
            names.append(item.parameter_name)
    if model_admin.date_hierarchy:
        names += [f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")]
    names += [field.name for field in model._meta.fields]
    return sorted(set(names))


ADMIN_ROUTES = {
    f"admin/{model._meta.app_label}/{model._meta.model_name}/": admin_parameters(model, model_admin)
    for model, model_admin in admin.site._registry.items()
}


ROUTES = sorted(set(url_routes()))
PARAMETERS = APP_PARAMETERS + ADMIN_PARAMETERS + sorted({p for names in ADMIN_ROUTES.values() for p in names})


def fill(route, value):
    """A path for `route` with each converter filled by `value()`; None for a regex route (the admin's
    app index, walked through its plain form)."""
    path, rest = "", route.lstrip("^")
    while "<" in rest:
        before, _, after = rest.partition("<")
        _, _, rest = after.partition(">")
        path += before + value().replace("/", "_")
    path += rest
    if any(regex_bit in path for regex_bit in ("$", "(?P", "\\Z")):
        return None
    return "/" + path


def answered_well(response, method, path, who):
    assert response.status_code < 500, (method, path[:200], who, response.content[:300])
    if path.startswith("/api/"):
        assert response["Content-Type"].startswith("application/json"), (method, path[:200], response.status_code)
        assert response.status_code < 400 or "error" in response.json()


@pytest.fixture
def clients(django_user_model, settings):
    # Sources a fuzzed request might reach are closed ports here: no request leaves the machine.
    settings.BATO_SITE_URLS = ["http://127.0.0.1:9"]
    settings.MANGADEX_API_URL = "http://127.0.0.1:9"
    settings.MANGAUPDATES_API_URL = "http://127.0.0.1:9/v1"
    settings.SOURCE_TIMEOUT = 1
    reader = django_user_model.objects.create_user("reader")
    staff = django_user_model.objects.create_superuser("staff", password="x")
    title = Title.objects.create(source="mangadex", source_id="11111111-2222-4333-8444-555555555555", name="T")
    CheckSchedule.objects.create(title=title)
    chapter = Chapter.objects.create(title=title, source_id="c1", name="Chapter 1", url_path="@evil.example/x")
    Follow.objects.create(user=reader, title=title)
    Notification.objects.create(user=reader, title=title, chapter=chapter, kind="new_chapter", message="m")
    CheckLog.objects.create(title=title, outcome="success")
    JobRun.objects.create(job_type="heartbeat", trigger="manual", started_at=timezone.now())
    return {"anonymous": Client(), "reader": logged_in(reader), "staff": logged_in(staff)}


@pytest.mark.parametrize("route", ROUTES)
def test_ids_at_and_past_2_63_in_any_route_are_never_a_server_error(clients, route):
    for hostile in HOSTILE_IDS:
        path = fill(route, lambda value=hostile: value)
        if path is None:
            return
        for who in ("reader", "staff"):
            for method in ("get", "post"):
                answered_well(getattr(clients[who], method)(path), method, path, who)


@pytest.mark.parametrize("route", [r for r in ROUTES if "<" not in r and "(?P" not in r and not r.startswith("admin/")])
def test_huge_and_odd_parameters_on_every_page_and_api_are_never_a_server_error(clients, route):
    path = "/" + route
    for name in APP_PARAMETERS:
        for hostile in HOSTILE_VALUES:
            for who in ("reader", "staff"):
                answered_well(clients[who].get(path, {name: hostile}), "get", f"{path}?{name}=…", who)


@pytest.mark.parametrize("route", sorted(ADMIN_ROUTES))
def test_huge_and_odd_filters_on_every_change_list_and_add_form_are_never_a_server_error(clients, route):
    staff = clients["staff"]
    for hostile in HOSTILE_VALUES:
        # An add form takes every field's initial value from the query string, all at once.
        add = f"/{route}add/"
        answered_well(staff.get(add, dict.fromkeys(ADMIN_ROUTES[route], hostile)), "get", f"{add}?…", "staff")
        for name in ADMIN_ROUTES[route] + ADMIN_PARAMETERS:
            answered_well(staff.get(f"/{route}", {name: hostile}), "get", f"/{route}?{name}=…", "staff")


@pytest.mark.parametrize("route", ROUTES)
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_no_input_to_any_route_gets_a_server_error(clients, route, data):
    path = fill(route, lambda: data.draw(values))
    if path is None:
        return
    who = data.draw(st.sampled_from(sorted(clients)))
    method = data.draw(st.sampled_from(["get", "post", "put", "delete", "patch"]))
    query = data.draw(st.dictionaries(st.sampled_from(PARAMETERS), values, max_size=3))
    client = clients[who]
    if method == "get":
        response = client.get(path, query)
    elif data.draw(st.booleans()):
        response = getattr(client, method)(
            path, data.draw(bodies), content_type="application/json", QUERY_STRING="&".join(f"{k}=x" for k in query)
        )
    else:
        form = data.draw(
            st.dictionaries(
                st.sampled_from(
                    PARAMETERS + ["url", "to", "action", "_selected_action", "apply", "hours", "muted", "post"]
                ),
                values,
                max_size=4,
            )
        )
        response = client.post(path, form) if method == "post" else getattr(client, method)(path)
    answered_well(response, method, path, who)


@pytest.mark.django_db(transaction=True)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    since=values,
    origin=st.sampled_from(
        ["http://localhost", "http://localhost:9999", "https://localhost", "null", "", "😀", "http://[::1"]
    ),
    path=st.sampled_from(["/ws/notifications/", "/ws/", "/ws/x", "/", "/ws/notifications/more", "/admin/"]),
)
def test_no_websocket_handshake_gets_a_server_error(clients, since, origin, path):
    cookie = clients["reader"].cookies["sessionid"].value

    async def handshake():
        communicator = WebsocketCommunicator(
            application,
            f"{path}?since={since}",
            headers=[
                (b"origin", origin.encode()),
                (b"host", b"localhost"),
                (b"cookie", f"sessionid={cookie}".encode()),
            ],
        )
        try:
            connected, _ = await communicator.connect(timeout=5)
            if connected:
                first = await communicator.receive_json_from(timeout=5)
                assert first["type"] in ("sync", "error")
            await communicator.disconnect()
        finally:
            await delivery.web_process.stop()

    async_to_sync(handshake)()


def test_huge_numbers_in_the_forms_that_name_a_chapter_an_entry_or_a_count_are_never_a_server_error(clients):
    reader = clients["reader"]
    title = Title.objects.get()
    preview = LibraryImport.objects.create(
        user=Follow.objects.get().user, kind="file", origin="x.tachibk", state="preview", total=1
    )
    entry = ImportEntry.objects.create(
        library_import=preview, position=0, name="T", match="uncertain", candidates=[{"source": "mangadex"}]
    )
    for hostile in HOSTILE_VALUES:
        forms = [
            (f"/shelf/{title.pk}/progress", {"action": "up_to", "chapter_id": hostile}),
            (f"/shelf/{title.pk}/progress", {"action": "read", "chapter_id": hostile}),
            (f"/shelf/{title.pk}/reading", {"notify_after_unread": hostile}),
            (f"/shelf/import/{preview.pk}/choose", {"entry": hostile, "pick": "0"}),
            (f"/shelf/import/{preview.pk}/choose", {"entry": str(entry.pk), "pick": hostile}),
        ]
        for path, form in forms:
            answered_well(reader.post(path, form), "post", f"{path} {sorted(form)}", "reader")
