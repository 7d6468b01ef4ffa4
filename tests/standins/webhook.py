"""A web hook on loopback, standing in for a reader's channel: Apprise's json:// posts reach it.

It records every post (tests read `posts()`), and answers 200, or a fault of
the shared stand-in's (server_error, hang, drip) to make a channel fail or stall. It
counts the posts it is answering at once (`most_at_once`), to show how many
connections a sender opens to one host.
"""

import threading

from tests.standins.server import StandIn, json_answer


class WebHookStandIn(StandIn):
    name = "webhook"
    faults = ("server_error", "hang", "drip")
    redirect = None  # (status, location): answer every post with this redirect instead

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._counting = threading.Lock()
        self.at_once = 0
        self.most_at_once = 0

    def handle(self, request):
        with self._counting:
            self.at_once += 1
            self.most_at_once = max(self.most_at_once, self.at_once)
        try:
            return super().handle(request)
        finally:
            with self._counting:
                self.at_once -= 1

    def answer(self, request):
        if self.redirect:
            status, location = self.redirect
            return status, {"Location": location, "Content-Type": "text/plain"}, b"moved"
        return json_answer(200, {"ok": True})

    def control(self, method, path, body):
        # Another process (a benchmark) reads the posts with their arrival times (time.monotonic, system-wide).
        if method == "GET" and path == "/_standin/posts":
            with self.lock:
                return 200, [{"at": r.at, "path": r.path, "body": r.body} for r in self.api_requests()]
        return super().control(method, path, body)

    def posts(self):
        """The JSON bodies posted so far, oldest first."""
        return [r.body for r in self.api_requests() if r.method == "POST"]

    def channel_url(self, path="/hook"):
        """The Apprise URL that posts JSON here."""
        return self.url.replace("http://", "json://", 1) + path
