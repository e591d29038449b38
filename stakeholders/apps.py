from django.apps import AppConfig
from django.db.backends.signals import connection_created


class StakeholdersConfig(AppConfig):
    name = "stakeholders"

    def ready(self) -> None:
        from core.reference import track
        from stakeholders.models import Category
        from stakeholders.search import register_sqlite_functions

        track(Category)  # offered as a cached choice on filter forms
        # Searches lower-case text beyond ASCII on SQLite too (stakeholders.search).
        connection_created.connect(
            register_sqlite_functions, dispatch_uid="stakeholders.sqlite_functions"
        )
