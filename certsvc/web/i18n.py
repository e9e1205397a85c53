"""Page languages: Japanese first, English second; chosen by a switch, else Accept-Language.

Every page (the subscriber pages and the helpdesk console) takes its words from one
catalogue per language (``messages_ja`` / ``messages_en``), so a missing translation is a
``KeyError`` in the tests, never a half-translated page. Rule messages of the lower
layers (``InputError`` texts in English) are translated here by their pattern, so the
page names the broken rule in the reader's language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import Request

from certsvc.web.console_messages_en import MESSAGES as CONSOLE_EN
from certsvc.web.console_messages_ja import MESSAGES as CONSOLE_JA
from certsvc.web.messages_en import MESSAGES as EN
from certsvc.web.messages_ja import MESSAGES as JA

LOCALES = ("ja", "en")
DEFAULT_LOCALE = "ja"
COOKIE = "certsvc_lang"
CATALOGUES: Mapping[str, Mapping[str, str]] = {
    "ja": {**JA, **CONSOLE_JA},
    "en": {**EN, **CONSOLE_EN},
}

_RULES = (
    (re.compile(r"must be 8-32 characters$"), "rule.length"),
    (re.compile(r"must not contain control characters$"), "rule.printable"),
    (re.compile(r"needs at least two of: digits, letters, symbols$"), "rule.classes"),
    (re.compile(r"^this password was used recently"), "rule.history"),
    (re.compile(r"^PKCS#12 password must be"), "rule.length"),
    (re.compile(r"weak key|key type|not a PEM|CSR"), "error.csr"),
)


@dataclass(frozen=True)
class Translator:
    """``t("key", name=value)``: the page's words in one language."""

    locale: str

    def __call__(self, key: str, **values: object) -> str:
        text = CATALOGUES[self.locale][key]
        return text.format(**values) if values else text

    def rule(self, message: str) -> str:
        """A lower layer's English rule message in this language (as is if unknown)."""
        for pattern, key in _RULES:
            if pattern.search(message):
                return self(key)
        return message


def choose_locale(request: Request) -> str:
    """``?lang=`` (the switch), then the cookie the switch set, then Accept-Language."""
    for wanted in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if wanted in LOCALES:
            return str(wanted)
    return from_accept_language(request.headers.get("accept-language", ""))


def from_accept_language(header: str) -> str:
    """The first of ``ja``/``en`` by quality (``en-US;q=0.8`` counts as ``en``)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = tag.strip().lower().split("-")[0]
        if language in LOCALES and quality > 0:
            ranked.append((-quality, index, language))
    return min(ranked)[2] if ranked else DEFAULT_LOCALE
