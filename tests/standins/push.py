"""A push service on loopback, standing in for the ones browsers subscribe with (FCM, Mozilla's, Apple's).

It hands out subscriptions as a browser would get them (`subscription()`: an endpoint here and the
browser's keys, made for real), and takes a push (RFC 8030) only as a real service would: a VAPID
token (RFC 8292) signed with ES256 by the key named in it, for this service's origin, not expired nor
more than a day ahead, with a contact. It then decrypts the message (RFC 8291, aes128gcm) with the
subscription's private key, as the browser would, and keeps it (`messages`). A subscription can be
ended (`end`): its endpoint answers 410 Gone, as a service does after its browser unsubscribed.
"""

import base64
import json
import secrets
import time

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.standins.server import StandIn, json_answer


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PushServiceStandIn(StandIn):
    name = "push"
    faults = ("server_error", "hang")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.browsers = {}  # subscription id -> (private key, auth secret)
        self.ended = set()
        self.messages = []  # (subscription id, the decrypted payload as JSON)
        self.refusals = []  # why pushes were refused, for a test to read
        self.redirect_to = None  # a URL: answer every push with a 307 there instead

    def subscription(self):
        """A new subscription, as PushSubscription.toJSON() gives it to the page."""
        key, auth, sub_id = ec.generate_private_key(ec.SECP256R1()), secrets.token_bytes(16), secrets.token_hex(12)
        with self.lock:
            self.browsers[sub_id] = (key, auth)
        public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {"endpoint": f"{self.url}/push/{sub_id}", "keys": {"p256dh": b64url(public), "auth": b64url(auth)}}

    def end(self, subscription):
        with self.lock:
            self.ended.add(subscription["endpoint"].rsplit("/", 1)[1])

    def payloads(self):
        with self.lock:
            return [payload for _, payload in self.messages]

    def answer(self, request):
        if self.redirect_to:
            return 307, {"Location": self.redirect_to, "Content-Type": "text/plain"}, b"moved"
        sub_id = request.path.removeprefix("/push/")
        if request.method != "POST" or sub_id not in self.browsers:
            return json_answer(404, {"error": "no such subscription"})
        if sub_id in self.ended:
            return json_answer(410, {"error": "the subscription ended"})
        problem = self.refusal(request)
        if problem:
            with self.lock:
                self.refusals.append(problem)
            return json_answer(403 if "token" in problem else 400, {"error": problem})
        key, auth = self.browsers[sub_id]
        try:
            plain = http_ece.decrypt(request.raw, private_key=key, auth_secret=auth, version="aes128gcm")
        except Exception as error:
            with self.lock:
                self.refusals.append(f"the message did not decrypt: {error}")
            return json_answer(400, {"error": "the message did not decrypt"})
        with self.lock:
            self.messages.append((sub_id, json.loads(plain)))
        return 201, {"Location": f"{self.url}/message/{secrets.token_hex(6)}"}, b""

    def refusal(self, request):
        """Why a real push service would refuse this push, or None."""
        headers = {name.lower(): value for name, value in request.headers.items()}
        if headers.get("content-encoding") != "aes128gcm":
            return "Content-Encoding must be aes128gcm"
        if not headers.get("ttl", "").isdigit():
            return "a TTL header is required"
        scheme, _, params = headers.get("authorization", "").partition(" ")
        fields = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
        if scheme.lower() != "vapid" or not {"t", "k"} <= fields.keys():
            return "the VAPID token is missing (Authorization: vapid t=..., k=...)"
        try:
            head, claims, signature = fields["t"].split(".")
            header = json.loads(unb64url(head))
            body = json.loads(unb64url(claims))
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(fields["k"]))
            raw = unb64url(signature)
            public.verify(
                encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
                f"{head}.{claims}".encode(),
                ec.ECDSA(hashes.SHA256()),
            )
        except (ValueError, InvalidSignature):
            return "the VAPID token's signature does not verify with its key"
        if header.get("alg") != "ES256":
            return "the VAPID token must be ES256"
        if body.get("aud") != self.url:
            return f"the VAPID token is for {body.get('aud')!r}, not this push service"
        if not time.time() < body.get("exp", 0) <= time.time() + 24 * 3600:
            return "the VAPID token is expired or more than 24 hours ahead"
        if not str(body.get("sub", "")).startswith(("mailto:", "https://")):
            return "the VAPID token needs a contact (sub: mailto: or https:)"
        return None
