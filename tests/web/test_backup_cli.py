"""`flask --app wsgi db backup PATH`: SQLite's online backup, restored by putting the file in place and read back."""
from __future__ import annotations

import json
import shutil
import sqlite3
import stat

from app import create_app
from app.extensions import db
from app.models import Course, User
from tests import factories
from tests.conftest import make_app
from tests.helpers import login


def _backup(app, path) -> tuple[int, dict]:
    result = app.test_cli_runner().invoke(args=["db", "backup", str(path), "--json"])
    return result.exit_code, json.loads(result.output)


def _has_ada(path) -> bool:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT count(*) FROM user WHERE username = 'ada'").fetchone() == (1,)
    except sqlite3.OperationalError:  # not even the table: the schema is still in the log too
        return False
    finally:
        connection.close()


def test_a_backup_holds_every_committed_row_and_restores_into_a_working_installation(app, tmp_path):
    factories.make_user("ada", first_name="Ada")
    factories.make_course("BIO101", "Biology")
    db.session.commit()
    database = tmp_path / "test.sqlite"
    # The latest commits are still in the write-ahead log, which a copy of the database file alone misses.
    shutil.copy(database, tmp_path / "file-copy.sqlite")
    assert not _has_ada(tmp_path / "file-copy.sqlite")

    code, body = _backup(app, tmp_path / "backups" / "courseport.sqlite")
    assert code == 1 and body["error"] == f"The folder {tmp_path / 'backups'} does not exist: create it or choose " \
                                          "another path."
    code, body = _backup(app, tmp_path / "courseport-backup.sqlite")
    assert code == 0, body
    backup = tmp_path / "courseport-backup.sqlite"
    assert body == {"path": str(backup), "bytes": backup.stat().st_size, "tables": len(db.metadata.tables)}
    assert _has_ada(backup)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # it holds password hashes and signing keys
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".partial")] == []

    code, body = _backup(app, backup)
    assert code == 1 and body["error"] == f"{backup} already exists: give a new file name (backups are never " \
                                          "overwritten)."

    # Restore: the backup file becomes another installation's database.
    restored_folder = tmp_path / "restored"
    restored_folder.mkdir()
    shutil.copy(backup, restored_folder / "test.sqlite")
    restored = make_app(restored_folder)
    with restored.app_context():
        assert db.session.execute(db.select(User.first_name).where(User.username == "ada")).scalar() == "Ada"
        assert db.session.execute(db.select(Course.full_name)).scalars().all() == ["Biology"]
        login(restored.test_client(), "ada")
        db.session.remove()
        db.engine.dispose()


def test_a_postgresql_installation_is_pointed_to_pg_dump(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEPORT_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 40,
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://courseport@127.0.0.1:1/courseport"})
    with app.app_context():
        code, body = _backup(app, tmp_path / "backup.sqlite")
    assert code == 1
    assert body["error"] == (
        "db backup copies a SQLite database; this installation uses postgresql: back it up with PostgreSQL's own "
        "tools instead: pg_dump --format=custom --file=courseport.dump DATABASE (restore with pg_restore); see "
        "docs/deployment.md, Backups.")
    assert not (tmp_path / "backup.sqlite").exists()
