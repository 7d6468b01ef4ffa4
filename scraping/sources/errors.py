"""What can go wrong when asking a source, one type per cause, the same for every source.

`kind` is what a check log records; `transient` says whether asking again
later may succeed; `source_wide` says the fault is the source's or the road to
it (a 429, a block, no answer), not the title's: it counts against the source
at the gate (scraping.gate.rules), never against the title.
"""


class SourceError(Exception):
    kind = "error"
    transient = True
    source_wide = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class TitleNotFound(SourceError):
    kind = "not_found"
    transient = False


class TitleRefused(SourceError):
    """A title this instance does not follow (a content rating staff left out): asking again will not help."""

    kind = "refused"
    transient = False


class RateLimited(SourceError):
    kind = "rate_limited"
    source_wide = True

    def __init__(self, message: str, *, status: int | None = 429, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after  # seconds the source asked for, or None


class Blocked(SourceError):
    """A refusal of every request: an HTML page (Cloudflare) where JSON should be, or a 403."""

    kind = "blocked"
    source_wide = True


class Misconfigured(Blocked):
    """The source refuses how batoshelf asks (its User-Agent, say): staff must change a setting.

    It stops every check of the source like a block, and the message says what to change.
    """

    kind = "configuration"
    transient = False


class BadResponse(SourceError):
    """JSON we cannot use: GraphQL errors, an error envelope, or the wrong shape."""

    kind = "bad_response"


class NotJson(BadResponse):
    """An answer that is not JSON at all: whatever answered is not the source's API (a broken
    mirror, a proxy's error page), so it counts against the source like an unreachable one."""

    source_wide = True


class NetworkError(SourceError):
    kind = "network"
    source_wide = True


class RequestTimedOut(SourceError):
    kind = "timeout"
    source_wide = True


class ServerError(SourceError):
    """A 5xx from the source (or a proxy in front of it): the source is down, not the title."""

    kind = "server_error"
    source_wide = True


class InvalidTitleReference(ValueError):
    """What the user typed is not a title URL or id of a source; the message says what is accepted."""


def error_kinds() -> list[str]:
    """Every kind a failed check's log may name: those of SourceError and all its kinds, sorted."""
    found, waiting = set(), [SourceError]
    while waiting:
        kind = waiting.pop()
        found.add(kind.kind)
        waiting.extend(kind.__subclasses__())
    return sorted(found)
