"""What every endpoint shares: ids in URLs, errors as JSON with a reason on the API, login, parameters."""

import json
import logging
import re
from functools import wraps

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, HttpResponseNotFound, JsonResponse
from django.shortcuts import render
from django.utils.functional import cached_property
from django.views.csrf import csrf_failure as html_csrf_failure

from scraping.sources.values import MAX_INT64 as MAX_ID

logger = logging.getLogger(__name__)


class IdConverter:
    """A row id in a URL: 1 to 19 digits, at most MAX_ID. Anything else matches no URL (a 404),
    instead of reaching the database, where SQLite cannot even hold the number."""

    regex = "[0-9]{1,19}"

    def to_python(self, value):
        number = int(value)
        if not 0 < number <= MAX_ID:
            raise ValueError(f"{value} is not a row id")
        return number

    def to_url(self, value):
        return str(value)


class JsonApiAnswers:
    """Middleware: every answer under /api/ is JSON, errors included.

    Views answer their own errors as JSON; this catches what Django answers for
    them (an unknown path, a wrong method, a missing object, a server error)
    and gives it a JSON body with the reason, keeping the status and `Allow`.
    """

    REASONS = {400: "bad request", 403: "forbidden", 404: "no such thing here", 500: "the server failed; see its logs"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            reason = self.REASONS.get(response.status_code, "the request failed")
            if response.get("Content-Type", "").startswith("text/plain") and len(response.content) < 500:
                reason = response.content.decode(errors="replace")  # a reason said in words already
            elif response.status_code == 405:
                reason = f"{request.method} is not allowed here; use {response.get('Allow', 'another method')}"
            elif response.status_code == 404:
                reason = f"no such thing here: {request.path[:200]}"
            answer = json_error(response.status_code, reason)
            if response.has_header("Allow"):
                answer["Allow"] = response["Allow"]
            return answer
        return response


class FormsInUtf8:
    """Middleware: a form body in another charset than UTF-8 is a 400 with the reason.

    Django refuses such a body when it is read, but its own error pages read it again (their
    CSRF check does) and fail, so the answer was a bare 500 from daphne. Nothing reads it here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        charset = (request.encoding or "utf-8").lower()
        if request.content_type == "application/x-www-form-urlencoded" and charset not in ("utf-8", "utf8"):
            return HttpResponseBadRequest(
                "A form must be sent in UTF-8 (Content-Type: application/x-www-form-urlencoded; charset=utf-8).",
                content_type="text/plain",
            )
        return self.get_response(request)


class NumbersBeyondAnyRow:
    """Middleware: a number too large for the database names no row, so it is a 404, not a 500.

    SQLite holds 64-bit integers and raises OverflowError on a larger one. Our
    URLs keep such ids out (IdConverter); this covers what the admin takes from
    its own URLs and query strings (`?title=99999999999999999999999`).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OverflowError):
            logger.info("a number past any id in %s: %s", request.path[:200], exception)
            return HttpResponseNotFound(
                "No such thing here: that number is larger than any id.", content_type="text/plain"
            )
        return None


def json_error(status, reason, **headers):
    response = JsonResponse({"error": reason}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = str(value)
    return response


class BadParameter(ValueError):
    pass


def int_parameter(request, name, *, default, minimum, maximum):
    """An integer query parameter within bounds; BadParameter says what was wrong."""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?[0-9]{1,19}", raw):
        raise BadParameter(f"{name} must be a whole number between {minimum} and {maximum}, not {raw[:40]!r}")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise BadParameter(f"{name} must be between {minimum} and {maximum}, not {value}")
    return value


def api_login_required(view):
    """401 with a JSON reason for anonymous callers (a JSON client cannot follow a login redirect);
    a BadParameter raised by the view becomes a 400 with its message."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return json_error(401, "log in first")
        try:
            return view(request, *args, **kwargs)
        except BadParameter as error:
            return json_error(400, str(error))

    return wrapped


def csrf_failure(request, reason=""):
    """JSON for the API (its callers read JSON), Django's page for the rest."""
    if request.path.startswith("/api/"):
        return json_error(403, f"CSRF check failed: {reason}. Send the csrftoken cookie's value as X-CSRFToken.")
    return html_csrf_failure(request, reason=reason)


def api_staff_required(view):
    """Like api_login_required, and 403 for users who are not staff."""

    @api_login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            return json_error(403, "staff only")
        return view(request, *args, **kwargs)

    return wrapped


def json_body(request):
    """The request's JSON object; BadParameter when it is not one."""
    # Form data is no JSON; and multipart data read as a form (the CSRF check does) leaves no body to read.
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise BadParameter("the body is form data: send a JSON object as application/json")
    try:
        body = json.loads(request.body or b"{}")
    except ValueError as error:
        raise BadParameter(f"the body is not JSON: {error}") from None
    except RecursionError:
        raise BadParameter("the body is JSON nested too deep to read") from None
    if not isinstance(body, dict):
        raise BadParameter("the body must be a JSON object")
    return body


class CappedPaginator(Paginator):
    """The admin's paginator for tables of millions of rows. It counts at most CAP rows (staff narrow a
    list with a filter or a search), and reads a page in two steps: the page's ids, from the index that
    orders the list, then those rows with what they show. In one query with its joins, MariaDB joins and
    sorts the whole table before it takes the page: seconds at a million rows."""

    CAP = 10_000

    @cached_property
    def count(self):
        counted = self.object_list.order_by()[: self.CAP + 1].count()  # no sort to count
        self.capped = counted > self.CAP
        return min(counted, self.CAP)

    capped = False

    def page(self, number):
        number = self.validate_number(number)
        start = (number - 1) * self.per_page
        ids = list(self.object_list.values_list("pk", flat=True)[start : start + self.per_page])
        rows = self.object_list.in_bulk(ids)
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)


class CountedPaginator(Paginator):
    """A paginator told how many there are, so it does not count them again."""

    def __init__(self, object_list, per_page, count):
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached_property


def client_address(request):
    """The address a request came from: the peer, or behind our TLS proxy the one it saw (the last hop it
    added to X-Forwarded-For; the ones before it are the client's word and could be anything)."""
    if settings.BEHIND_TLS_PROXY:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR", "")


def too_many_requests(request, exception):
    """django-ratelimit's answer: 429 with the reason, JSON on the API."""
    reason = "Too many tries from here in a short time: wait an hour, or ask staff."
    if request.path.startswith("/api/"):
        return json_error(429, reason)
    return render(request, "registration/too_many.html", {"reason": reason}, status=429)


class ContentSecurityPolicy(CSPMiddleware):
    """django-csp's policy (CONTENT_SECURITY_POLICY) on every page; Django's admin, which sets a few styles
    inline, may have inline styles (never inline scripts)."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if request.path.startswith("/admin/"):
            parts.update = {**(parts.update or {}), "style-src": ["'self'", "'unsafe-inline'"]}
        return parts
