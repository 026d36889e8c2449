"""The web app's languages: Babel catalogs read once at start, the locale of a request, localized formats.

Each locale folder (`nexa/web/translations/<pt_BR|es|en>/LC_MESSAGES/`) holds one `.po` file per part of the
app (`inbox.po`, `settings.po`, ...). All of them are merged into one catalog per locale, so parts are
translated independently without merge conflicts in one big file. `.po` files are compiled in memory when
first used (no `.mo` build step to forget at install). msgids are the English text; an untranslated message
shows its English msgid. The server's own texts (API error messages) are the `errors` domain (`errors.po`): they
are rendered by the server, so they stay out of the page catalogs the browser receives.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from babel.messages.catalog import Catalog as BabelCatalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from nexa.kit.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES
from nexa.kit.lazy_text import Gettext, english

TRANSLATIONS_DIR = Path(__file__).parent.parent / "translations"


def babel_name(locale: str) -> str:
    """`pt-BR` (our API's spelling, BCP 47) -> `pt_BR` (Babel's and the folder's)."""
    return locale.replace("-", "_")


@dataclass
class Catalog:
    """One locale's merged messages: gettext translations for Jinja, a plain dict for the browser's `t()`."""

    locale: str
    translations: Translations
    messages: dict[str, str | list[str]] = field(default_factory=dict)


SERVER_DOMAIN = "errors"


def _folder(locale: str) -> Path:
    return TRANSLATIONS_DIR / babel_name(locale) / "LC_MESSAGES"


def _read(po_path: Path, locale: str) -> tuple[BabelCatalog, Translations]:
    with po_path.open("rb") as po_file:
        parsed = read_po(po_file, locale=babel_name(locale))
    compiled = io.BytesIO()
    write_mo(compiled, parsed)
    compiled.seek(0)
    return parsed, Translations(fp=compiled)


@functools.cache
def catalog(locale: str) -> Catalog:
    """The merged catalog of `locale` (one of SUPPORTED_LOCALES), read from every `*.po` of its folder but the
    server's own (SERVER_DOMAIN)."""
    merged = Translations()
    messages: dict[str, str | list[str]] = {}
    for po_path in sorted(_folder(locale).glob("*.po")):
        if po_path.stem == SERVER_DOMAIN:
            continue
        parsed, translations = _read(po_path, locale)
        merged.merge(translations)
        for message in parsed:
            if not message.id or not message.string or message.fuzzy:
                continue
            if isinstance(message.id, tuple):
                messages[message.id[0]] = [str(s) for s in message.string]
            else:
                messages[message.id] = str(message.string)
    # A Translations() built empty has no plural rule: gettext's default is English's (n != 1).
    merged.plural = _plural_rule(locale)
    return Catalog(locale=locale, translations=merged, messages=messages)


@functools.cache
def server_gettext(locale: str) -> Gettext:
    """gettext of the server's texts (SERVER_DOMAIN) in `locale`; English, the msgids' language, as they are."""
    path = _folder(locale) / f"{SERVER_DOMAIN}.po"
    if locale == "en" or not path.exists():
        return english
    return _read(path, locale)[1].gettext


def _plural_rule(locale: str) -> Any:
    # Portuguese (Brazil) treats 0 as singular ("0 conversa"); Spanish and English do not.
    return (lambda n: int(n > 1)) if locale == "pt-BR" else (lambda n: int(n != 1))


def supported(candidate: str | None) -> str | None:
    """The supported locale a language tag means: pt, pt-PT and pt-BR all mean pt-BR; None when unknown."""
    if not candidate:
        return None
    prefix = candidate.strip().replace("_", "-").split("-")[0].lower()
    for locale in SUPPORTED_LOCALES:
        if locale.split("-")[0].lower() == prefix:
            return locale
    return None


def from_accept_language(header: str | None) -> str | None:
    """The browser's most preferred language that we speak (RFC 9110 q-values), or None."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    for _, _, tag in sorted(ranked):
        if locale := supported(tag):
            return locale
    return None


def server_text_locale(user_locale: str | None, accept_language: str | None) -> str:
    """The language of a server text (an API error) for a request: the signed-in user's own setting, else the
    browser's, else English, which API clients (Chatwoot's among them) expect."""
    return supported(user_locale) or from_accept_language(accept_language) or "en"


def choose_locale(user_locale: str | None, accept_language: str | None, account_locale: str | None) -> str:
    """The user's own setting, else the browser's language, else the account's, else the default."""
    return (
        supported(user_locale)
        or from_accept_language(accept_language)
        or supported(account_locale)
        or DEFAULT_LOCALE
    )


@dataclass(frozen=True)
class Formats:
    """Dates and numbers for one page: the viewer's language, the account's time zone."""

    locale: str
    timezone: str

    def datetime(self, value: datetime | None, format: str = "medium") -> str:
        if value is None:
            return ""
        return format_datetime(value, format, tzinfo=ZoneInfo(self.timezone), locale=babel_name(self.locale))

    def number(self, value: float | int) -> str:
        return format_decimal(value, locale=babel_name(self.locale))

    def duration(self, seconds: float) -> str:
        return format_timedelta(seconds, threshold=0.9, locale=babel_name(self.locale))
