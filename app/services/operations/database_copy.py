"""Copy every row of this installation's database into another one: how an installation moves from its SQLite
file to PostgreSQL.

The target must be new: created, migrated to the same revision as this database (`db upgrade`), and empty but
for signing keys of its own, which the copy replaces with this installation's (the ones platforms trust), and its
configuration version row, which the copy replaces too. Tables
are copied parent before child (foreign-key order) with their ids, in one transaction on the target that is
committed only once every table's row count matches the source's, so a failed copy leaves the target as it was.
PostgreSQL's id sequences are then moved past the copied ids, or the next insert would collide.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, Table, create_engine, func, inspect, select, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from app.extensions import db
from app.services.errors import ServiceError
from app.services.operations.schema import current_revision

BATCH_ROWS = 1000
# Rows a new database may have before anything is copied: signing keys and the configuration version row created
# when it was set up.
REPLACED_TABLES = ("tool_key", "config_version")
EXAMPLE_URL = "postgresql+psycopg://courseport@127.0.0.1:5432/courseport"


@dataclass
class CopyResult:
    target: str  # the URL with any password hidden
    revision: str
    rows: dict[str, int] = field(default_factory=dict)  # table name → rows copied (and counted on both sides)

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "revision": self.revision, "rows": self.rows,
                "total_rows": sum(self.rows.values())}


def shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _target_url(target: str) -> URL:
    try:
        url = make_url(target)
    except ArgumentError:
        raise ServiceError(f"--target is not a database URL. Give one like {EXAMPLE_URL}.") from None
    if url == db.engine.url:
        raise ServiceError("--target is this installation's own database: give the URL of the new, empty one.")
    return url


def _count(connection: Connection, table: Table) -> int:
    return connection.execute(select(func.count()).select_from(table)).scalar_one()


def _check_target(source: Connection, target: Connection, url: URL) -> str:
    """The revision both databases are at; refuses a target that is not migrated to it or holds any row but its
    own signing keys."""
    revision = current_revision(source)
    if revision is None:
        raise ServiceError("This installation's database is not migrated: run `flask --app wsgi db upgrade` first.")
    target_revision = current_revision(target)
    if target_revision != revision:
        found = f"at revision {target_revision}" if target_revision else "not migrated"
        raise ServiceError(
            f"The target database {shown(url)} is {found}, this installation's database at {revision}. Migrate "
            f"it to the same revision first: DATABASE_URL={shown(url)} flask --app wsgi db upgrade")
    existing = set(inspect(target).get_table_names())
    missing = [table.name for table in db.metadata.sorted_tables if table.name not in existing]
    if missing:
        raise ServiceError(f"The target database {shown(url)} has no table {', '.join(missing)}, although it is at "
                           f"revision {revision}: create a new database and run `db upgrade` on it.")
    filled = {table.name: rows for table in db.metadata.sorted_tables
              if table.name not in REPLACED_TABLES and (rows := _count(target, table))}
    if filled:
        listed = ", ".join(f"{name} ({rows} rows)" for name, rows in filled.items())
        raise ServiceError(f"The target database {shown(url)} is not empty: {listed}. Copy only into a new, empty "
                           "database (create it, run `db upgrade` on it, then copy).")
    return revision


def _copy_table(source: Connection, target: Connection, table: Table) -> int:
    ordered = select(table).order_by(*table.primary_key.columns)
    copied = 0
    for batch in source.execution_options(yield_per=BATCH_ROWS).execute(ordered).mappings().partitions():
        target.execute(table.insert(), [dict(row) for row in batch])
        copied += len(batch)
    return copied


def _reset_sequence(target: Connection, table: Table) -> None:
    """PostgreSQL hands out ids from a sequence that knows nothing of the ids copied in explicitly."""
    key = list(table.primary_key.columns)
    if target.dialect.name != "postgresql" or len(key) != 1 or not isinstance(key[0].type, Integer):
        return
    quote = target.dialect.identifier_preparer.quote
    target.execute(text(f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                        f"COALESCE(MAX({quote(key[0].name)}), 0) + 1, false) FROM {quote(table.name)}"),
                   {"table": quote(table.name), "column": key[0].name})


def _copy_all(source: Connection, target: Connection, url: URL, result: CopyResult) -> None:
    for name in REPLACED_TABLES:
        target.execute(db.metadata.tables[name].delete())
    for table in db.metadata.sorted_tables:
        try:
            result.rows[table.name] = _copy_table(source, target, table)
        except DBAPIError as error:
            raise ServiceError(f"Copying table {table.name} failed, nothing was written to {shown(url)}: "
                               f"{str(error.orig).strip().splitlines()[0]}") from None
        _reset_sequence(target, table)
    differing = [f"{table.name} ({_count(source, table)} here, {_count(target, table)} there)"
                 for table in db.metadata.sorted_tables if _count(source, table) != _count(target, table)]
    if differing:
        raise ServiceError("Row counts differ after copying, so nothing was written: " + ", ".join(differing)
                           + ". Stop the web and worker processes while copying, then copy again.")


def copy_database(target: str) -> CopyResult:
    """Copy every table into the empty, migrated database at `target`; raises ServiceError naming what to fix."""
    url = _target_url(target)
    try:
        engine = create_engine(url, poolclass=NullPool)
    except (NoSuchModuleError, ImportError, ArgumentError) as error:
        raise ServiceError(f"Cannot use the target database URL {shown(url)}: {error}. For PostgreSQL give one "
                           f"like {EXAMPLE_URL}.") from None
    try:
        with db.engine.connect() as source:
            try:
                destination = engine.connect()
            except DBAPIError as error:
                raise ServiceError(f"Cannot connect to the target database {shown(url)}: "
                                   f"{str(error.orig).strip()}") from None
            with destination:
                result = CopyResult(shown(url), _check_target(source, destination, url))
                destination.rollback()  # the checks' reads; the copy is one transaction of its own
                with destination.begin():
                    _copy_all(source, destination, url, result)
        return result
    finally:
        engine.dispose()
