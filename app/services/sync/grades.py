"""Grade synchronisation over AGS: the grade-push job body (the jobs are queued by `queueing`).

A batch of jobs is read in a few queries before any request is sent (`GradeBatch`), so a run of scores costs
no query per score. Everything happens on the worker's thread: each job reads its score's answer, sends the next
job's score, then writes and commits its own rows, so the platform works on the next score while this one is
recorded, with no second thread to hand work to. Each job writes only its own rows, after its request, so the
database is never locked while a platform is being waited on.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Iterable

from flask import current_app
from pylti1p3.grade import Grade as Score
from sqlalchemy import func, tuple_, update

from app.extensions import db
from app.jobs.queue import FAILED, RETRY, JobOutcome
from app.lti import ags_nrps, outbound
from app.lti.ags_nrps import AgsEndpoint, Connector, LineItemsNotGranted, PlatformError
from app.models import (
    Activity, Course, Deployment, Grade, LtiUser, LtiUserResourceLink, PlatformRegistration,
    PublishedResource, ResourceLink, User,
)
from app.models.base import utcnow
from app.models.queries.sync import INSERT_LOG as _INSERT_LOG, MARK_SENT as _MARK_SENT
from app.models.tools import LTI_ADVANTAGE, TARGET_ACTIVITY
from app.services.courses.completion import is_activity_complete, is_course_complete
from app.services.courses.gradebook import course_total, format_points

MSG_NO_SERVICE = "Skipped - No grade service found"
MSG_UNAVAILABLE = "Skipped - resource unavailable"
MSG_SYNC_OFF = "Skipped - Grade synchronisation is off"
MSG_COURSE_INCOMPLETE = "Skipping - Course not completed"
MSG_ACTIVITY_INCOMPLETE = "Skipping - Activity not completed"
MSG_INVALID_GRADE = "Skipping - Invalid grade"
MSG_INVALID_MAX = "Skipping - Invalid grademax"
MSG_SAME = "Not sent - The grade was not sent as the grades are the same."
MSG_NO_LINEITEMS = "Skipped - The platform did not grant line item management"
MSG_SENT = "Success - The grade '{grade}/{max}' was sent."
MSG_GONE = "The LTI user or the resource link no longer exists."

SENT = "sent"
UNCHANGED = "unchanged"
SKIPPED = "skipped"

ONE_MS = timedelta(milliseconds=1)
CONFLICT = 409


def service_timeout() -> tuple[float, float]:
    """(connect, read) seconds for platform calls; tests shorten them with SYNC_CONNECT/READ_TIMEOUT."""
    config = current_app.config
    return (float(config.get("SYNC_CONNECT_TIMEOUT", outbound.CONNECT_TIMEOUT)),
            float(config.get("SYNC_READ_TIMEOUT", outbound.READ_TIMEOUT)))


@dataclass(frozen=True)
class _Resource:
    id: int
    course_id: int
    activity_id: int | None
    target: str
    lti_version: str
    enabled: bool
    grade_sync: bool
    completion: bool
    uuid: str | None
    label: str
    activity_max: Decimal | None

    @property
    def unavailable(self) -> bool:
        deleted_activity = self.target == TARGET_ACTIVITY and self.activity_id is None
        return not self.enabled or deleted_activity or self.lti_version != LTI_ADVANTAGE or not self.uuid


@dataclass
class _Target:
    """One (LTI user, resource link) as the job found it."""

    row_id: int
    lti_user_id: int
    user_id: int
    subject: str
    link_id: int
    platform_link_id: str
    resource_id: int
    registration_id: int
    endpoint: AgsEndpoint
    cached_lineitem_url: str | None
    last_grade_sent: Decimal | None
    last_score_timestamp: datetime | None


@dataclass
class GradeBatch:
    """Everything a run of grade-push jobs needs, loaded up front in bulk.

    Line item URLs found or created during the batch are kept here for the link's later jobs.
    """

    targets: dict[tuple[int, int], _Target] = field(default_factory=dict)
    resources: dict[int, _Resource] = field(default_factory=dict)
    activity_grades: dict[tuple[int, int], tuple[Decimal | None, datetime]] = field(default_factory=dict)
    lineitems: dict[int, str] = field(default_factory=dict)
    connectors: dict[int, Connector] = field(default_factory=dict)
    order: list[tuple[int, int]] = field(default_factory=list)
    plans: dict[tuple[int, int], "_Skip | _Score"] = field(default_factory=dict)
    position: dict[tuple[int, int], int] = field(default_factory=dict)
    ahead: dict[tuple[int, int], ags_nrps.ScoreInFlight] = field(default_factory=dict)

    @classmethod
    def load(cls, payloads: Iterable[dict[str, Any]]) -> "GradeBatch":
        batch = cls()
        batch.order = [(int(p["lti_user_id"]), int(p["resource_link_id"])) for p in payloads]
        batch.position = {key: index for index, key in reversed(list(enumerate(batch.order)))}
        pairs = list(set(batch.order))
        if not pairs:
            return batch
        rows = db.session.execute(
            db.select(LtiUserResourceLink.id, LtiUserResourceLink.lti_user_id, LtiUserResourceLink.resource_link_id,
                      LtiUserResourceLink.last_grade_sent, LtiUserResourceLink.last_score_timestamp,
                      LtiUser.user_id, LtiUser.subject, ResourceLink.resource_link_id.label("platform_link_id"),
                      ResourceLink.published_resource_id, ResourceLink.ags_lineitems_url,
                      ResourceLink.ags_lineitem_url, ResourceLink.ags_scopes, ResourceLink.cached_lineitem_url,
                      Deployment.registration_id)
            .join(LtiUser, LtiUser.id == LtiUserResourceLink.lti_user_id)
            .join(ResourceLink, ResourceLink.id == LtiUserResourceLink.resource_link_id)
            .join(Deployment, Deployment.id == ResourceLink.deployment_id)
            .where(tuple_(LtiUserResourceLink.lti_user_id, LtiUserResourceLink.resource_link_id).in_(pairs))).all()
        for row in rows:
            batch.targets[(row.lti_user_id, row.resource_link_id)] = _Target(
                row_id=row.id, lti_user_id=row.lti_user_id, user_id=row.user_id, subject=row.subject,
                link_id=row.resource_link_id, platform_link_id=row.platform_link_id,
                resource_id=row.published_resource_id, registration_id=row.registration_id,
                endpoint=AgsEndpoint(row.ags_lineitems_url, row.ags_lineitem_url, tuple(row.ags_scopes or ())),
                cached_lineitem_url=row.cached_lineitem_url, last_grade_sent=row.last_grade_sent,
                last_score_timestamp=row.last_score_timestamp)
        batch._load_resources({target.resource_id for target in batch.targets.values()})
        batch._load_activity_grades()
        return batch

    def _load_resources(self, ids: set[int]) -> None:
        rows = db.session.execute(
            db.select(PublishedResource, Course.full_name, Activity.name, Activity.max_grade)
            .join(Course, Course.id == PublishedResource.course_id)
            .outerjoin(Activity, Activity.id == PublishedResource.activity_id)
            .where(PublishedResource.id.in_(ids))).all()
        for resource, course_name, activity_name, activity_max in rows:
            self.resources[resource.id] = _Resource(
                id=resource.id, course_id=resource.course_id, activity_id=resource.activity_id,
                target=resource.target, lti_version=resource.lti_version, enabled=resource.enabled,
                grade_sync=resource.grade_sync, completion=resource.grade_sync_completion, uuid=resource.uuid,
                label=activity_name if resource.target == TARGET_ACTIVITY and activity_name else course_name,
                activity_max=activity_max)

    def _load_activity_grades(self) -> None:
        wanted = {(self.resources[t.resource_id].activity_id, t.user_id) for t in self.targets.values()
                  if self.resources[t.resource_id].target == TARGET_ACTIVITY
                  and self.resources[t.resource_id].activity_id is not None}
        if not wanted:
            return
        rows = db.session.execute(db.select(Grade.activity_id, Grade.user_id, Grade.value, Grade.changed_at)
                                  .where(tuple_(Grade.activity_id, Grade.user_id).in_(list(wanted)))).all()
        self.activity_grades = {(row.activity_id, row.user_id): (row.value, row.changed_at) for row in rows}

    def target(self, payload: dict[str, Any]) -> _Target | None:
        return self.targets.get((int(payload["lti_user_id"]), int(payload["resource_link_id"])))

    def plan(self, target: _Target) -> "_Skip | _Score":
        key = (target.lti_user_id, target.link_id)
        if key not in self.plans:
            self.plans[key] = _plan(self, target)
        return self.plans[key]

    def lineitem(self, target: _Target) -> str | None:
        """The coupled line item, one found earlier in this batch, or the one cached on the link."""
        return target.endpoint.lineitem_url or self.lineitems.get(target.link_id) or target.cached_lineitem_url

    def send_next_ahead(self, target: _Target) -> None:
        """Send the next job's score now, so the platform works on it while this job is written and committed.
        Everything is decided here and the answer is read by that job (`send`), on this thread: one request in
        flight at a time, in job order. Only a score whose line item is known goes ahead."""
        position = self.position.get((target.lti_user_id, target.link_id), len(self.order)) + 1
        following = self.targets.get(self.order[position]) if position < len(self.order) else None
        if following is not None and following is not target:
            plan = self.plan(following)
            lineitem = self.lineitem(following)
            if isinstance(plan, _Score) and lineitem:
                try:
                    self._start(following, plan, lineitem)
                except PlatformError:
                    pass  # no token to send it with: that job will try again and record what it meets

    def _start(self, target: _Target, plan: "_Score", lineitem: str) -> None:
        key = (target.lti_user_id, target.link_id)
        if key not in self.ahead:
            self.ahead[key] = ags_nrps.start_score(self.connector(target.registration_id), target.endpoint,
                                                   lineitem, plan.grade(target))

    def send(self, target: _Target, plan: "_Score", lineitem: str) -> ags_nrps.Exchange:
        """This job's score (sent ahead by the previous job, or now): its answer, then the next job's score goes
        out before this one is recorded."""
        self._start(target, plan, lineitem)
        in_flight = self.ahead.pop((target.lti_user_id, target.link_id))
        try:
            return in_flight.finish()
        finally:
            self.send_next_ahead(target)

    def connector(self, registration_id: int) -> Connector:
        if registration_id not in self.connectors:
            registration = db.session.get(PlatformRegistration, registration_id)
            if registration is None:
                raise PlatformError("the platform registration no longer exists", 404)
            self.connectors[registration_id] = Connector(registration, timeout=service_timeout())
        return self.connectors[registration_id]

    def grade(self, target: _Target, resource: _Resource) -> tuple[Decimal | None, Decimal | None, datetime | None]:
        """(grade, maximum, when it last changed) from the activity, or the course total for a course."""
        if resource.target == TARGET_ACTIVITY:
            value, changed_at = self.activity_grades.get((resource.activity_id or 0, target.user_id), (None, None))
            return value, resource.activity_max, changed_at
        course = db.session.get(Course, resource.course_id)
        user = db.session.get(User, target.user_id)
        if course is None or user is None:
            return None, None, None
        changed_at = db.session.execute(
            db.select(func.max(Grade.changed_at)).join(Activity, Activity.id == Grade.activity_id)
            .where(Activity.course_id == course.id, Grade.user_id == user.id, Grade.value.is_not(None))).scalar()
        return course_total(course, user), course.grade_max, changed_at

    def complete(self, target: _Target, resource: _Resource) -> bool:
        user = db.session.get(User, target.user_id)
        if resource.target == TARGET_ACTIVITY:
            activity = db.session.get(Activity, resource.activity_id)
            return user is not None and activity is not None and is_activity_complete(activity, user)
        course = db.session.get(Course, resource.course_id)
        return user is not None and course is not None and is_course_complete(course, user)


def _log(target: _Target, outcome: str, message: str, *, grade: Decimal | None = None,
         grade_max: Decimal | None = None, http_status: int | None = None, excerpt: str | None = None) -> None:
    _INSERT_LOG.execute(published_resource_id=target.resource_id, user_id=target.user_id,
                        resource_link_id=target.link_id, grade=grade, grade_max=grade_max, outcome=outcome,
                        http_status=http_status, response_excerpt=(excerpt or None) and excerpt[:ags_nrps.EXCERPT],
                        message=message, at=utcnow())


def score_timestamp(changed_at: datetime | None, previous: datetime | None) -> datetime:
    """The grade's change time to the millisecond, raised to 1 ms after the previous score's if needed, so
    a platform always sees a regrade as newer."""
    changed_at = changed_at or utcnow()
    stamp = changed_at.replace(microsecond=changed_at.microsecond // 1000 * 1000)
    if previous is not None and stamp <= previous:
        stamp = previous + ONE_MS
    return stamp


@dataclass(frozen=True)
class _Skip:
    message: str
    outcome: str = SKIPPED
    grade: Decimal | None = None
    grade_max: Decimal | None = None


@dataclass(frozen=True)
class _Score:
    """A score that will be sent, as decided from the batch's data."""

    value: Decimal
    maximum: Decimal
    stamp: datetime

    def grade(self, target: _Target) -> Score:
        return ags_nrps.score(target.subject, float(self.value), float(self.maximum), self.stamp)


