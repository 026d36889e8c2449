"""The web app's catalogs and formats: every .po of a locale merged, plurals, browser language, Babel formats."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from nexa.web.app import i18n

PO = '''msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

{entries}
'''


@pytest.fixture
def translations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A translations folder of our own, read instead of the app's."""
    monkeypatch.setattr(i18n, "TRANSLATIONS_DIR", tmp_path)
    i18n.catalog.cache_clear()
    yield tmp_path
    i18n.catalog.cache_clear()


def write_po(folder: Path, locale: str, name: str, entries: str) -> None:
    target = folder / locale / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    (target / name).write_text(PO.format(entries=entries), encoding="utf-8")


def test_every_po_file_of_a_locale_is_merged(translations: Path) -> None:
    write_po(translations, "pt_BR", "inbox.po", 'msgid "Conversations"\nmsgstr "Conversas"\n\n'
             'msgid "Log out"\nmsgstr ""\n\n#, fuzzy\nmsgid "Mine"\nmsgstr "Minhas?"\n')
    write_po(translations, "pt_BR", "settings.po", 'msgid "Labels"\nmsgstr "Etiquetas"\n\n'
             'msgid "%(num)s inbox"\nmsgid_plural "%(num)s inboxes"\nmsgstr[0] "%(num)s caixa"\nmsgstr[1] "%(num)s caixas"\n')
    catalog = i18n.catalog("pt-BR")
    assert catalog.translations.gettext("Conversations") == "Conversas"
    assert catalog.translations.gettext("Labels") == "Etiquetas"
    assert catalog.translations.gettext("Log out") == "Log out"  # untranslated: the English msgid
    # Portuguese counts 0 and 1 as singular.
    assert [catalog.translations.ngettext("%(num)s inbox", "%(num)s inboxes", n) for n in (0, 1, 2)] == [
        "%(num)s caixa", "%(num)s caixa", "%(num)s caixas"]
    # The browser gets the same messages, without untranslated or fuzzy ones.
    assert catalog.messages == {"Conversations": "Conversas", "Labels": "Etiquetas",
                                "%(num)s inbox": ["%(num)s caixa", "%(num)s caixas"]}
    assert i18n.catalog("en").messages == {}  # a locale without files still works


def test_shipped_catalogs_translate_the_shell() -> None:
    for locale, expected in (("pt-BR", "Sair"), ("es", "Cerrar sesión"), ("en", "Log out")):
        assert i18n.catalog(locale).translations.gettext("Log out") == expected


@pytest.mark.parametrize(("header", "expected"), [
    ("pt-PT,pt;q=0.9,en;q=0.8", "pt-BR"),
    ("de-DE, es-MX;q=0.7, en;q=0.8", "en"),
    ("fr;q=1, es;q=0.1", "es"),
    ("en;q=0, es", "es"),
    ("*", None),
    ("xx;q=abc, en", "en"),
    ("", None),
    (None, None),
])
def test_browser_language(header: str | None, expected: str | None) -> None:
    assert i18n.from_accept_language(header) == expected


def test_locale_choice_order() -> None:
    assert i18n.choose_locale("es", "en", "pt-BR") == "es"
    assert i18n.choose_locale(None, "en-US", "es") == "en"
    assert i18n.choose_locale(None, "de", "es") == "es"
    assert i18n.choose_locale("klingon", None, None) == "pt-BR"


def test_formats_use_the_viewers_language_and_the_accounts_time_zone() -> None:
    moment = datetime(2026, 11, 22, 2, 30, tzinfo=UTC)
    brazil = i18n.Formats(locale="pt-BR", timezone="America/Sao_Paulo")
    assert brazil.datetime(moment, "short") == "21/11/2026 23:30"  # the evening before, in São Paulo
    assert brazil.number(1234.5) == "1.234,5"
    english = i18n.Formats(locale="en", timezone="UTC")
    assert english.number(1234.5) == "1,234.5"
    assert english.datetime(None) == ""
    assert english.duration(3 * 3600) == "3 hours"
