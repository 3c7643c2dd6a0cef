"""Accounts for launching users: who counts as an instructor, which account an LMS identity is
bound to, and creating or linking one on the first launch."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterable

from app.extensions import db
from app.lti.errors import launch_error
from app.lti.launch_data import LaunchData
from app.models import AUTH_LTI, AUTH_MANUAL, PublishedResource, User
from app.models.base import utcnow
from app.models.queries.accounts import (
    BIND as _BIND, BOUND_USER as _BOUND_USER, DROP_USER as _DROP_USER, NEW_USER as _NEW_USER,
)
from app.models.tools import PROVISION_PROMPT_NEW_EXISTING
from app.services.accounts.profile import PROFILE_FIELDS
from app.services.accounts.users import is_valid_email
from app.services.errors import ServiceError

_LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
INSTRUCTOR_ROLES = frozenset({
    _LIS + "institution/person#Administrator", _LIS + "system/person#Administrator",
    _LIS + "membership#ContentDeveloper", _LIS + "membership#Instructor",
    _LIS + "membership/Instructor#TeachingAssistant",
    "ContentDeveloper", "Instructor", "Instructor#TeachingAssistant",
})
LTI11_INSTRUCTOR_ROLES = frozenset({"instructor", "contentdeveloper", "teachingassistant", "administrator",
                                    "sysadmin"})
MSG_ADMIN_LINK = ("Site administrator accounts can't be linked to an LMS account. Log in with a teacher account "
                  "instead.")
NAME_LIMIT = 100


def is_instructor(roles: Iterable[str]) -> bool:
    """LTI 1.3 roles (full URIs or the short names platforms send); everyone else is a learner."""
    return any(role in INSTRUCTOR_ROLES for role in roles)


def is_instructor_lti11(roles: str) -> bool:
    """LTI 1.1 `roles`: comma-separated, compared case-insensitively after the last '/' or ':'."""
    names = {part.strip().replace(":", "/").rsplit("/", 1)[-1].lower() for part in (roles or "").split(",")}
    return bool(names & LTI11_INSTRUCTOR_ROLES)


def mode_for(resource: PublishedResource, instructor: bool) -> int:
    return resource.provisioning_mode_instructor if instructor else resource.provisioning_mode_learner


def bound_user(scope: str, subject: str) -> User | None:
    """The account bound to `subject` within the credential scope that proved it (app/lti/identity.py)."""
    # One statement: most launches are by users who launched before, and they need the account loaded.
    found = _BOUND_USER.instances(User, scope=scope, subject=subject)
    return found[0] if found else None


def scope_of(launch: LaunchData) -> str:
    """The launch's identity scope. A launch stored before scopes existed has none: it must be launched again."""
    if not launch.identity_scope:
        raise launch_error("bad_launch")
    return launch.identity_scope


def launch_user(launch: LaunchData) -> User | None:
    return bound_user(scope_of(launch), launch.subject)


def ensure_can_launch(user: User) -> None:
    if user.suspended:
        raise launch_error("account_suspended", username=user.username, user_id=user.id)


def lti13_username(issuer: str, subject: str) -> str:
    return "lti13_" + hashlib.sha1(f"{issuer}_{subject}".encode()).hexdigest()


@dataclass
class Profile:
    first_name: str
    last_name: str
    email: str


def launch_profile(launch: LaunchData, registration: Any, username: str) -> Profile:
    """Given_name, else name, else sub; family_name, else the platform's name; a valid email claim,
    else {username}@example.com."""
    email = launch.email if launch.email and is_valid_email(launch.email) else f"{username}@example.com"
    return Profile(first_name=(launch.given_name or launch.name or launch.subject)[:NAME_LIMIT],
                   last_name=(launch.family_name or registration.name)[:NAME_LIMIT], email=email[:254])


def refresh_profile(user: User, launch: LaunchData, registration: Any) -> None:
    if user.auth_method == AUTH_LTI:  # checked here too: linked manual accounts skip the email validation
        update_profile(user, launch_profile(launch, registration, user.username))


