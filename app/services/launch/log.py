"""The launch log: one row per launch attempt; failures keep the failed check, a plain
cause and a fix. Only identifiers are recorded, never tokens, secrets or signatures."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Select, or_, select

from app.extensions import db
from app.limits import clip, db_int
from app.lti.errors import TEXT_LIMIT, LtiError
from app.lti.launch_data import LaunchData
from app.lti.legacy.tool_proxy import REGISTRATION_MESSAGE_TYPE
from app.lti.login import LoginStart
from app.models import Deployment, LaunchLog, PlatformRegistration, PublishedResource, User
from app.models.base import utcnow
from app.models.queries.launch_log import COLUMNS as _COLUMNS, INSERT as _INSERT, MARK_USER as _MARK_USER
from app.services.errors import NotFound, ServiceError, ValidationErrors
from app.services.publishing.resources import resource_display_name

KIND_LOGIN = "LTI 1.3 login"
KIND_LAUNCH = "LTI 1.3 launch"
KIND_DEEP_LINKING = "Deep linking"
KIND_DEEP_LINKING_RESPONSE = "Deep linking response"
KIND_DYNAMIC_REGISTRATION = "Dynamic registration"
KIND_LTI11_LAUNCH = "LTI 1.1 launch"
KIND_LTI2_REGISTRATION = "LTI 2 registration"
KINDS = (KIND_LOGIN, KIND_LAUNCH, KIND_DEEP_LINKING, KIND_DEEP_LINKING_RESPONSE, KIND_DYNAMIC_REGISTRATION,
         KIND_LTI11_LAUNCH, KIND_LTI2_REGISTRATION)
SUCCESS = "success"
FAILED = "failure"
PENDING = "pending"
OUTCOME_LABELS = {SUCCESS: "Success", FAILED: "Failed", PENDING: "Pending approval"}
DEFAULT_LIST_LIMIT = 50
MSG_LIMIT = "The limit must be a positive whole number."
COOKIE_LABELS = {"cookie": "cookie", "partitioned": "partitioned cookie", "storage": "platform storage",
                 "none": "new window", "new_window": "new window"}

MAX_SKEW = 2 ** 31 - 1
_LIMITS = {"issuer": 1024, "client_id": 1333, "deployment_id": 255, "subject": 255, "resource_link_id": 255,
           "message_type": 60, "cookie_method": 30, "user_agent": 512, "ip": 64, "consumer_key": 255}


@dataclass
class Attempt:
    """Where the attempt came from (the view knows; services do not read the request)."""

    user_agent: str | None = None
    ip: str | None = None


@dataclass(frozen=True)
class LoggedAttempt:
    """The row just written; its id is the "Reference" an error page shows."""

    id: int


def record(kind: str, outcome: str, attempt: Attempt, *, error: LtiError | None = None,
           registration: Any = None, user_id: int | None = None, resource_id: int | None = None,
           **fields: Any) -> LoggedAttempt:
    """Add a row. `fields` are LaunchLog columns (issuer, client_id, deployment_id, subject, resource_link_id,
    message_type, cookie_method, clock_skew, consumer_key); long values are cut to the column size, marked.
    `registration` is a PlatformRegistration or a row with id, issuer and client_id."""
    values: dict[str, Any] = dict.fromkeys(_COLUMNS)
    values.update({name: (clip(str(value), _LIMITS[name]) if name in _LIMITS and value is not None else value)
                   for name, value in fields.items()})
    if values["clock_skew"] is not None:  # seconds; an absurd one from a forged timestamp still fits the column
        values["clock_skew"] = max(-MAX_SKEW, min(MAX_SKEW, int(values["clock_skew"])))
    values.update(kind=kind, outcome=outcome, user_id=user_id, published_resource_id=resource_id,
                  user_agent=clip(attempt.user_agent or None, _LIMITS["user_agent"]),
                  ip=clip(attempt.ip or None, _LIMITS["ip"]))
    if error is not None:
        values.update(check_code=clip(error.check_code, 60), cause=clip(error.cause, TEXT_LIMIT),
                      fix=clip(error.fix, TEXT_LIMIT))
    if registration is not None:
        values.update(registration_id=registration.id, issuer=values["issuer"] or registration.issuer,
                      client_id=values["client_id"] or registration.client_id)
    return LoggedAttempt(_INSERT.scalar(at=utcnow(), **values))


def _launch_fields(launch: LaunchData, message_type: str | None = None) -> dict[str, Any]:
    """The columns a validated launch fills: an LTI 1.1 launch has a consumer key and its resource from the URL;
    an LTI 1.3 one its registration, deployment and cookie method (and a resource link unless deep linking)."""
    fields: dict[str, Any] = {"issuer": launch.issuer, "subject": launch.subject, "clock_skew": launch.clock_skew,
                              "message_type": message_type or launch.message_type}
    if launch.is_legacy:
        return {**fields, "consumer_key": (launch.legacy or {}).get("consumer_key"),
                "resource_link_id": launch.resource_link_id, "resource_id": launch.resource_id}
    fields.update(registration_id=launch.registration_id, client_id=launch.client_id,
                  deployment_id=launch.deployment_id, cookie_method=launch.cookie_method)
    if not launch.is_deep_link:
        fields["resource_link_id"] = launch.resource_link_id
    return fields


def accepted(kind: str, launch: LaunchData, attempt: Attempt, *, resource_id: int | None = None,
             user_id: int | None = None, message_type: str | None = None) -> LoggedAttempt:
    """A new success row for a validated launch (or the deep-linking response it led to)."""
    fields = _launch_fields(launch, message_type)
    if resource_id is not None:
        fields["resource_id"] = resource_id
    return record(kind, SUCCESS, attempt, user_id=user_id, **fields)


def launch_row(kind: str, launch: LaunchData, attempt: Attempt, *, resource_id: int | None,
               user_id: int | None = None) -> int:
    """The attempt's one row: written when the launch is first accepted, told the user once an account is known
    (a launch resumed after the Welcome page or a new-window handoff keeps the row it was stored with)."""
    if launch.log_id is None:
        return accepted(kind, launch, attempt, resource_id=resource_id, user_id=user_id).id
    if user_id is not None:
        mark_user(launch.log_id, user_id)
    return launch.log_id


def record_failure(kind: str, error: LtiError, attempt: Attempt, launch: LaunchData | None = None, *,
                   outcome: str = FAILED) -> LoggedAttempt:
    """A refused attempt, with whatever the error knew about it (issuer, deployment, subject…) and, once the
    launch had validated, the launch's own fields."""
    details = error.details
    known: dict[str, Any] = {
        "issuer": details.get("iss"), "client_id": details.get("client_id"),
        "deployment_id": details.get("deployment_id"), "subject": details.get("subject"),
        "resource_link_id": details.get("resource_link_id"), "message_type": details.get("message_type"),
        "cookie_method": details.get("cookie_method"), "clock_skew": details.get("clock_skew"),
        "consumer_key": details.get("consumer_key"), "resource_id": details.get("resource_id"),
        "user_id": details.get("user_id"),
    }
    if launch is not None:
        known.update({name: value for name, value in _launch_fields(launch).items() if value is not None})
    return record(kind, outcome, attempt, error=error, registration=details.get("registration"), **known)


