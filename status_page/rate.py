"""``/rate/{token}``: the score links of a rating prompt's email.

GET shows the chosen score (``?score=n``) with a button and records nothing: mail
scanners open every link, and must not vote. The button POSTs the form (CSRF as every
public form) and the score is recorded (``care.ratings.record``, channel email); the
thank-you page offers an optional comment and a change of score, which POST the same
form again. The token is the prompt's signed id (``links.rating_token``) and expires
after ``FOREWARN_RATINGS__LINK_DAYS``; a bad or expired one gets a friendly page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import select

from notifier import links, questions
from notifier.care import ratings
from notifier.db import utcnow
from notifier.errors import NotFound
from notifier.scales import PromptStatus, Scale
from notifier.statuses import ChannelName
from notifier.tables import Customer, Rating, RatingPrompt
from status_page import forms, i18n, keys

log = logging.getLogger(__name__)


def add_routes(app: web.Application) -> None:
    """``/rate/{token}``: GET the score page, POST a score (and comment)."""
    app.router.add_get("/rate/{token}", page)
    app.router.add_post("/rate/{token}", rate)


@dataclass(frozen=True)
class _Prompt:
    id: str
    scale: Scale
    locale: str
    score: int | None
    comment: str | None


async def _prompt(request: web.Request) -> _Prompt | None:
    """The token's prompt, if the token is genuine and young enough and the prompt was
    sent and has not expired."""
    settings = request.app[keys.SETTINGS]
    prompt_id = links.rating_prompt_of(
        settings.secret_key.get_secret_value(),
        request.match_info["token"],
        max_age_days=settings.ratings.link_days,
    )
    if prompt_id is None:
        return None
    async with request.app[keys.SESSIONS]() as session:
        row = (
            await session.execute(
                select(RatingPrompt, Customer.locale, Rating)
                .join(Customer, Customer.id == RatingPrompt.customer_id)
                .outerjoin(Rating, Rating.prompt_id == RatingPrompt.id)
                .where(RatingPrompt.id == prompt_id)
            )
        ).first()
    if row is None:
        return None
    prompt, locale, rating = row
    expired = prompt.expires_at is not None and utcnow() >= prompt.expires_at
    if prompt.status != PromptStatus.sent or expired:
        return None
    return _Prompt(
        prompt.id,
        Scale(prompt.scale),
        locale,
        rating.score if rating else None,
        rating.comment if rating else None,
    )


def _score(raw: str | None, scale: Scale) -> int | None:
    """The score in ``raw`` if it is a whole number on ``scale``; else None."""
    # ASCII only: str.isdecimal and int() also take other scripts' digits (U+0661,
    # Arabic-Indic one), which no score button sends.
    if raw is None or not (raw.isascii() and raw.isdecimal()) or len(raw) > 2:
        return None
    score = int(raw)
    return score if score in scale.scores else None


def _invalid(request: web.Request) -> web.Response:
    return forms.render(request, "rate.html", status=404, state="invalid")


def _render(
    request: web.Request,
    prompt: _Prompt,
    state: str,
    *,
    score: int | None,
    status: int = 200,
    error: str = "",
    comment: str | None = None,
) -> web.Response:
    lang = i18n.negotiate(request, preferred=prompt.locale)
    context: dict[str, Any] = {
        "state": state,
        "scores": list(prompt.scale.scores),
        "chosen": score,
        "question": questions.question(prompt.scale, lang),
        "labels": questions.labels(prompt.scale, lang),
        "error": error,
        "low": prompt.scale.scores[0],
        "high": prompt.scale.scores[-1],
        "comment": prompt.comment if comment is None else comment,
        "comment_max": ratings.COMMENT_MAX,
    }
    return forms.render(request, "rate.html", status=status, lang=lang, **context)


async def page(request: web.Request) -> web.Response:
    """GET /rate/{token}?score=n: the chosen score with a button to record it.

    Records nothing. Without ``score`` the page offers every score (the one given
    before, if any, chosen); a ``score`` off the scale is a 400 page offering them all.
    404 for a bad, expired or unknown token.
    """
    prompt = await _prompt(request)
    if prompt is None:
        return _invalid(request)
    raw = request.query.get("score")
    score = _score(raw, prompt.scale)
    if raw is not None and score is None:
        return _render(request, prompt, "confirm", score=None, status=400, error="score")
    return _render(request, prompt, "confirm", score=score if raw is not None else prompt.score)


def _comment(form: MultiDictProxy[str]) -> str | None:
    # Only the thank-you form has the field; left out, the comment stays as it was.
    # Browsers send a textarea's line breaks as CRLF but count them as one character
    # against its maxlength (HTML, "textarea wrapping transformation"): so do we.
    if "comment" not in form:
        return None
    return form["comment"].replace("\r\n", "\n").replace("\r", "\n").strip()


async def rate(request: web.Request) -> web.Response:
    """POST /rate/{token}: record the form's ``score`` (and ``comment``, if the form has
    the field: empty clears it); the thank-you page.

    403 page for a CSRF mismatch; 404 for a bad or expired token; 422 page (naming the
    field) for a score off the scale or a comment over ``ratings.COMMENT_MAX``.
    """
    form = await forms.checked_form(request)
    if form is None:
        return forms.forbidden(request)
    prompt = await _prompt(request)
    if prompt is None:
        return _invalid(request)
    state = "thanks" if "comment" in form else "confirm"
    score = _score(form.get("score"), prompt.scale)
    comment = _comment(form)
    if score is None:
        return _render(request, prompt, state, score=None, status=422, error="score")
    if comment is not None and len(comment) > ratings.COMMENT_MAX:
        return _render(
            request, prompt, state, score=score, status=422, error="comment", comment=comment
        )
    if forms.honeypot_filled(form):
        # A bot: the ordinary answer, nothing stored.
        return _render(request, prompt, "thanks", score=score)
    try:
        async with request.app[keys.SESSIONS]() as session, session.begin():
            recorded = await ratings.record(
                session, prompt.id, score, channel=ChannelName.email, now=utcnow(), comment=comment
            )
            if comment == "":
                recorded.rating.comment = None
    except (NotFound, ratings.PromptExpired):
        return _invalid(request)
    log.info("a rating was recorded from an email link")
    answered = _Prompt(prompt.id, prompt.scale, prompt.locale, score, recorded.rating.comment)
    return _render(request, answered, "thanks", score=score)
