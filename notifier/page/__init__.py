"""What the public page and its machine-readable forms are built from.

The overview, 90-day uptime, history, the Statuspage v2 JSON documents, feeds and badges;
and the static snapshot of it all, published after every change (``snapshot``,
``publishing``, ``folder_target``, ``s3_target``).
"""
