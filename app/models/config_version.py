"""The configuration version: one row whose number the database itself raises, by triggers, on every change to the
rows a launch reads as configuration (site settings, platform registrations, deployments, published resources).

Each process may keep those rows in memory (app/models/config_cache.py) for as long as the number it read with them
is still the database's: one small read per request tells every application server, however many there are, that
an admin changed something elsewhere. The triggers catch every writer alike: ORM, raw statements, the CLI,
migrations, and rows deleted by a foreign key's cascade.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, event, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

WATCHED_TABLES = ("site_setting", "platform_registration", "deployment", "published_resource")
_SQLITE_EVENTS = ("INSERT", "UPDATE", "DELETE")
_BUMP = "UPDATE config_version SET version = version + 1"


class ConfigVersion(db.Model):
    __tablename__ = "config_version"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


def trigger_statements(dialect: str) -> list[str]:
    """The row and the triggers, for a database whose tables exist."""
    statements = ["INSERT INTO config_version (id, version) VALUES (1, 0)"]
    if dialect == "postgresql":
        statements.append("CREATE FUNCTION config_version_bump() RETURNS trigger LANGUAGE plpgsql AS "
                          f"$$ BEGIN {_BUMP}; RETURN NULL; END $$")
        statements += [f"CREATE TRIGGER config_version_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION config_version_bump()" for table in WATCHED_TABLES]
    else:
        statements += [f"CREATE TRIGGER config_version_{table}_{verb.lower()} AFTER {verb} ON {table} "
                       f"BEGIN {_BUMP}; END" for table in WATCHED_TABLES for verb in _SQLITE_EVENTS]
    return statements


def drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [*(f"DROP TRIGGER config_version_{table} ON {table}" for table in WATCHED_TABLES),
                "DROP FUNCTION config_version_bump()"]
    return [f"DROP TRIGGER config_version_{table}_{verb.lower()}" for table in WATCHED_TABLES
            for verb in _SQLITE_EVENTS]


def install(connection: Any) -> None:
    """Insert the row and create the triggers (a migration, or `create_all` once every table exists)."""
    for statement in trigger_statements(connection.dialect.name):
        connection.execute(text(statement))


@event.listens_for(db.metadata, "after_create")
def _after_create_all(_metadata: Any, connection: Any, tables: Any = (), **_: Any) -> None:
    """`create_all` made the table just now (it creates only what is missing): its row and triggers follow."""
    if any(table.name == ConfigVersion.__tablename__ for table in tables):
        install(connection)
