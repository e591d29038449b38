from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"

    def ready(self) -> None:
        from core import readmodels
        from plans import rollups

        readmodels.register(rollups.NAME, rollups.rebuild)
