"""What the public page and its machine-readable forms are built from.

The overview, 90-day uptime, history, the Statuspage v2 JSON documents, feeds and badges.
"""
