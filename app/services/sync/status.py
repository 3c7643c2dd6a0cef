"""What the sync status page shows: the grade and user panels, the per-user table, and whether a
worker is running. Reads only; "Sync now" is `queueing.queue_grade_pushes` / `queueing.queue_member_syncs`."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_

from app.extensions import db
from app.jobs.queue import GRADE_PUSH, MEMBER_SYNC, OUTCOME_PUSH, grade_push_key
from app.models import (
    GradeSyncLog, LtiContext, LtiUser, LtiUserResourceLink, PublishedResource, ResourceLink, ScheduledRun, SyncJob,
    User,
)
from app.models.base import utcnow
from app.models.jobs import JOB_FAILED, JOB_PENDING, JOB_RUNNING
from app.services.legacy.outcome_jobs import outcome_push_key
from app.services.sync.grades import SENT, SKIPPED, UNCHANGED

HEARTBEAT_LIMIT = timedelta(minutes=5)
GRADE_KINDS = (GRADE_PUSH, OUTCOME_PUSH)
PER_PAGE = 50

FILTER_SENT = "sent"
FILTER_UNCHANGED = "unchanged"
FILTER_SKIPPED = "skipped"
FILTER_PENDING = "pending"
FILTER_FAILED = "failed"
FILTER_NEVER = "never"
FILTERS = {FILTER_SENT: "Sent", FILTER_UNCHANGED: "Not sent - same grade", FILTER_SKIPPED: "Skipped",
           FILTER_PENDING: "Pending", FILTER_FAILED: "Failed", FILTER_NEVER: "Not synchronised yet"}


def worker_silence_minutes(now: datetime | None = None) -> int | None:
    """Minutes since the last worker heartbeat when that is over 5 minutes (or never), else None."""
    now = now or utcnow()
    beat = db.session.execute(db.select(func.max(ScheduledRun.heartbeat_at))).scalar()
    if beat is not None and now - beat <= HEARTBEAT_LIMIT:
        return None
    if beat is None:
        return int(HEARTBEAT_LIMIT.total_seconds() // 60)
    return int((now - beat).total_seconds() // 60)


@dataclass
class GradePanel:
    enabled: bool
    last_run: datetime | None
    counts: dict[str, int]


@dataclass
class UserPanel:
    enabled: bool
    last_run: datetime | None
    enrolled: int
    unenrolled: int
    skipped: int
    last_error: str | None
    summary: str | None
    messages: list[str] = field(default_factory=list)
    pending: bool = False


@dataclass
class UserRow:
    """One (LTI user, resource link): what was last sent and what happened last."""

    user: User
    link_title: str
    grade_sent: Decimal | None
    grade_max: Decimal | None
    status: str
    kind: str
    when: datetime | None
    http_status: int | None
    response: str | None
    job_id: int | None = None
    retry_at: datetime | None = None
    attempts: int = 0


def _link_title(context_title: str | None, link_title: str | None) -> str:
    parts = [part for part in (context_title, link_title) if part]
    return " / ".join(parts) or "-"


def _status(job: SyncJob | None, log: GradeSyncLog | None) -> tuple[str, str]:
    if job is not None and job.status in (JOB_PENDING, JOB_RUNNING):
        return (f"Pending retry {job.attempts}" if job.attempts else "Pending"), FILTER_PENDING
    if job is not None and job.status == JOB_FAILED:
        return "Failed", FILTER_FAILED
    if log is None:
        return FILTERS[FILTER_NEVER], FILTER_NEVER
    if log.outcome == SENT:
        return "Sent", FILTER_SENT
    if log.outcome == UNCHANGED:
        return "Not sent - same grade", FILTER_UNCHANGED
    if log.outcome == SKIPPED:
        reason = (log.message or "").split(" - ", 1)[-1]
        return f"Skipped - {reason}", FILTER_SKIPPED
    return "Failed", FILTER_FAILED  # a failure whose job has since been settled


def user_rows(resource: PublishedResource) -> list[UserRow]:
    """Every LTI user × resource link of the resource, by name, with its latest log entry and open job."""
    links = db.session.execute(
        db.select(LtiUserResourceLink, LtiUser, User, ResourceLink.title, LtiContext.title)
        .join(LtiUser, LtiUser.id == LtiUserResourceLink.lti_user_id)
        .join(User, User.id == LtiUser.user_id)
        .join(ResourceLink, ResourceLink.id == LtiUserResourceLink.resource_link_id)
        .outerjoin(LtiContext, LtiContext.id == ResourceLink.lti_context_id)
        .where(LtiUser.published_resource_id == resource.id)
        .order_by(User.last_name, User.first_name, User.username, ResourceLink.id)).all()
    latest = db.select(func.max(GradeSyncLog.id)).where(GradeSyncLog.published_resource_id == resource.id) \
        .group_by(GradeSyncLog.user_id, GradeSyncLog.resource_link_id)
    logs = {(log.user_id, log.resource_link_id): log for log in db.session.execute(
        db.select(GradeSyncLog).where(GradeSyncLog.id.in_(latest))).scalars()}
    jobs: dict[str, SyncJob] = {}
    for job in db.session.execute(db.select(SyncJob).where(
            SyncJob.published_resource_id == resource.id, SyncJob.kind.in_(GRADE_KINDS),
            SyncJob.status.in_((JOB_PENDING, JOB_RUNNING, JOB_FAILED))).order_by(SyncJob.id)).scalars():
        if job.dedupe_key not in jobs or job.status != JOB_FAILED:  # an open job outranks an older failure
            jobs[job.dedupe_key] = job
    rows = [_row(user, _link_title(context_title, link_title), link_row.last_grade_sent,
                 logs.get((user.id, link_row.resource_link_id)),
                 jobs.get(grade_push_key(lti_user.id, link_row.resource_link_id)))
            for link_row, lti_user, user, link_title, context_title in links]
    # Legacy (Basic Outcomes) users have no resource link: one row per LTI user with an outcome service.
    legacy = db.session.execute(
        db.select(LtiUser, User).join(User, User.id == LtiUser.user_id)
        .where(LtiUser.published_resource_id == resource.id, LtiUser.outcome_url.is_not(None))
        .order_by(User.last_name, User.first_name, User.username)).all() if resource.is_legacy else []
    rows += [_row(user, lti_user.context_id or "-", lti_user.last_grade_sent, logs.get((user.id, None)),
                  jobs.get(outcome_push_key(lti_user.id))) for lti_user, user in legacy]
    return rows


def _row(user: User, link_title: str, grade_sent: Decimal | None, log: GradeSyncLog | None,
         job: SyncJob | None) -> UserRow:
    status, kind = _status(job, log)
    return UserRow(
        user=user, link_title=link_title, grade_sent=grade_sent,
        grade_max=log.grade_max if log else None, status=status, kind=kind, when=log.at if log else None,
        http_status=log.http_status if log else None, response=log.response_excerpt if log else None,
        job_id=job.id if job is not None else None,
        retry_at=job.run_after if job is not None and kind == FILTER_PENDING and job.attempts else None,
        attempts=job.attempts if job is not None else 0)


def filter_rows(rows: list[UserRow], status: str | None, search: str | None) -> list[UserRow]:
    needle = (search or "").strip().lower()
    return [row for row in rows if (not status or row.kind == status) and (
        not needle or any(needle in (value or "").lower() for value in (
            row.user.username, row.user.first_name, row.user.last_name, row.user.full_name, row.user.email)))]


def grade_panel(resource: PublishedResource, rows: list[UserRow]) -> GradePanel:
    last_run = db.session.execute(db.select(func.max(GradeSyncLog.at)).where(
        GradeSyncLog.published_resource_id == resource.id)).scalar()
    counts = {name: sum(1 for row in rows if row.kind == kind) for name, kind in (
        ("Sent", FILTER_SENT), ("Not changed", FILTER_UNCHANGED), ("Pending", FILTER_PENDING),
        ("Failed", FILTER_FAILED))}
    return GradePanel(enabled=resource.grade_sync, last_run=last_run, counts=counts)


def user_panel(resource: PublishedResource) -> UserPanel:
    """The latest member-sync run that reported anything, and whether another one is queued."""
    jobs = db.select(SyncJob).where(SyncJob.published_resource_id == resource.id, SyncJob.kind == MEMBER_SYNC)
    last = db.session.execute(jobs.where(or_(SyncJob.result.is_not(None), SyncJob.last_error.is_not(None)))
                              .order_by(SyncJob.id.desc()).limit(1)).scalar()
    pending = db.session.execute(jobs.where(SyncJob.status.in_((JOB_PENDING, JOB_RUNNING))).limit(1)).scalar()
    result: dict[str, Any] = (last.result or {}) if last is not None else {}
    return UserPanel(
        enabled=resource.member_sync, last_run=(last.finished_at or last.updated_at) if last else None,
        enrolled=int(result.get("enrolled", 0)), unenrolled=int(result.get("unenrolled", 0)),
        skipped=int(result.get("skipped", 0)), last_error=last.last_error if last else None,
        summary=result.get("message"), messages=list(result.get("messages", [])), pending=pending is not None)
