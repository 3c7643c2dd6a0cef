"""Where a validated resource launch ends: the landing page, or the Welcome page's account prompt.

LTI 1.3 and LTI 1.1 launches share everything from the resource onwards (limits, the bound account or a new one,
the provisioning modes, enrolment, roles, embedding); each version contributes an `Arrival` with what differs:
how its resource is checked, who counts as an instructor, its account and profile rules, and what it records.

`begin` runs for the launch POST and again for every resume (after the Welcome page, a login or a new-window
handoff), so a resource, registration or deployment that stopped being usable in between is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from app.lti.errors import LtiError, launch_error
from app.lti.launch_data import LaunchData
from app.models import User
from app.models.tools import PROVISION_AUTO, TARGET_ACTIVITY
from app.services.launch import enrolment, provisioning
from app.services.launch.enrolment import ResourceEnrolment
from app.services.launch import flow as lti13
from app.services.legacy import launch as lti11


@dataclass(frozen=True)
class Landing:
    """Signed in and enrolled: where to go, and whether this session's pages use the embedded layout."""

    user: User
    resource: Any  # a PublishedResource, or the row a launch reads
    embed: bool
    path: str

    @property
    def embed_scope(self) -> dict[str, int] | None:
        """The published course or activity whose pages use the embedded layout; None without embedding."""
        if not self.embed:
            return None
        if self.resource.target == TARGET_ACTIVITY:
            return {"activity": self.resource.activity_id}
        return {"course": self.resource.course_id}


@dataclass(frozen=True)
class Prompt:
    """The identity has no account yet and the resource's mode asks the user (Welcome page)."""

    resource: Any
    mode: int


class Arrival(Protocol):
    """One LTI version's part of a launch whose resource has been checked."""

    resource: Any
    instructor: bool

    def returning_account(self) -> tuple[User, ResourceEnrolment | None] | None:
        """The account the launch's identity is bound to, with its enrolment through the resource (None when not
        enrolled); None for an identity that is not bound."""

    def existing_account(self) -> User | None:
        """An account the unbound identity already has under another identity, if the version knows one."""

    def create_account(self, *, allowed: bool) -> User:
        """A new account for the unbound identity (refused unless `allowed`, but an identity bound meanwhile
        keeps its account)."""

    def refresh(self, user: User) -> None:
        """The bound account follows the launch's profile fields."""

    def record(self, user: User) -> None:
        """What the launch leaves behind for grade and roster services."""


def _arrive(launch: LaunchData) -> Arrival:
    return lti11.arrive(launch) if launch.is_legacy else lti13.arrive(launch)


def land(launch: LaunchData, arrival: Arrival, settings: dict[str, Any]) -> Landing | Prompt:
    """Limits first (nothing is written before they pass), then the bound account, a new one (mode 1) or the
    Welcome page; then enrol with the mapped role and record. A refusal's details name the resource."""
    resource = arrival.resource
    try:
        user, known = arrival.returning_account() or (None, None)
        if user is not None:
            provisioning.ensure_can_launch(user)
        current = enrolment.check_limits(resource, user.id if user else None, known)
        if user is None:
            mode = provisioning.mode_for(resource, arrival.instructor)
            if mode != PROVISION_AUTO:
                return Prompt(resource, mode)
            user = arrival.existing_account() or arrival.create_account(
                allowed=bool(settings["allow_account_creation"]))
        else:
            arrival.refresh(user)
    except LtiError as error:
        error.details.setdefault("resource_id", resource.id)
        raise
    enrolment.enrol(user, resource, resource.role_instructor if arrival.instructor else resource.role_learner,
                    current)
    arrival.record(user)
    activity = resource.target == TARGET_ACTIVITY
    path = f"/activity/{resource.activity_id}" if activity else f"/course/{resource.course_id}"
    return Landing(user, resource, launch.force_embed or (activity and not arrival.instructor), path)


def begin(launch: LaunchData, settings: dict[str, Any]) -> Landing | Prompt:
    """Check the launch's resource (and registration) again, then `land`. Raises LtiError with the user's and
    the admin's messages. `settings` are the LTI settings."""
    return land(launch, _arrive(launch), settings)


def check_usable(launch: LaunchData) -> Any:
    """Refuse a waiting launch whose registration, deployment or (for a resource launch) resource is no longer
    usable; returns the resource (None for deep linking)."""
    if launch.is_legacy:
        return lti11.check_resource(launch)
    return lti13.check_usable(launch)


def create_account(launch: LaunchData, settings: dict[str, Any]) -> User:
    """The Welcome page's "Create an account for me": refused (403) unless the launch waits in mode 2 and the
    site allows it."""
    if not provisioning.creation_offered(launch, settings):
        raise launch_error("account_creation_prohibited", subject=launch.subject)
    return _arrive(launch).create_account(allowed=True)
