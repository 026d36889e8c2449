"""Request parameters the way Rails clients send them.

Rails wraps a flat JSON body under the resource name, so Chatwoot clients send either
`{"title": "vip"}` or `{"label": {"title": "vip"}}`. Both must work.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, model_validator

from nexa.kit.errors import UnprocessableEntity
from nexa.kit.lazy_text import _


def unwrap(body: Any, key: str) -> Any:
    """Fields of `body`, lifted out of `body[key]` when the client wrapped them (wrapped values win)."""
    if isinstance(body, dict) and isinstance(body.get(key), dict):
        flat = {name: value for name, value in body.items() if name != key}
        return {**flat, **body[key]}
    return body


class WrappedParams(BaseModel):
    """A request body accepted flat or wrapped under `wrapper` (e.g. "label")."""

    wrapper: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        return unwrap(data, cls.wrapper)


LIKE_ESCAPE = "\\"


def like_pattern(term: str) -> str:
    """A LIKE pattern (use with lower() on the column and `escape=LIKE_ESCAPE`) matching `term` literally
    anywhere, case-insensitively: ILIKE that works on SQLite and PostgreSQL alike."""
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_term(q: str | None) -> str:
    """The text a search endpoint looks for (`q`, trimmed): a 422 when there is none, or when it holds a NUL
    character, which no stored text can contain (PostgreSQL refuses it; SQLite ends a statement at it)."""
    term = (q or "").strip()
    if not term:
        raise UnprocessableEntity(_("Specify search string with parameter q"))
    if "\x00" in term:
        raise UnprocessableEntity(_("The search text must not contain NUL characters"))
    return term
