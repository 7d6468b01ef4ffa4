"""How a worker knows its cluster is stopping (the end to end case is in test_cluster)."""

import os

from scraping.checking import worker


def test_a_worker_sees_its_own_clusters_marker_and_ignores_a_stale_one():
    marker = worker._marker(os.getppid())  # in a worker, the parent is the cluster's sentinel
    try:
        assert not worker.cluster_is_stopping()
        marker.touch()
        assert worker.cluster_is_stopping()
        stale = worker._LOADED_AT - 60  # left by an earlier cluster with the same process id
        os.utime(marker, (stale, stale))
        assert not worker.cluster_is_stopping()
    finally:
        marker.unlink(missing_ok=True)
