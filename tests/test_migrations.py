"""`flask db upgrade` on an empty database must give exactly the models' schema."""
import os
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from app.extensions import db


def test_upgrade_matches_models(tmp_path, app):
    database = tmp_path / "migrated.sqlite"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "COURSEPORT_INSTANCE_PATH": str(tmp_path / "i")}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], env=env,
                            capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert result.returncode == 0, result.stderr
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), db.metadata)
        states = sorted(connection.exec_driver_sql("SELECT state FROM tool_key").scalars())
    engine.dispose()
    assert diffs == []
    assert states == ["current", "next"]  # the signing keys exist before anything needs one