def _plan(batch: GradeBatch, target: _Target) -> _Skip | _Score:
    """5, in order: what this job will do."""
    resource = batch.resources[target.resource_id]
    if not target.endpoint.can_score:
        return _Skip(MSG_NO_SERVICE)
    if resource.unavailable:
        return _Skip(MSG_UNAVAILABLE)
    if not resource.grade_sync:
        return _Skip(MSG_SYNC_OFF)
    value, maximum, changed_at = batch.grade(target, resource)
    if resource.completion and not batch.complete(target, resource):
        return _Skip(MSG_ACTIVITY_INCOMPLETE if resource.target == TARGET_ACTIVITY else MSG_COURSE_INCOMPLETE,
                     grade=value, grade_max=maximum)
    if value is None:
        return _Skip(MSG_INVALID_GRADE, grade_max=maximum)
    if maximum is None or maximum <= 0:
        return _Skip(MSG_INVALID_MAX, grade=value, grade_max=maximum)
    if target.last_grade_sent is not None and value == target.last_grade_sent:
        return _Skip(MSG_SAME, UNCHANGED, grade=value, grade_max=maximum)
    return _Score(value, maximum, score_timestamp(changed_at, target.last_score_timestamp))


def push_grade(payload: dict[str, Any], batch: GradeBatch | None = None) -> JobOutcome:
    """The grade-push job for one (LTI user, resource link); appends one row to the sync log."""
    batch = batch or GradeBatch.load([payload])
    target = batch.target(payload)
    if target is None:
        return JobOutcome.done(MSG_GONE)
    plan = batch.plan(target)
    if isinstance(plan, _Skip):
        batch.send_next_ahead(target)
        _log(target, plan.outcome, plan.message, grade=plan.grade, grade_max=plan.grade_max)
        return JobOutcome.done(plan.message)
    found = None
    try:
        lineitem = batch.lineitem(target) or (found := _find_or_create(batch, target, plan))
        exchange, plan = _deliver(batch, target, plan, lineitem)
    except LineItemsNotGranted:
        _log(target, SKIPPED, MSG_NO_LINEITEMS, grade=plan.value, grade_max=plan.maximum)
        return JobOutcome.done(MSG_NO_LINEITEMS)
    except PlatformError as error:
        status = RETRY if error.retryable else FAILED
        message = f"{'Will retry' if error.retryable else 'Failed'} - {error.reason}"
        _log(target, status, message, grade=plan.value, grade_max=plan.maximum, http_status=error.status or None,
             excerpt=error.excerpt)
        return JobOutcome(status, error.reason, http_status=error.status or None, retry_after=error.retry_after)
    finally:
        if found:  # written once the platform calls are over: no write is held while a platform answers
            db.session.execute(update(ResourceLink).where(ResourceLink.id == target.link_id)
                               .values(cached_lineitem_url=found, updated_at=utcnow()))
    _MARK_SENT.execute(row_id=target.row_id, grade=plan.value, now=utcnow(), stamp=plan.stamp)
    target.last_grade_sent, target.last_score_timestamp = plan.value, plan.stamp
    message = MSG_SENT.format(grade=format_points(plan.value), max=format_points(plan.maximum))
    _log(target, SENT, message, grade=plan.value, grade_max=plan.maximum, http_status=exchange.status,
         excerpt=exchange.excerpt)
    return JobOutcome.done(message)


