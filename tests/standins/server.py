"""What every stand-in shares: a real HTTP server on loopback, recorded requests, fault switches,
and a control API other processes drive over HTTP at /_standin/.

Faults (the same for every source; each source answers them in its own shape):
rate_limit (429, with the source's Retry-After), cloudflare (an HTML block
page), server_error (5xx), malformed (JSON cut short), hang (a slow answer),
raw (`raw_answer` as it is), drip (the real answer, a byte a second), plus any a source adds.
"""

import json
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# What a site shows when Cloudflare stops a request.
CLOUDFLARE_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head>'
    '<body><div id="cf-wrapper">Checking your browser before accessing. '
    "Performance &amp; security by Cloudflare</div></body></html>"
)
COMMON_FAULTS = ("rate_limit", "cloudflare", "server_error", "malformed", "hang", "raw", "drip")
DAY_MS = 86_400_000
EPOCH_2015_MS = 1_420_070_400_000


def now_ms():
    return int(time.time() * 1000)


def weekly_times_ms(count):
    """`count` release times a week apart up to now; long series closer together so they start after 2015."""
    gap = min(7 * DAY_MS, (now_ms() - EPOCH_2015_MS) // max(count, 1))
    start = now_ms() - count * gap
    return [start + gap * i for i in range(count)]


@dataclass
class RecordedRequest:
    at: float
    method: str
    path: str
    query: dict  # name → [values]
    headers: dict
    body: object  # parsed JSON, or None
    raw: bytes = b""  # the body as it came (an encrypted push is not JSON)


def cover_image(seed, width=512, height=720):
    """A JPEG cover, its colour from `seed`: what an image host sends."""
    import hashlib
    import io

    from PIL import Image

    red, green, blue = hashlib.sha256(seed.encode()).digest()[:3]
    out = io.BytesIO()
    Image.new("RGB", (width, height), (red, green, blue)).save(out, "JPEG", quality=70)
    return out.getvalue()


def image_answer(content):
    return 200, {"Content-Type": "image/jpeg", "Cache-Control": "public, max-age=86400"}, content


def json_answer(status, payload, **headers):
    return status, {"Content-Type": "application/json", **headers}, json.dumps(payload, ensure_ascii=False).encode()


class StandIn:
    """A source's stand-in. Use as a context manager or start()/stop(). Subclasses answer requests."""

    name = ""
    faults = COMMON_FAULTS

    def __init__(self, host="127.0.0.1", port=0):
        self.titles = {}
        self.fault = None
        self.fault_status = None  # e.g. 503 for the Cloudflare page, 502 for server_error
        self.retry_after = None
        self.hang_seconds = 5.0
        self.drip_seconds = 1.0
        self.raw_answer = (200, {"Content-Type": "application/json"}, b"{}")  # what the "raw" fault sends
        self.requests = []
        self.lock = threading.RLock()
        server = _QuietServerIPv6 if ":" in host else _QuietServer  # "::1": a stand-in on IPv6 loopback
        self._server = server((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = None

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def api_url(self):
        """Where the project should send its requests (a source's API may live under a path)."""
        return self.url

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self):
        # A short poll keeps stop() quick; tests start and stop many servers.
        self._server.serve_forever(poll_interval=0.05)

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def set_fault(self, fault, *, status=None, retry_after=None):
        if fault is not None and fault not in self.faults:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(self.faults)}")
        with self.lock:
            self.fault, self.fault_status, self.retry_after = fault, status, retry_after

    def api_requests(self):
        with self.lock:
            return [r for r in self.requests if not r.path.startswith("/_standin/")]

    # What subclasses provide

    def answer(self, request):
        """(status, headers, bytes) for a request to the source's API, when no common fault applies."""
        raise NotImplementedError

    def rate_limited(self):
        headers = {"Content-Type": "text/plain"}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return 429, headers, b"Too Many Requests"

    def malformed(self):
        return 200, {"Content-Type": "application/json"}, b'{"data": {"id": '

    def add_title_from(self, body):
        """Add a title as the control API's POST /_standin/titles asks; return (id, chapter count)."""
        raise NotImplementedError

    def add_chapters_from(self, title_id, body):
        """Add chapters as POST /_standin/titles/<id>/chapters asks; return their names."""
        raise NotImplementedError

    def set_status(self, title_id, status):
        raise NotImplementedError

    def describe_titles(self):
        raise NotImplementedError

    # Plumbing

    def handle(self, request):
        if request.path.startswith("/_standin/"):
            status, payload = self.control(request.method, request.path, request.body or {})
            return json_answer(status, payload)
        with self.lock:
            self.requests.append(request)
        fault = self.fault
        if fault == "rate_limit":
            return self.rate_limited()
        if fault == "cloudflare":
            return self.fault_status or 403, {"Content-Type": "text/html; charset=UTF-8"}, CLOUDFLARE_PAGE.encode()
        if fault == "server_error":
            return self.fault_status or 502, {"Content-Type": "text/plain"}, b"Bad Gateway"
        if fault == "raw":
            return self.raw_answer
        if fault == "malformed":
            return self.malformed()
        if fault == "hang":
            time.sleep(self.hang_seconds)
        return self.answer(request)

    def control(self, method, path, body):
        parts = path.strip("/").split("/")[1:]  # drop "_standin"
        if method == "GET" and parts == ["state"]:
            with self.lock:
                return 200, {
                    "source": self.name,
                    "fault": self.fault,
                    "requests": len(self.api_requests()),
                    "titles": self.describe_titles(),
                }
        if method != "POST":
            return 405, {"error": "use GET /_standin/state or POST"}
        try:
            with self.lock:
                if parts == ["titles"]:
                    title_id, chapters = self.add_title_from(body)
                    return 201, {"id": title_id, "chapters": chapters}
                if len(parts) == 3 and parts[0] == "titles" and parts[2] == "chapters":
                    return 201, {"added": self.add_chapters_from(parts[1], body)}
                if len(parts) == 3 and parts[0] == "titles" and parts[2] == "status":
                    self.set_status(parts[1], body["status"])
                    return 200, {"status": body["status"]}
                if parts == ["fault"]:
                    self.set_fault(body.get("fault"), status=body.get("status"), retry_after=body.get("retry_after"))
                    return 200, {"fault": self.fault}
        except KeyError as exc:
            return 404, {"error": f"unknown title or missing field {exc}"}
        except (TypeError, ValueError) as exc:
            return 400, {"error": str(exc)}
        return 404, {"error": f"no control at {path}"}


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up on a slow answer (a timeout, a killed worker) is no error of the stand-in's."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _QuietServerIPv6(_QuietServer):
    address_family = socket.AF_INET6


def _handler_for(standin):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _reply(self, status, headers, body):
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if standin.fault == "drip" and not self.path.startswith("/_standin/"):
                for byte in body:  # a source that never stops answering and never finishes
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(standin.drip_seconds)
                return
            self.wfile.write(body)

        def _request(self, method):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            parts = urlsplit(self.path)
            return RecordedRequest(
                time.monotonic(),
                method,
                parts.path,
                parse_qs(parts.query, keep_blank_values=True),
                dict(self.headers),
                body,
                raw,
            )

        def do_GET(self):
            self._reply(*standin.handle(self._request("GET")))

        def do_POST(self):
            self._reply(*standin.handle(self._request("POST")))

        def do_PUT(self):  # a web hook asked for ?method=PUT
            self._reply(*standin.handle(self._request("PUT")))

    return Handler
