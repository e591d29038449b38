from django.core.management.base import BaseCommand, CommandError

from core import readmodels


class Command(BaseCommand):
    help = (
        "Recompute every read model (dashboard summaries, objective roll-ups …) from the raw "
        "tables. Safe at any time: each one is rebuilt in its own transaction."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="only these (default: all)")

    def handle(self, *args, names: list[str], **options):
        try:
            written = readmodels.rebuild(names or None)
        except KeyError as error:
            raise CommandError(error.args[0]) from error
        for name, rows in written.items():
            self.stdout.write(f"{name}: {rows} rows")
        self.stdout.write(self.style.SUCCESS("Read models rebuilt."))
