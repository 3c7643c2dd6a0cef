"""The LTI 1.3 part of a launch: its registration and deployment still usable, the published resource its
custom `id` names, its account and profile rules, and what it records (see `outcome` for the shared rest).
"""
from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass
from typing import Any

from app.extensions import db
from app.lti.errors import LtiError, launch_error
from app.lti.launch_data import LaunchData
from app.lti.tool_config import checked_in_this_request
from app.models import Deployment, PlatformRegistration, User
from app.models.config_cache import cached
from app.models.platforms import DEPLOYMENT_ACTIVE, DEPLOYMENT_PENDING, STATUS_ACTIVE
from app.models.queries.launch import (
    AVAILABLE_TO as _AVAILABLE_TO, LINKED_COURSES as _LINKED_COURSES, RESOURCE as _RESOURCE, RETURNING as _RETURNING,
    USABLE as _USABLE,
)
from app.models.tools import LTI_ADVANTAGE, TARGET_COURSE
from app.services.launch import log as launch_log
from app.services.launch import provisioning
from app.services.launch import records as launch_records
from app.services.launch.enrolment import ResourceEnrolment, role_activity
from app.services.platforms import registrations as platforms
from app.services.platforms.settings import UNKNOWN_DEPLOYMENT_HOLD


def _checked_registration(launch: LaunchData) -> Any:
    """The launch's registration as a row (id, name, issuer, client_id, frame_origins), refused if it or the
    deployment stopped being Active since validation. No statement on the launch POST itself, whose validation
    found both Active; one on a resume."""
    registration = checked_in_this_request(launch.registration_id, launch.deployment_pk) or \
        _USABLE.first(registration=launch.registration_id, deployment=launch.deployment_pk)
    if registration is None or registration.status != STATUS_ACTIVE:
        raise launch_error("launch_registration", iss=launch.issuer, client_id=launch.client_id,
                           detail="The registration was deleted or is no longer Active.")
    if registration.deployment_status != DEPLOYMENT_ACTIVE:
        raise launch_error("deployment_unknown", deployment_id=launch.deployment_id, name=registration.name,
                           registration=registration)
    return registration


def usable_registration(launch: LaunchData) -> tuple[PlatformRegistration, Deployment]:
    """The launch's registration and deployment rows (models), refused like `_checked_registration`."""
    _checked_registration(launch)
    registration = db.session.get(PlatformRegistration, launch.registration_id)
    deployment = db.session.get(Deployment, launch.deployment_pk)
    assert registration is not None and deployment is not None  # just checked
    return registration, deployment


def _requested_id(launch: LaunchData) -> str:
    """The custom `id`; without one, the only Courseport course linked in the launch's context."""
    if launch.custom_id:
        return launch.custom_id
    if launch.context is None:
        raise launch_error("missing_custom_id")
    linked = _LINKED_COURSES.rows(deployment=launch.deployment_pk, context=launch.context["id"],
                                  course=TARGET_COURSE, version=LTI_ADVANTAGE)
    if len(linked) != 1:
        raise launch_error("course_not_linked" if not linked else "course_link_ambiguous",
                           context_id=launch.context["id"], deployment_id=launch.deployment_id)
    return linked[0][0]


def resolve_resource(launch: LaunchData, registration: Any) -> Any:
    """The custom `id` (or the context's one linked course) must name an enabled LTI Advantage resource, with its
    activity, available to this registration. The log says which condition failed; the user sees one message.

    Returns a row with the published_resource columns a launch reads (the same names as the model's)."""
    custom_id = _requested_id(launch)
    try:
        key = str(uuid_module.UUID(custom_id))
    except ValueError:
        key = None
    resource = cached("resource", (key,), lambda: _RESOURCE.first(uuid=key, version=LTI_ADVANTAGE)) if key else None
    if resource is None:
        raise launch_error("resource_missing", id=custom_id)
    values = {"id": custom_id, "name": registration.name, "resource_id": resource.id}
    if not resource.enabled:
        raise launch_error("resource_disabled", **values)
    if resource.activity_deleted:
        raise launch_error("resource_activity_deleted", **values)
    if resource.available_to != "all" and \
            _AVAILABLE_TO.first(resource=resource.id, registration=registration.id) is None:
        raise launch_error("resource_restricted", **values)
    return resource


