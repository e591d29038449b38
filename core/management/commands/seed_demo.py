from django.core.management.base import BaseCommand

from core import demo
from events.backfill import events_backfill


class Command(BaseCommand):
    help = "Load the demo dataset and demo users (idempotent: safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=list(demo.SCALES), default="small")

    def handle(self, *args, scale: str, **options):
        users = demo.seed(scale)
        # The demo rows are bulk-loaded around the services: give them their events, so
        # timelines and feeds show the demo's history (idempotent, like the seed).
        written = sum(events_backfill().values())
        if written:
            self.stdout.write(f"Events recorded for the demo's history: {written}.")
        self.stdout.write(self.style.SUCCESS(f"Demo data ({scale}) is loaded."))
        self.stdout.write(f"Demo sign-ins (password for all: {demo.DEMO_PASSWORD}):")
        for spec in users:
            self.stdout.write(f"  {spec.username:<12} {spec.role}")
