"""Moved to ``notifier.scales`` (records level: the delivery engine and ``notifier.questions``
read the scales too). Kept only so that branches written against this path still import;
delete once none does."""

from notifier.scales import PromptStatus, Scale, Subject

__all__ = ["PromptStatus", "Scale", "Subject"]
