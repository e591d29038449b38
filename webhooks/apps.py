from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        from relationships import signals as relationship_signals
        from reviews import signals as review_signals
        from webhooks import checks, handlers  # noqa: F401  (importing checks registers it)

        relationship_signals.relationship_created.connect(
            handlers.on_relationship_created, dispatch_uid="webhooks.relationship_created"
        )
        relationship_signals.stage_changed.connect(
            handlers.on_stage_changed, dispatch_uid="webhooks.stage_changed"
        )
        review_signals.review_completed.connect(
            handlers.on_review_completed, dispatch_uid="webhooks.review_completed"
        )
        review_signals.review_overdue.connect(
            handlers.on_review_overdue, dispatch_uid="webhooks.review_overdue"
        )
        review_signals.feedback_received.connect(
            handlers.on_feedback_received, dispatch_uid="webhooks.feedback_received"
        )
