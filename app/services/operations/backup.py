"""A consistent copy of the SQLite database while the app keeps running.

Copying the file itself can catch a write half done, and misses whatever still sits in the `-wal` file; SQLite's
online backup copies the database as one snapshot through its own locking. The copy is written under a temporary
name beside the target and renamed once complete and checked, so a file with the chosen name is always a whole
backup. It holds the signing keys and password hashes: it is created readable by its owner only.
"""
from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.extensions import db
from app.services.errors import ServiceError

PG_DUMP_HINT = ("back it up with PostgreSQL's own tools instead: "
                "pg_dump --format=custom --file=courseport.dump DATABASE (restore with pg_restore); "
                "see docs/deployment.md, Backups")


@dataclass
class BackupResult:
    path: str
    bytes: int
    tables: int

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "bytes": self.bytes, "tables": self.tables}


def _database_file() -> str:
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise ServiceError(f"db backup copies a SQLite database; this installation uses {url.get_backend_name()}: "
                           + PG_DUMP_HINT + ".")
    if not url.database or url.database == ":memory:":
        raise ServiceError("This installation's SQLite database is in memory: there is no file to back up.")
    return url.database


def _checked(path: Path) -> int:
    """Tables in the finished copy; raises when SQLite finds it damaged."""
    connection = sqlite3.connect(path)
    try:
        status = connection.execute("PRAGMA integrity_check").fetchone()[0]
        if status != "ok":
            raise ServiceError(f"The backup failed its integrity check ({status}); nothing was kept.")
        return connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    finally:
        connection.close()


def backup_database(path: str) -> BackupResult:
    """Write the whole database to the new file `path` (never overwritten)."""
    _database_file()
    target = Path(path).expanduser().resolve()
    if target.exists():
        raise ServiceError(f"{target} already exists: give a new file name (backups are never overwritten).")
    if not target.parent.is_dir():
        raise ServiceError(f"The folder {target.parent} does not exist: create it or choose another path.")
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)  # mode 0600
    os.close(fd)
    partial = Path(name)
    try:
        destination = sqlite3.connect(partial)
        try:
            source = db.engine.raw_connection()
            try:
                source.driver_connection.backup(destination)
            finally:
                source.close()
        finally:
            destination.close()
        tables = _checked(partial)
        os.replace(partial, target)
    finally:
        if partial.exists():
            partial.unlink()
    return BackupResult(str(target), target.stat().st_size, tables)
