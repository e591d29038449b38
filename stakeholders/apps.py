from django.apps import AppConfig


class StakeholdersConfig(AppConfig):
    name = "stakeholders"

    def ready(self) -> None:
        from core.reference import track
        from stakeholders.models import Category

        track(Category)  # offered as a cached choice on filter forms
