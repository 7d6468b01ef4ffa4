"""Stopping the task cluster in bounded time.

On SIGTERM django-q2 lets each worker finish its task and then every task it
had already taken from the broker. A check is bounded (BATO_MAX_DELAY at the
gate plus SOURCE_TIMEOUT for the request), but a run of taken checks is not. So
the cluster's main process leaves a marker when told to stop, and a check
that starts after it returns at once and gives its title back.
"""

import logging
import os
import tempfile
import threading
import time
from pathlib import Path

from django_q.cluster import Cluster

logger = logging.getLogger(__name__)

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

    def stop(self):
        """django-q2's stop, but for a sentinel that dies meanwhile: SIGTERM to the whole process group
        (systemd's default KillMode) kills it and its workers too, and setting the stop event then waits
        forever for the dead sentinel to wake. So the event is set aside, and the sentinel's end awaited."""
        if not self.sentinel.is_alive():
            return False
        logger.info("Q Cluster %s stopping.", self.name)
        threading.Thread(target=self.stop_event.set, name="stop the sentinel", daemon=True).start()
        self.sentinel.join()
        if self.sentinel.exitcode:
            logger.warning(
                "the task cluster's processes ended at once (exit %s): the signal went to the whole process "
                "group; the checks they were running are redone",
                self.sentinel.exitcode,
            )
        else:
            logger.info("Q Cluster %s has stopped.", self.name)
        self.start_event = None
        self.stop_event = None
        return True

    def sig_handler(self, signum, frame):
        marker = _marker(self.sentinel.pid) if self.sentinel is not None and self.sentinel.pid else None
        if marker:
            marker.touch()
        try:
            super().sig_handler(signum, frame)
        finally:
            if marker:
                marker.unlink(missing_ok=True)
