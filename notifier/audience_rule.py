"""Who hears about a notification: its audience rule, as stored on the row.

The rule is kept as JSON in ``notifications.audience``, in one of three shapes:
``{"components": [id, ...]}`` (the page's subscribers: those who follow the whole
page or one of these components), ``{"problem": id}`` (the customers a delivery
problem names) or ``{"prompts": notification id}`` (the customers whose rating prompt
that notification carries, each on the prompt's channel: ``notifier.care.prompts``).
``AudienceRule`` reads and writes exactly those shapes, so rows written before it
existed load unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


@dataclass(frozen=True)
class AudienceRule:
    """The audience of one notification.

    ``problem``: a delivery problem's id, whose named customers hear (the components
    are then ignored). Otherwise the page's subscribers hear: everyone who follows the
    whole page, and those who follow one of ``components`` (ids, sorted).
    """

    components: tuple[str, ...] = ()
    problem: str | None = None
    # A notification's id: the customers of the rating prompts it carries.
    prompts: str | None = None

    @classmethod
    def page(cls, components: Iterable[str]) -> AudienceRule:
        """The page's subscribers who follow the page or one of ``components``."""
        return cls(components=tuple(sorted(components)))

    @classmethod
    def of_problem(cls, problem_id: str) -> AudienceRule:
        """The customers named by the delivery problem ``problem_id``."""
        return cls(problem=problem_id)

    @classmethod
    def of_prompts(cls, notification_id: str) -> AudienceRule:
        """The customers whose rating prompts ``notification_id`` carries."""
        return cls(prompts=notification_id)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> AudienceRule:
        """The rule stored as ``value`` (one of the two shapes in the module's text).

        Raises ``ValueError`` for a shape that is neither.
        """
        if "problem" in value:
            return cls(problem=str(value["problem"]))
        if "prompts" in value:
            return cls(prompts=str(value["prompts"]))
        components = value.get("components", [])
        if not isinstance(components, list):
            raise ValueError(f"an audience's components are a list, not {components!r}")
        return cls(components=tuple(str(c) for c in components))

    def to_json(self) -> dict[str, Any]:
        """The stored shape: ``{"problem": id}``, ``{"prompts": id}`` or
        ``{"components": [id, ...]}``."""
        if self.problem is not None:
            return {"problem": self.problem}
        if self.prompts is not None:
            return {"prompts": self.prompts}
        return {"components": list(self.components)}


class AudienceRuleJSON(TypeDecorator[AudienceRule]):
    """A JSON column holding an ``AudienceRule`` (the same JSON as before it existed)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(
        self, value: AudienceRule | None, dialect: Dialect
    ) -> dict[str, Any] | None:
        """The rule as JSON to store."""
        return None if value is None else value.to_json()

    def process_result_value(self, value: Any, dialect: Dialect) -> AudienceRule | None:
        """The stored JSON as a rule."""
        return None if value is None else AudienceRule.from_json(value)