def update_profile(user: User, profile: Profile) -> None:
    """Accounts a launch created follow the LMS's names and email; linked manual accounts are never touched.
    (LTI 1.1 launches compute their profile with their own fallbacks.)"""
    if user.auth_method != AUTH_LTI:
        return
    for name in ("first_name", "last_name", "email"):
        if getattr(user, name) != getattr(profile, name):
            setattr(user, name, getattr(profile, name))


def _bind(user_id: int, scope: str, issuer: str, subject: str, registration_id: int | None) -> bool:
    """Bind the identity; False when another request bound it first (the caller then uses that binding)."""
    return _BIND.execute(user=user_id, scope=scope, issuer=issuer, subject=subject, registration=registration_id,
                         now=utcnow()) == 1


def bind_found_account(user: User, launch: LaunchData) -> User:
    """Bind the launch's identity to an account found for it (the LTI 1.1 account of a migrated platform);
    if a simultaneous launch bound it first, that binding wins."""
    scope = scope_of(launch)
    if _bind(user.id, scope, launch.issuer, launch.subject, launch.registration_id):
        return user
    winner = bound_user(scope, launch.subject)
    assert winner is not None  # the binding that beat ours
    return winner


def create_account(*, scope: str, issuer: str, subject: str, username: str, profile: Profile,
                   resource: PublishedResource, registration_id: int | None, allowed: bool) -> User:
    """Create an `lti` account with the resource's user defaults and bind the identity, in the caller's
    transaction. An identity that is already bound keeps its account, and two first launches of one identity at
    once create one account: whoever loses an insert race (username or identity) uses the winner's binding."""
    if not allowed:
        existing = bound_user(scope, subject)
        if existing is not None:
            return existing
        raise launch_error("account_creation_prohibited", subject=subject)
    defaults = {name: getattr(resource, name) for name in PROFILE_FIELDS}
    candidate, suffix = username, 1
    while True:
        created = _NEW_USER.instances(User, username=candidate, email=profile.email, first_name=profile.first_name,
                                      last_name=profile.last_name, no=False, lti=AUTH_LTI, now=utcnow(), **defaults)
        if created:
            break
        winner = bound_user(scope, subject)
        if winner is not None:
            return winner
        # An earlier account with this username lost its identity (an admin unlinked it): it stays as it is.
        suffix += 1
        candidate = f"{username}_{suffix}"
    user = created[0]
    if not _bind(user.id, scope, issuer, subject, registration_id):
        db.session.expunge(user)
        _DROP_USER.execute(id=user.id)
        winner = bound_user(scope, subject)
        assert winner is not None  # the binding that beat ours
        return winner
    return user


def create_for_launch(launch: LaunchData, registration: Any, resource: PublishedResource, *,
                      allowed: bool) -> User:
    username = lti13_username(launch.issuer, launch.subject)
    return create_account(scope=scope_of(launch), issuer=launch.issuer, subject=launch.subject, username=username,
                          profile=launch_profile(launch, registration, username), resource=resource,
                          registration_id=registration.id, allowed=allowed)


def creation_offered(launch: LaunchData, settings: dict[str, Any]) -> bool:
    """"Create an account for me" only in mode 2, and only while the site allows it."""
    return launch.prompt_mode == PROVISION_PROMPT_NEW_EXISTING and bool(settings["allow_account_creation"])


def link_account(user: User, launch: LaunchData, settings: dict[str, Any]) -> None:
    """Bind the launch's identity to an existing account whose password was just verified."""
    if user.auth_method != AUTH_MANUAL or user.suspended:
        raise ServiceError("Invalid login, please try again")
    if user.is_site_admin and not settings["allow_admin_linking"]:
        raise ServiceError(MSG_ADMIN_LINK)
    if not _bind(user.id, scope_of(launch), launch.issuer, launch.subject, launch.registration_id):
        current = launch_user(launch)
        if current is None or current.id != user.id:
            raise ServiceError("This LMS account has just been linked to another account. Launch the tool again "
                               "from your course.")

