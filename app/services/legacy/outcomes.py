"""Legacy grade sync: the outcome-push job body and the sweep / "Sync grades now" queueing.

Same triggers, completion gate, change detection and retries as AGS grade sync, and the same sync-log
messages; the request itself is a signed POX replaceResultRequest (app/lti/outcomes.py).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from app.extensions import db
from app.jobs.queue import FAILED, RETRY, JobOutcome, JobSpec, enqueue_many
from app.lti.legacy import launch as lti11
from app.lti.legacy import outcomes
from app.models import Activity, Grade, GradeSyncLog, LtiUser, PublishedResource
from app.models.base import utcnow
from app.models.tools import LTI_LEGACY, TARGET_ACTIVITY
from app.services.courses.completion import is_activity_complete, is_course_complete
from app.services.courses.gradebook import course_total, format_points
from app.services.legacy.outcome_jobs import outcome_spec
from app.services.sync.grades import (
    MSG_ACTIVITY_INCOMPLETE, MSG_COURSE_INCOMPLETE, MSG_GONE, MSG_INVALID_GRADE, MSG_INVALID_MAX, MSG_SAME,
    MSG_SENT, MSG_SYNC_OFF, MSG_UNAVAILABLE, SENT, SKIPPED, UNCHANGED,
)
from app.services.sync.queueing import current_grades

MSG_NO_URL = "Skipping - Empty serviceurl"
MSG_NO_SOURCEDID = "Skipping - Empty sourceid"


def _log(lti_user: LtiUser, outcome: str, message: str, *, grade: Decimal | None = None,
         grade_max: Decimal | None = None, http_status: int | None = None, excerpt: str | None = None) -> None:
    db.session.execute(insert(GradeSyncLog).values(
        published_resource_id=lti_user.published_resource_id, user_id=lti_user.user_id, resource_link_id=None,
        grade=grade, grade_max=grade_max, outcome=outcome, http_status=http_status,
        response_excerpt=(excerpt or None) and excerpt[:outcomes.EXCERPT], message=message, at=utcnow()))


def _skip(lti_user: LtiUser, message: str, outcome: str = SKIPPED, **values: Any) -> JobOutcome:
    _log(lti_user, outcome, message, **values)
    return JobOutcome.done(message)


def _grade(resource: PublishedResource, lti_user: LtiUser) -> tuple[Decimal | None, Decimal | None, bool]:
    """(grade, maximum, complete) from the activity, or the course total for a course resource."""
    user = lti_user.user
    if resource.target == TARGET_ACTIVITY:
        activity = db.session.get(Activity, resource.activity_id)
        grade = db.session.execute(db.select(Grade.value).where(
            Grade.activity_id == activity.id, Grade.user_id == user.id)).scalar()
        return grade, activity.max_grade, is_activity_complete(activity, user)
    course = resource.course
    return course_total(course, user), course.grade_max, is_course_complete(course, user)


def _secret(resource: PublishedResource, consumer_key: str) -> str:
    """The secret the launch was verified with: an LTI 2 consumer's own, else the resource's."""
    consumer = lti11.lti2_consumer(resource.id, consumer_key)
    return (consumer.secret if consumer is not None else resource.secret) or ""


def push_outcome(payload: dict[str, Any]) -> JobOutcome:
    """One outcome-push job: send this legacy user's current grade as a 0.0–1.0 score, if it changed."""
    lti_user = db.session.get(LtiUser, int(payload["lti_user_id"]))
    if lti_user is None:
        return JobOutcome.done(MSG_GONE)
    resource = lti_user.resource
    if not resource.enabled or resource.activity_deleted or resource.lti_version != LTI_LEGACY:
        return _skip(lti_user, MSG_UNAVAILABLE)
    if not resource.grade_sync:
        return _skip(lti_user, MSG_SYNC_OFF)
    if not lti_user.outcome_url:
        return _skip(lti_user, MSG_NO_URL)
    if not lti_user.result_sourcedid:
        return _skip(lti_user, MSG_NO_SOURCEDID)
    value, maximum, complete = _grade(resource, lti_user)
    if resource.grade_sync_completion and not complete:
        return _skip(lti_user, MSG_ACTIVITY_INCOMPLETE if resource.target == TARGET_ACTIVITY
                     else MSG_COURSE_INCOMPLETE, grade=value, grade_max=maximum)
    if value is None:
        return _skip(lti_user, MSG_INVALID_GRADE, grade_max=maximum)
    if maximum is None or maximum <= 0:
        return _skip(lti_user, MSG_INVALID_MAX, grade=value, grade_max=maximum)
    if lti_user.last_grade_sent is not None and value == lti_user.last_grade_sent:
        return _skip(lti_user, MSG_SAME, UNCHANGED, grade=value, grade_max=maximum)
    result = outcomes.send_replace_result(
        lti_user.outcome_url, lti_user.consumer_key or "", _secret(resource, lti_user.consumer_key or ""),
        lti_user.result_sourcedid, outcomes.score(value, maximum))
    if not result.sent:
        status = RETRY if result.retry else FAILED
        message = f"{'Will retry' if result.retry else 'Failed'} - {result.description}"
        _log(lti_user, status, message, grade=value, grade_max=maximum, http_status=result.http_status,
             excerpt=result.excerpt)
        return JobOutcome(status, result.description, http_status=result.http_status)
    lti_user.last_grade_sent, lti_user.last_sent_at = value, utcnow()
    message = MSG_SENT.format(grade=format_points(value), max=format_points(maximum))
    _log(lti_user, SENT, message, grade=value, grade_max=maximum, http_status=result.http_status,
         excerpt=result.excerpt)
    return JobOutcome.done(message)


def queue_outcome_pushes(resource_id: int | None = None, *, everything: bool = False) -> int:
    """Queue a push wherever a legacy user's current grade differs from the last one sent (the sweep), or for
    every legacy user with an outcome service (`everything`: "Sync grades now"). Returns new jobs queued."""
    query = db.select(PublishedResource).where(
        PublishedResource.lti_version == LTI_LEGACY, PublishedResource.enabled.is_(True),
        PublishedResource.grade_sync.is_(True))
    if resource_id is not None:
        query = query.where(PublishedResource.id == resource_id)
    specs: list[JobSpec] = []
    for resource in db.session.execute(query).scalars():
        if resource.activity_deleted:
            continue
        rows = db.session.execute(db.select(LtiUser.id, LtiUser.user_id, LtiUser.last_grade_sent).where(
            LtiUser.published_resource_id == resource.id, LtiUser.outcome_url.is_not(None),
            LtiUser.outcome_url != "", LtiUser.result_sourcedid.is_not(None),
            LtiUser.result_sourcedid != "")).all()
        if not rows:
            continue
        current = {} if everything else current_grades(resource, {row.user_id for row in rows})
        specs += [outcome_spec(row.id, resource.id, row.user_id) for row in rows
                  if everything or (current.get(row.user_id) is not None
                                    and current[row.user_id] != row.last_grade_sent)]
    return enqueue_many(specs, advance=everything, unless_running=not everything)
