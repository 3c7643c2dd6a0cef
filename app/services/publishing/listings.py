"""What the published-resource lists show: the course tabs and the site list, with enrolment counts, last
launches and the state of grade and user synchronisation."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Mapping

from sqlalchemy import Select, func, select

from app.extensions import db
from app.models import Course, Enrolment, GradeSyncLog, LtiUser, PlatformRegistration, PublishedResource, SyncJob
from app.models.jobs import JOB_DONE, JOB_FAILED, JOB_PENDING, JOB_RUNNING
from app.models.tools import LTI_ADVANTAGE, LTI_LEGACY

GRADE_JOB_KINDS = ("grade_push", "outcome_push")
MEMBER_JOB_KINDS = ("member_sync",)
PER_PAGE = 50


@dataclass(frozen=True)
class SyncState:
    grades: str
    users: str


def course_resources_query(course: Course, legacy: bool) -> Select:
    """One tab (LTI Advantage or Legacy) of a course's published resources, in creation order."""
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


SYNC_WAITING = "Waiting for the first launch"
SYNC_NOT_YET = "Not synced yet"


def _job_state(enabled: bool, counts: Mapping[str, int], launched: bool) -> str:
    """"OK" only once a sync has run: before that, say what it is waiting for."""
    if not enabled:
        return "Off"
    parts = [f"{counts[status]} {status}" for status in ("pending", "failed") if counts.get(status)]
    if parts:
        return ", ".join(parts)
    if counts.get("done"):
        return "OK"
    return SYNC_NOT_YET if launched else SYNC_WAITING


def sync_states(resources: Iterable[PublishedResource]) -> dict[int, SyncState]:
    """The Sync column: Off, OK, the pending/failed job counts of grade and user synchronisation, or what a
    resource that never synced is waiting for (its first launch, then its first sync)."""
    resources = list(resources)
    ids = [resource.id for resource in resources]
    rows = db.session.execute(
        select(SyncJob.published_resource_id, SyncJob.kind, SyncJob.status, func.count(SyncJob.id))
        .where(SyncJob.published_resource_id.in_(ids),
               SyncJob.status.in_((JOB_PENDING, JOB_RUNNING, JOB_FAILED, JOB_DONE)))
        .group_by(SyncJob.published_resource_id, SyncJob.kind, SyncJob.status)).all()
    counts: dict[tuple[int, str], dict[str, int]] = {}
    for resource_id, kind, status, count in rows:
        area = "grades" if kind in GRADE_JOB_KINDS else "users" if kind in MEMBER_JOB_KINDS else None
        if area is None:
            continue
        bucket = counts.setdefault((resource_id, area), {})
        # A running job has not finished yet.
        label = {JOB_FAILED: "failed", JOB_DONE: "done"}.get(status, "pending")
        bucket[label] = bucket.get(label, 0) + count
    # Done grade jobs are pruned after a while; the grade log keeps what was sent.
    for resource_id in db.session.scalars(select(GradeSyncLog.published_resource_id).distinct()
                                          .where(GradeSyncLog.published_resource_id.in_(ids))):
        bucket = counts.setdefault((resource_id, "grades"), {})
        bucket["done"] = bucket.get("done", 0) + 1
    launched = set(db.session.scalars(select(LtiUser.published_resource_id).distinct()
                                      .where(LtiUser.published_resource_id.in_(ids))))
    return {resource.id: SyncState(
        grades=_job_state(resource.grade_sync, counts.get((resource.id, "grades"), {}), resource.id in launched),
        users=_job_state(resource.member_sync, counts.get((resource.id, "users"), {}), resource.id in launched))
        for resource in resources}


def registration_choices() -> list[PlatformRegistration]:
    return list(db.session.scalars(select(PlatformRegistration)
                                   .order_by(PlatformRegistration.name, PlatformRegistration.id)))
