"""Bulk inserts on the DB-API cursor of the session's connection (app/models/driver_sql.py): a member sync's
thousands of rows in multi-row INSERT statements, each row's values converted by the columns' types as a Core insert
would, shared values and scalar defaults converted once."""
from __future__ import annotations

import operator
from typing import Any, Callable, Sequence

from sqlalchemy import Table
from sqlalchemy.engine import Dialect

from app.extensions import db
from app.models.driver_sql import _args, _connection, _cursor_execute, _marker, _processor, note_written

ROWS_PER_INSERT = 1000  # rows per multi-row INSERT … RETURNING,
MAX_PARAMETERS = 30000  # and bound parameters (SQLite allows 32,766, PostgreSQL 65,535)


def _row_values(table: Table, given: Sequence[str], shared: dict[str, Any],
                dialect: Dialect) -> tuple[list[str], Callable[[dict[str, Any]], tuple]]:
    """Columns to write and a function giving one row's values for them: the row's own values, then the values
    shared by all rows and the columns' scalar defaults (converted once), then callable defaults (called for each
    row), all converted by the columns' types: what a Core insert would write."""
    own = [column for column in table.columns if column.name in given]
    constants: list[tuple[str, Any]] = []
    callables: list[tuple[str, Callable[[Any], Any], Callable[[Any], Any] | None]] = []
    for column in table.columns:
        if column.name in given or column.primary_key:
            continue
        processor = _processor(column.type, dialect)
        if column.name in shared or (column.default is not None and column.default.is_scalar):
            value = shared[column.name] if column.name in shared else column.default.arg
            constants.append((column.name, processor(value) if processor else value))
        elif column.default is not None and column.default.is_callable:
            callables.append((column.name, column.default.arg, processor))
        # else: no default, or a SQL expression one: left to the database
    get = operator.itemgetter(*[column.name for column in own])
    converters = [(index, processor) for index, column in enumerate(own)
                  if (processor := _processor(column.type, dialect)) is not None]
    fixed = tuple(value for _name, value in constants)
    single = len(own) == 1

    def values(row: dict[str, Any]) -> tuple:
        found = (get(row),) if single else get(row)
        if converters:
            found = list(found)
            for index, processor in converters:
                found[index] = processor(found[index])
        if callables:
            return (*found, *fixed, *(p(f(None)) if p else f(None) for _name, f, p in callables))
        return (*found, *fixed)

    names = [column.name for column in own] + [name for name, _value in constants] + [c[0] for c in callables]
    return names, values


def insert_many(table: Table, rows: list[dict[str, Any]], *, shared: dict[str, Any] | None = None,
                returning: tuple[str, str] | None = None, ignore_conflicts_on: Sequence[str] | None = None
                ) -> list[tuple[Any, Any]]:
    """Insert `rows` (dicts with the same keys); `shared` values go into every row (converted once).
    `returning` (key column, id column): the new rows' (key, id) pairs, from multi-row INSERT … RETURNING.
    `ignore_conflicts_on`: ON CONFLICT (columns) DO NOTHING."""
    if not rows:
        return []
    dialect = _connection().dialect
    note_written(db.session(), table.name)
    columns, values = _row_values(table, list(rows[0]), shared or {}, dialect)
    head = f'INSERT INTO {_quote(dialect, table.name)} ({", ".join(_quote(dialect, c) for c in columns)}) VALUES '
    tail = f" ON CONFLICT ({', '.join(ignore_conflicts_on)}) DO NOTHING" if ignore_conflicts_on else ""
    marker = _marker(dialect)
    width = len(columns)
    if returning is None:
        sql = head + "(" + ", ".join(marker(i) for i in range(width)) + ")" + tail
        if dialect.paramstyle == "named":
            _cursor_execute(sql, [_args(dialect, list(values(row))) for row in rows], many=True).close()
        else:
            _cursor_execute(sql, [values(row) for row in rows], many=True).close()
        return []
    found: list[tuple[Any, Any]] = []
    suffix = f" RETURNING {_quote(dialect, returning[0])}, {_quote(dialect, returning[1])}"
    statements: dict[int, str] = {}
    per_statement = max(1, min(ROWS_PER_INSERT, MAX_PARAMETERS // width))
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        if len(chunk) not in statements:
            groups = ("(" + ", ".join(marker(r * width + i) for i in range(width)) + ")" for r in range(len(chunk)))
            statements[len(chunk)] = head + ", ".join(groups) + tail + suffix
        cursor = _cursor_execute(statements[len(chunk)],
                                 _args(dialect, [value for row in chunk for value in values(row)]))
        try:
            found.extend(tuple(row) for row in cursor.fetchall())
        finally:
            cursor.close()
    return found


def _quote(dialect: Dialect, name: str) -> str:
    return dialect.identifier_preparer.quote(name)
