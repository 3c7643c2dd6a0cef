"""Hand-written statements for the launch's hot path.

Profiling complete launches (bench/launch.py) showed each ORM or Core statement costing ~150–300 µs of Python
before SQLite does anything, against ~50 µs for a prepared `text()` statement on the same connection; a launch
runs about twenty. So the login, launch and their records use module-level `text()` statements with typed
parameters (UTC datetimes and JSON go through the same column types as the models), in the caller's
transaction. The SQL is the common subset of SQLite and PostgreSQL (UPSERT, RETURNING).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, CursorResult, TextClause, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models.base import UTCDateTime


def statement(sql: str, *, times: tuple[str, ...] = (), json: tuple[str, ...] = (),
              result_times: tuple[str, ...] = (), result_json: tuple[str, ...] = ()) -> Any:
    """A prepared statement; `times`/`json` name parameters, `result_*` name result columns needing those types."""
    clause: Any = text(sql).bindparams(*[bindparam(name, type_=UTCDateTime()) for name in times],
                                       *[bindparam(name, type_=JSON()) for name in json])
    if result_times or result_json:
        clause = clause.columns(**{name: UTCDateTime() for name in result_times},
                                **{name: JSON() for name in result_json})
    return clause


def execute(clause: TextClause, **params: Any) -> CursorResult:
    return db.session.connection().execute(clause, params)


def upsert(table: Any, values: dict[str, Any], key_columns: list[str], update: list[str]) -> Any:
    """INSERT … ON CONFLICT DO UPDATE as a Core statement (the dialect picks the class; the syntax is shared)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table).values(**values)
    return insert.on_conflict_do_update(index_elements=key_columns,
                                        set_={name: insert.excluded[name] for name in update})
