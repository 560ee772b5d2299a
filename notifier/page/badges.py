"""The status badge: a small SVG with the state in words (never colour alone)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from notifier.control_characters import xml_safe
from notifier.statuses import ComponentStatus

_COLOURS = {
    ComponentStatus.operational: "#1b7a3a",
    ComponentStatus.under_maintenance: "#1d5fb3",
    ComponentStatus.degraded_performance: "#8a6100",
    ComponentStatus.partial_outage: "#b34700",
    ComponentStatus.major_outage: "#b3261e",
}
_WORDS = {
    ComponentStatus.operational: "operational",
    ComponentStatus.under_maintenance: "maintenance",
    ComponentStatus.degraded_performance: "degraded",
    ComponentStatus.partial_outage: "partial outage",
    ComponentStatus.major_outage: "major outage",
}
_CHAR = 7  # px per character at 11px Verdana, near enough for a badge


def badge(label: str, status: ComponentStatus) -> str:
    """The SVG document; ``label`` (a component's name) loses what XML 1.0 forbids."""
    label = xml_safe(label)
    words = _WORDS[status]
    left, right = len(label) * _CHAR + 12, len(words) * _CHAR + 12
    width = left + right
    # Quoted too: it goes into an attribute, and a name may hold a double quote.
    text = escape(f"{label}: {words}", {'"': "&quot;"})
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{text}"><title>{text}</title>'
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{_COLOURS[status]}"/>'
        '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="6" y="14">{escape(label)}</text>'
        f'<text x="{left + 6}" y="14">{escape(words)}</text></g></svg>'
    )
