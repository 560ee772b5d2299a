"""How many SMS segments a text costs: GSM-7 (160 / 153) or UCS-2 (70 / 67)."""

from __future__ import annotations

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Each costs two septets (escape + char).
_GSM7_EXTENDED = set("^{}\\[~]|€\f")
_GSM7 = frozenset(_GSM7_BASIC | _GSM7_EXTENDED)


def encoding(text: str) -> str:
    """ "GSM-7" when every character is in the GSM 03.38 basic or extension table, else "UCS-2"."""
    # A set's superset test runs in C: this is called for every value of every text.
    return "GSM-7" if _GSM7.issuperset(text) else "UCS-2"


def _extended(text: str) -> int:
    """How many extension-table characters ``text`` holds (each costs a second septet)."""
    if _GSM7_EXTENDED.isdisjoint(text):
        return 0
    return sum(text.count(c) for c in _GSM7_EXTENDED)


def segments(text: str, *, ucs2: bool = False) -> int:
    """How many SMS segments ``text`` is billed as (an empty text: 1); ``ucs2``: count it
    as UCS-2 even when it is GSM-7 (a value substituted later will make it so).

    GSM-7: 160 septets in one, 153 a segment when concatenated, an extension character
    counting two; UCS-2: 70 / 67 UTF-16 units. Twilio's and the carriers' rule (3GPP
    TS 23.038 and 23.040's concatenation header).
    """
    if not text:
        return 1
    gsm7 = not ucs2 and encoding(text) == "GSM-7"
    # Most texts fit one segment: counted in C, no list of costs per character.
    if gsm7 and len(text) + _extended(text) <= 160:
        return 1
    if not gsm7 and len(text.encode("utf-16-le")) <= 140:
        return 1
    if gsm7:
        costs = [2 if c in _GSM7_EXTENDED else 1 for c in text]
        single, multi = 160, 153
    else:
        costs = [len(c.encode("utf-16-le")) // 2 for c in text]
        single, multi = 70, 67
    if sum(costs) <= single:
        return 1
    # An escape pair (GSM-7) or a surrogate pair (UCS-2) is never split across segments.
    count, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            count, used = count + 1, 0
        used += cost
    return count
