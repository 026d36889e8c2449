"""SQL expressions whose spelling differs between SQLite and PostgreSQL (JSON fields, calendar buckets,
lists bound at execution).

Each is a SQLAlchemy construct compiled per dialect, so queries built from them run unchanged on both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from sqlalchemy import Float, String, any_, bindparam, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

BucketUnit = Literal["day", "week", "month"]


def conflict_aware_insert(dialect: str) -> Callable[[Any], postgresql.Insert | sqlite.Insert]:
    """`dialect`'s INSERT construct, which has ON CONFLICT (spelled alike on PostgreSQL and SQLite)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def one_of(column: ColumnElement[Any], name: str, *, postgres: bool) -> ColumnElement[bool]:
    """`column IN :name`, the list bound at execution.

    On PostgreSQL it is `column = ANY(:name)`, one array parameter: the same SQL text for any length of
    list. An IN list is another statement for every length, prepared again on each connection for each new
    length (in a full-loop run, two in five of the inbound batch's message lookups were).
    """
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


class json_text(FunctionElement[str]):  # noqa: N801 - reads like the SQL function it stands for
    """A JSON object's field as text (numbers as their digits), NULL when absent."""

    type = String()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], key: str) -> None:
        # The key is a bound parameter, not an attribute, so cached statements never mix up keys.
        super().__init__(column, literal(key.replace('"', ""), String()))


class json_number(FunctionElement[float]):  # noqa: N801
    """A JSON object's field as a number; NULL when absent or not a number (never a cast error)."""

    type = Float()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], key: str) -> None:
        # The key is a bound parameter, not an attribute, so cached statements never mix up keys.
        super().__init__(column, literal(key.replace('"', ""), String()))


class local_bucket(FunctionElement[str]):  # noqa: N801
    """The 'YYYY-MM-DD' start of the day, ISO week (Monday) or month holding a UTC time column, in the
    local time `offset_minutes` east of UTC."""

    type = String()
    # unit and offset are written into the SQL text: statements with them are not cached.
    inherit_cache = False

    def __init__(self, column: ColumnElement[Any], unit: BucketUnit, offset_minutes: int) -> None:
        self.unit = unit
        self.offset_minutes = int(offset_minutes)
        super().__init__(column)


def _argument(compiler: SQLCompiler, element: FunctionElement[Any], **kw: Any) -> str:
    return compiler.process(list(element.clauses)[0], **kw)


def _key(compiler: SQLCompiler, element: FunctionElement[Any], **kw: Any) -> str:
    return compiler.process(list(element.clauses)[1], **kw)


def _sqlite_path(compiler: SQLCompiler, element: FunctionElement[Any], **kw: Any) -> str:
    return f"('$.\"' || {_key(compiler, element, **kw)} || '\"')"


@compiles(json_text, "sqlite")
def _json_text_sqlite(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    path = _sqlite_path(compiler, element, **kw)
    return f"CAST(json_extract({_argument(compiler, element, **kw)}, {path}) AS TEXT)"


@compiles(json_text, "postgresql")
def _json_text_postgresql(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    key = _key(compiler, element, **kw)
    return f"(({_argument(compiler, element, **kw)})::jsonb ->> {key})"


@compiles(json_number, "sqlite")
def _json_number_sqlite(element: json_number, compiler: SQLCompiler, **kw: Any) -> str:
    column, path = _argument(compiler, element, **kw), _sqlite_path(compiler, element, **kw)
    return f"(CASE WHEN json_type({column}, {path}) IN ('integer', 'real') THEN json_extract({column}, {path}) END)"


@compiles(json_number, "postgresql")
def _json_number_postgresql(element: json_number, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = _argument(compiler, element, **kw), _key(compiler, element, **kw)
    field = f"(({column})::jsonb -> {key})"
    return f"(CASE WHEN jsonb_typeof({field}) = 'number' THEN ({field} #>> '{{}}')::float8 END)"


@compiles(local_bucket, "sqlite")
def _local_bucket_sqlite(element: local_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    column, shift = _argument(compiler, element, **kw), f"'{element.offset_minutes:+d} minutes'"
    if element.unit == "day":
        return f"date({column}, {shift})"
    if element.unit == "week":
        # 'weekday 0' moves forward to Sunday (or stays), six days back is that week's Monday.
        return f"date({column}, {shift}, 'weekday 0', '-6 days')"
    return f"strftime('%Y-%m-01', {column}, {shift})"


@compiles(local_bucket, "postgresql")
def _local_bucket_postgresql(element: local_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    column = _argument(compiler, element, **kw)
    local = f"(({column} AT TIME ZONE 'UTC') + interval '{element.offset_minutes} minutes')"
    return f"to_char(date_trunc('{element.unit}', {local}), 'YYYY-MM-DD')"


