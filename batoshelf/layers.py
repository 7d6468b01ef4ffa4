import time

from channels.layers import InMemoryChannelLayer as UpstreamInMemoryChannelLayer


class InMemoryChannelLayer(UpstreamInMemoryChannelLayer):
    """The in-memory channel layer, with its expiry sweep run at most once a second.

    Upstream sweeps every channel and group on each send and receive. When one
    relay pass reaches a thousand open sockets that is a million steps, and it
    took notifications more than a second to leave; expiry is measured in a
    minute (messages) and a day (groups), so a sweep a second loses nothing.
    """

    SWEEP_INTERVAL = 1.0
    _swept_at = float("-inf")

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._swept_at >= self.SWEEP_INTERVAL:
            self._swept_at = now
            super()._clean_expired()
