"""The page's brand (logo, favicon, colour, the company's site) as the templates use it.

Statuspage calls these the logo, favicon, brand colour and company URL; the colour
fills the buttons and the header's stripe, and colours links where it stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from notifier.delivery.rendering import text_on

# base.html's page backgrounds (--bg) in the light and dark schemes.
LIGHT_BG = "#ffffff"
DARK_BG = "#141414"
# WCAG 2.x AA for normal text (success criterion 1.4.3).
READABLE = 4.5


@dataclass(frozen=True)
class Brand:
    """What base.html needs; every field None when its setting is not set.

    ``on_color``: the text colour on ``color`` (buttons); ``link_light`` / ``link_dark``:
    ``color`` when it is readable as link text on that scheme's background, else None
    (the page's own link colour stays).
    """

    color: str | None = None
    on_color: str | None = None
    link_light: str | None = None
    link_dark: str | None = None
    logo_url: str | None = None
    favicon_url: str | None = None
    company_url: str | None = None


def from_settings(settings: Settings) -> Brand:
    """The brand of ``settings`` (``brand_color`` is already ``#rrggbb``, lower case)."""
    colour = settings.brand_color

    def readable_on(background: str) -> str | None:
        return colour if colour and contrast(colour, background) >= READABLE else None

    def text(url: object) -> str | None:
        return str(url) if url else None

    return Brand(
        color=colour,
        on_color=text_on(colour) if colour else None,
        link_light=readable_on(LIGHT_BG),
        link_dark=readable_on(DARK_BG),
        logo_url=text(settings.brand_logo_url),
        favicon_url=text(settings.favicon_url),
        company_url=text(settings.company_url),
    )


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """The WCAG 2.x contrast ratio (1 to 21) of two ``#rrggbb`` colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
