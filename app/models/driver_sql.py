"""Statements run straight on the DB-API cursor of the session's connection: the launch's hot path (login, launch
and landing page run about twenty), the sync worker's per-job and per-score writes, and a member sync's bulk reads
and writes.

Even a prepared `text()` statement pays SQLAlchemy's work on every execution (cache key, compiled parameters,
execution context, result object), and an ORM load several times that, much more than the cursor itself costs;
a bulk insert through Core processes every row's parameters one by one in Python. Here the SQL is
written once with `:name` parameters and turned into the driver's own placeholders once per dialect; typed
parameters and result columns go through the same SQLAlchemy column types the models use (UTC datetimes, JSON,
numerics, booleans), so what lands in the database, and what comes back, is what the ORM would have written and
read. `instances` turns rows into ordinary persistent model instances. Everything runs in the session's current
transaction, after the session's pending changes are flushed as an ORM query would (see `_connection`); the
caller commits as usual. No SQLAlchemy events or echo see these statements. The SQL is the common subset of SQLite
and PostgreSQL (UPSERT, RETURNING).

Every statement is written in a module of `app.models.queries` and joins `STATEMENTS` when it is built, so a test
can prepare each one against the migrated schema of every database the application supports.
"""
from __future__ import annotations

import operator
import re
import sys
import weakref
from collections import namedtuple
from typing import Any, Callable, Iterator, Sequence, TypeVar

from sqlalchemy import JSON, Numeric, Table, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, configure_mappers, make_transient_to_detached
from sqlalchemy.types import TypeEngine

from app.extensions import db
from app.models import transactions
from app.models.base import UTCDateTime

Model = TypeVar("Model")
Columns = tuple[tuple[str, Any], ...]  # a result's (column name, driver's type code) pairs
_PARAM = re.compile(r"(?<![:\w]):(\w+)")
ROWS_PER_INSERT = 1000  # rows per multi-row INSERT … RETURNING,
MAX_PARAMETERS = 30000  # and bound parameters (SQLite allows 32,766, PostgreSQL 65,535)
IN_CHUNK = 500  # values per IN (…) list


def _marker(dialect: Dialect) -> Callable[[int], str]:
    """The driver's placeholder for the i-th positional parameter (pyformat drivers take %s as well)."""
    style = dialect.paramstyle
    if style == "qmark":
        return lambda i: "?"
    if style in ("format", "pyformat"):
        return lambda i: "%s"
    if style == "numeric":
        return lambda i: f":{i + 1}"
    return lambda i: f":p{i}"  # named


def _args(dialect: Dialect, values: list[Any]) -> Any:
    return {f"p{i}": value for i, value in enumerate(values)} if dialect.paramstyle == "named" else values


