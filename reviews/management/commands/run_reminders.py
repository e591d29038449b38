from django.core.management.base import BaseCommand

from reviews.reminders import reminders_run


class Command(BaseCommand):
    help = "Run the reminder pipeline now (what the hourly beat task does). Safe to repeat."

    def handle(self, *args, **options) -> None:
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in reminders_run().items()))
