from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and teams"

    def ready(self) -> None:
        # Connect receivers (twofactor: its user_logged_in one); register the OpenAPI auth.
        from accounts import receivers, schema, twofactor  # noqa: F401
        from accounts.models import Team
        from core.reference import track

        track(Team)  # offered as a cached choice on filter forms