def _processor(type_: TypeEngine, dialect: Dialect) -> Callable[[Any], Any] | None:
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _result_processor(type_: TypeEngine, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
    """`coltype`: the driver's type code for the result column (PostgreSQL's numeric converter depends on it)."""
    return type_.dialect_impl(dialect).result_processor(dialect, coltype)


def _connection() -> Any:
    """The session's connection in its current transaction, once the session's pending changes are flushed.

    The flush is the ORM's autoflush: without it a statement would read a row as it was before a change the
    program already made in this transaction (a setting just saved would read back its old value), and a write
    could reference a row that is not inserted yet. As for an ORM query, a `with session.no_autoflush:` block
    skips it. Inside a flush (an ORM event hook) the pending changes are half-written, so there a statement is
    refused: flush() raises "Session is already flushing" rather than let it read that state.

    `transactions` keeps the connection from the transaction's start to its end: asking the session each time
    costs more than most of these statements."""
    session = db.session()
    if session.autoflush:
        session.flush()  # nothing to do, and cheap, when the session is clean
    connection = transactions.connection_of(session)
    if connection is None:
        connection = session.connection()  # begins the transaction, which `transactions` then remembers
    return connection


def _cursor_execute(sql: str, args: Any, *, many: bool = False, connection: Any = None) -> Any:
    cursor = (connection or _connection()).connection.cursor()
    try:
        if many:
            cursor.executemany(sql, args)
        else:
            cursor.execute(sql, args)
    except BaseException:
        cursor.close()
        raise
    return cursor


# Every statement built, weakly held: tests prepare them all against each supported database.
STATEMENTS: "weakref.WeakSet[DriverStatement]" = weakref.WeakSet()

_EXPLAIN = {"sqlite": "EXPLAIN QUERY PLAN "}


class EmptyInList(ValueError):
    """An expanding parameter was given no values: `IN ()` is not SQL (PostgreSQL rejects it, SQLite reads it as
    matching nothing), so callers skip the statement when they have nothing to match."""


class DriverStatement:
    """One statement. `times`, `json` and `numbers` name the parameters that need the models' column types;
    `expanding` names list parameters, written `IN :name` in the SQL (a non-empty list); `result_times` and
    `result_json` name result columns that `first`, `all` and `scalar` convert the same way. `dialect` names the
    one database whose SQL this is (None: the common subset, for every database). `module` is the module that
    built it (as for namedtuple: the caller's)."""

    def __init__(self, sql: str, *, times: tuple[str, ...] = (), json: tuple[str, ...] = (),
                 numbers: tuple[str, ...] = (), expanding: tuple[str, ...] = (),
                 result_times: tuple[str, ...] = (), result_json: tuple[str, ...] = (),
                 dialect: str | None = None) -> None:
        self.dialect = dialect
        self.module: str = sys._getframe(1).f_globals.get("__name__", "")
        STATEMENTS.add(self)
        self.sql = sql
        self.types: dict[str, TypeEngine] = {**{name: UTCDateTime() for name in times},
                                             **{name: JSON() for name in json},
                                             **{name: Numeric(10, 2) for name in numbers}}
        self.result_types: dict[str, TypeEngine] = {**{name: UTCDateTime() for name in result_times},
                                                    **{name: JSON() for name in result_json}}
        self.expanding = frozenset(expanding)
        self.parts = _PARAM.split(sql)  # text, name, text, name, …, text
        self.names = tuple(self.parts[1::2])
        self._prepared: dict[tuple[str, tuple[int, ...]], str] = {}
        self._processors: dict[str, dict[str, Callable[[Any], Any]]] = {}
        # Keyed by dialect and result columns (name, driver type code): the tests run both databases in one process.
        self._row_types: dict[tuple[str, Columns], tuple[type, list[tuple[int, Callable[[Any], Any]]]]] = {}
        self._builders: dict[tuple[type, str, Columns], Callable[[Session, tuple], Any]] = {}

    def _sql(self, dialect: Dialect, sizes: tuple[int, ...]) -> str:
        key = (dialect.name, sizes)
        if key not in self._prepared:
            marker, out, position, expanded = _marker(dialect), [], 0, iter(sizes)
            escape = dialect.paramstyle in ("format", "pyformat")
            for index, part in enumerate(self.parts):
                if index % 2 == 0:
                    out.append(part.replace("%", "%%") if escape else part)
                    continue
                count = next(expanded) if part in self.expanding else 1
                markers = [marker(position + i) for i in range(count)]
                position += count
                out.append(f"({', '.join(markers)})" if part in self.expanding else markers[0])
            self._prepared[key] = "".join(out)
        return self._prepared[key]

    def _bind(self, params: dict[str, Any]) -> tuple[Any, str, Any]:
        connection = _connection()
        dialect = connection.dialect
        processors = self._processors.get(dialect.name)
        if processors is None:
            processors = {name: proc for name, type_ in self.types.items()
                          if (proc := _processor(type_, dialect)) is not None}
            self._processors[dialect.name] = processors
        values, sizes = [], []
        for name in self.names:
            value = params[name]
            if name in self.expanding:
                if not value:
                    raise EmptyInList(f"IN :{name} was given an empty list ({self.module}: {self.sql[:60]}…); "
                                      "`IN ()` is not SQL: skip the statement when there is nothing to match")
                sizes.append(len(value))
                values.extend(value)
            else:
                values.append(processors[name](value) if name in processors else value)
        return connection, self._sql(dialect, tuple(sizes)), _args(dialect, values)

    def _run(self, params: dict[str, Any]) -> tuple[Dialect, list[tuple], Columns, int]:
        """Bind, execute and fetch: the dialect, the rows, the result's columns and the row count."""
        connection, sql, args = self._bind(params)
        cursor = _cursor_execute(sql, args, connection=connection)
        try:
            description = cursor.description  # psycopg builds it anew at each access
            if description is None:
                return connection.dialect, [], (), cursor.rowcount
            found = cursor.fetchall()
            columns = tuple((column[0], column[1]) for column in description)
            return connection.dialect, found, columns, cursor.rowcount
        finally:
            cursor.close()

    def execute(self, **params: Any) -> int:
        """Run with these parameters; returns the row count."""
        return self._run(params)[3]

    def rows(self, **params: Any) -> list[tuple]:
        """Run a query; its rows as tuples (values as the driver returns them)."""
        return self._run(params)[1]

    def all(self, **params: Any) -> list[Any]:
        """Run a query; its rows as named tuples, `result_*` columns converted."""
        dialect, found, columns, _count = self._run(params)
        if not found:
            return []
        row_type, converters = self._row_type(columns, dialect)
        if not converters:
            return [row_type._make(row) for row in found]
        rows = []
        for row in found:
            values = list(row)
            for index, convert in converters:
                values[index] = convert(values[index])
            rows.append(row_type._make(values))
        return rows

    def first(self, **params: Any) -> Any:
        """The first row of `all`, or None."""
        found = self.all(**params)
        return found[0] if found else None

    def scalar(self, **params: Any) -> Any:
        """The first column of the first row, or None."""
        row = self.first(**params)
        return row[0] if row is not None else None

    def instances(self, model: type[Model], **params: Any) -> list[Model]:
        """Run a query selecting all of `model`'s columns; its rows as persistent instances of the model in the
        session, built without the ORM's query machinery (a row whose instance the session already holds gives
        that instance, as an ORM query would). Like any ORM instance, one nobody references leaves the session."""
        dialect, found, columns, _count = self._run(params)
        if not found:
            return []
        build = self._builders.get((model, dialect.name, columns))
        if build is None:
            build = self._builders[(model, dialect.name, columns)] = _instance_builder(model, columns, dialect)
        session = db.session()
        return [build(session, row) for row in found]

    def _row_type(self, columns: Columns, dialect: Dialect) -> tuple[type, list[tuple[int, Callable]]]:
        key = (dialect.name, columns)
        if key not in self._row_types:
            converters = [(index, processor) for index, (name, coltype) in enumerate(columns)
                          if name in self.result_types and (processor := _result_processor(
                              self.result_types[name], dialect, coltype)) is not None]
            names = [name for name, _coltype in columns]
            self._row_types[key] = (namedtuple("Row", names, rename=True), converters)  # type: ignore[misc]
        return self._row_types[key]

    def rows_in_chunks(self, name: str, values: Sequence[Any], **params: Any) -> Iterator[tuple]:
        """`rows` with the expanding parameter `name` given IN_CHUNK values at a time."""
        for start in range(0, len(values), IN_CHUNK):
            yield from self.rows(**params, **{name: list(values[start:start + IN_CHUNK])})

    def plan(self, **params: Any) -> list[tuple]:
        """The database's query plan for these parameters (EXPLAIN, nothing runs): shows which indexes a statement
        uses, and prepares it against the schema, which is how tests check every statement on every database."""
        connection, sql, args = self._bind(params)
        cursor = _cursor_execute(_EXPLAIN.get(connection.dialect.name, "EXPLAIN ") + sql, args, connection=connection)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()


def columns_of(model: type, alias: str | None = None) -> str:
    """The SELECT list `instances` needs for `model`: every column of its table, optionally qualified."""
    table = inspect(model).local_table
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{column.name}"' for column in table.columns)  # SQL-standard quoting


def _instance_builder(model: type, columns: Columns, dialect: Dialect) -> Callable[[Session, tuple], Any]:
    """A function making a persistent `model` instance from a row with these columns: values converted by
    the columns' types, identity from the primary key, attached with SQLAlchemy's public
    make_transient_to_detached + Session.add (no SELECT, no attribute history)."""
    configure_mappers()  # what the ORM's first query would do: instrumentation is complete only after it
    mapper = inspect(model)
    table = mapper.local_table
    names = [name for name, _coltype in columns]
    if set(names) != {column.name for column in table.columns}:
        raise ValueError(f"a {model.__name__} row needs exactly the columns of {table.name}")
    keys = [mapper.get_property_by_column(table.c[name]).key for name in names]
    converters = [(index, processor) for index, (name, coltype) in enumerate(columns)
                  if (processor := _result_processor(table.c[name].type, dialect, coltype)) is not None]
    primary = [names.index(column.name) for column in mapper.primary_key]
    new_instance = mapper.class_manager.new_instance

    def build(session: Session, row: tuple) -> Any:
        values = list(row)
        for index, processor in converters:
            values[index] = processor(values[index])
        held = session.identity_map.get(mapper.identity_key_from_primary_key([values[i] for i in primary]))
        if held is not None:
            return held
        instance = new_instance()
        instance.__dict__.update(zip(keys, values))
        make_transient_to_detached(instance)
        session.add(instance)
        return instance

    return build


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
