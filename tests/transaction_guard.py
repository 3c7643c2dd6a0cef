"""A test-suite guard: no request leaves for a platform while the sending thread's session holds a transaction.

Any transaction counts, a read as much as a write: on PostgreSQL a read leaves the connection "idle in
transaction" for as long as the platform takes, and a write holds locks the platform's callback (our JWKS) may
wait on. The guard wraps every send in app/lti/outbound.py (and the read of a request sent ahead) and fails the
test when the sending thread's session has unflushed changes or has begun a transaction on its connection, on
SQLite and PostgreSQL alike. The failure names the request, the code that sent it, and where the transaction
began.
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, Callable

from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db
from app.lti import outbound
from app.models import transactions

_APP = Path(outbound.__file__).resolve().parent.parent
_ROOT = str(_APP.parent) + "/"
_APP_PREFIX = str(_APP) + "/"
_PLUMBING = (str(_APP / "models") + "/", str(_APP / "lti" / "outbound.py"))
_BEGUN_AT = "transaction_guard.begun_at"


class TransactionAcrossHttp(AssertionError):
    pass


def _caller() -> str:
    """The innermost application frame outside the database and HTTP plumbing, as `path:line in function`."""
    frame = sys._getframe(1)
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(_APP_PREFIX) and not path.startswith(_PLUMBING):
            return f"{path[len(_ROOT):]}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    return "a test"


@event.listens_for(Session, "after_begin")
def _remember_where(session: Session, transaction: Any, connection: Any) -> None:
    session.info[_BEGUN_AT] = _caller()


@event.listens_for(Session, "after_transaction_end")
def _forget_where(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_BEGUN_AT, None)


def _held(session: Any) -> str | None:
    """What the session holds, in words; None when it holds nothing."""
    unflushed = session.new or session.dirty or session.deleted
    begun = session.info.get(_BEGUN_AT)
    if begun is None and not unflushed:
        return None
    if begun is None:
        return "unflushed changes"
    kind = "a transaction with writes" if transactions.has_written(session) else "a read-only transaction"
    return f"{kind} begun in {begun}"


def check_no_transaction(method: str, url: str) -> None:
    if not has_app_context() or not db.session.registry.has():
        return
    held = _held(db.session())
    if held is not None:
        raise TransactionAcrossHttp(
            f"{method} {url} (sent from {_caller()}) went out while the database session held {held}: end the "
            f"transaction (app.models.transactions.end_reads) before calling a platform, write its answer after")


def _guarded(send: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(send)
    def wrapper(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        check_no_transaction(method, url)
        return send(method, url, *args, **kwargs)

    return wrapper


def _guarded_response(response: Callable[[outbound.Pending], Any]) -> Callable[[outbound.Pending], Any]:
    @functools.wraps(response)
    def wrapper(pending: outbound.Pending) -> Any:
        check_no_transaction(f"(the answer to) {pending.method}", pending.url)
        return response(pending)

    return wrapper


def install(monkeypatch: Any) -> None:
    """Wrap outbound's two entry points (get/post go through `request`) and the read of a begun request."""
    monkeypatch.setattr(outbound, "request", _guarded(outbound.request))
    monkeypatch.setattr(outbound, "begin", _guarded(outbound.begin))
    monkeypatch.setattr(outbound.Pending, "response", _guarded_response(outbound.Pending.response))