def _deliver(batch: GradeBatch, target: _Target, plan: _Score, lineitem: str) -> tuple[ags_nrps.Exchange, _Score]:
    """Send the score; returns the platform's answer and the score it accepted.

    A platform answers 409 when it already holds a score for this user with the same timestamp or a later one.
    That is what a resend meets after a worker died between the platform accepting the score and this job being
    recorded: the retry carries the same timestamp. The grade is still the current one, so it goes again stamped
    now (newer than anything sent before); only a refusal of that is reported."""
    try:
        return batch.send(target, plan, lineitem), plan
    except PlatformError as error:
        if error.status != CONFLICT:
            raise
    fresh = replace(plan, stamp=score_timestamp(utcnow(), plan.stamp))
    connector = batch.connector(target.registration_id)
    return ags_nrps.post_score(connector, target.endpoint, lineitem, fresh.grade(target)), fresh


def _find_or_create(batch: GradeBatch, target: _Target, plan: _Score) -> str:
    resource = batch.resources[target.resource_id]
    lineitem = ags_nrps.find_or_create_lineitem(
        batch.connector(target.registration_id), target.endpoint,
        ags_nrps.new_lineitem(resource.label, float(plan.maximum), resource.uuid or "", target.platform_link_id))
    batch.lineitems[target.link_id] = lineitem
    return lineitem
