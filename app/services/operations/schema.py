"""Which migration a database is at, and which one the code expects."""
from __future__ import annotations

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy.engine import Connection


def head_revision() -> str:
    """The newest migration shipped with this code."""
    script = ScriptDirectory(current_app.extensions["migrate"].directory)
    return ",".join(sorted(script.get_heads()))


def current_revision(connection: Connection) -> str | None:
    """The migration the database was last upgraded to; None for a database never migrated."""
    heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads)) if heads else None
