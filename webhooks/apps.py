from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        from events import consumers
        from webhooks import checks  # noqa: F401  (importing checks registers it)
        from webhooks.consumers import WEBHOOK_EVENT_VERBS, webhook_events_consume

        consumers.register("webhooks", WEBHOOK_EVENT_VERBS, webhook_events_consume)
