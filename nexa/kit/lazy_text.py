"""Texts shown to people, translated when they are shown rather than when they are written.

`_("Try again in %(seconds)s seconds.", seconds=wait)` keeps the English msgid and its named parameters;
`str()` gives the English text and `render(gettext)` the text in whatever language `gettext` speaks. Errors
carry one (nexa/kit/errors.py) and the app's error handler renders it in the request's language. msgids are
collected from the `_()` calls in nexa/ by Babel's Python extractor (`make errors-catalog`), so the first
argument must be a string literal; their translations live in the `errors` catalog
(nexa/web/translations/<locale>/LC_MESSAGES/errors.po, docs/web-inbox.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Gettext = Callable[[str], str]


def english(msgid: str) -> str:
    """The gettext of the language the msgids are written in."""
    return msgid


@dataclass(frozen=True)
class LazyText:
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, gettext: Gettext) -> str:
        """The text in `gettext`'s language; parameters that are texts themselves are rendered in it too."""
        translated = gettext(self.msgid)
        if not self.params:
            return translated  # formatting would choke on a lone "%" in a text without parameters
        return translated % {
            name: value.render(gettext) if isinstance(value, LazyText) else value
            for name, value in self.params.items()
        }

    def __str__(self) -> str:
        return self.render(english)


def _(msgid: str, **params: Any) -> LazyText:
    """Mark `msgid` (a string literal, Python %-style named placeholders) for translation."""
    return LazyText(msgid, params)


def verbatim(text: str) -> LazyText:
    """Words from elsewhere (a library's or another part's reason), shown as they are in every language."""
    return LazyText("%(text)s", {"text": text})
