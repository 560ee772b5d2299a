"""From "a notification row exists" to "a provider answered": audience, fan-out, sending.

The sweeper, the shared rate limit, rendering and message templates, and ``channels/``
(one module per provider) live here; the job queue's names and ids in ``jobs``.
"""
