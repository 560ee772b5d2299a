"""Schemathesis hooks for the ops API fuzz test (``test_fuzz.py``).

They give the generator the rules JSON Schema cannot state, each of which the
OpenAPI document describes in words and a test of its own covers:

- which phone numbers exist (``format: phone``): libphonenumber's example numbers;
- which time zones exist (``format: time-zone``): this machine's tz database, as the server's;
- a report's period: ``to`` on or after ``from``, at most 1,000 intervals;
- ``scheduled_until`` after ``scheduled_for`` when a body sends both;
- an incident lists each affected component at most once;
- a message template is Jinja that compiles and uses only its event's variables:
  a generated one is made plain text (no ``{``), which always is;
- an Idempotency-Key names one request: a generated key used again with another
  request is a 422 by design, so every request gets a key of its own.

Only requests meant to be valid are adjusted; invalid ones go out as generated.
Use them in a run of your own with ``SCHEMATHESIS_HOOKS=tests.status_page.api.fuzz_hooks``.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import available_timezones

import phonenumbers
import schemathesis
from hypothesis import strategies as st

_REGIONS = ("JP", "US", "GB", "DE", "FR", "BR", "IN", "AU")
_FORMATS = (phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
_PHONES = sorted(
    phonenumbers.format_number(number, form)
    for region in _REGIONS
    for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
    if (number := phonenumbers.example_number_for_type(region, kind)) is not None
    for form in _FORMATS
)
schemathesis.openapi.format("phone", st.sampled_from(_PHONES))
schemathesis.openapi.format("time-zone", st.sampled_from(sorted(available_timezones())))

_KEYS = itertools.count()


@schemathesis.hook
def before_call(
    context: schemathesis.HookContext, case: schemathesis.Case[Any], kwargs: Any
) -> None:
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    key = _header(case, "Idempotency-Key")
    if key is not None:
        case.headers[key] = f"{case.headers[key][:200]}.{next(_KEYS)}"
    if isinstance(case.query, dict):
        _short_period(case.query)
    if isinstance(case.body, dict):
        _order_window(case.body)
        _once_each(case.body)
        _plain_templates(case.body)


def _plain_templates(body: dict[str, Any]) -> None:
    sources = body.get("sources")
    for holder, names in ((body, ["source"]), (sources, list(sources or {}))):
        if not isinstance(holder, dict):
            continue
        for name in names:
            if isinstance(holder.get(name), str):
                holder[name] = holder[name].replace("{", "").strip() or "x"


def _short_period(query: dict[str, Any]) -> None:
    """A report's period: ``from`` on or before ``to``, at most 1,000 intervals."""
    try:
        first, last = date.fromisoformat(query["from"]), date.fromisoformat(query["to"])
    except (KeyError, TypeError, ValueError):
        return
    first, last = min(first, last), max(first, last)
    query["from"], query["to"] = (
        first.isoformat(),
        min(last, first + timedelta(days=300)).isoformat(),
    )


def _header(case: schemathesis.Case[Any], name: str) -> str | None:
    return next((k for k in case.headers or {} if k.lower() == name.lower()), None)


def _once_each(body: dict[str, Any]) -> None:
    items = body.get("components")
    if not isinstance(items, list):
        return
    seen: set[Any] = set()
    kept = []
    for item in items:
        ident = item.get("component_id") if isinstance(item, dict) else None
        if ident is None or not isinstance(ident, str) or ident not in seen:
            kept.append(item)
        if isinstance(ident, str):
            seen.add(ident)
    body["components"] = kept


def _order_window(body: dict[str, Any]) -> None:
    start, end = body.get("scheduled_for"), body.get("scheduled_until")
    if not (isinstance(start, str) and isinstance(end, str)):
        return
    try:
        begins, ends = datetime.fromisoformat(start), datetime.fromisoformat(end)
    except ValueError:
        return
    if ends > begins:
        return
    if ends < begins:
        body["scheduled_for"], body["scheduled_until"] = end, start
    else:
        try:
            body["scheduled_until"] = (ends + timedelta(minutes=1)).isoformat()
        except OverflowError:
            body["scheduled_for"] = (begins - timedelta(minutes=1)).isoformat()
