"""A validated resource launch, from the published resource to the page the user lands on.

`begin` runs for the launch POST and again for every resume (after the Welcome page, a login or a new-window
handoff): it re-checks that the registration, deployment and resource are still usable, then signs in, enrols
and records — or says that the user must first link or create an account.
"""
from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass
from typing import Any

from app.extensions import db
from app.lti.errors import LtiError, launch_error
from app.lti.launch_data import LaunchData
from app.models import Deployment, PlatformRegistration, User
from app.models.driver_sql import DriverStatement
from app.models.platforms import DEPLOYMENT_ACTIVE, DEPLOYMENT_PENDING, STATUS_ACTIVE
from app.models.tools import LTI_ADVANTAGE, PROVISION_AUTO, TARGET_ACTIVITY
from app.services.launch import log as launch_log
from app.services.launch import records as launch_records
from app.services.legacy import launch as legacy_launch
from app.services.launch import enrolment as lti_enrolment
from app.services.platforms import registrations as platforms
from app.services.launch import provisioning
from app.services.platforms.settings import UNKNOWN_DEPLOYMENT_HOLD


@dataclass
class Landing:
    """Signed in and enrolled: where to go, and whether this session's pages use the embedded layout."""

    user: User
    resource: Any  # a PublishedResource, or the row `resolve_resource` reads
    embed: bool
    path: str

    @property
    def embed_scope(self) -> dict[str, int]:
        if self.resource.target == TARGET_ACTIVITY:
            return {"activity": self.resource.activity_id}
        return {"course": self.resource.course_id}


@dataclass
class Prompt:
    """The identity has no account yet and the resource's mode asks the user (Welcome page)."""

    resource: Any
    mode: int


_USABLE = DriverStatement(
    "SELECT r.id, r.name, r.issuer, r.client_id, r.status, r.frame_origins, r.last_launch_at, "
    "d.status AS deployment_status, d.last_seen_at AS deployment_seen_at "
    "FROM platform_registration r LEFT JOIN deployment d ON d.id = :deployment AND d.registration_id = r.id "
    "WHERE r.id = :registration", result_json=("frame_origins",),
    result_times=("last_launch_at", "deployment_seen_at"))


def _checked_registration(launch: LaunchData) -> Any:
    """The launch's registration as a row (id, name, issuer, client_id, frame_origins), refused if it or the
    deployment stopped being Active since validation. One statement: every launch and resume runs it."""
    registration = _USABLE.first(registration=launch.registration_id, deployment=launch.deployment_pk)
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


_RESOURCE = DriverStatement(
    "SELECT id, uuid, course_id, activity_id, target, enabled, available_to, max_enrolled, enrol_start, enrol_end, "
    "enrol_period, role_instructor, role_learner, provisioning_mode_instructor, provisioning_mode_learner, "
    "email_visibility, city, country, timezone, lang, institution, "
    "(target = 'activity' AND activity_id IS NULL) AS activity_deleted "
    "FROM published_resource WHERE uuid = :uuid AND lti_version = :version",
    result_times=("enrol_start", "enrol_end"))
_AVAILABLE_TO = DriverStatement("SELECT 1 FROM published_resource_registration "
                                "WHERE published_resource_id = :resource AND registration_id = :registration")


def resolve_resource(launch: LaunchData, registration: Any) -> Any:
    """The custom `id` must name an enabled LTI Advantage resource, with its activity, available to
    this registration. The log says which condition failed; the user sees one message.

    Returns a row with the published_resource columns a launch reads (the same names as the model's)."""
    custom_id = launch.custom_id
    if not custom_id:
        raise launch_error("missing_custom_id")
    try:
        key = str(uuid_module.UUID(custom_id))
    except ValueError:
        key = None
    resource = _RESOURCE.first(uuid=key, version=LTI_ADVANTAGE) if key else None
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


def begin(launch: LaunchData, settings: dict[str, Any]) -> Landing | Prompt:
    """Resolve, check limits, then sign in an existing binding, create an account (mode 1) or ask (modes 2, 3).

    `settings` are the LTI settings. Raises LtiError with the user's and the admin's messages; writes nothing before the
    limits have passed."""
    if launch.is_legacy:
        return legacy_launch.begin(launch, settings)
    registration = _checked_registration(launch)
    resource = resolve_resource(launch, registration)
    launch.resource_id = resource.id
    instructor = provisioning.is_instructor(launch.roles)
    user = provisioning.launch_user(launch)
    if user is not None:
        provisioning.ensure_can_launch(user)
    enrolment = lti_enrolment.check_limits(resource, user.id if user else None)
    if user is None:
        mode = provisioning.mode_for(resource, instructor)
        if mode != PROVISION_AUTO:
            launch.prompt_mode = mode
            return Prompt(resource, mode)
        user = legacy_launch.migrated_account(launch) or provisioning.create_for_launch(
            launch, registration, resource, allowed=bool(settings["allow_account_creation"]))
    else:
        provisioning.refresh_profile(user, launch, registration)
    lti_enrolment.enrol(user, resource, resource.role_instructor if instructor else resource.role_learner,
                        enrolment)
    launch_records.record_launch(launch, registration, resource.id, user.id)
    if resource.target == TARGET_ACTIVITY:
        path = f"/activity/{resource.activity_id}"
    else:
        path = f"/course/{resource.course_id}"
    return Landing(user, resource, launch.force_embed or (resource.target == TARGET_ACTIVITY and not instructor),
                   path)


def check_usable(launch: LaunchData) -> Any:
    """Refuse a waiting launch whose registration, deployment or (for a resource launch) resource is no longer
    usable; returns the resource."""
    if launch.is_legacy:
        return legacy_launch.check_resource(launch)
    registration = _checked_registration(launch)
    return None if launch.is_deep_link else resolve_resource(launch, registration)


def create_account(launch: LaunchData, settings: dict[str, Any]) -> User:
    """The Welcome page's "Create an account for me": refused (403) unless mode 2 and the site allows it."""
    if launch.is_legacy:
        return legacy_launch.create_account(launch, settings)
    if not provisioning.creation_offered(launch, settings):
        raise launch_error("account_creation_prohibited", subject=launch.subject)
    registration = _checked_registration(launch)
    resource = resolve_resource(launch, registration)
    return provisioning.create_for_launch(launch, registration, resource, allowed=True)


def record_refusal(kind: str, error: LtiError, attempt: launch_log.Attempt, settings: dict[str, Any], *,
                   validating: bool = False) -> tuple[LtiError, launch_log.LoggedAttempt]:
    """Log a refused launch-time request (resource launch or deep linking). While validating, an unknown deployment
    is held for approval (or only logged) per the site's policy; the user is then told it waits
    for approval. Returns the error to show and its log row (the page's "Reference")."""
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
    row = launch_log.record_failure(kind, error, attempt, outcome=outcome, resource_id=details.get("resource_id"),
                                    user_id=details.get("user_id"))
    return error, row
