"""Domain errors; the web layer maps each to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    pass


class NotFound(DomainError):
    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"no {kind} with id {ident!r}")
        self.kind = kind
        self.ident = ident


class Conflict(DomainError):
    """The request is well-formed but the record's state does not allow it."""


class InvalidField(DomainError):
    """A value is well-formed but refers to nothing, or contradicts another field."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail
