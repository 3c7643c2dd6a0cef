"""The publish form's checks, one function per section of the form: the tool, enrolment, roles and account
provisioning, availability, the remote system and the user default values.

Each takes the typed values and a shared `errors` dict (one message per field, in the form's order) and
returns the columns it cleaned; a field with a message may be left out.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from app.extensions import db
from app.limits import is_db_int
from app.models import Activity, Course, PlatformRegistration, PublishedResource
from app.models.courses import ROLES
from app.models.tools import LTI_ADVANTAGE, MEMBER_SYNC_ENROL_UNENROL, TARGET_ACTIVITY, TARGET_COURSE
from app.services.accounts.profile import PROFILE_FIELDS, clean_profile
from app.services.publishing.listings import registration_choices
from app.services.publishing.publish_values import (
    AVAILABLE_ALL, AVAILABLE_SELECTED, DURATION_UNITS, LTI_VERSIONS, MEMBER_SYNC_MODES, PROVISIONING_MODES,
    PublishValues,
)

MSG_NAME_LENGTH = "Maximum of 255 characters"
MSG_TARGET = "Select the course or one of its activities."
MSG_DURATION = "The enrolment duration must be greater than zero."
MSG_END_BEFORE_START = "Enrolment end date cannot be earlier than start date"
MSG_MAX_ENROLLED = "Enter zero or a positive whole number."
MSG_DURATION_LONG = "The enrolment duration can be at most 100 years."
MSG_MAX_ENROLLED_LONG = "Enter at most 1000000000."
MAX_DURATION = 100 * 365 * 86400  # seconds: also keeps every enrolment end a representable date
MAX_ENROLLED = 10 ** 9
MSG_NO_REGISTRATION = "Select at least one registration."
MSG_REQUIRED = "Required"
MSG_SECRET_CHARS = "Only letters and digits are allowed."
# A typed secret must resist guessing as well as a generated one does in practice: it is all that stands between
# a forged launch and the consumer's users.
SECRET_MIN_LENGTH = 16
MSG_SECRET_SHORT = (f"The secret is too short: use at least {SECRET_MIN_LENGTH} letters and digits "
                    "(the generated one has 32).")
MSG_CHOICE = "Not a valid choice."

_SECRET_RE = re.compile(r"^[A-Za-z0-9]+$")
_WHOLE_NUMBER_RE = re.compile(r"^\d+$")


def _choice(value: Any, allowed: Mapping | Iterable, cast=str) -> Any:
    try:
        value = cast(value)
    except (TypeError, ValueError):
        return None
    return value if value in allowed else None


def check_tool(course: Course, values: PublishValues, errors: dict[str, str]) -> dict[str, Any]:
    """LTI version, instance name and what is published: the course or one of its activities."""
    version = _choice(values.lti_version, LTI_VERSIONS)
    if version is None:
        errors["lti_version"] = MSG_CHOICE
    clean: dict[str, Any] = {"lti_version": version or LTI_ADVANTAGE}
    name = (values.name or "").strip()
    if len(name) > 255:
        errors["name"] = MSG_NAME_LENGTH
    clean["name"] = name
    target = str(values.target or "").strip()
    if target == TARGET_COURSE:
        clean.update(target=TARGET_COURSE, activity_id=None)
    else:
        activity = db.session.get(Activity, int(target)) if is_db_int(target) else None
        if activity is None or activity.course_id != course.id:
            errors["target"] = MSG_TARGET
        else:
            clean.update(target=TARGET_ACTIVITY, activity_id=activity.id)
    return clean


def _check_enrol_period(values: PublishValues, errors: dict[str, str]) -> int:
    """The enrolment duration in seconds; 0 (unlimited) when switched off or not valid."""
    if not values.enrol_period_enabled:
        return 0
    unit = _choice(values.enrol_period_unit, DURATION_UNITS)
    amount = str(values.enrol_period or "").strip()
    if unit is None:
        errors["enrol_period_unit"] = MSG_CHOICE
    elif not _WHOLE_NUMBER_RE.match(amount) or (len(amount) <= 12 and int(amount) <= 0):
        errors["enrol_period"] = MSG_DURATION
    elif len(amount) > 12 or int(amount) * DURATION_UNITS[unit] > MAX_DURATION:
        errors["enrol_period"] = MSG_DURATION_LONG
    else:
        return int(amount) * DURATION_UNITS[unit]
    return 0


def check_enrolment(values: PublishValues, errors: dict[str, str]) -> dict[str, Any]:
    """Enrolment duration, start and end dates, and the maximum number of enrolled users."""
    clean: dict[str, Any] = {"enrol_period": _check_enrol_period(values, errors)}
    for name, enabled, value in (("enrol_start", values.enrol_start_enabled, values.enrol_start),
                                 ("enrol_end", values.enrol_end_enabled, values.enrol_end)):
        clean[name] = value if enabled else None
        if enabled and value is None:
            errors[name] = MSG_REQUIRED
    if clean["enrol_start"] and clean["enrol_end"] and clean["enrol_end"] < clean["enrol_start"]:
        errors["enrol_end"] = MSG_END_BEFORE_START
    max_enrolled = str(values.max_enrolled if values.max_enrolled is not None else "").strip() or "0"
    if not _WHOLE_NUMBER_RE.match(max_enrolled):
        errors["max_enrolled"] = MSG_MAX_ENROLLED
    elif len(max_enrolled) > 10 or int(max_enrolled) > MAX_ENROLLED:
        errors["max_enrolled"] = MSG_MAX_ENROLLED_LONG
    else:
        clean["max_enrolled"] = int(max_enrolled)
    return clean


def check_roles(values: PublishValues, errors: dict[str, str]) -> dict[str, Any]:
    """The roles given to teachers and students, and how each gets an account on first launch."""
    clean: dict[str, Any] = {}
    for name, allowed, cast in (("role_instructor", ROLES, str), ("role_learner", ROLES, str),
                                ("provisioning_mode_instructor", PROVISIONING_MODES, int),
                                ("provisioning_mode_learner", PROVISIONING_MODES, int)):
        clean[name] = _choice(getattr(values, name), allowed, cast)
        if clean[name] is None:
            errors[name] = MSG_CHOICE
    return clean


def _selected_registrations(values: PublishValues, errors: dict[str, str]) -> list[PlatformRegistration]:
    """The chosen registrations in id order; at least one, each of them registered."""
    wanted = {str(value).strip() for value in values.registrations or [] if str(value).strip()}
    known = {str(registration.id): registration for registration in registration_choices()}
    unknown = sorted(wanted - set(known))
    if not wanted:
        errors["registrations"] = MSG_NO_REGISTRATION
    elif unknown:
        errors["registrations"] = f"Registration {unknown[0]} does not exist."
    else:
        return [known[key] for key in sorted(wanted, key=int)]
    return []


def check_availability(values: PublishValues, legacy: bool, errors: dict[str, str]) -> dict[str, Any]:
    """Which registered platforms may launch an LTI Advantage resource (all of them for Legacy)."""
    clean: dict[str, Any] = {"registrations": [], "available_to": AVAILABLE_ALL}
    if legacy:
        return clean
    available_to = _choice(values.available_to, (AVAILABLE_ALL, AVAILABLE_SELECTED))
    if available_to is None:
        errors["available_to"] = MSG_CHOICE
    elif available_to == AVAILABLE_SELECTED:
        clean.update(available_to=AVAILABLE_SELECTED, registrations=_selected_registrations(values, errors))
    return clean


def _check_secret(values: PublishValues, errors: dict[str, str]) -> str | None:
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
        return secret
    return None


def check_remote_system(values: PublishValues, legacy: bool, resource: PublishedResource | None,
                        errors: dict[str, str]) -> dict[str, Any]:
    """The Legacy secret, grade synchronisation and user synchronisation."""
    clean: dict[str, Any] = {"secret": resource.secret if resource is not None else None}
    secret = _check_secret(values, errors) if legacy else None
    if secret is not None:
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
    return clean


def check_user_defaults(values: PublishValues, errors: dict[str, str]) -> dict[str, Any]:
    """The profile values given to accounts created through the resource."""
    profile, profile_errors = clean_profile({name: getattr(values, name) for name in PROFILE_FIELDS})
    errors.update(profile_errors)
    return profile

