"""Configuration rows kept in each process (site settings, the registration and deployment a launch names, the
published resource it opens) while the database's configuration version (app/models/config_version.py) is the one
they were read under. The version is read once per transaction, by the first lookup that needs it; a change made
anywhere, by any application server, raises it and so empties every process's copy at its next request.

Values kept are plain rows (named tuples) or copied on the way out, never ORM instances. Writes this transaction
makes through the ORM also drop the transaction's version, so it reads its own changes.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from app.extensions import db
from app.models.queries.settings import CONFIG_VERSION as _CONFIG_VERSION

T = TypeVar("T")
MAX_ENTRIES = 2000  # lookups of names that do not exist are kept too; past this many the copy starts again
_VERSION = "config_cache.version"
_copies: "weakref.WeakKeyDictionary[Any, tuple[int, dict[tuple, Any]]]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _version() -> int:
    session = db.session()
    version = session.info.get(_VERSION)
    if version is None:
        version = _CONFIG_VERSION.scalar()
        session.info[_VERSION] = version
    return version


def cached(kind: str, key: tuple, load: Callable[[], T]) -> T:
    """`load()`'s result for (kind, key), from this process's copy when the configuration has not changed since."""
    version, engine = _version(), db.engine
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


def _forget_version(session: Session, *_: Any) -> None:
    session.info.pop(_VERSION, None)


event.listen(Session, "after_flush", _forget_version)


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        _forget_version(session)


@event.listens_for(Session, "do_orm_execute")
def _forget_on_write(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _forget_version(state.session)
