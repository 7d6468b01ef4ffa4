from django.conf import settings
from django.db import connections
from django_q.conf import Conf
from django_q.management.commands.qcluster import Command as QclusterCommand
from django_q.scheduler import scheduler

from notifications.channels import load_services
from scraping.checking.worker import StoppingCluster


class Command(QclusterCommand):
    help = (
        "The task worker: django-q2's cluster, stopping in bounded time. On SIGTERM or Ctrl-C the checks "
        "running finish and the ones not started are left for the next dispatch."
    )

    def handle(self, *args, **options):
        settings.SECRET_KEY  # noqa: B018 (reading it fails here, not in a worker, when it is missing)
        if options.get("cluster_name"):
            raise SystemExit("worker: --name is not supported; set Q_CLUSTER_NAME instead")
        load_services()  # once, before the cluster forks its processes, not in each one's first sends
        if Conf.SCHEDULER:
            # The cluster first looks at its schedules 30 s after it starts: what is due goes now.
            scheduler()
            connections.close_all()  # the forked processes open their own
        cluster = StoppingCluster()
        cluster.start()
        if options.get("run_once"):
            cluster.stop()
