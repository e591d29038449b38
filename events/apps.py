from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Activity"

    def ready(self) -> None:
        from events.context import connect_task_hooks

        connect_task_hooks()