@dataclass
class Lti13Arrival:
    """An LTI 1.3 launch at its checked resource (see `outcome.Arrival`)."""

    launch: LaunchData
    registration: Any  # the row `_checked_registration` read
    resource: Any
    instructor: bool
    known: tuple[int | None, Any] | None = None  # the bound account's id (None: not bound) and the earlier records

    def returning_account(self) -> tuple[User, ResourceEnrolment | None] | None:
        """One statement: the bound account, its enrolment, and the records earlier launches left (the context and
        link ones whoever launched)."""
        launch = self.launch
        [(user, known)] = _RETURNING.joined(
            (User,), scope=provisioning.scope_of(launch), subject=launch.subject, resource=self.resource.id,
            deployment=launch.deployment_pk, context=launch.context["id"] if launch.context else None,
            link=launch.resource_link_id, activity=role_activity(self.resource))
        self.known = (user.id if user else None, known)
        if user is None:
            return None
        enrolled = ResourceEnrolment(known.enrolment_id, known.time_end, known.role_id, known.role, known.activity_id)
        return user, enrolled if known.enrolment_id is not None else None

    def existing_account(self) -> User | None:
        return migrated_account(self.launch)

    def create_account(self, *, allowed: bool) -> User:
        return provisioning.create_for_launch(self.launch, self.registration, self.resource, allowed=allowed)

    def refresh(self, user: User) -> None:
        provisioning.refresh_profile(user, self.launch, self.registration)

    def record(self, user: User) -> None:
        launch_records.record_launch(self.launch, self.registration, self.resource.id, user.id, *self._known_for(user))

    def _known_for(self, user: User) -> tuple[Any, bool]:
        """The earlier records, and whether their user-specific part is this user's (an account created or found
        by this launch had none)."""
        if self.known is None:
            return None, False
        return self.known[1], self.known[0] == user.id


def arrive(launch: LaunchData) -> Lti13Arrival:
    """The registration, deployment and resource, refused if no longer usable; nothing is written."""
    registration = _checked_registration(launch)
    resource = resolve_resource(launch, registration)
    return Lti13Arrival(launch, registration, resource, provisioning.is_instructor(launch.roles))


def check_usable(launch: LaunchData) -> Any:
    """Refuse a waiting launch whose registration, deployment or (for a resource launch) resource is no longer
    usable; returns the resource."""
    registration = _checked_registration(launch)
    return None if launch.is_deep_link else resolve_resource(launch, registration)


def migrated_account(launch: LaunchData) -> User | None:
    """An unbound LTI 1.3 identity in mode 1, on a platform that proved its LTI 1.1 consumer key (a
    valid lti1p1 claim), joins the account its LTI 1.1 identity (claim user_id ?? sub) already has within the
    key and secret that signed the claim, instead of getting a new one. None when there is no such account."""
    if not launch.lti1p1 or not launch.lti1p1.get("scope"):
        return None
    legacy_subject = launch.lti1p1.get("user_id") or launch.subject
    user = provisioning.bound_user(launch.lti1p1["scope"], legacy_subject)
    if user is None:
        return None
    provisioning.ensure_can_launch(user)
    return provisioning.bind_found_account(user, launch)


def record_refusal(kind: str, error: LtiError, attempt: launch_log.Attempt, settings: dict[str, Any],
                   launch: LaunchData | None = None, *,
                   validating: bool = False) -> tuple[LtiError, launch_log.LoggedAttempt]:
    """Log a refused launch-time request (resource launch or deep linking; `launch` once it validated). While
    validating, an unknown deployment is held for approval (or only logged) per the site's policy; the user is then
    told it waits for approval. Returns the error to show and its log row (the page's "Reference")."""
    outcome = launch_log.FAILED
    details = error.details
    if validating and error.check_code == "deployment_unknown" and \
            settings["unknown_deployments"] == UNKNOWN_DEPLOYMENT_HOLD:
        held = platforms.note_unknown_deployment(details["registration"], details["deployment_id"],
                                                 details.get("context_title"))
        if held.status == DEPLOYMENT_PENDING:
            pending = launch_error("deployment_pending", deployment_id=details["deployment_id"],
                                   name=details["name"])
            pending.details = {**details, **pending.details}
            error, outcome = pending, launch_log.PENDING
    row = launch_log.record_failure(kind, error, attempt, launch, outcome=outcome)
    return error, row
