from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"

    def ready(self) -> None:
        # The review schedule follows relationship writes through workflows.lifecycle
        # (explicit calls), not receivers.
        from relationships import services as relationship_services
        from reviews.services import latest_rating_facts

        if latest_rating_facts not in relationship_services.HEALTH_FACT_PROVIDERS:
            relationship_services.HEALTH_FACT_PROVIDERS.append(latest_rating_facts)
