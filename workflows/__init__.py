"""Rules that span apps, as plain calls: a write in one app and what it means for another.

A relationship's review schedule follows its stage and cadence, but relationships never
imports reviews (reviews.services imports relationships.services: a back-import would be a
cycle), so neither app's services can make the whole write alone. These functions sit above
both: each calls the relationships service, then the reviews step, exactly once, in one
transaction. Every entry point (the pages, the API, the admin, tasks, imports) calls these
instead of the bare relationship service; no receiver does it behind their back.

Layers, top to bottom: entry points (views, api, admin, tasks) → workflows →
reviews.services → relationships.services.
"""
