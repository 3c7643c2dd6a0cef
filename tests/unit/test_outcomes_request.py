"""Basic Outcomes requests as a consumer receives them: POX body, OAuth signature, body hash."""
from __future__ import annotations

from decimal import Decimal

import pytest

from app.lti.legacy import outcomes
from tests.e2e.legacy_consumer import outcome_record


@pytest.fixture
def consumer(consumer):
    consumer.secrets["lms-key"] = "lms-secret"
    return consumer


@pytest.mark.parametrize("grade, grade_max, text", [
    ("7.5", "10", "0.75"), ("10", "10", "1.0"), ("0", "10", "0.0"), ("1", "3", "0.3333"), ("2", "3", "0.6667"),
    ("12", "10", "1.0"),
])
def test_score_is_a_ratio_with_at_most_four_decimals(grade, grade_max, text):
    assert outcomes.score(Decimal(grade), Decimal(grade_max)) == text


def test_the_envelope_matches_the_spec_and_escapes_the_sourcedid():
    xml = outcomes.replace_result_xml('a<b>&"c"', "0.5", message_id="m-1")
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<imsx_POXEnvelopeRequest '
                          'xmlns="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0">')
    assert outcome_record(xml.encode()) == ('a<b>&"c"', "0.5", "m-1")
    assert "<language>en</language>" in xml and "<imsx_version>V1.0</imsx_version>" in xml


def test_the_consumer_receives_a_signed_request_with_a_body_hash(app, consumer):
    result = outcomes.send_replace_result(f"{consumer.url}/outcomes", "lms-key", "lms-secret", "src-7", "0.75")
    assert result.sent and not result.retry and result.code_major == "success"
    [received] = consumer.received
    assert received.signature_valid and received.body_hash_valid
    assert received.headers["Content-Type"] == "application/xml"
    assert 'oauth_signature_method="HMAC-SHA1"' in received.headers["Authorization"]
    assert consumer.scores == [("src-7", "0.75")]


def test_a_wrong_secret_is_refused_by_the_consumer(app, consumer):
    result = outcomes.send_replace_result(f"{consumer.url}/outcomes", "lms-key", "wrong", "src-7", "0.75")
    assert not result.sent and not result.retry and result.http_status == 401
    assert not consumer.received[0].signature_valid and consumer.scores == []


def test_failure_codes_fail_and_server_errors_retry(app, consumer):
    consumer.outcome_code = "failure"
    result = outcomes.send_replace_result(f"{consumer.url}/outcomes", "lms-key", "lms-secret", "src-7", "0.75")
    assert (result.sent, result.retry, result.code_major, result.description) == (
        False, False, "failure", "Unknown sourcedid")
    consumer.outcome_failures.append(503)
    result = outcomes.send_replace_result(f"{consumer.url}/outcomes", "lms-key", "lms-secret", "src-7", "0.75")
    assert (result.sent, result.retry, result.http_status) == (False, True, 503)


def test_an_unreachable_consumer_is_retried(app, consumer):
    url = f"{consumer.url}/outcomes"
    consumer.stop()
    result = outcomes.send_replace_result(url, "lms-key", "lms-secret", "src-7", "0.75")
    assert result.retry and not result.sent and result.http_status is None
