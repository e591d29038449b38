from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "security"
    verbose_name = "Security log and sessions"

    def ready(self) -> None:
        from security import receivers  # noqa: F401  connect the sign-in and lockout receivers
