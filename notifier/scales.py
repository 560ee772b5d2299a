"""The rating scales a page may ask on, and which answers are unhappy.

- CSAT, customer satisfaction: 1-5; satisfied is 4 or 5 (the share of those is the
  CSAT %), unhappy 1 or 2.
- NPS, Net Promoter Score (Reichheld, "The One Number You Need to Grow", HBR 2003):
  0-10; promoters 9-10, passives 7-8, detractors 0-6 (the unhappy ones); NPS is the %
  of promoters minus the % of detractors.
- CES, Customer Effort Score 2.0 (Gartner/CEB): 1-7 agreement with "It was easy to
  get the information I needed"; agreeing is 5-7, unhappy 1-3.
"""

from __future__ import annotations

from enum import StrEnum


class Subject(StrEnum):
    """What a rating prompt asks about (``Event.subject`` of its notifications)."""

    incident = "incident"
    maintenance = "maintenance"
    problem = "problem"


class PromptStatus(StrEnum):
    """A rating prompt's state (``rating_prompts.status``)."""

    # Made, waiting for its due time (the delay after resolution, then quiet hours).
    pending = "pending"
    # Handed to the delivery engine on its channel.
    sent = "sent"
    # Not to be sent: the subject was reopened, or the customer left or has no channel.
    cancelled = "cancelled"


class Scale(StrEnum):
    """A rating scale: ``csat`` (1-5), ``nps`` (0-10) or ``ces`` (1-7)."""

    csat = "csat"
    nps = "nps"
    ces = "ces"

    @property
    def scores(self) -> range:
        """Every score this scale takes, lowest first."""
        return _SCORES[self]

    def is_low(self, score: int) -> bool:
        """Whether ``score`` is an unhappy answer a person must follow up: CSAT <= 2,
        NPS <= 6 (a detractor), CES <= 3."""
        return score <= _LOW[self]

    def check(self, score: int) -> int:
        """``score`` if the scale takes it; ``ValueError`` naming the range otherwise."""
        if score not in self.scores:
            first, last = self.scores[0], self.scores[-1]
            raise ValueError(f"a {self.name.upper()} score is a whole number {first} to {last}")
        return score


_SCORES = {Scale.csat: range(1, 6), Scale.nps: range(0, 11), Scale.ces: range(1, 8)}
_LOW = {Scale.csat: 2, Scale.nps: 6, Scale.ces: 3}
