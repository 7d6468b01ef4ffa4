"""Web push to a reader's devices: standard Web Push (RFC 8030) with VAPID (RFC 8292) and encrypted
messages (RFC 8291), sent by pywebpush.

A device is a channel (notifications.channels sends to it like any other, with the same outbox,
backoff and kinds) whose PushDevice holds the browser's subscription. This module reads a browser's
subscription, keeps the instance's VAPID key and sends one push; it never imports the outbox.
"""

import base64
import binascii
import json
from email.utils import parseaddr
from functools import cache
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.urls import reverse
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from batoshelf import egress
from notifications.models import VapidKey

# What `push` answers when the push service says the subscription is gone (404, 410): remove the device.
GONE = "gone"
# A push service keeps a message this long for a device that is off (then it is dropped).
PUSH_TTL = 24 * 3600
# Seconds to connect and to read the answer; the whole push is bounded by the caller's deadline too.
PUSH_TIMEOUT = 4.0
# A subscription's endpoint at most (real ones are a few hundred characters).
MAX_ENDPOINT = 1000


class SubscriptionRefused(ValueError):
    """What the browser sent is not a push subscription; the message says what is wrong."""


def read_subscription(data):
    """(endpoint, p256dh, auth) from a browser's PushSubscription.toJSON(), or SubscriptionRefused."""
    if not isinstance(data, dict):
        raise SubscriptionRefused("send the browser's push subscription: {endpoint, keys: {p256dh, auth}}")
    endpoint, keys = data.get("endpoint"), data.get("keys")
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise SubscriptionRefused(f"endpoint must be the push service's URL, at most {MAX_ENDPOINT} characters")
    allowed = ("https", "http") if settings.NOTIFY_ALLOW_PRIVATE_TARGETS else ("https",)
    try:
        parts = urlsplit(endpoint)
        fine = parts.scheme in allowed and parts.hostname and (parts.port or 443) <= 65535
    except ValueError:
        fine = False
    if not fine:
        raise SubscriptionRefused("endpoint must be an https:// URL of a push service")
    if not isinstance(keys, dict):
        raise SubscriptionRefused("keys must hold the subscription's p256dh and auth")
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    # An uncompressed P-256 point, and a 16-byte secret (RFC 8291 section 3).
    if _decoded_length(p256dh) != 65 or not _on_the_curve(p256dh):
        raise SubscriptionRefused("keys.p256dh must be the browser's P-256 public key, base64url")
    if _decoded_length(auth) != 16:
        raise SubscriptionRefused("keys.auth must be the 16-byte secret, base64url")
    return endpoint, _unpadded(p256dh), _unpadded(auth)


def _on_the_curve(p256dh):
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _decoded(p256dh))
    except ValueError:
        return False
    return True


def _decoded(text):
    return base64.urlsafe_b64decode(_unpadded(text) + "=" * (-len(_unpadded(text)) % 4))


def _unpadded(text):
    return text.rstrip("=")


def _decoded_length(text):
    if not isinstance(text, str) or len(text) > 200:
        return None
    try:
        return len(_decoded(text))
    except (binascii.Error, ValueError):
        return None


def browser_name(user_agent):
    """A device's name as a reader knows it, from its User-Agent: "Firefox on Android"."""
    agent = user_agent or ""
    browser = next(
        (
            name
            for marker, name in (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"))
            if marker in agent
        ),
        "Safari" if "Safari/" in agent else "A browser",
    )
    system = next(
        (
            name
            for marker, name in (
                ("Android", "Android"),
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Windows", "Windows"),
                ("Mac OS", "a Mac"),
                ("CrOS", "ChromeOS"),
                ("Linux", "Linux"),
            )
            if marker in agent
        ),
        None,
    )
    return f"{browser} on {system}" if system else browser


# The instance's VAPID key


def vapid():
    """The key this instance signs its pushes with: WEBPUSH_VAPID_PRIVATE_KEY, else one made once and kept in
    the database (so every web and worker process, on every machine, signs with the same)."""
    return _vapid_from(settings.WEBPUSH_VAPID_PRIVATE_KEY or _kept_key())


@cache
def _vapid_from(private_key):
    return Vapid.from_string(private_key)


def _kept_key():
    kept = VapidKey.objects.order_by("pk").values_list("private_key", flat=True).first()
    if kept:
        return kept
    made = Vapid()
    made.generate_keys()
    # The raw 32-byte key in base64url: what Vapid.from_string reads back.
    raw = made.private_key.private_numbers().private_value.to_bytes(32, "big")
    VapidKey.objects.create(private_key=base64.urlsafe_b64encode(raw).rstrip(b"=").decode())
    # Two processes that made one at once both use the first.
    return VapidKey.objects.order_by("pk").values_list("private_key", flat=True).first()


def application_server_key():
    """The public key a browser subscribes with (PushManager.subscribe's applicationServerKey), base64url."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = vapid().public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def contact():
    """The VAPID "sub" claim: who runs this instance, for a push service that must reach them."""
    if settings.WEBPUSH_CONTACT:
        return settings.WEBPUSH_CONTACT
    return f"mailto:{parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or 'batoshelf@localhost'}"


# One push


def payload_for(notifications):
    """What a push carries: the toast's text, and the page its click opens (the title's, or the list)."""
    if len(notifications) == 1:
        only = notifications[0]
        return {
            "title": only.title.name if only.title_id else "batoshelf",
            "body": only.message,
            "url": reverse("readers:title", args=[only.title_id]) if only.title_id else reverse("notifications:list"),
            "tag": f"batoshelf-{only.pk}",
        }
    title_ids = {n.title_id for n in notifications}
    [title_id] = title_ids if len(title_ids) == 1 else [None]
    return {
        "title": f"batoshelf: {len(notifications)} notifications",
        "body": "\n".join(n.message for n in notifications),
        "url": reverse("readers:title", args=[title_id]) if title_id else reverse("notifications:list"),
        "tag": f"batoshelf-{notifications[-1].pk}",
    }


def push(device, payload, vapid_key, *, policy, seconds):
    """Send one push to a device, signed with `vapid_key` (vapid()). None when the push service took it,
    GONE when it says the subscription ended, else why not. Connections are checked by `policy` where they
    are made, and all of it ends within `seconds`; a redirect is not followed (a push service answers, it
    does not send elsewhere)."""
    session = requests.Session()
    session.max_redirects = 0
    try:
        with egress.guarded(seconds, policy=policy, what="the push service") as guard:
            webpush(
                {"endpoint": device.endpoint, "keys": {"p256dh": device.p256dh, "auth": device.auth}},
                data=json.dumps(payload, ensure_ascii=False),
                vapid_private_key=vapid_key,
                vapid_claims={"sub": contact()},  # a new dict each time: pywebpush writes aud and exp into it
                ttl=PUSH_TTL,
                timeout=PUSH_TIMEOUT,
                requests_session=session,
            )
    except WebPushException as error:
        status = error.response.status_code if error.response is not None else None
        if status in (404, 410):
            return GONE
        return f"the push service answered {status}" if status else "the push service could not be reached"
    except requests.TooManyRedirects:
        return "the push service answered with a redirect"
    except requests.RequestException:
        if guard.refusals:
            return guard.refusals[0]
        if guard.expired:
            return f"the push service did not answer within {seconds} s"
        return "the push service could not be reached"
    except Exception as error:  # a bad key or the library's own bug must not take the run down
        return f"the push could not be made: {type(error).__name__}"
    finally:
        session.close()
    return None
