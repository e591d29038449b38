from django.core.management.base import BaseCommand

from reviews.services import reviews_schedule_missing


class Command(BaseCommand):
    help = "Schedule the open review of active relationships that lack one (after bulk loads)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"Scheduled {reviews_schedule_missing()} reviews.")
