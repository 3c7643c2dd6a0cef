"""Publishing a course or one activity as an LTI tool.

The web form and `flask --app wsgi lti publish` hand the same `PublishValues` to `publish`/`update`, so both
get the same validation and the same messages. Launch code imports `resource_display_name` and
`launch_details` to show and check the values teachers copy into a platform.
"""
from __future__ import annotations

import re
import secrets
import string
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Iterable, Mapping

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy import delete as sql_delete

from app.extensions import db
from app.models import (
    Activity, Course, Enrolment, GradeSyncLog, Lti11Consumer, Lti11Nonce, LtiUser, LtiUserResourceLink,
    PlatformRegistration, PublishedResource, ResourceLink, RoleAssignment, SyncJob,
)
from app.models.courses import ROLES, ROLE_STUDENT, ROLE_TEACHER
from app.models.jobs import JOB_FAILED, JOB_PENDING, JOB_RUNNING
from app.models.tools import (
    LTI_ADVANTAGE, LTI_LEGACY, MEMBER_SYNC_ENROL, MEMBER_SYNC_ENROL_UNENROL, MEMBER_SYNC_UNENROL, PROVISION_AUTO,
    PROVISION_PROMPT_EXISTING, PROVISION_PROMPT_NEW_EXISTING, TARGET_ACTIVITY, TARGET_COURSE,
)
from app.services.errors import NotFound, ServiceError, ValidationErrors
from app.services.accounts.profile import PROFILE_FIELDS, clean_profile
from app.services.platforms.settings import user_defaults

MSG_NAME_LENGTH = "Maximum of 255 characters"
MSG_TARGET = "Select the course or one of its activities."
MSG_DURATION = "The enrolment duration must be greater than zero."
MSG_END_BEFORE_START = "Enrolment end date cannot be earlier than start date"
MSG_MAX_ENROLLED = "Enter zero or a positive whole number."
MSG_NO_REGISTRATION = "Select at least one registration."
MSG_REQUIRED = "Required"
MSG_SECRET_CHARS = "Only letters and digits are allowed."
# A typed secret must resist guessing as well as a generated one does in practice: it is all that stands between
# a forged launch and the consumer's users.
SECRET_MIN_LENGTH = 16
MSG_SECRET_SHORT = (f"The secret is too short: use at least {SECRET_MIN_LENGTH} letters and digits "
                    "(the generated one has 32).")
MSG_CHOICE = "Not a valid choice."
MSG_DELETED_ACTIVITY = ("The activity shared by this instance has been deleted. You can select another activity to "
                        "share by editing the instance or, if no longer required, you can simply delete the instance.")

LTI_VERSIONS = {LTI_ADVANTAGE: "LTI Advantage", LTI_LEGACY: "Legacy LTI (1.1/2.0)"}
PROVISIONING_MODES = {
    PROVISION_AUTO: "New accounts only (automatic)",
    PROVISION_PROMPT_NEW_EXISTING: "Existing and new accounts (prompt)",
    PROVISION_PROMPT_EXISTING: "Existing accounts only (prompt)",
}
PROVISIONING_KEYWORDS = {"auto": PROVISION_AUTO, "prompt": PROVISION_PROMPT_NEW_EXISTING,
                         "existing": PROVISION_PROMPT_EXISTING}
MEMBER_SYNC_MODES = {
    MEMBER_SYNC_ENROL_UNENROL: "Enrol new and unenrol missing users",
    MEMBER_SYNC_ENROL: "Enrol new users",
    MEMBER_SYNC_UNENROL: "Unenrol missing users",
}
DURATION_UNITS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}
AVAILABLE_ALL = "all"
AVAILABLE_SELECTED = "selected"
GRADE_JOB_KINDS = ("grade_push", "outcome_push")
MEMBER_JOB_KINDS = ("member_sync",)
PER_PAGE = 50

