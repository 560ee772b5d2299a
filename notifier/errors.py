"""Domain errors; the web layer maps each to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain's rules refuse; the web layer maps each subclass to one status."""


class NotFound(DomainError):
    """No ``kind`` record with id ``ident`` that the caller may see; the web layer answers 404."""

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"no {kind} with id {ident!r}")
        self.kind = kind
        self.ident = ident


class Conflict(DomainError):
    """The request is well-formed but the record's state does not allow it.

    ``field`` names the body field that meets the state, when one does.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidField(DomainError):
    """A value is well-formed but refers to nothing, or contradicts another field."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


class UnknownReference(InvalidField):
    """A field names a record that does not exist.

    The web layer answers 404 naming the field, as Stripe answers ``resource_missing``
    and JSON:API a reference to a missing related resource: the same request succeeds
    once the record exists, which JSON Schema cannot say.
    """
