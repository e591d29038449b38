from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"

    def ready(self) -> None:
        from core import readmodels as registry
        from events import consumers
        from events.vocabulary import VERBS

        from . import figurecache, readmodels

        registry.register("dashboard.tallies", readmodels.rebuild, readmodels.bulk_load)
        consumers.register("dashboard.figures", VERBS, figurecache.bump_topics_of, atomic=False)
