"""The shared access-token cache when workers ask for the same token at once."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select

from app.extensions import db
from app.lti import service_token
from app.models import AccessToken
from app.models.base import utcnow
from tests.factories import make_registration
from tests.postgres import BOTH_DATABASES

SCOPES = ["https://purl.imsglobal.org/spec/lti-ags/scope/score"]


@BOTH_DATABASES
def test_a_token_another_worker_cached_meanwhile_is_replaced_not_a_failure(app, monkeypatch):
    """Both workers found no cached token and asked the platform; the other one stored its token first."""
    registration = make_registration()
    key = service_token.scope_key(SCOPES)

    def issued_while_another_worker_stores_its_own(registration, scopes, timeout=None):
        with db.engine.begin() as other_worker:
            now = utcnow()
            other_worker.execute(insert(AccessToken).values(
                registration_id=registration.id, scopes=key, token="theirs", expires_at=now + timedelta(hours=1),
                created_at=now, updated_at=now))
        return service_token.IssuedToken("ours", 3600, key)

    monkeypatch.setattr(service_token, "request_token", issued_while_another_worker_stores_its_own)
    assert service_token.access_token(registration, SCOPES) == "ours"
    db.session.commit()

    rows = db.session.execute(select(AccessToken.token, AccessToken.expires_at)).all()
    assert [token for token, _expires in rows] == ["ours"]
    assert rows[0].expires_at > utcnow() + timedelta(minutes=50)


@BOTH_DATABASES
def test_a_cached_token_is_reused_until_it_expires_or_a_refresh_is_asked(app, monkeypatch):
    registration = make_registration()
    issued = iter(["first", "second", "third"])
    monkeypatch.setattr(service_token, "request_token",
                        lambda registration, scopes, timeout=None: service_token.IssuedToken(next(issued), 120, ""))
    assert service_token.access_token(registration, SCOPES) == "first"
    assert service_token.access_token(registration, SCOPES) == "first"
    assert service_token.access_token(registration, SCOPES, refresh=True) == "second"
    db.session.commit()
    # expires_in 120 minus the 60 s margin: a minute from now
    assert service_token.access_token(registration, SCOPES) == "second"
    db.session.execute(db.update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()  # no write is held while the platform is asked (tests/transaction_guard.py)
    assert service_token.access_token(registration, SCOPES) == "third"
    assert db.session.execute(select(AccessToken.token)).scalars().all() == ["third"]
