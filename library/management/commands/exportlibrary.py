from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from library import exporting


class Command(BaseCommand):
    help = "A reader's whole shelf as batoshelf's JSON (brought back in without loss) or as CSV (Kenmei's columns)."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="the reader whose shelf it is")
        parser.add_argument("--format", choices=("json", "csv"), default="json")
        parser.add_argument("--output", help="the file to write (default: standard output)")

    def handle(self, *args, user, format="json", output=None, **options):
        User = get_user_model()
        try:
            reader = User.objects.get(**{User.USERNAME_FIELD: user})
        except User.DoesNotExist:
            raise CommandError(f"there is no user {user!r}") from None
        body = exporting.as_json(reader) if format == "json" else exporting.as_csv(reader)
        if not output:
            self.stdout.write(body, ending="" if body.endswith("\n") else "\n")
            return
        try:
            with open(output, "w", encoding="utf-8", newline="") as handle:
                handle.write(body)
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}") from None
        self.stderr.write(f"wrote {output}")
