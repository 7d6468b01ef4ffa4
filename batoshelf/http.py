"""What every JSON endpoint shares: errors as JSON with a reason, login, query parameters."""

import json
from functools import wraps

from django.http import JsonResponse
from django.views.csrf import csrf_failure as html_csrf_failure


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
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be a whole number, not {raw!r}") from None
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
    try:
        body = json.loads(request.body or b"{}")
    except ValueError as error:
        raise BadParameter(f"the body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadParameter("the body must be a JSON object")
    return body
