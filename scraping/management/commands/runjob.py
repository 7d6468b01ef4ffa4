from django.core.management.base import BaseCommand, CommandError

from scraping.checking.jobs import REGISTRY, run_job
from scraping.models import JobRun


class Command(BaseCommand):
    help = "Run one job here and now, as its schedule would; --force runs it even disabled or outside its window."

    def add_arguments(self, parser):
        parser.add_argument("job_type", choices=sorted(REGISTRY), help="the job to run")
        parser.add_argument("--force", action="store_true", help="run even when disabled or outside the window")

    def handle(self, *args, job_type, force, **options):
        run = run_job(job_type, trigger=JobRun.Trigger.SCHEDULE, force=force)
        for line in run.log:
            self.stdout.write(f"{line['level']:<7} {line['message']}")
        self.stdout.write(f"{job_type}: {run.status}, {run.items_checked} checked, {run.items_updated} updated")
        if run.status == JobRun.Status.FAILED:
            raise CommandError(f"{job_type} failed; it is retried in a minute by the cluster")
