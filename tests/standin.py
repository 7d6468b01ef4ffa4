"""A stand-in for Bato's GraphQL endpoint: a real HTTP server on loopback.

It speaks the shape written down in shared/bato-api.md and nothing more, so the
client is tested against HTTP, not against a mocked `requests`. Tests drive it
in-process (`BatoStandIn`); other processes drive it over HTTP at /_standin/.

    python -m tests.standin --port 8765 --demo
    curl -X POST localhost:8765/_standin/titles/102497/chapters -d '{"count": 2}'
"""

import argparse
import itertools
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DETAILS_FIELD = "get_content_comicNode"
CHAPTERS_FIELD = "get_content_chapterList"
DETAIL_FIELDS = {
    "id", "name", "altNames", "authors", "artists", "genres", "origLang", "originalStatus",
    "originalPubFrom", "originalPubTill", "uploadStatus", "readDirection", "summary", "text",
    "stat_score_val", "stat_count_votes", "stat_count_follows", "stat_count_reviews",
    "stat_count_post_reply", "stat_count_scores", "stat_count_views", "stat_count_emotions",
    "field", "count",
}
CHAPTER_FIELDS = {
    "id", "dname", "title", "urlPath", "dateCreate", "datePublic", "stat_count_views_guest",
    "stat_count_views_login", "stat_count_post_reply",
}
KNOWN_FIELDS = {DETAILS_FIELD, CHAPTERS_FIELD, "data"} | DETAIL_FIELDS | CHAPTER_FIELDS

# What the site shows when Cloudflare stops a request.
CLOUDFLARE_PAGE = (
    "<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title></head>"
    "<body><div id=\"cf-wrapper\">Checking your browser before accessing. "
    "Performance &amp; security by Cloudflare</div></body></html>"
)

FAULTS = ("rate_limit", "cloudflare", "server_error", "malformed", "graphql_errors", "hang", "not_found_errors", "raw")

DAY_MS = 86_400_000
_EPOCH_2015_MS = 1_420_070_400_000
_chapter_ids = itertools.count(1_900_000)


def _now_ms():
    return int(time.time() * 1000)


