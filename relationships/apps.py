from django.apps import AppConfig


class RelationshipsConfig(AppConfig):
    name = "relationships"

    def ready(self) -> None:
        from core.reference import track
        from relationships.models import RelationshipType

        track(RelationshipType)  # offered as a cached choice on filter forms
