"""Events other apps subscribe to, so relationships never imports them.

stage_changed(sender=Relationship, relationship, from_stage, to_stage, by, transition)
is sent inside the transition's transaction (reviews opens a review on entering "review";
webhooks enqueue on commit).
"""

from django.dispatch import Signal

stage_changed = Signal()
relationship_created = Signal()