def slugify(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "title"


@dataclass
class StandInTitle:
    comic_id: str
    details: dict
    chapters: list = field(default_factory=list)

    @property
    def slug(self):
        return slugify(self.details.get("name") or "")

    def add_chapters(self, count, *, published_ms=None, dname_format="Chapter {n}", gap_ms=0):
        added = []
        for _ in range(count):
            n = len(self.chapters) + len(added) + 1
            chapter_id = str(next(_chapter_ids))
            when = (published_ms or _now_ms()) + gap_ms * len(added)
            added.append({
                "id": chapter_id,
                "data": {
                    "dname": dname_format.format(n=n),
                    "title": "",
                    "urlPath": f"/title/{self.comic_id}-{self.slug}/{chapter_id}-ch_{n}",
                    "dateCreate": when - 60_000,
                    "datePublic": when,
                    "stat_count_views_guest": 100 * n,
                    "stat_count_views_login": 40 * n,
                    "stat_count_post_reply": n % 7,
                },
            })
        self.chapters.extend(added)
        return added


def make_details(comic_id, name, *, status="ongoing", lang="ko", nulls=False):
    if nulls:
        # Every optional field null or missing, as some old titles answer.
        return {"id": comic_id, "name": name, "uploadStatus": None, "originalStatus": None,
                "summary": None, "altNames": None, "genres": None, "stat_score_val": None}
    return {
        "id": comic_id,
        "name": name,
        "altNames": ["악녀의 문구점에 오지 마세요!", "悪女の文房具店に来ないでください!"],
        "authors": ["여로은"],
        "artists": ["Studio Ink"],
        "genres": ["adaptation", "comedy", "drama", "slice_of_life"],
        "origLang": lang,
        "originalStatus": status,
        "originalPubFrom": "2022",
        "originalPubTill": None,
        "uploadStatus": status,
        "readDirection": "ttb",
        "summary": {"text": "문구점을 운영하는 악녀의 이야기."},
        "stat_score_val": 8.7822,
        "stat_count_votes": 5590,
        "stat_count_follows": 21034,
        "stat_count_reviews": 12,
        "stat_count_post_reply": 830,
        "stat_count_scores": [{"field": str(i), "count": i * 37} for i in range(1, 11)],
        "stat_count_views": [{"field": f, "count": c} for f, c in
                             (("h001", 12), ("d030", 4021), ("d360", 90210), ("d000", 1234567))],
        "stat_count_emotions": [{"field": e, "count": c} for e, c in
                                (("upvote", 120), ("funny", 33), ("love", 54), ("sad", 2))],
    }


@dataclass
class RecordedRequest:
    at: float
    path: str
    headers: dict
    body: dict | None


class BatoStandIn:
    """The stand-in's state and its server. Use as a context manager or start()/stop()."""

    def __init__(self, host="127.0.0.1", port=0):
        self.titles = {}
        self.fault = None
        self.fault_status = None  # e.g. 503 for the Cloudflare page, 502 for server_error
        self.retry_after = None
        self.hang_seconds = 5.0
        self.raw_answer = (200, {"Content-Type": "application/json"}, b"{}")  # what the "raw" fault sends
        self.requests = []
        self.lock = threading.RLock()
        self._server = _QuietServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = None

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

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

    # Test controls
    def add_title(self, comic_id, name="Please Don't Come To The Villainess' Stationery Store!", *,
                  chapters=10, status="ongoing", lang="ko", nulls=False):
        comic_id = str(comic_id)
        with self.lock:
            title = StandInTitle(comic_id, make_details(comic_id, name, status=status, lang=lang, nulls=nulls))
            # Weekly releases up to now; long titles closer together so they start after 2015.
            gap = min(7 * DAY_MS, (_now_ms() - _EPOCH_2015_MS) // max(chapters, 1))
            title.add_chapters(chapters, published_ms=_now_ms() - chapters * gap, gap_ms=gap)
            self.titles[comic_id] = title
            return title

    def add_chapters(self, comic_id, count=1, **kwargs):
        with self.lock:
            return self.titles[str(comic_id)].add_chapters(count, **kwargs)

    def edit_chapter(self, comic_id, chapter_id, **data):
        with self.lock:
            for chapter in self.titles[str(comic_id)].chapters:
                if chapter["id"] == str(chapter_id):
                    chapter["data"].update(data)
                    return chapter
        raise KeyError(chapter_id)

    def set_upload_status(self, comic_id, status):
        with self.lock:
            self.titles[str(comic_id)].details["uploadStatus"] = status

    def set_fault(self, fault, *, status=None, retry_after=None):
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        with self.lock:
            self.fault, self.fault_status, self.retry_after = fault, status, retry_after

    def api_requests(self):
        with self.lock:
            return [r for r in self.requests if r.path == "/apo/"]

    # The GraphQL endpoint
    def answer(self, body):
        """(status, headers, bytes) for a POST /apo/ body, honouring the current fault."""
        fault = self.fault
        if fault == "rate_limit":
            headers = {"Content-Type": "text/plain"}
            if self.retry_after is not None:
                headers["Retry-After"] = str(self.retry_after)
            return 429, headers, b"Too Many Requests"
        if fault == "cloudflare":
            return self.fault_status or 403, {"Content-Type": "text/html; charset=UTF-8"}, CLOUDFLARE_PAGE.encode()
        if fault == "server_error":
            return self.fault_status or 502, {"Content-Type": "text/plain"}, b"Bad Gateway"
        if fault == "raw":
            return self.raw_answer
        if fault == "malformed":
            return 200, {"Content-Type": "application/json"}, b'{"data": {"get_content_comicNode": {"id": '
        if fault == "hang":
            time.sleep(self.hang_seconds)
        if fault == "graphql_errors":
            return self._json(200, {"errors": [{"message": "Internal server error: upstream timeout"}], "data": None})
        problem = _validate(body)
        if problem:
            return self._json(200, {"errors": [{"message": problem}], "data": None})
        comic_id = body["variables"]["id"]
        query = body["query"]
        with self.lock:
            title = self.titles.get(comic_id)
            if title is None and fault == "not_found_errors":
                return self._json(200, {"errors": [{"message": f"Comic {comic_id} not found"}],
                                        "data": {DETAILS_FIELD: None}})
            data = {}
            if DETAILS_FIELD in query:
                data[DETAILS_FIELD] = {"id": comic_id, "data": dict(title.details)} if title else None
            if CHAPTERS_FIELD in query:
                data[CHAPTERS_FIELD] = (
                    [{"id": c["id"], "data": dict(c["data"])} for c in title.chapters] if title else None
                )
        return self._json(200, {"data": data})

    @staticmethod
    def _json(status, payload):
        return status, {"Content-Type": "application/json"}, json.dumps(payload, ensure_ascii=False).encode()

    # Control API for other processes
    def control(self, method, path, body):
        parts = path.strip("/").split("/")[1:]  # drop "_standin"
        if method == "GET" and parts == ["state"]:
            with self.lock:
                return 200, {
                    "fault": self.fault,
                    "requests": len(self.api_requests()),
                    "titles": {cid: {"name": t.details.get("name"), "chapters": len(t.chapters),
                                     "uploadStatus": t.details.get("uploadStatus")} for cid, t in self.titles.items()},
                }
        if method != "POST":
            return 405, {"error": "use GET /_standin/state or POST"}
        try:
            if parts == ["titles"]:
                title = self.add_title(body["id"], body.get("name", f"Title {body['id']}"),
                                       chapters=int(body.get("chapters", 10)), status=body.get("status", "ongoing"))
                return 201, {"id": title.comic_id, "chapters": len(title.chapters)}
            if len(parts) == 3 and parts[0] == "titles" and parts[2] == "chapters":
                added = self.add_chapters(parts[1], int(body.get("count", 1)))
                return 201, {"added": [c["data"]["dname"] for c in added]}
            if len(parts) == 3 and parts[0] == "titles" and parts[2] == "status":
                self.set_upload_status(parts[1], body["status"])
                return 200, {"uploadStatus": body["status"]}
            if parts == ["fault"]:
                self.set_fault(body.get("fault"), status=body.get("status"), retry_after=body.get("retry_after"))
                return 200, {"fault": self.fault}
        except KeyError as exc:
            return 404, {"error": f"unknown title or missing field {exc}"}
        except (TypeError, ValueError) as exc:
            return 400, {"error": str(exc)}
        return 404, {"error": f"no control at {path}"}


def _validate(body):
    """A GraphQL error message for a request the real endpoint would refuse, or None."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return "Must provide query string."
    query = body["query"]
    if "String!" in query:
        return 'Variable "$id" of type "String!" used in position expecting type "ID!".'
    variables = body.get("variables")
    if not isinstance(variables, dict) or not isinstance(variables.get("id"), str):
        return 'Variable "$id" of required type "ID!" was not provided.'
    selection = re.sub(r"\([^)]*\)", "", query)  # arguments
    selection = re.sub(r"^\s*query\s*\w*", "", selection)  # operation header
    unknown = sorted(set(re.findall(r"[A-Za-z_]\w*", selection)) - KNOWN_FIELDS)
    if unknown:
        return f'Cannot query field "{unknown[0]}".'
    return None


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up on a slow answer (a timeout, a killed worker) is no error of the stand-in's."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


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
            self.wfile.write(body)

        def _body(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                return json.loads(raw or b"{}")
            except ValueError:
                return None

        def do_GET(self):
            if self.path.startswith("/_standin/"):
                status, payload = standin.control("GET", self.path, None)
                return self._reply(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())
            self._reply(404, {"Content-Type": "text/plain"}, b"Not Found")

        def do_POST(self):
            body = self._body()
            if self.path.startswith("/_standin/"):
                status, payload = standin.control("POST", self.path, body or {})
                return self._reply(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())
            with standin.lock:
                standin.requests.append(RecordedRequest(time.monotonic(), self.path, dict(self.headers), body))
            if self.path != "/apo/":
                return self._reply(404, {"Content-Type": "text/plain"}, b"Not Found")
            self._reply(*standin.answer(body))

    return Handler


def main():
    parser = argparse.ArgumentParser(description="Run the Bato stand-in on loopback.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--demo", action="store_true", help="start with a few titles: 102497, 110100, 72315")
    args = parser.parse_args()
    standin = BatoStandIn(port=args.port)
    if args.demo:
        standin.add_title("102497", chapters=57)
        standin.add_title("110100", "진격의 문구점", chapters=12, lang="ko")
        standin.add_title("72315", "月曜日のたわわ", chapters=1500, lang="ja")
    print(f"Bato stand-in on {standin.url} (titles: {', '.join(standin.titles) or 'none'}); Ctrl-C stops it", flush=True)
    try:
        standin.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
