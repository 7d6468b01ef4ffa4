"""What can go wrong when asking Bato, one type per cause.

`kind` is what a scrape log records; `transient` says whether asking again
later may succeed; `pauses_site` says whether every check to the site should
wait (the site asked us to slow down or stopped talking to us).
"""


class BatoError(Exception):
    kind = "error"
    transient = True
    pauses_site = False

    def __init__(self, message, *, status=None):
        super().__init__(message)
        self.message = message
        self.status = status


class TitleNotFound(BatoError):
    kind = "not_found"
    transient = False


class RateLimited(BatoError):
    kind = "rate_limited"
    pauses_site = True

    def __init__(self, message, *, status=429, retry_after=None):
        super().__init__(message, status=status)
        self.retry_after = retry_after  # seconds the site asked for, or None


class Blocked(BatoError):
    """An HTML page (Cloudflare) where JSON should be."""

    kind = "blocked"
    pauses_site = True


class BadResponse(BatoError):
    """JSON we cannot use: not JSON at all, GraphQL errors, or the wrong shape."""

    kind = "bad_response"


class NetworkError(BatoError):
    kind = "network"


class RequestTimedOut(BatoError):
    kind = "timeout"


class ServerError(BatoError):
    kind = "server_error"


class InvalidTitleReference(ValueError):
    """What the user typed is not a Bato title URL or id; the message says what is accepted."""
