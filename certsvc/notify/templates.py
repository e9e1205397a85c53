"""Mail templates: Jinja2, one plain-text and one HTML file per (kind, locale).

A kind is added by dropping two files per locale into ``certsvc/notify/templates/``
(or an operator's ``[mail] templates_dir``, looked up first)::

    <kind>.<locale>.txt    first line: the subject; then a blank line; then the body
    <kind>.<locale>.html   the HTML alternative (usually extends ``_layout.<locale>.html``)

The template context is the outbox payload plus ``days_left``, ``renewal_url``,
``expiry`` (a date) and ``kind``. Undefined names are errors, so a template that refers
to data its payload lacks fails loudly (the message is recorded as failed) instead of
mailing a blank.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    select_autoescape,
)

from certsvc.clock import local_text, parse_instant

BUILT_IN = Path(__file__).parent / "templates"
FALLBACK_LOCALE = "ja"
WEEKDAYS_JA = "月火水木金土日"


class TemplateMissing(Exception):
    """No template for a kind in any locale: the message cannot be rendered."""


@dataclass(frozen=True)
class RenderedMail:
    """A message's words: subject, plain text, HTML, and the language they are in."""

    subject: str
    text: str
    html: str
    locale: str


class MailRenderer:
    """Renders outbox payloads into subject, text and HTML in the subscriber's language."""

    def __init__(self, zone: ZoneInfo, renewal_url: str, override_dir: str = "") -> None:
        loaders = [FileSystemLoader(override_dir)] if override_dir else []
        self.environment = Environment(
            loader=ChoiceLoader([*loaders, FileSystemLoader(BUILT_IN)]),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
        )
        self.environment.filters["ja_date"] = ja_date
        self.environment.filters["en_date"] = en_date
        self.environment.filters["when"] = lambda text: local_text(parse_instant(str(text)), zone)
        self.zone = zone
        self.renewal_url = renewal_url

    def render(self, kind: str, payload: dict[str, Any], now: datetime) -> RenderedMail:
        """Render ``kind`` for ``payload`` at ``now``.

        :raises TemplateMissing: no template for ``kind``.
        :raises jinja2.TemplateError: a template is broken or lacks data.
        """
        locale = self._locale_for(kind, str(payload.get("locale") or FALLBACK_LOCALE))
        context = self._context(kind, payload, now)
        text = self.environment.get_template(f"{kind}.{locale}.txt").render(context)
        html = self.environment.get_template(f"{kind}.{locale}.html").render(context)
        subject, _, body = text.partition("\n")
        if not subject.strip():
            raise TemplateError(f"template {kind}.{locale}.txt has no subject line")
        return RenderedMail(subject.strip(), body.lstrip("\n"), html, locale)

    def kinds(self) -> list[str]:
        """Every kind with a built-in or override template (for operators and tests)."""
        names = self.environment.list_templates(extensions=["txt"])
        return sorted({name.rsplit(".", 2)[0] for name in names if not name.startswith("_")})

    def _locale_for(self, kind: str, wanted: str) -> str:
        for locale in (wanted, FALLBACK_LOCALE, "en"):
            try:
                self.environment.get_template(f"{kind}.{locale}.txt")
            except TemplateNotFound:
                continue
            return locale
        raise TemplateMissing(f"no mail template for kind {kind!r}")

    def _context(self, kind: str, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
        context: dict[str, Any] = {
            "revocation_reason": None,
            "display_name": "",
            "renewal_link": None,
            **payload,
        }
        context["kind"] = kind
        context["renewal_url"] = self.renewal_url
        raw_expiry = payload.get("expiry_date")
        if raw_expiry and raw_expiry != "None":
            expiry = date.fromisoformat(str(raw_expiry))
            context["expiry"] = expiry
            context["days_left"] = (expiry - now.astimezone(self.zone).date()).days
        return context


def ja_date(day: date) -> str:
    """2028年11月26日（日）: how Japanese mail writes a date."""
    return f"{day.year}年{day.month}月{day.day}日（{WEEKDAYS_JA[day.weekday()]}）"


def en_date(day: date) -> str:
    """Sunday, 26 November 2028: unambiguous in every English-speaking country."""
    return f"{day:%A}, {day.day} {day:%B %Y}"
