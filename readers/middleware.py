"""Times on a reader's pages are in their own time zone."""

from django.utils import timezone

from readers.models import Reader, zone_named

# The session keeps the reader's zone (and whether the page offered the browser's), so a page does not
# read them from the database each time.
TIME_ZONE_KEY = "batoshelf_time_zone"
TIME_ZONE_ASKED_KEY = "batoshelf_time_zone_asked"


class ReaderTimeZone:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        if TIME_ZONE_KEY not in request.session:
            name, asked = Reader.objects.filter(user=user).values_list("time_zone", "time_zone_asked").first() or (
                "UTC",
                False,
            )
            remember_time_zone(request, name, asked)
        with timezone.override(zone_named(request.session[TIME_ZONE_KEY])):
            return self.get_response(request)


def remember_time_zone(request, name, asked=True):
    """The time zone this session's pages show times in, and whether the browser's was offered."""
    request.session[TIME_ZONE_KEY] = name
    request.session[TIME_ZONE_ASKED_KEY] = asked


def reader_time_zone(request):
    """Context processor: the reader's time zone, for the page's script to offer the browser's once."""
    session = getattr(request, "session", None)
    if session is None or TIME_ZONE_KEY not in session:
        return {}
    return {"reader_time_zone": {"name": session[TIME_ZONE_KEY], "asked": session.get(TIME_ZONE_ASKED_KEY, True)}}
