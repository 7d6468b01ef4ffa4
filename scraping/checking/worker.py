"""Stopping the task cluster in bounded time.

On SIGTERM django-q2 lets each worker finish its task and then every task it
had already taken from the broker. A check is bounded (BATO_MAX_DELAY at the
gate plus SOURCE_TIMEOUT for the request), but a run of taken checks is not. So
the cluster's main process leaves a marker when told to stop, and a check
that starts after it returns at once and gives its title back.
"""

import os
import tempfile
import time
from pathlib import Path

from django_q.cluster import Cluster

# Loaded before the cluster forks its workers: a marker older than this was
# left by an earlier cluster whose process id came round again.
_LOADED_AT = time.time()


def _marker(sentinel_pid):
    return Path(tempfile.gettempdir()) / f"batoshelf-cluster-stopping-{sentinel_pid}"


def cluster_is_stopping():
    """True in a worker whose cluster was told to stop (workers are the sentinel's children)."""
    try:
        return _marker(os.getppid()).stat().st_mtime >= _LOADED_AT
    except FileNotFoundError:
        return False


class StoppingCluster(Cluster):
    """django-q2's cluster, marking that it stops before it waits for its workers."""

    def sig_handler(self, signum, frame):
        marker = _marker(self.sentinel.pid) if self.sentinel is not None and self.sentinel.pid else None
        if marker:
            marker.touch()
        try:
            super().sig_handler(signum, frame)
        finally:
            if marker:
                marker.unlink(missing_ok=True)
