"""Chatwoot's filter language (POST /contacts/filter, /conversations/filter, automation conditions).

A payload is a list of `{attribute_key, filter_operator, values, query_operator}`; each condition's
query_operator joins it to the next one, AND binding tighter than OR as in Chatwoot's generated SQL.
`build_where` turns it into one SQL condition over the attributes a resource declares; unknown keys are
custom attributes. Bad keys, operators or values are a 422 {"error": ...}, never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import and_, func, not_, or_
from sqlalchemy.sql.elements import ColumnElement

from nexa.db.dialect import json_number, json_text
from nexa.kit.errors import UnprocessableEntity
from nexa.kit.lazy_text import _
from nexa.kit.params import LIKE_ESCAPE, like_pattern

Operator = Literal[
    "equal_to", "not_equal_to", "contains", "does_not_contain", "is_present", "is_not_present",
    "starts_with", "is_greater_than", "is_less_than",
]
Kind = Literal["text", "number", "date", "labels", "boolean"]

_OPERATORS: dict[Kind, frozenset[str]] = {
    "text": frozenset({"equal_to", "not_equal_to", "contains", "does_not_contain", "starts_with", "is_present",
                       "is_not_present"}),
    "number": frozenset({"equal_to", "not_equal_to", "is_greater_than", "is_less_than", "is_present",
                         "is_not_present"}),
    "date": frozenset({"equal_to", "not_equal_to", "is_greater_than", "is_less_than", "is_present",
                       "is_not_present"}),
    "labels": frozenset({"equal_to", "not_equal_to", "is_present", "is_not_present"}),
    "boolean": frozenset({"equal_to", "not_equal_to"}),
}
_CUSTOM_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


class FilterCondition(BaseModel):
    attribute_key: str = Field(min_length=1, max_length=64)
    filter_operator: Operator
    values: list[Any] = Field(default_factory=list, max_length=100)
    query_operator: str | None = Field(default=None, description="AND or OR: joins this condition to the next")
    custom_attribute_type: str | None = None

    @field_validator("values", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        # Chatwoot's UI sends a list; scripts often send one bare value.
        return value if isinstance(value, list) else [] if value is None else [value]


class FilterRequest(BaseModel):
    payload: list[FilterCondition] = Field(min_length=1, max_length=50)


@dataclass(frozen=True)
class Attribute:
    """A filterable standard attribute: an expression, or for labels a function of the wanted titles."""

    kind: Kind
    column: ColumnElement[Any] | None = None
    has_any_label: Callable[[Sequence[str] | None], ColumnElement[bool]] | None = None
    choices: frozenset[str] | None = None


def build_where(
    conditions: Sequence[FilterCondition], attributes: dict[str, Attribute], custom: ColumnElement[Any]
) -> ColumnElement[bool]:
    groups: list[list[ColumnElement[bool]]] = [[]]
    for index, condition in enumerate(conditions):
        if index > 0 and (conditions[index - 1].query_operator or "and").lower() == "or":
            groups.append([])
        groups[-1].append(_condition(condition, attributes, custom))
    return or_(*[and_(*group) for group in groups])


def _condition(
    condition: FilterCondition, attributes: dict[str, Attribute], custom: ColumnElement[Any]
) -> ColumnElement[bool]:
    key, operator = condition.attribute_key, condition.filter_operator
    attribute = attributes.get(key)
    if condition.query_operator is not None and condition.query_operator.lower() not in ("and", "or"):
        raise UnprocessableEntity(
            _("Invalid query operator - %(operator)s", operator=condition.query_operator)
        )
    if attribute is None:
        if not _CUSTOM_KEY.match(key):
            raise UnprocessableEntity(_("Invalid attribute key - %(key)s", key=key))
        return _custom(condition, custom)
    if operator not in _OPERATORS[attribute.kind]:
        allowed = ", ".join(sorted(_OPERATORS[attribute.kind]))
        raise UnprocessableEntity(
            _(
                "Invalid operator. The allowed operators for %(key)s are [%(allowed)s].",
                key=key,
                allowed=allowed,
            )
        )
    if attribute.kind == "labels":
        assert attribute.has_any_label is not None
        return _labels(condition, attribute.has_any_label)
    assert attribute.column is not None
    if attribute.kind == "number":
        return _compare(condition, attribute.column, [_integer(key, v) for v in condition.values])
    if attribute.kind == "date":
        return _dates(condition, attribute.column)
    if attribute.kind == "boolean":
        return _compare(condition, attribute.column, [_boolean(key, v) for v in condition.values])
    if attribute.choices is not None:
        unknown = [str(v) for v in condition.values if str(v) not in attribute.choices]
        if unknown:
            raise UnprocessableEntity(
                _("Invalid value for %(key)s: %(values)s", key=key, values=", ".join(unknown))
            )
    return _text(condition, attribute.column)


def _required(condition: FilterCondition) -> list[Any]:
    if not condition.values:
        raise UnprocessableEntity(
            _(
                "values are required for %(attribute)s %(operator)s",
                attribute=condition.attribute_key,
                operator=condition.filter_operator,
            )
        )
    return condition.values


def _present(column: ColumnElement[Any], *, text: bool) -> ColumnElement[bool]:
    return and_(column.is_not(None), column != "") if text else column.is_not(None)


def _text(condition: FilterCondition, column: ColumnElement[Any]) -> ColumnElement[bool]:
    operator = condition.filter_operator
    if operator == "is_present":
        return _present(column, text=True)
    if operator == "is_not_present":
        return not_(_present(column, text=True))
    values = [str(v) for v in _required(condition)]
    lowered = func.lower(column)
    if operator == "equal_to":
        return lowered.in_([v.lower() for v in values])
    if operator == "not_equal_to":
        return or_(column.is_(None), lowered.not_in([v.lower() for v in values]))
    if operator == "contains":
        return or_(*[lowered.like(like_pattern(v), escape=LIKE_ESCAPE) for v in values])
    if operator == "does_not_contain":
        return or_(
            column.is_(None), and_(*[not_(lowered.like(like_pattern(v), escape=LIKE_ESCAPE)) for v in values])
        )
    return or_(*[lowered.like(like_pattern(v)[1:], escape=LIKE_ESCAPE) for v in values])  # starts_with


def _compare(condition: FilterCondition, column: ColumnElement[Any], values: list[Any]) -> ColumnElement[bool]:
    operator = condition.filter_operator
    if operator == "is_present":
        return column.is_not(None)
    if operator == "is_not_present":
        return column.is_(None)
    if not values:
        _required(condition)
    if operator == "equal_to":
        return column.in_(values)
    if operator == "not_equal_to":
        return or_(column.is_(None), column.not_in(values))
    if operator == "is_greater_than":
        return column > values[0]
    return column < values[0]


def _dates(condition: FilterCondition, column: ColumnElement[Any]) -> ColumnElement[bool]:
    operator = condition.filter_operator
    if operator in ("is_present", "is_not_present"):
        return _compare(condition, column, [])
    days = [_day(condition.attribute_key, v) for v in _required(condition)]
    if operator == "is_greater_than":
        return column >= _midnight(days[0]) + timedelta(days=1)
    if operator == "is_less_than":
        return column < _midnight(days[0])
    within = or_(*[and_(column >= _midnight(d), column < _midnight(d) + timedelta(days=1)) for d in days])
    return within if operator == "equal_to" else or_(column.is_(None), not_(within))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _labels(condition: FilterCondition, has_any_label: Callable[[Sequence[str] | None], ColumnElement[bool]]) -> ColumnElement[bool]:
    operator = condition.filter_operator
    if operator == "is_present":
        return has_any_label(None)
    if operator == "is_not_present":
        return not_(has_any_label(None))
    titles = [str(v).lower() for v in _required(condition)]
    return has_any_label(titles) if operator == "equal_to" else not_(has_any_label(titles))


def _custom(condition: FilterCondition, custom: ColumnElement[Any]) -> ColumnElement[bool]:
    key, operator = condition.attribute_key, condition.filter_operator
    if operator in ("is_greater_than", "is_less_than"):
        return _compare(condition, json_number(custom, key), [_number(key, v) for v in _required(condition)])
    if condition.values and all(isinstance(v, bool) for v in condition.values):
        # JSON true reads as "true" on PostgreSQL and as 1 on SQLite.
        spellings = [s for v in condition.values for s in (("true", "1") if v else ("false", "0"))]
        condition = condition.model_copy(update={"values": spellings})
    return _text(condition, json_text(custom, key))


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool):
        raise UnprocessableEntity(_("Invalid data type for %(key)s", key=key))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UnprocessableEntity(_("Invalid data type for %(key)s", key=key)) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise UnprocessableEntity(_("Invalid data type for %(key)s", key=key))
    return number


def _integer(key: str, value: Any) -> int:
    number = _number(key, value)
    if not number.is_integer() or abs(number) > 2**63 - 1:
        raise UnprocessableEntity(_("Invalid data type for %(key)s", key=key))
    return int(number)


def _boolean(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise UnprocessableEntity(_("Invalid data type for %(key)s", key=key))


def _day(key: str, value: Any) -> date:
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC).date()
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except (TypeError, ValueError, OverflowError, OSError):
        raise UnprocessableEntity(_("Invalid data type for %(key)s: expected a date", key=key)) from None

