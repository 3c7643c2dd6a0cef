"""Declaring two registrations the same platform (a re-registration), so the identities one proved are reachable
through the other.

Identities belong to a registration's platform key (app/lti/identity.py). Registrations never share one by
themselves, however alike their issuers: Canvas Cloud gives every institution the same issuer. Only a site admin
joins them, and only registrations of one issuer. Services flush, never commit.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from app.extensions import db
from app.lti.identity import platform_scope
from app.models import LtiIdentity, PlatformRegistration
from app.services.errors import NotFound, ServiceError

MSG_SELF = "A registration is always the same platform as itself. Choose another registration."
MSG_UNKNOWN = "Registration {id} does not exist."
MSG_CHOOSE = "Choose the registration this one is the same platform as."
MSG_ISSUER = ("Only registrations with the same issuer can be the same platform: '{name}' has the issuer {theirs}, "
              "this registration has {ours}. Check the Issuer in the Platform details.")
MSG_ALREADY = "'{name}' is already the same platform as this registration."
MSG_CONFLICT = ("{count} LMS user(s) launched through both registrations and are linked to different accounts "
                "(for example user ID '{subject}'). Unlink one of the two identities in Users first.")


@dataclass
class Joined:
    registration: PlatformRegistration
    platform: PlatformRegistration
    moved_identities: int


def platform_peers(registration: PlatformRegistration) -> list[PlatformRegistration]:
    """The other registrations already declared the same platform as this one."""
    return list(db.session.scalars(select(PlatformRegistration).where(
        PlatformRegistration.platform_key == registration.platform_key, PlatformRegistration.id != registration.id)
        .order_by(PlatformRegistration.name, PlatformRegistration.id)))


def join_candidates(registration: PlatformRegistration) -> list[PlatformRegistration]:
    """Registrations this one may be declared the same platform as: same issuer, not joined yet."""
    if not registration.issuer:
        return []
    return list(db.session.scalars(select(PlatformRegistration).where(
        PlatformRegistration.issuer == registration.issuer, PlatformRegistration.id != registration.id,
        PlatformRegistration.platform_key != registration.platform_key)
        .order_by(PlatformRegistration.name, PlatformRegistration.id)))


def checked_target(registration: PlatformRegistration, platform_id: int | None) -> PlatformRegistration:
    """Registration `platform_id`, if `registration` may be declared the same platform as it."""
    if platform_id is None:
        raise ServiceError(MSG_CHOOSE, field="platform")
    if platform_id == registration.id:
        raise ServiceError(MSG_SELF, field="platform")
    platform = db.session.get(PlatformRegistration, platform_id)
    if platform is None:
        raise NotFound(MSG_UNKNOWN.format(id=platform_id))
    if platform.issuer != registration.issuer or not platform.issuer:
        raise ServiceError(MSG_ISSUER.format(name=platform.name, theirs=platform.issuer or "(none)",
                                             ours=registration.issuer or "(none)"), field="platform")
    if platform.platform_key == registration.platform_key:
        raise ServiceError(MSG_ALREADY.format(name=platform.name), field="platform")
    return platform


def _conflicts(old_scope: str, new_scope: str) -> list[str]:
    """Subjects bound in both scopes to different accounts."""
    ours = select(LtiIdentity.subject, LtiIdentity.user_id).where(LtiIdentity.scope == old_scope).subquery()
    return list(db.session.scalars(
        select(LtiIdentity.subject).join(ours, ours.c.subject == LtiIdentity.subject)
        .where(LtiIdentity.scope == new_scope, LtiIdentity.user_id != ours.c.user_id)
        .order_by(LtiIdentity.subject)))


def join_platform(registration: PlatformRegistration, platform_id: int | None) -> Joined:
    """Declare `registration` (and whatever was already joined to it) the same platform as registration
    `platform_id`. Its identities move to that platform; one already bound there to the same account is kept
    once. Refused, with nothing changed, when a user is linked to different accounts through the two."""
    platform = checked_target(registration, platform_id)
    old_scope, new_scope = platform_scope(registration.platform_key), platform_scope(platform.platform_key)
    conflicts = _conflicts(old_scope, new_scope)
    if conflicts:
        raise ServiceError(MSG_CONFLICT.format(count=len(conflicts), subject=conflicts[0]), field="platform")
    duplicates = select(LtiIdentity.subject).where(LtiIdentity.scope == new_scope)
    db.session.execute(LtiIdentity.__table__.delete().where(
        LtiIdentity.scope == old_scope, LtiIdentity.subject.in_(duplicates)))
    moved = db.session.scalar(select(func.count()).select_from(LtiIdentity).where(LtiIdentity.scope == old_scope))
    db.session.execute(update(LtiIdentity).where(LtiIdentity.scope == old_scope).values(scope=new_scope),
                       execution_options={"synchronize_session": False})
    db.session.execute(update(PlatformRegistration).where(
        PlatformRegistration.platform_key == registration.platform_key).values(platform_key=platform.platform_key),
        execution_options={"synchronize_session": False})
    db.session.flush()
    db.session.expire(registration)
    return Joined(registration, platform, int(moved or 0))