def login_refused(attempt: Attempt, started: LoginStart, error: LtiError) -> LoggedAttempt:
    """An OIDC login refused once its registration was found (the browser blocks the state cookie). A login that
    goes on to the platform leaves no row of its own: its launch's row records the cookie path it took."""
    return record(KIND_LOGIN, FAILED, attempt, error=error, registration=started.registration,
                  deployment_id=started.deployment_hint, cookie_method=started.cookie_method)


def lti2_registration(attempt: Attempt, resource_id: int, *, tool_proxy_guid: str | None = None,
                      message: str = "", detail: str = "") -> LoggedAttempt:
    """An LTI 2 tool proxy registration: registered as `tool_proxy_guid`, or refused with `message`."""
    if tool_proxy_guid is not None:
        return record(KIND_LTI2_REGISTRATION, SUCCESS, attempt, resource_id=resource_id,
                      consumer_key=tool_proxy_guid, message_type=REGISTRATION_MESSAGE_TYPE)
    error = LtiError(message, 400, "lti2_registration", f"{message} {detail}".strip(),
                     "Check the LMS's tool consumer profile and LTI 2 settings, then register again with the "
                     "resource's Registration URL.")
    return record(KIND_LTI2_REGISTRATION, FAILED, attempt, resource_id=resource_id, error=error)


DYNAMIC_REGISTRATION_FIX = ("Generate a new registration URL on the registration's Tool details tab if needed, and "
                            "start the registration again from the platform.")


def dynamic_registration(attempt: Attempt, registration_id: int | None, *, failure: ServiceError | None = None,
                         deployment: Deployment | None = None) -> None:
    """One row per attempt, so an admin can see why a platform's registration failed."""
    registration = db.session.get(PlatformRegistration, registration_id) if registration_id else None
    if failure is None:
        record(KIND_DYNAMIC_REGISTRATION, SUCCESS, attempt, registration=registration,
               deployment_id=deployment.deployment_id if deployment else None)
        return
    answer = getattr(failure, "platform_response", None)
    cause = f"{failure.message} The platform answered: {answer[:500]}" if answer else failure.message
    error = LtiError(failure.message, failure.status, check_code="dynamic_registration", cause=cause,
                     fix=DYNAMIC_REGISTRATION_FIX)
    record(KIND_DYNAMIC_REGISTRATION, FAILED, attempt, error=error, registration=registration)


