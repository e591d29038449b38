from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"

    def ready(self) -> None:
        from core import dataversion

        dataversion.connect()  # cached summaries follow every write (core.dataversion)
