from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from relationships import services as relationship_services
        from relationships import signals as relationship_signals
        from relationships.models import Relationship
        from reviews import handlers
        from reviews.services import latest_rating_facts

        relationship_signals.stage_changed.connect(
            handlers.open_review_on_entering_review, dispatch_uid="reviews.open_on_review"
        )
        post_save.connect(
            handlers.keep_review_schedule_current,
            sender=Relationship,
            dispatch_uid="reviews.keep_schedule_current",
        )
        if latest_rating_facts not in relationship_services.HEALTH_FACT_PROVIDERS:
            relationship_services.HEALTH_FACT_PROVIDERS.append(latest_rating_facts)

        # The timeline hook, once relationships offers it (see the lead's notes).
        from relationships import selectors as relationship_selectors
        from reviews.selectors import timeline_entries

        providers = getattr(relationship_selectors, "TIMELINE_PROVIDERS", None)
        if providers is not None and timeline_entries not in providers:
            providers.append(timeline_entries)
