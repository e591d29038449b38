from django.core.management.base import BaseCommand

from core import demo


class Command(BaseCommand):
    help = "Load the demo dataset and demo users (idempotent: safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=["small", "large"], default="small")

    def handle(self, *args, scale: str, **options):
        users = demo.seed(scale)
        self.stdout.write(self.style.SUCCESS(f"Demo data ({scale}) is loaded."))
        self.stdout.write(f"Demo sign-ins (password for all: {demo.DEMO_PASSWORD}):")
        for spec in users:
            self.stdout.write(f"  {spec.username:<12} {spec.role}")
