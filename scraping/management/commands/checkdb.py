from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.db.migrations.loader import MigrationLoader

from batoshelf.words import counted


class Command(BaseCommand):
    help = "Check that the database answers and every migration is applied: exit 0, or 1 with the reason."

    def handle(self, *args, **options):
        name = connection.settings_dict["NAME"]
        where = f"{connection.vendor} database {name}"
        if connection.vendor == "sqlite" and str(name) != ":memory:" and not Path(name).exists():
            # Connecting would make an empty file and call it a database.
            raise CommandError(
                f"the SQLite database file {name} does not exist; run manage.py migrate to create it, "
                "or set DATABASE_URL to the one you meant"
            )
        try:
            connection.ensure_connection()
            loader = MigrationLoader(connection)
        except DatabaseError as error:
            raise CommandError(f"cannot use the {where}: {error}") from error
        # Every known migration not recorded as applied, wherever it sits in the graph.
        pending = sorted(key for key in loader.graph.nodes if key not in loader.applied_migrations)
        if pending:
            names = ", ".join(f"{app}.{name}" for app, name in pending[:5])
            more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
            raise CommandError(
                f"{counted(len(pending), 'migration')} not applied to the {where}: {names}{more}. "
                "Run: manage.py migrate"
            )
        applied = len(loader.applied_migrations)
        self.stdout.write(f"ok: the {where} answers and all {applied} migrations are applied")