_SECRET_RE = re.compile(r"^[A-Za-z0-9]+$")
_WHOLE_NUMBER_RE = re.compile(r"^\d+$")
_SECRET_ALPHABET = string.ascii_letters + string.digits


def random_secret() -> str:
    """The default legacy secret: 32 random letters and digits."""
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(32))


@dataclass
class PublishValues:
    """Everything the publish form sets, as typed or chosen; `publish`/`update` validate it.

    Numbers stay text so that "abc" or "-1" get our message rather than a parser's; choices may be
    strings or ints (forms send strings, the CLI ints). `target` is "course" or an activity id.
    """

    lti_version: str = LTI_ADVANTAGE
    name: str = ""
    target: str = TARGET_COURSE
    enrol_period_enabled: bool = False
    enrol_period: str = ""
    enrol_period_unit: str = "days"
    enrol_start_enabled: bool = False
    enrol_start: datetime | None = None
    enrol_end_enabled: bool = False
    enrol_end: datetime | None = None
    max_enrolled: str = "0"
    role_instructor: str = ROLE_TEACHER
    role_learner: str = ROLE_STUDENT
    provisioning_mode_instructor: int | str = PROVISION_PROMPT_NEW_EXISTING
    provisioning_mode_learner: int | str = PROVISION_AUTO
    available_to: str = AVAILABLE_ALL
    registrations: list[str] = field(default_factory=list)
    secret: str = ""
    grade_sync: bool = True
    grade_sync_completion: bool = False
    member_sync: bool = True
    member_sync_mode: int | str = MEMBER_SYNC_ENROL_UNENROL
    email_visibility: int | str = 2
    city: str = ""
    country: str = ""
    timezone: str = ""
    lang: str = "en"
    institution: str = ""

    @classmethod
    def names(cls) -> list[str]:
        return [item.name for item in fields(cls)]


@dataclass(frozen=True)
class LaunchDetails:
    """What a platform admin pastes; the launch endpoints accept exactly these values."""

    launch_url: str
    custom_properties: str | None = None
    cartridge_url: str | None = None
    registration_url: str | None = None
    secret: str | None = None


@dataclass(frozen=True)
class SyncState:
    grades: str
    users: str


@dataclass(frozen=True)
class DeleteSummary:
    name: str
    enrolments: int
    resource_links: int
    lti_users: int
    jobs: int
    consumers: int


# ---- reading -------------------------------------------------------------------------------------------------

def resource_display_name(resource: PublishedResource) -> str:
    """The instance name, else the course full name or the activity name ("Deleted activity" once it is gone)."""
    if resource.name:
        return resource.name
    if resource.target == TARGET_COURSE:
        return resource.course.full_name
    return resource.activity.name if resource.activity is not None else "Deleted activity"


def _base_url() -> str:
    return current_app.config["COURSEPORT_BASE_URL"]


def launch_details(resource: PublishedResource) -> LaunchDetails:
    """Launch URL and custom properties (LTI Advantage), or the legacy URLs and secret, built from the base URL."""
    base = _base_url()
    if not resource.is_legacy:
        return LaunchDetails(launch_url=f"{base}/lti/launch", custom_properties=f"id={resource.uuid}")
    return LaunchDetails(
        launch_url=f"{base}/lti/v1/launch/{resource.id}",
        cartridge_url=f"{base}/lti/v1/cartridge/{resource.id}/{resource.legacy_token}.xml",
        registration_url=f"{base}/lti/v2/register/{resource.id}/{resource.legacy_token}",
        secret=resource.secret,
    )


def get_course_resource(course: Course, resource_id: int) -> PublishedResource:
    """A resource of this course; any other id is "not found" so no one can reach another course's resource."""
    resource = db.session.get(PublishedResource, resource_id)
    if resource is None or resource.course_id != course.id:
        raise NotFound("Published resource not found.")
    return resource


