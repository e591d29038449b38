from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and teams"

    def ready(self) -> None:
        from accounts import receivers, schema  # noqa: F401  connect receivers; OpenAPI auth
        from accounts.models import Team
        from core.reference import track

        track(Team)  # offered as a cached choice on filter forms
