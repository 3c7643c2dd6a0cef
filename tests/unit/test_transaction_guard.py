"""The suite-wide guard (tests/conftest.py) really stops a request sent while the session holds any transaction,
a read as much as a write, and says which request and which transaction."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.lti import outbound
from app.models import Course, transactions
from tests.postgres import BOTH_DATABASES
from tests.transaction_guard import TransactionAcrossHttp, check_no_transaction

PLATFORM = "http://platform.example/"


def test_a_request_with_an_open_transaction_fails_and_once_it_ended_it_goes(app, live_server):
    db.session.add(Course(short_name="c", full_name="C"))
    db.session.flush()
    with pytest.raises(TransactionAcrossHttp, match="a transaction with writes"):
        outbound.get(live_server.url + "/lti/jwks")
    with pytest.raises(TransactionAcrossHttp):
        outbound.begin("GET", live_server.url + "/lti/jwks")
    db.session.commit()
    db.session.get(Course, 1)
    with pytest.raises(TransactionAcrossHttp, match="a read-only transaction"):
        outbound.get(live_server.url + "/lti/jwks")
    transactions.end_reads("GET /lti/jwks")
    assert outbound.get(live_server.url + "/lti/jwks").status_code == 200


@BOTH_DATABASES
def test_the_guard_refuses_a_read_and_a_write_on_both_databases(app):
    check_no_transaction("GET", PLATFORM)
    db.session.get(Course, 1)
    with pytest.raises(TransactionAcrossHttp, match="read-only"):
        check_no_transaction("GET", PLATFORM)
    transactions.end_reads("GET " + PLATFORM)
    check_no_transaction("GET", PLATFORM)
    db.session.add(Course(short_name="c", full_name="C"))
    with pytest.raises(TransactionAcrossHttp, match="unflushed changes"):
        check_no_transaction("GET", PLATFORM)
    db.session.flush()
    with pytest.raises(TransactionAcrossHttp, match="with writes"):
        check_no_transaction("GET", PLATFORM)
    db.session.commit()
    check_no_transaction("GET", PLATFORM)


@BOTH_DATABASES
def test_ending_reads_refuses_to_commit_a_write_half_way(app):
    course = Course(short_name="c", full_name="C")
    db.session.add(course)
    with pytest.raises(transactions.WritesPending, match="POST https://lms.example/token"):
        transactions.end_reads("POST https://lms.example/token")
    db.session.flush()
    with pytest.raises(transactions.WritesPending):
        transactions.end_reads("POST https://lms.example/token")
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Course.id))) == 0


def test_ending_reads_keeps_what_was_loaded(app):
    db.session.add(Course(short_name="c", full_name="C"))
    db.session.commit()
    course = db.session.get(Course, 1)
    transactions.end_reads("GET " + PLATFORM)
    assert transactions.connection_of(db.session()) is None
    assert course.full_name == "C"  # no reload: the platform may be called with what the caller read
    check_no_transaction("GET", PLATFORM)


def test_the_failure_names_the_request_its_sender_and_where_the_transaction_began(app):
    from app.lti import service_token
    from tests.factories import make_registration

    registration = make_registration()
    service_token.forget_tokens(registration)
    db.session.flush()
    with pytest.raises(TransactionAcrossHttp) as failure:
        check_no_transaction("POST", "https://lms.example/token")
    message = str(failure.value)
    assert message.startswith("POST https://lms.example/token (sent from a test)")
    assert "a transaction with writes begun in app/lti/service_token.py:" in message
    assert "in forget_tokens" in message