def mark_user(row_id: int | None, user_id: int) -> None:
    """A launch that waited for the Welcome page: its row learns who it was once the account is known."""
    if row_id:
        _MARK_USER.execute(id=row_id, user=user_id)


@dataclass
class LogFilters:
    outcome: str = ""
    registration_id: int | None = None
    kind: str = ""
    date_from: date | None = None
    date_to: date | None = None
    user: str = ""


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def launches_query(filters: LogFilters) -> Select:
    """Newest first, narrowed by the screen's filters (dates are whole UTC days, both ends included)."""
    query = select(LaunchLog).order_by(LaunchLog.at.desc(), LaunchLog.id.desc())
    if filters.outcome in OUTCOME_LABELS:
        query = query.where(LaunchLog.outcome == filters.outcome)
    if filters.registration_id:
        query = query.where(LaunchLog.registration_id == filters.registration_id)
    if filters.kind:
        query = query.where(LaunchLog.kind == filters.kind)
    if filters.date_from:
        query = query.where(LaunchLog.at >= _day_start(filters.date_from))
    if filters.date_to:
        query = query.where(LaunchLog.at < _day_start(filters.date_to + timedelta(days=1)))
    if filters.user:
        pattern = f"%{filters.user.strip().lower()}%"
        matching = select(User.id).where(or_(User.username.like(pattern), User.email.ilike(pattern)))
        query = query.where(or_(LaunchLog.user_id.in_(matching), LaunchLog.subject.ilike(pattern)))
    return query


def get_launch(log_id: int) -> LaunchLog:
    row = db.session.get(LaunchLog, log_id)
    if row is None:
        raise NotFound("Launch log entry not found")
    return row


def registrations_by_id(rows: list[LaunchLog]) -> dict[int, PlatformRegistration]:
    ids = {row.registration_id for row in rows if row.registration_id}
    if not ids:
        return {}
    return {reg.id: reg for reg in db.session.execute(
        select(PlatformRegistration).where(PlatformRegistration.id.in_(ids))).scalars()}


def users_by_id(rows: list[LaunchLog]) -> dict[int, User]:
    ids = {row.user_id for row in rows if row.user_id}
    if not ids:
        return {}
    return {user.id: user for user in db.session.execute(select(User).where(User.id.in_(ids))).scalars()}


def resource_names(rows: list[LaunchLog]) -> dict[int, str]:
    ids = {row.published_resource_id for row in rows if row.published_resource_id}
    if not ids:
        return {}
    return {resource.id: resource_display_name(resource) for resource in db.session.execute(
        select(PublishedResource).where(PublishedResource.id.in_(ids))).scalars()}


def registration_choices() -> list[PlatformRegistration]:
    """Every registration, for the log's filter (deleted ones are gone; their rows keep the issuer)."""
    return list(db.session.execute(select(PlatformRegistration).order_by(PlatformRegistration.name,
                                                                         PlatformRegistration.id)).scalars())


def parse_limit(value: Any) -> int:
    """How many attempts to list (the CLI's --limit): a whole number of at least 1."""
    try:
        limit = db_int(value)
    except ValueError:
        raise ValidationErrors({"limit": MSG_LIMIT}) from None
    if limit < 1:
        raise ValidationErrors({"limit": MSG_LIMIT})
    return limit


def recent_launches(*, failed_only: bool = False, limit: int = DEFAULT_LIST_LIMIT) -> list[LaunchLog]:
    """The newest `limit` attempts, through the log screen's own query (only "Failed" ones when asked)."""
    query = launches_query(LogFilters(outcome=FAILED if failed_only else "")).limit(limit)
    return list(db.session.execute(query).scalars())


@dataclass(frozen=True)
class LaunchRow:
    """One line of the log as the screen shows it: names instead of ids, labels instead of codes."""

    log: LaunchLog
    registration: str | None
    user: str | None
    resource: str | None

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS.get(self.log.outcome, self.log.outcome)

    def as_dict(self) -> dict[str, Any]:
        log = self.log
        return {"id": log.id, "time": log.at, "kind": log.kind, "outcome": self.outcome_label,
                "registration": self.registration, "deployment_id": log.deployment_id, "user": self.user,
                "resource": self.resource, "cause": log.cause, "check_code": log.check_code, "fix": log.fix}


def launch_rows(rows: list[LaunchLog]) -> list[LaunchRow]:
    """Registration / consumer key is the registration's name, else the consumer key, else the issuer;
    User is the account's username, else the platform's subject (as in the log's table)."""
    registrations, users, resources = registrations_by_id(rows), users_by_id(rows), resource_names(rows)
    result = []
    for row in rows:
        registration = registrations.get(row.registration_id or 0)
        user = users.get(row.user_id or 0)
        result.append(LaunchRow(
            row, registration.name if registration else (row.consumer_key or row.issuer),
            user.username if user else row.subject, resources.get(row.published_resource_id or 0)))
    return result
