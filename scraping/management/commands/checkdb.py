from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor


class Command(BaseCommand):
    help = "Check that the database answers and every migration is applied: exit 0, or 1 with the reason."

    def handle(self, *args, **options):
        where = f"{connection.vendor} database {connection.settings_dict['NAME']}"
        try:
            connection.ensure_connection()
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as error:
            raise CommandError(f"cannot use the {where}: {error}") from error
        if pending:
            names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in pending[:5])
            more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
            raise CommandError(
                f"{len(pending)} migration(s) not applied to the {where}: {names}{more}. Run: manage.py migrate"
            )
        applied = len(executor.loader.applied_migrations)
        self.stdout.write(f"ok: the {where} answers and all {applied} migrations are applied")
