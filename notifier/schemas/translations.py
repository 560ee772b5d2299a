"""The ``translations`` of request bodies: a record's text in other page languages.

Shape: language -> field -> text, ``{"ja": {"title": "...", "body": "..."}}`` (the
shape Instatus's translated pages take per field, turned round so that one
language's words are together). Only the page's other languages are keys (``ja``;
English is the record's own text, so an ``en`` key is refused); each text follows
its base field's rule (length, no control characters). In a PATCH a text replaces
that field's translation, ``null`` removes it, and ``null`` for a language removes
all of it (JSON Merge Patch, RFC 7396); what is left out stays.

Each model names the language fields itself; ``notifier.translations.TRANSLATED``
lists the same languages and a test keeps them together.
"""

from __future__ import annotations

from pydantic import MISSING

from notifier.schemas.common import Input
from notifier.schemas.fields import Body, DescriptionText, Name, Title

# --- an incident or maintenance, with its first update -----------------------------


class TitleBodyText(Input):
    """The title and the first update's body in one language; either may be left out."""

    title: Title | None = None
    body: Body | None = None


class TitleBodyTranslations(Input):
    """Per language: ``{"ja": {"title": ..., "body": ...}}``."""

    ja: TitleBodyText | None = None


# --- an update ------------------------------------------------------------------------


class BodyText(Input):
    """An update's body in one language."""

    body: Body | None = None


class BodyTranslations(Input):
    """Per language: ``{"ja": {"body": ...}}``."""

    ja: BodyText | None = None


# --- an incident's PATCH ----------------------------------------------------------------


class TitlePatchText(Input):
    """Leave the title out to keep its translation; null removes it."""

    title: Title | MISSING | None = MISSING


class TitlePatchTranslations(Input):
    """Per language; null removes the language's text."""

    ja: TitlePatchText | MISSING | None = MISSING


# --- a maintenance's PATCH: its title, and the body of the update it may post ---------


class MaintenancePatchText(Input):
    """The title (left out: kept; null: removed) and the posted update's body."""

    title: Title | MISSING | None = MISSING
    body: Body | None = None


class MaintenancePatchTranslations(Input):
    """Per language; null removes the language's title."""

    ja: MaintenancePatchText | MISSING | None = MISSING


# --- components and groups --------------------------------------------------------------


class NameText(Input):
    """A component's or group's name and description in one language."""

    name: Name | None = None
    description: DescriptionText | None = None


class NameTranslations(Input):
    """Per language: ``{"ja": {"name": ..., "description": ...}}``."""

    ja: NameText | None = None


class NamePatchText(Input):
    """Leave a field out to keep its translation; null removes it."""

    name: Name | MISSING | None = MISSING
    description: DescriptionText | MISSING | None = MISSING


class NamePatchTranslations(Input):
    """Per language; null removes the language's text."""

    ja: NamePatchText | MISSING | None = MISSING
