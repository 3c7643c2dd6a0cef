"""A verified LTI 1.1 launch from the resource to the landing page.

The same account provisioning (modes, Welcome page), limits, enrolment, roles and embedding as an LTI 1.3 launch:
`lti_launch` hands legacy launches here, and this module reuses its Landing/Prompt and the provisioning and
enrolment services. What differs is the identity (`urn:lti11:{key}`, `user_id`), the account's username and
name fallbacks, and what is recorded (the LTI user's outcome and memberships services instead of a resource
link, which would need a deployment).
"""
from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.lti.legacy import launch as lti11
from app.lti.errors import launch_error
from app.lti.launch_data import LaunchData
from app.models import LtiUser, PublishedResource, User
from app.models.base import utcnow
from app.models.tools import PROVISION_AUTO, TARGET_ACTIVITY
from app.services.launch import enrolment as lti_enrolment
from app.services.launch import flow as lti_launch
from app.services.launch import provisioning
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


def _is_instructor(launch: LaunchData) -> bool:
    return provisioning.is_instructor_lti11(",".join(launch.roles))


def _create(launch: LaunchData, resource: PublishedResource, allowed: bool) -> User:
    username = lti11_username(_legacy(launch)["consumer_key"], launch.subject)
    return provisioning.create_account(scope=provisioning.scope_of(launch), issuer=launch.issuer,
                                       subject=launch.subject, username=username,
                                       profile=legacy_profile(launch, username), resource=resource,
                                       registration_id=None, allowed=allowed)


def begin(launch: LaunchData, settings: dict[str, Any]) -> lti_launch.Landing | lti_launch.Prompt:
    """Limits first, then the bound account, a new one (mode 1) or the Welcome page."""
    resource = check_resource(launch)
    instructor = _is_instructor(launch)
    user = provisioning.launch_user(launch)
    if user is not None:
        provisioning.ensure_can_launch(user)
    lti_enrolment.check_limits(resource, user.id if user else None)
    if user is None:
        mode = provisioning.mode_for(resource, instructor)
        if mode != PROVISION_AUTO:
            launch.prompt_mode = mode
            return lti_launch.Prompt(resource, mode)
        user = _create(launch, resource, bool(settings["allow_account_creation"]))
    else:
        provisioning.update_profile(user, legacy_profile(launch, user.username))
    lti_enrolment.enrol(user, resource, resource.role_instructor if instructor else resource.role_learner)
    record_lti_user(launch, resource, user)
    activity = resource.target == TARGET_ACTIVITY
    path = f"/activity/{resource.activity_id}" if activity else f"/course/{resource.course_id}"
    return lti_launch.Landing(user, resource, launch.force_embed or (activity and not instructor), path)


def create_account(launch: LaunchData, settings: dict[str, Any]) -> User:
    """The Welcome page's "Create an account for me" for a legacy launch (mode 2, site allows creation)."""
    if not provisioning.creation_offered(launch, settings):
        raise launch_error("account_creation_prohibited", subject=launch.subject)
    return _create(launch, check_resource(launch), True)


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


def migrated_account(launch: LaunchData) -> User | None:
    """An unbound LTI 1.3 identity in mode 1, on a platform that proved its LTI 1.1 consumer key (a
    valid lti1p1 claim), joins the account its LTI 1.1 identity (claim user_id ?? sub) already has within the
    key and secret that signed the claim, instead of getting a new one. None when there is no such account."""
    if launch.is_legacy or not launch.lti1p1 or not launch.lti1p1.get("scope"):
        return None
    legacy_subject = launch.lti1p1.get("user_id") or launch.subject
    user = provisioning.bound_user(launch.lti1p1["scope"], legacy_subject)
    if user is None:
        return None
    provisioning.ensure_can_launch(user)
    return provisioning.bind_found_account(user, launch)
