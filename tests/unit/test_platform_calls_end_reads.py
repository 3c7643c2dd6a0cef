"""Each place that calls a platform ends the caller's read transaction first (tests/transaction_guard.py fails the
test otherwise), keeps what the caller loaded usable, and refuses, rather than commits, a caller's unsaved write."""
from __future__ import annotations

import json

import pytest
from werkzeug.wrappers import Response

from app.extensions import db
from app.lti import connection_check, platform_keys, service_token
from app.models import AccessToken, Course, PlatformKeyset, PlatformRegistration, transactions
from tests.e2e.platform_server import PlatformServer
from tests.factories import make_registration
from tests.postgres import BOTH_DATABASES

SCOPES = ["https://purl.imsglobal.org/spec/lti-ags/scope/score"]


@pytest.fixture
def platform():
    with PlatformServer() as server:
        server.handlers["/token"] = lambda request: Response(
            json.dumps({"access_token": "issued", "expires_in": 3600}), mimetype="application/json")
        yield server


def _registration_as_a_request_reads_it(platform: PlatformServer) -> PlatformRegistration:
    """A registration loaded by the caller, whose read transaction is still open."""
    registration_id = make_registration(issuer=platform.issuer, jwks_url=f"{platform.url}/jwks",
                                        access_token_url=f"{platform.url}/token").id
    db.session.commit()
    registration = db.session.get(PlatformRegistration, registration_id)
    assert transactions.connection_of(db.session()) is not None
    return registration


@BOTH_DATABASES
def test_a_service_token_is_asked_for_after_the_cache_read_ends(app, platform):
    registration = _registration_as_a_request_reads_it(platform)
    assert service_token.access_token(registration, SCOPES) == "issued"
    assert len(platform.requests_to("/token")) == 1
    assert db.session.execute(db.select(AccessToken.token)).scalars().all() == ["issued"]
    assert registration.name == "Test platform"  # still loaded: the call expired nothing


@BOTH_DATABASES
def test_the_launch_keyset_is_fetched_after_the_launch_reads_end(app, platform):
    registration = _registration_as_a_request_reads_it(platform)
    kid = platform.lti_registration().get_jwks()[0]["kid"]
    assert platform_keys.key_for(registration, kid, "RS256") is not None
    assert len(platform.requests_to("/jwks")) == 1
    assert db.session.execute(db.select(PlatformKeyset.registration_id)).scalars().all() == [registration.id]


def test_the_connection_check_ends_the_admin_page_reads_first(app, platform):
    registration = _registration_as_a_request_reads_it(platform)
    keyset, token = connection_check.run(registration)
    assert keyset.ok and token.ok, (keyset, token)


def test_a_platform_call_after_an_unsaved_write_is_refused_and_nothing_is_committed(app, platform):
    registration = _registration_as_a_request_reads_it(platform)
    db.session.add(Course(short_name="half", full_name="Half a change"))
    with pytest.raises(transactions.WritesPending, match=f"POST {platform.url}/token"):
        service_token.access_token(registration, SCOPES)
    assert platform.requests_to("/token") == []
    db.session.rollback()
    assert db.session.execute(db.select(Course.id)).scalars().all() == []
