"""Configuration rows kept in each process (site settings, the registration and deployment a launch names, the
published resource it opens) while the database's configuration version (app/models/config_version.py) is the one
they were read under. The version is read once per transaction, by the first lookup that needs it; a change made
anywhere, by any application server, raises it and so empties every process's copy at its next request.

Values kept are plain rows (named tuples) or copied on the way out, never ORM instances. A transaction that has
written one of these tables (through the ORM or app/models/driver_sql.py) reads them itself, neither from the copy
nor into it: its rows are not everyone's until it commits, and it may roll back.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from app.extensions import db
from app.models.config_version import WATCHED_TABLES
from app.models.driver_sql import note_written, written_tables
from app.models.queries.settings import CONFIG_VERSION as _CONFIG_VERSION

T = TypeVar("T")
MAX_ENTRIES = 2000  # lookups of names that do not exist are kept too; past this many the copy starts again
_VERSION = "config_cache.version"
_copies: "weakref.WeakKeyDictionary[Any, tuple[int, dict[tuple, Any]]]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _version() -> int | None:
    session = db.session()
    version = session.info.get(_VERSION)
    if version is None:
        version = _CONFIG_VERSION.scalar()
        session.info[_VERSION] = version
    return version


def cached(kind: str, key: tuple, load: Callable[[], T]) -> T:
    """`load()`'s result for (kind, key), from this process's copy when the configuration has not changed since."""
    if not written_tables(db.session()).isdisjoint(WATCHED_TABLES):
        return load()
    version, engine = _version(), db.engine
    if version is None:  # no version row to follow: nothing is kept
        return load()
    with _lock:
        copy = _copies.get(engine)
        if copy is None or copy[0] != version or len(copy[1]) >= MAX_ENTRIES:
            copy = _copies[engine] = (version, {})
        if (kind, key) in copy[1]:
            return copy[1][(kind, key)]
    value = load()
    with _lock:
        copy[1][(kind, key)] = value
    return value


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_VERSION, None)


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _context: Any) -> None:
    """The session still lists what it has just written."""
    for instance in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(instance), "__table__", None)
        if table is not None:
            note_written(session, table.name)


@event.listens_for(Session, "do_orm_execute")
def _note_executed(state: ORMExecuteState) -> None:
    """Bulk INSERT, UPDATE and DELETE through Session.execute write without a flush."""
    table = getattr(state.statement, "table", None)
    if (state.is_insert or state.is_update or state.is_delete) and table is not None:
        note_written(state.session, table.name)
