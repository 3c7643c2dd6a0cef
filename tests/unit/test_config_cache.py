"""Configuration kept per process: what a transaction has written is not everyone's until it commits."""
from __future__ import annotations

import sqlite3

from app.extensions import db
from app.services.platforms.settings import lti_settings, save_lti_settings
from tests.postgres import SQLITE_ONLY


@SQLITE_ONLY
def test_a_setting_written_then_rolled_back_never_reaches_the_processs_copy(app):
    with app.test_request_context():
        assert lti_settings()["clock_leeway"] == 60
        db.session.commit()
        save_lti_settings({"clock_leeway": 5})
        assert lti_settings()["clock_leeway"] == 5  # the transaction reads its own change
        db.session.rollback()
        other_server = sqlite3.connect(db.engine.url.database)  # then another server changes another setting
        with other_server:
            other_server.execute("INSERT INTO site_setting (key, value, created_at, updated_at) "
                                 "VALUES ('userdefaults.city', ?, '2026-01-01', '2026-01-01')", ('"Oslo"',))
        other_server.close()
        assert lti_settings()["clock_leeway"] == 60
        db.session.commit()


@SQLITE_ONLY
def test_a_setting_saved_and_committed_is_read_by_the_next_transaction(app):
    with app.test_request_context():
        assert lti_settings()["allow_account_creation"] is True
        db.session.commit()
        save_lti_settings({"allow_account_creation": False})
        db.session.commit()
        assert lti_settings()["allow_account_creation"] is False
