"""The LTI 1.1 part of a verified launch.

The same account provisioning (modes, Welcome page), limits, enrolment, roles and embedding as an LTI 1.3 launch
(`app.services.launch.outcome` lands both); what differs is the identity (`urn:lti11:{key}`, `user_id`), the
account's username and name fallbacks, and what is recorded (the LTI user's outcome and memberships services
instead of a resource link, which would need a deployment).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.lti.legacy import launch as lti11
from app.lti.launch_data import LaunchData
from app.models import LtiUser, PublishedResource, User
from app.models.base import utcnow
from app.services.launch import enrolment, provisioning
from app.services.launch.enrolment import ResourceEnrolment
from app.services.accounts.users import is_valid_email


def lti11_username(consumer_key: str, user_id: str) -> str:
    """`lti11_` + SHA-1 of (consumer key + ':' + user_id)."""
    return "lti11_" + hashlib.sha1(f"{consumer_key}:{user_id}".encode()).hexdigest()


def _legacy(launch: LaunchData) -> dict[str, Any]:
    assert launch.legacy is not None, "a legacy launch"
    return launch.legacy


def member_profile(subject: str, given_name: str | None, family_name: str | None, email: str | None,
                   consumer: str, username: str) -> provisioning.Profile:
    """The profile rule for LTI 1.1 accounts: names from lis_person_name_given / _family (fallbacks: user_id / the
    consumer's name or key); a valid email, else {username}@example.com. Launches and rosters share it."""
    email = email if email and is_valid_email(email) else f"{username}@example.com"
    return provisioning.Profile(first_name=(given_name or subject)[:provisioning.NAME_LIMIT],
                                last_name=(family_name or consumer)[:provisioning.NAME_LIMIT], email=email[:254])


def legacy_profile(launch: LaunchData, username: str) -> provisioning.Profile:
    legacy = _legacy(launch)
    return member_profile(launch.subject, launch.given_name, launch.family_name, launch.email,
                          legacy.get("consumer_name") or legacy["consumer_key"], username)


def check_resource(launch: LaunchData) -> PublishedResource:
    """The launch's resource, refused if it stopped being a usable legacy resource."""
    return lti11.usable_legacy_resource(launch.resource_id or 0)


@dataclass
class Lti11Arrival:
    """An LTI 1.1 launch at its checked resource (see `outcome.Arrival`)."""

    launch: LaunchData
    resource: PublishedResource
    instructor: bool

    def returning_account(self) -> tuple[User, ResourceEnrolment | None] | None:
        user = provisioning.launch_user(self.launch)
        return (user, enrolment.current(self.resource, user.id)) if user is not None else None

    def existing_account(self) -> User | None:
        return None  # an LTI 1.1 identity has no earlier identity to migrate from

    def create_account(self, *, allowed: bool) -> User:
        username = lti11_username(_legacy(self.launch)["consumer_key"], self.launch.subject)
        return provisioning.create_account(scope=provisioning.scope_of(self.launch), issuer=self.launch.issuer,
                                           subject=self.launch.subject,
                                           username=username, profile=legacy_profile(self.launch, username),
                                           resource=self.resource, registration_id=None, allowed=allowed)

    def refresh(self, user: User) -> None:
        provisioning.update_profile(user, legacy_profile(self.launch, user.username))

    def record(self, user: User) -> None:
        record_lti_user(self.launch, self.resource, user)


def arrive(launch: LaunchData) -> Lti11Arrival:
    """The launch's resource, refused if no longer a usable legacy resource; nothing is written."""
    return Lti11Arrival(launch, check_resource(launch), provisioning.is_instructor_lti11(",".join(launch.roles)))


def record_lti_user(launch: LaunchData, resource: PublishedResource, user: User) -> LtiUser:
    """The services the LMS offered for this user. A launch that omits one (an instructor's
    launch often has no outcome service) keeps what an earlier launch gave."""
    legacy = _legacy(launch)
    lti_user = db.session.execute(select(LtiUser).where(
        LtiUser.published_resource_id == resource.id, LtiUser.user_id == user.id)).scalar_one_or_none()
    if lti_user is None:
        lti_user = LtiUser(published_resource_id=resource.id, user_id=user.id, subject=launch.subject)
        db.session.add(lti_user)
    lti_user.subject, lti_user.consumer_key = launch.subject, legacy["consumer_key"]
    lti_user.last_access_at = utcnow()
    for column, value in (("outcome_url", legacy.get("outcome_url")),
                          ("result_sourcedid", legacy.get("result_sourcedid")),
                          ("memberships_url", legacy.get("memberships_url")),
                          ("memberships_id", legacy.get("memberships_id")),
                          ("context_id", launch.context["id"] if launch.context else None)):
        if value and getattr(lti_user, column) != value:
            setattr(lti_user, column, value)
    db.session.flush()
    return lti_user
