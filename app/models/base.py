"""Shared column types and mixins for every model, and the INSERT … ON CONFLICT of the database in use."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime, Index, String, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def conflict_insert(table: Any) -> Any:
    """An INSERT that takes ON CONFLICT clauses, for the database in use (SQLite, or PostgreSQL): the database
    settles races on a unique index instead of a prior SELECT."""
    return (postgresql if db.engine.dialect.name == "postgresql" else sqlite).insert(table)


def partial_unique_index(name: str, *columns: str, where: str) -> Index:
    """A unique index over the rows matching `where` only, on SQLite and on PostgreSQL alike (each dialect reads
    only its own keyword: one missing becomes a unique index over every row there)."""
    return Index(name, *columns, unique=True, sqlite_where=text(where), postgresql_where=text(where))


class UTCDateTime(TypeDecorator):
    """Stores naive UTC (SQLite has no time zones) and always hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None else None


class TimestampMixin:
    # Callables, not values: a value would be evaluated once at import and shared by every row.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ProfileMixin:
    """The profile columns of an account, and of a published resource's user default values (what it gives the
    accounts it creates): declared once, so the two cannot drift apart."""

    email_visibility: Mapped[int] = mapped_column(default=2)
    city: Mapped[str] = mapped_column(String(120), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    timezone: Mapped[str] = mapped_column(String(100), default="")
    lang: Mapped[str] = mapped_column(String(30), default="en")
    institution: Mapped[str] = mapped_column(String(40), default="")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """Foreign keys are off in SQLite unless asked; WAL + busy timeout let web and job workers share the file."""
    if type(dbapi_connection).__module__.split(".")[0] not in {"sqlite3", "pysqlite2"}:
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
