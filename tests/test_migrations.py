"""`flask db upgrade` on an empty database must give exactly the models' schema, on SQLite and on PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.extensions import db
from tests.helpers import db_upgrade


def _differences(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection), db.metadata)
    finally:
        engine.dispose()


def _index_predicates(url: str, dialect: str) -> dict[str, str | None]:
    """Each unique index's WHERE clause as the database reports it (None: the index covers every row)."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        return {index["name"]: index.get("dialect_options", {}).get(f"{dialect}_where")
                for table in inspector.get_table_names() for index in inspector.get_indexes(table)
                if index["unique"]}
    finally:
        engine.dispose()


def _model_predicates(dialect: str) -> dict[str, str | None]:
    return {index.name: (str(where) if (where := index.dialect_options[dialect]["where"]) is not None else None)
            for table in db.metadata.tables.values() for index in table.indexes if index.unique}


def _normalized(predicate: str | None) -> str | None:
    """PostgreSQL reports `(status)::text = 'pending'::text` for `status = 'pending'`."""
    if predicate is None:
        return None
    return predicate.replace("::text", "").replace("(", "").replace(")", "")


def _key_states(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return sorted(connection.exec_driver_sql("SELECT state FROM tool_key").scalars())
    finally:
        engine.dispose()


def test_upgrade_matches_models(tmp_path, app):
    url = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    db_upgrade(url, tmp_path / "i")
    assert _differences(url) == []
    assert _key_states(url) == ["current", "next"]  # the signing keys exist before anything needs one


def test_upgrade_matches_models_on_postgresql(tmp_path, postgres_server):
    name = postgres_server.create_database(template=None)
    try:
        url = postgres_server.url(name)
        db_upgrade(url, tmp_path / "i")
        assert _differences(url) == []
        assert _key_states(url) == ["current", "next"]
        # Alembic's comparison does not look at an index's WHERE clause.
        found = {name: _normalized(where) for name, where in _index_predicates(url, "postgresql").items()}
        expected = {name: _normalized(where) for name, where in _model_predicates("postgresql").items()}
        assert {name: found.get(name, "missing") for name in expected} == expected
    finally:
        postgres_server.drop_database(name)


def test_partial_indexes_are_partial_on_both_databases():
    """A unique index restricted on SQLite must be restricted the same way on PostgreSQL."""
    assert _model_predicates("postgresql") == _model_predicates("sqlite")
    assert "uq_sync_job_pending_dedupe" in {name for name, where in _model_predicates("sqlite").items() if where}