def course_resources_query(course: Course, legacy: bool) -> Select:
    """One tab of 4.12, in creation order."""
    version = LTI_LEGACY if legacy else LTI_ADVANTAGE
    return (select(PublishedResource)
            .where(PublishedResource.course_id == course.id, PublishedResource.lti_version == version)
            .order_by(PublishedResource.created_at, PublishedResource.id))


def site_resources_query(*, lti_version: str | None = None, enabled: bool | None = None,
                         course_id: int | None = None) -> Select:
    """Every published resource on the site, filtered, grouped by course in creation order."""
    query = select(PublishedResource).join(Course, PublishedResource.course_id == Course.id)
    if lti_version:
        query = query.where(PublishedResource.lti_version == lti_version)
    if enabled is not None:
        query = query.where(PublishedResource.enabled.is_(enabled))
    if course_id:
        query = query.where(PublishedResource.course_id == course_id)
    return query.order_by(Course.full_name, PublishedResource.created_at, PublishedResource.id)


def enrolled_count(resource: PublishedResource) -> int:
    """Users enrolled through this resource (what deleting it would unenrol)."""
    return db.session.scalar(select(func.count(Enrolment.id))
                             .where(Enrolment.published_resource_id == resource.id)) or 0


def enrolled_counts(resources: Iterable[PublishedResource]) -> dict[int, int]:
    ids = [resource.id for resource in resources]
    rows = db.session.execute(select(Enrolment.published_resource_id, func.count(Enrolment.id))
                              .where(Enrolment.published_resource_id.in_(ids))
                              .group_by(Enrolment.published_resource_id)).all()
    return {resource_id: count for resource_id, count in rows}


def last_launches(resources: Iterable[PublishedResource]) -> dict[int, datetime]:
    """The latest time any user came in through each resource."""
    ids = [resource.id for resource in resources]
    rows = db.session.execute(select(LtiUser.published_resource_id, func.max(LtiUser.last_access_at))
                              .where(LtiUser.published_resource_id.in_(ids))
                              .group_by(LtiUser.published_resource_id)).all()
    return {resource_id: at for resource_id, at in rows if at is not None}


def _job_state(enabled: bool, counts: Mapping[str, int]) -> str:
    if not enabled:
        return "Off"
    parts = [f"{counts[status]} {status}" for status in ("pending", "failed") if counts.get(status)]
    return ", ".join(parts) or "OK"


def sync_states(resources: Iterable[PublishedResource]) -> dict[int, SyncState]:
    """The Sync column: Off, OK, or the pending/failed job counts of grade and user synchronisation."""
    resources = list(resources)
    rows = db.session.execute(
        select(SyncJob.published_resource_id, SyncJob.kind, SyncJob.status, func.count(SyncJob.id))
        .where(SyncJob.published_resource_id.in_([resource.id for resource in resources]),
               SyncJob.status.in_((JOB_PENDING, JOB_RUNNING, JOB_FAILED)))
        .group_by(SyncJob.published_resource_id, SyncJob.kind, SyncJob.status)).all()
    counts: dict[tuple[int, str], dict[str, int]] = {}
    for resource_id, kind, status, count in rows:
        area = "grades" if kind in GRADE_JOB_KINDS else "users" if kind in MEMBER_JOB_KINDS else None
        if area is None:
            continue
        bucket = counts.setdefault((resource_id, area), {})
        label = "failed" if status == JOB_FAILED else "pending"  # a running job has not finished yet
        bucket[label] = bucket.get(label, 0) + count
    return {resource.id: SyncState(grades=_job_state(resource.grade_sync, counts.get((resource.id, "grades"), {})),
                                   users=_job_state(resource.member_sync, counts.get((resource.id, "users"), {})))
            for resource in resources}


def registration_choices() -> list[PlatformRegistration]:
    return list(db.session.scalars(select(PlatformRegistration)
                                   .order_by(PlatformRegistration.name, PlatformRegistration.id)))


# ---- the form's values ---------------------------------------------------------------------------------------

