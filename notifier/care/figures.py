"""The figures of a report, as counted: ``Tally`` (counts that add up across subjects, and
the percentages and means derived from them; the definitions are in
``notifier.care.reports``), and the shapes a report is returned in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from notifier.scales import Scale, Subject


@dataclass
class Tally:
    """The counts of one or more subjects; percentages and means are derived from them."""

    subjects: Counter[str] = field(default_factory=Counter)
    audience: int = 0
    reached: int = 0
    # channel -> delivery status -> deliveries
    deliveries: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    # name -> one value in seconds per subject that has it (start_to_first_delivery...)
    times: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    promises_made: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    contacted: int = 0
    heard_first: int = 0
    prompts_sent: int = 0
    # scale -> score -> ratings
    scores: defaultdict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, other: Tally) -> None:
        """Add ``other``'s counts (and its subjects' times) to these."""
        self.subjects.update(other.subjects)
        self.audience += other.audience
        self.reached += other.reached
        for channel, statuses in other.deliveries.items():
            self.deliveries[channel].update(statuses)
        for name, values in other.times.items():
            self.times[name].extend(values)
        self.promises_made += other.promises_made
        self.promises_kept += other.promises_kept
        self.promises_broken += other.promises_broken
        self.contacted += other.contacted
        self.heard_first += other.heard_first
        self.prompts_sent += other.prompts_sent
        for scale, counts in other.scores.items():
            self.scores[scale].update(counts)

    @property
    def responses(self) -> int:
        """Ratings given, on any scale."""
        return sum(sum(counts.values()) for counts in self.scores.values())

    def time(self, name: str) -> float | None:
        """The mean of the subjects' ``name`` times in seconds (one subject: its own),
        rounded to milliseconds; None when no subject has one."""
        values = self.times.get(name)
        return round(sum(values) / len(values), 3) if values else None

    def share(self, scale: Scale, lowest: int, highest: int) -> float | None:
        """The % of ``scale``'s ratings from ``lowest`` to ``highest``; None without any."""
        counts = self.scores.get(scale, Counter())
        return percent(sum(n for s, n in counts.items() if lowest <= s <= highest), counts.total())

    def nps(self) -> float | None:
        """% of promoters (9-10) minus % of detractors (0-6); None without NPS ratings."""
        counts = self.scores.get(Scale.nps, Counter())
        total = counts.total()
        if not total:
            return None
        promoters = sum(n for s, n in counts.items() if s >= 9)
        detractors = sum(n for s, n in counts.items() if s <= 6)
        return round(100 * (promoters - detractors) / total, 2)

    def mean(self, scale: Scale) -> float | None:
        """The mean score of ``scale``'s ratings (2 decimals); None without any."""
        counts = self.scores.get(scale, Counter())
        total = counts.total()
        return round(sum(s * n for s, n in counts.items()) / total, 2) if total else None


def percent(part: int, whole: int) -> float | None:
    """``part`` as a % of ``whole``, rounded to 2 decimals; None when ``whole`` is 0."""
    return round(100 * part / whole, 2) if whole else None


@dataclass(frozen=True)
class SubjectInfo:
    """What a report says of its subject."""

    type: Subject
    id: str
    title: str
    started_at: datetime
    first_post_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class Comment:
    """A rating's comment, without who gave it (the follow-ups name the customer)."""

    scale: str
    score: int
    comment: str
    channel: str
    at: datetime


@dataclass(frozen=True)
class SubjectReport:
    """One subject's figures, and its latest comments (``comments_total`` in all)."""

    subject: SubjectInfo
    tally: Tally
    comments: list[Comment]
    comments_total: int


@dataclass(frozen=True)
class Bucket:
    """One interval of a summary: ``[start, end)`` and the subjects that started in it."""

    start: datetime
    end: datetime
    tally: Tally
