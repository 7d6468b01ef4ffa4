"""What can go wrong when asking Bato, one type per cause.

`kind` is what a scrape log records; `transient` says whether asking again
later may succeed; `site_wide` says the fault is the site's or the road to it
(a 429, a block, no answer), not the title's: it counts against the site and
its mirror, never against the title (see scraping.politeness).
"""


class BatoError(Exception):
    kind = "error"
    transient = True
    site_wide = False

    def __init__(self, message, *, status=None):
        super().__init__(message)
        self.message = message
        self.status = status


class TitleNotFound(BatoError):
    kind = "not_found"
    transient = False


class RateLimited(BatoError):
    kind = "rate_limited"
    site_wide = True

    def __init__(self, message, *, status=429, retry_after=None):
        super().__init__(message, status=status)
        self.retry_after = retry_after  # seconds the site asked for, or None


class Blocked(BatoError):
    """An HTML page (Cloudflare) where JSON should be."""

    kind = "blocked"
    site_wide = True


class BadResponse(BatoError):
    """JSON we cannot use: not JSON at all, GraphQL errors, or the wrong shape."""

    kind = "bad_response"


class NotJson(BadResponse):
    """An answer that is not JSON at all: whatever answered is not the site's API (a broken
    mirror, a proxy's error page), so it counts against the site like an unreachable one."""

    site_wide = True


class NetworkError(BatoError):
    kind = "network"
    site_wide = True


class RequestTimedOut(BatoError):
    kind = "timeout"
    site_wide = True


class ServerError(BatoError):
    """A 5xx from the site (or Cloudflare in front of it): the site is down, not the title."""

    kind = "server_error"
    site_wide = True


class InvalidTitleReference(ValueError):
    """What the user typed is not a Bato title URL or id; the message says what is accepted."""
