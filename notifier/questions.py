"""What a rating prompt asks, per scale and language: the one place for these words.

The prompt messages (``notifier.delivery.messages``, and the templates' samples and
previews), the rating page and the inbox API all read them, so a customer sees the same
question wherever they answer (and ops see it in a preview). The wording follows each
scale's usual form (``notifier.scales``): CSAT asks how satisfied they were with
how we kept them informed; NPS is Reichheld's "How likely are you to recommend ...";
CES 2.0 is a statement the customer agrees or disagrees with, so its "question" ends
in a full stop. Labels name the two end points only, as the scales are usually shown.
"""

from __future__ import annotations

from typing import Any

from notifier.scales import Scale
from notifier.statuses import Locale

_QUESTIONS: dict[Scale, dict[Locale, str]] = {
    Scale.csat: {
        Locale.en: "How satisfied were you with how we kept you informed?",
        Locale.ja: "私たちからのお知らせの内容やタイミングに、どの程度ご満足いただけましたか？",  # noqa: RUF001 (Japanese punctuation)
    },
    Scale.nps: {
        Locale.en: "How likely are you to recommend us to a friend or colleague?",
        Locale.ja: "私たちを友人や同僚に薦める可能性は、どのくらいありますか？",  # noqa: RUF001 (Japanese punctuation)
    },
    Scale.ces: {
        Locale.en: "It was easy to get the information I needed.",
        Locale.ja: "必要な情報を簡単に得ることができた。",
    },
}

_LABELS: dict[Scale, dict[Locale, tuple[str, str]]] = {
    Scale.csat: {
        Locale.en: ("Very dissatisfied", "Very satisfied"),
        Locale.ja: ("とても不満", "とても満足"),
    },
    Scale.nps: {
        Locale.en: ("Not at all likely", "Extremely likely"),
        Locale.ja: ("まったく薦めない", "ぜひ薦めたい"),
    },
    Scale.ces: {
        Locale.en: ("Strongly disagree", "Strongly agree"),
        Locale.ja: ("まったくそう思わない", "とてもそう思う"),
    },
}


def _locale(locale: str) -> Locale:
    # An unknown locale reads in English, as messages do (``delivery.rendering``).
    return Locale(locale) if locale in Locale.__members__ else Locale.en


def question(scale: str, locale: str) -> str:
    """The question (for CES, the statement) a prompt on ``scale`` asks, in ``locale``
    (``en`` or ``ja``; anything else reads as ``en``). ``ValueError`` if ``scale`` is
    not a ``Scale``."""
    return _QUESTIONS[Scale(scale)][_locale(locale)]


def labels(scale: str, locale: str) -> dict[int, str]:
    """The labels of ``scale``'s two end points, ``{lowest score: text, highest score:
    text}`` (CSAT ``{1: ..., 5: ...}``, NPS ``{0: ..., 10: ...}``, CES ``{1: ..., 7:
    ...}``), in ``locale`` as ``question`` reads it. ``ValueError`` if ``scale`` is not a
    ``Scale``."""
    scores = Scale(scale).scores
    low, high = _LABELS[Scale(scale)][_locale(locale)]
    return {scores[0]: low, scores[-1]: high}


def asked(scale: str, locale: str) -> dict[str, Any]:
    """A rating prompt's words for its templates: ``scores`` (a list, lowest first),
    ``question`` and ``labels`` as above. ``ValueError`` if ``scale`` is not a ``Scale``."""
    return {
        "scores": list(Scale(scale).scores),
        "question": question(scale, locale),
        "labels": labels(scale, locale),
    }
