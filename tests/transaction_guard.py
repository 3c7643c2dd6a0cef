"""A test-suite guard: no request leaves for a platform while the sending thread's session holds a write.

A transaction that has written, held across an outbound call, keeps SQLite's write lock for as long as the
platform takes; the platform may call back (our JWKS) and wait on that lock. The guard wraps every send in
app/lti/outbound.py (and the read of a request sent ahead) and fails the test when the sending thread's session
has unflushed changes or its database transaction has written: SQLite's driver opens a transaction only for a
write (reads run on their own and hold no lock), and PostgreSQL gives a transaction an id with its first write.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from flask import has_app_context

from app.extensions import db
from app.lti import outbound


class TransactionAcrossHttp(AssertionError):
    pass


def _holds_transaction(session: Any) -> bool:
    if session.new or session.dirty or session.deleted:
        return True
    if not session.in_transaction():
        return False
    connection = session.connection()
    if connection.dialect.name == "postgresql":  # a transaction gets an id with its first write
        return connection.exec_driver_sql("SELECT txid_current_if_assigned()").scalar() is not None
    return bool(getattr(connection.connection.dbapi_connection, "in_transaction", True))


def check_no_transaction(url: str) -> None:
    if has_app_context() and db.session.registry.has() and _holds_transaction(db.session()):
        raise TransactionAcrossHttp(f"a request to {url} was sent while the database session held a transaction "
                                    f"with writes: commit before calling a platform, write its answer after")


def _guarded(send: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(send)
    def wrapper(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        check_no_transaction(url)
        return send(method, url, *args, **kwargs)

    return wrapper


def _guarded_response(response: Callable[[outbound.Pending], Any]) -> Callable[[outbound.Pending], Any]:
    @functools.wraps(response)
    def wrapper(pending: outbound.Pending) -> Any:
        check_no_transaction(pending.url)
        return response(pending)

    return wrapper


def install(monkeypatch: Any) -> None:
    """Wrap outbound's two entry points (get/post go through `request`) and the read of a begun request."""
    monkeypatch.setattr(outbound, "request", _guarded(outbound.request))
    monkeypatch.setattr(outbound, "begin", _guarded(outbound.begin))
    monkeypatch.setattr(outbound.Pending, "response", _guarded_response(outbound.Pending.response))
