import time

from django.core.management.base import BaseCommand

from events.backfill import events_backfill


class Command(BaseCommand):
    help = (
        "Record events for rows written before the services recorded them (relationships, "
        "stage changes, interactions, commitments, value, reviews, feedback). Idempotent."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        counts = events_backfill()
        for verb, count in sorted(counts.items()):
            self.stdout.write(f"  {verb:<28} {count}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Backfilled {sum(counts.values())} events in {time.monotonic() - started:.1f} s."
            )
        )