def new_values(legacy: bool = False) -> PublishValues:
    """The defaults of a new publication, with the site's user default values and a fresh secret."""
    defaults = user_defaults()
    return PublishValues(
        lti_version=LTI_LEGACY if legacy else LTI_ADVANTAGE, secret=random_secret(),
        email_visibility=defaults["email_visibility"], city=defaults["city"], country=defaults["country"],
        timezone=defaults["timezone"], lang=defaults["lang"], institution=defaults["institution"])


def _split_period(seconds: int) -> tuple[str, str]:
    for unit in ("weeks", "days", "hours", "minutes"):
        if seconds % DURATION_UNITS[unit] == 0:
            return str(seconds // DURATION_UNITS[unit]), unit
    return str(max(1, round(seconds / 60))), "minutes"


def values_from_resource(resource: PublishedResource) -> PublishValues:
    """The edit form's starting point: the resource as stored."""
    period, unit = _split_period(resource.enrol_period) if resource.enrol_period else ("", "days")
    if resource.target == TARGET_COURSE:
        target = TARGET_COURSE
    else:
        target = str(resource.activity_id) if resource.activity_id else ""
    return PublishValues(
        lti_version=resource.lti_version, name=resource.name, target=target,
        enrol_period_enabled=bool(resource.enrol_period), enrol_period=period, enrol_period_unit=unit,
        enrol_start_enabled=resource.enrol_start is not None, enrol_start=resource.enrol_start,
        enrol_end_enabled=resource.enrol_end is not None, enrol_end=resource.enrol_end,
        max_enrolled=str(resource.max_enrolled), role_instructor=resource.role_instructor,
        role_learner=resource.role_learner, provisioning_mode_instructor=resource.provisioning_mode_instructor,
        provisioning_mode_learner=resource.provisioning_mode_learner, available_to=resource.available_to,
        registrations=[str(registration.id) for registration in resource.registrations],
        # Switching a resource to Legacy needs a secret: offer a fresh one rather than an empty field.
        secret=resource.secret or random_secret(),
        grade_sync=resource.grade_sync, grade_sync_completion=resource.grade_sync_completion,
        member_sync=resource.member_sync, member_sync_mode=resource.member_sync_mode,
        email_visibility=resource.email_visibility, city=resource.city, country=resource.country,
        timezone=resource.timezone, lang=resource.lang, institution=resource.institution)


def _choice(value: Any, allowed: Mapping | Iterable, cast=str) -> Any:
    try:
        value = cast(value)
    except (TypeError, ValueError):
        return None
    return value if value in allowed else None


def validate(course: Course, values: PublishValues, resource: PublishedResource | None = None) -> None:
    """Raise ValidationErrors with every field's message, changing nothing."""
    _clean(course, values, resource)


def _clean(course: Course, values: PublishValues, resource: PublishedResource | None) -> dict[str, Any]:
    """Check every field; return the column values, or raise ValidationErrors with one message per field."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}

    version = _choice(values.lti_version, LTI_VERSIONS)
    if version is None:
        errors["lti_version"] = MSG_CHOICE
    clean["lti_version"] = version or LTI_ADVANTAGE
    legacy = clean["lti_version"] == LTI_LEGACY

    name = (values.name or "").strip()
    if len(name) > 255:
        errors["name"] = MSG_NAME_LENGTH
    clean["name"] = name

    target = str(values.target or "").strip()
    if target == TARGET_COURSE:
        clean.update(target=TARGET_COURSE, activity_id=None)
    else:
        activity = db.session.get(Activity, int(target)) if target.isdigit() else None
        if activity is None or activity.course_id != course.id:
            errors["target"] = MSG_TARGET
        else:
            clean.update(target=TARGET_ACTIVITY, activity_id=activity.id)

    clean["enrol_period"] = 0
    if values.enrol_period_enabled:
        unit = _choice(values.enrol_period_unit, DURATION_UNITS)
        amount = str(values.enrol_period or "").strip()
        if unit is None:
            errors["enrol_period_unit"] = MSG_CHOICE
        elif not _WHOLE_NUMBER_RE.match(amount) or int(amount) <= 0:
            errors["enrol_period"] = MSG_DURATION
        else:
            clean["enrol_period"] = int(amount) * DURATION_UNITS[unit]

    for name_, enabled, value in (("enrol_start", values.enrol_start_enabled, values.enrol_start),
                                  ("enrol_end", values.enrol_end_enabled, values.enrol_end)):
        clean[name_] = value if enabled else None
        if enabled and value is None:
            errors[name_] = MSG_REQUIRED
    if clean["enrol_start"] and clean["enrol_end"] and clean["enrol_end"] < clean["enrol_start"]:
        errors["enrol_end"] = MSG_END_BEFORE_START

    max_enrolled = str(values.max_enrolled if values.max_enrolled is not None else "").strip() or "0"
    if not _WHOLE_NUMBER_RE.match(max_enrolled):
        errors["max_enrolled"] = MSG_MAX_ENROLLED
    else:
        clean["max_enrolled"] = int(max_enrolled)

    for name_ in ("role_instructor", "role_learner"):
        clean[name_] = _choice(getattr(values, name_), ROLES)
        if clean[name_] is None:
            errors[name_] = MSG_CHOICE
    for name_ in ("provisioning_mode_instructor", "provisioning_mode_learner"):
        clean[name_] = _choice(getattr(values, name_), PROVISIONING_MODES, int)
        if clean[name_] is None:
            errors[name_] = MSG_CHOICE

    clean["registrations"] = []
    clean["available_to"] = AVAILABLE_ALL
    if not legacy:
        available_to = _choice(values.available_to, (AVAILABLE_ALL, AVAILABLE_SELECTED))
        if available_to is None:
            errors["available_to"] = MSG_CHOICE
        elif available_to == AVAILABLE_SELECTED:
            clean["available_to"] = AVAILABLE_SELECTED
            wanted = {str(value).strip() for value in values.registrations or [] if str(value).strip()}
            known = {str(registration.id): registration for registration in registration_choices()}
            unknown = sorted(wanted - set(known))
            if not wanted:
                errors["registrations"] = MSG_NO_REGISTRATION
            elif unknown:
                errors["registrations"] = f"Registration {unknown[0]} does not exist."
            else:
                clean["registrations"] = [known[key] for key in sorted(wanted, key=int)]

    clean["secret"] = resource.secret if resource is not None else None
    if legacy:
        secret = (values.secret or "").strip()
        if not secret:
            errors["secret"] = MSG_REQUIRED
        elif len(secret) > 64:
            errors["secret"] = "Maximum of 64 characters"
        elif not _SECRET_RE.match(secret):
            errors["secret"] = MSG_SECRET_CHARS
        elif len(secret) < SECRET_MIN_LENGTH:
            errors["secret"] = MSG_SECRET_SHORT
        else:
            clean["secret"] = secret

    clean["grade_sync"] = bool(values.grade_sync)
    # The dependent settings are disabled in the form while their switch is off; hold the server to the same.
    clean["grade_sync_completion"] = bool(values.grade_sync_completion) and clean["grade_sync"]
    clean["member_sync"] = bool(values.member_sync)
    if clean["member_sync"]:
        clean["member_sync_mode"] = _choice(values.member_sync_mode, MEMBER_SYNC_MODES, int)
        if clean["member_sync_mode"] is None:
            errors["member_sync_mode"] = MSG_CHOICE
    else:
        clean["member_sync_mode"] = resource.member_sync_mode if resource is not None else MEMBER_SYNC_ENROL_UNENROL

    profile, profile_errors = clean_profile({name_: getattr(values, name_) for name_ in PROFILE_FIELDS})
    clean.update(profile)
    errors.update(profile_errors)

    if errors:
        raise ValidationErrors(errors)
    return clean


def _apply(resource: PublishedResource, clean: dict[str, Any]) -> None:
    registrations = clean.pop("registrations")
    for key, value in clean.items():
        setattr(resource, key, value)
    resource.registrations = registrations
    # Identifiers are made once and never change (platforms store them); a resource switched to a version
    # that needs one gets it then.
    if resource.lti_version == LTI_ADVANTAGE and not resource.uuid:
        resource.uuid = str(uuid.uuid4())
    if resource.lti_version == LTI_LEGACY and not resource.legacy_token:
        resource.legacy_token = secrets.token_hex(16)


# ---- changing ------------------------------------------------------------------------------------------------

def publish(course: Course, values: PublishValues) -> PublishedResource:
    """Create an enabled resource: a UUID v4 for LTI Advantage, a secret and legacy token for Legacy."""
    clean = _clean(course, values, None)
    resource = PublishedResource(course_id=course.id, enabled=True)
    resource.course = course
    _apply(resource, clean)
    db.session.add(resource)
    db.session.flush()
    return resource


def update(resource: PublishedResource, values: PublishValues) -> PublishedResource:
    """Save the edit form; the UUID and the legacy token never change."""
    _apply(resource, _clean(resource.course, values, resource))
    db.session.flush()
    return resource


def set_enabled(resource: PublishedResource, enabled: bool) -> None:
    """A disabled resource refuses launches, is skipped by sync and is not offered in deep linking."""
    if enabled and resource.activity_deleted:
        raise ServiceError(MSG_DELETED_ACTIVITY)
    resource.enabled = enabled
    db.session.flush()


def delete(resource: PublishedResource) -> DeleteSummary:
    """Delete the resource and everything made through it, in the caller's transaction.

    Accounts and grades are kept. The rows go explicitly rather than by foreign-key cascade so the result
    does not depend on the database enforcing foreign keys, and so the counts can be reported.
    """
    rid = resource.id
    name = resource_display_name(resource)
    link_ids = select(ResourceLink.id).where(ResourceLink.published_resource_id == rid)
    lti_user_ids = select(LtiUser.id).where(LtiUser.published_resource_id == rid)
    enrolment_ids = select(Enrolment.id).where(Enrolment.published_resource_id == rid)
    consumer_keys = set(db.session.scalars(select(Lti11Consumer.consumer_key)
                                           .where(Lti11Consumer.published_resource_id == rid)))

    def remove(statement) -> int:
        return db.session.execute(statement.execution_options(synchronize_session=False)).rowcount or 0

    remove(sql_delete(LtiUserResourceLink).where(LtiUserResourceLink.resource_link_id.in_(link_ids)
                                             | LtiUserResourceLink.lti_user_id.in_(lti_user_ids)))
    remove(sql_delete(GradeSyncLog).where(GradeSyncLog.published_resource_id == rid))
    links = remove(sql_delete(ResourceLink).where(ResourceLink.published_resource_id == rid))
    lti_users = remove(sql_delete(LtiUser).where(LtiUser.published_resource_id == rid))
    jobs = remove(sql_delete(SyncJob).where(SyncJob.published_resource_id == rid))
    consumers = remove(sql_delete(Lti11Consumer).where(Lti11Consumer.published_resource_id == rid))
    still_used = set(db.session.scalars(select(Lti11Consumer.consumer_key)
                                        .where(Lti11Consumer.consumer_key.in_(consumer_keys))))
    if consumer_keys - still_used:
        remove(sql_delete(Lti11Nonce).where(Lti11Nonce.consumer_key.in_(consumer_keys - still_used)))
    remove(sql_delete(RoleAssignment).where(RoleAssignment.enrolment_id.in_(enrolment_ids)))
    enrolments = remove(sql_delete(Enrolment).where(Enrolment.published_resource_id == rid))
    resource.registrations = []
    db.session.delete(resource)
    db.session.flush()
    db.session.expire_all()
    return DeleteSummary(name=name, enrolments=enrolments, resource_links=links, lti_users=lti_users, jobs=jobs,
                         consumers=consumers)
