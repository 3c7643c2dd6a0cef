"""The database transaction of the current thread's session: its connection, whether it has written, and ending
it before a platform is called.

A transaction held open across an outbound request keeps its connection for as long as the platform takes: on
PostgreSQL it sits "idle in transaction" (holding back vacuum and a connection slot) from its first read, and
once it has written it holds locks the platform's callback (our JWKS, a launch) may wait on. So every platform
call first ends the reads of the request or job that makes it (`end_reads`); a transaction that has written is a
bug in the caller, refused rather than committed half-way.
"""
from __future__ import annotations

from typing import Any

from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.extensions import db

_CONNECTION = "transactions.connection"


class WritesPending(RuntimeError):
    """A platform was about to be called while the session held changes not yet committed."""


@event.listens_for(Session, "after_begin")
def _remember_connection(session: Session, transaction: Any, connection: Connection) -> None:
    session.info[_CONNECTION] = connection


@event.listens_for(Session, "after_transaction_end")
def _forget_connection(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_CONNECTION, None)


def connection_of(session: Session) -> Connection | None:
    """The connection of the session's open transaction; None when the session holds none."""
    return session.info.get(_CONNECTION)


def has_written(session: Session) -> bool:
    """Does the session hold changes: unflushed objects, or a transaction that wrote? SQLite's driver opens a
    database transaction only for a write; PostgreSQL gives a transaction an id with its first write."""
    if session.new or session.dirty or session.deleted:
        return True
    connection = connection_of(session)
    if connection is None:
        return False
    if connection.dialect.name == "postgresql":
        return connection.exec_driver_sql("SELECT txid_current_if_assigned()").scalar() is not None
    return bool(getattr(connection.connection.dbapi_connection, "in_transaction", True))


def end_reads(call: str) -> None:
    """End the session's transaction before `call` (a platform request, named for the error). It may only have
    read: what it loaded stays loaded, as nothing changed (no object is expired). Raises WritesPending when it
    has written: the caller must commit its own work before calling a platform, and write the answer after."""
    if not has_app_context() or not db.session.registry.has():
        return  # a helper thread with no session: nothing to end
    session = db.session()
    if connection_of(session) is None and not (session.new or session.dirty or session.deleted):
        return
    if has_written(session):
        raise WritesPending(f"{call} would be sent while this request's database transaction holds changes: "
                            f"commit them before calling the platform")
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire
