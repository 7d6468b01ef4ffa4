"""A web hook on loopback, standing in for a reader's channel: Apprise's json:// posts reach it.

It records every post (tests read `posts()`), and answers 200, or a fault of
the shared stand-in's (server_error, hang) to make a channel fail or stall.
"""

from tests.standins.server import StandIn, json_answer


class WebHookStandIn(StandIn):
    name = "webhook"
    faults = ("server_error", "hang")
    redirect = None  # (status, location): answer every post with this redirect instead

    def answer(self, request):
        if self.redirect:
            status, location = self.redirect
            return status, {"Location": location, "Content-Type": "text/plain"}, b"moved"
        return json_answer(200, {"ok": True})

    def posts(self):
        """The JSON bodies posted so far, oldest first."""
        return [r.body for r in self.api_requests() if r.method == "POST"]

    def channel_url(self, path="/hook"):
        """The Apprise URL that posts JSON here."""
        return self.url.replace("http://", "json://", 1) + path
