"""What the publish form and `flask --app wsgi lti publish` hand to `publish`/`update`: the typed values, their
choices, and the values a new or edited resource starts from."""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field, fields
from datetime import datetime

from app.models import PublishedResource
from app.models.courses import ROLE_STUDENT, ROLE_TEACHER
from app.models.tools import (
    LTI_ADVANTAGE, LTI_LEGACY, MEMBER_SYNC_ENROL, MEMBER_SYNC_ENROL_UNENROL, MEMBER_SYNC_UNENROL, PROVISION_AUTO,
    PROVISION_PROMPT_EXISTING, PROVISION_PROMPT_NEW_EXISTING, TARGET_COURSE,
)
from app.services.platforms.settings import user_defaults

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
