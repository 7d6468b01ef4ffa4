"""Which pages may open a WebSocket here: only this site's own, by their whole origin.

A browser sends the page's origin (scheme, host and port) with every WebSocket
handshake. Checking the host alone would let http://localhost:9999, or
https://127.0.0.1 where this site is http://127.0.0.1:8000, in.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def normal_origin(url):
    """(scheme, host, port) of an origin or URL, lowercased, with the default port filled in; None if unusable."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def origin_allowed(origin, host, secure):
    """Whether a handshake from `origin`, sent to `host` over ws (or wss when `secure`), comes from this site.

    The origin must be this site's own (the scheme, host and port the request
    came to) or one of CSRF_TRUSTED_ORIGINS, and the host one of ALLOWED_HOSTS.
    """
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    theirs = normal_origin(origin)
    if theirs is None:
        return False
    own = normal_origin(f"{'https' if secure else 'http'}://{host}")
    trusted = {normal_origin(o) for o in settings.CSRF_TRUSTED_ORIGINS}
    return theirs == own or theirs in trusted


class SameOriginValidator:
    """ASGI middleware: a WebSocket handshake from any other origin is refused before it reaches a consumer."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            headers = dict(scope.get("headers", ()))
            origin = headers.get(b"origin", b"").decode("latin-1")
            host = headers.get(b"host", b"").decode("latin-1")
            if not origin_allowed(origin, host, scope.get("scheme") == "wss"):
                return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
