"""The suite-wide guard (tests/conftest.py) really stops a request sent while a write is uncommitted."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.lti import outbound
from app.models import Course
from tests.postgres import BOTH_DATABASES
from tests.transaction_guard import TransactionAcrossHttp, check_no_transaction


def test_a_request_with_an_uncommitted_write_fails_and_after_commit_it_goes(app, live_server):
    db.session.add(Course(short_name="c", full_name="C"))
    db.session.flush()
    with pytest.raises(TransactionAcrossHttp):
        outbound.get(live_server.url + "/lti/jwks")
    with pytest.raises(TransactionAcrossHttp):
        outbound.begin("GET", live_server.url + "/lti/jwks")
    db.session.commit()
    db.session.get(Course, 1)  # a read holds no transaction
    assert outbound.get(live_server.url + "/lti/jwks").status_code == 200


@BOTH_DATABASES
def test_the_guard_tells_a_write_from_a_read_on_both_databases(app):
    db.session.get(Course, 1)
    check_no_transaction("http://platform.example/")  # reading holds nothing
    db.session.add(Course(short_name="c", full_name="C"))
    db.session.flush()
    with pytest.raises(TransactionAcrossHttp):
        check_no_transaction("http://platform.example/")
    db.session.commit()
    check_no_transaction("http://platform.example/")
