"""Registration URLs: the single-use token a Pending registration gives a platform to register itself with."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.extensions import db
from app.lti.registration import registration_url
from app.models import PlatformRegistration, RegistrationToken
from app.models.base import utcnow
from app.models.platforms import STATUS_ACTIVE
from app.services.errors import ServiceError
from app.services.platforms.settings import lti_setting

MSG_ALREADY_COMPLETE = "This registration is complete. Dynamic registration is no longer available for it."


@dataclass(frozen=True)
class RegistrationUrlState:
    """What the Tool details tab shows about dynamic registration."""

    state: str  # "available", "expired" or "complete"
    url: str | None = None
    expires_at: datetime | None = None


def _unused_token(registration: PlatformRegistration) -> RegistrationToken | None:
    return db.session.execute(db.select(RegistrationToken).where(
        RegistrationToken.registration_id == registration.id, RegistrationToken.used_at.is_(None))).scalar()


def issue_registration_token(registration: PlatformRegistration) -> RegistrationToken:
    """A new single-use Registration URL token (256 random bits); the previous unused one stops working."""
    if registration.status == STATUS_ACTIVE:
        raise ServiceError(MSG_ALREADY_COMPLETE)
    db.session.execute(db.delete(RegistrationToken).where(
        RegistrationToken.registration_id == registration.id, RegistrationToken.used_at.is_(None)))
    days = int(lti_setting("registration_url_lifetime_days"))
    token = RegistrationToken(registration_id=registration.id, token=secrets.token_urlsafe(32),
                              expires_at=utcnow() + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    return token


def registration_url_state(registration: PlatformRegistration) -> RegistrationUrlState:
    if registration.status == STATUS_ACTIVE:
        return RegistrationUrlState("complete")
    token = _unused_token(registration)
    if token is None or token.expires_at <= utcnow():
        return RegistrationUrlState("expired")
    return RegistrationUrlState("available", registration_url(token.token), token.expires_at)
