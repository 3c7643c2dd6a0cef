"""Which sync jobs to queue: the grade sweep, "Sync grades now" and member sync, for one resource or all."""
from __future__ import annotations

from decimal import Decimal

from app.extensions import db
from app.jobs.queue import GRADE_PUSH, MEMBER_SYNC, JobSpec, enqueue_many, grade_push_key, member_sync_key
from app.lti.ags_nrps import AgsEndpoint
from app.models import Grade, LtiUser, LtiUserResourceLink, PublishedResource, ResourceLink, User
from app.models.tools import LTI_ADVANTAGE, TARGET_ACTIVITY
from app.services.courses.gradebook import course_total, gradebook


def _grade_resources(resource_id: int | None) -> list[PublishedResource]:
    query = db.select(PublishedResource).where(
        PublishedResource.lti_version == LTI_ADVANTAGE, PublishedResource.enabled.is_(True),
        PublishedResource.grade_sync.is_(True))
    if resource_id is not None:
        query = query.where(PublishedResource.id == resource_id)
    return [resource for resource in db.session.execute(query).scalars() if not resource.activity_deleted]


def current_grades(resource: PublishedResource, user_ids: set[int]) -> dict[int, Decimal | None]:
    """What each user's grade for this resource is now (activity grade, or course total)."""
    if resource.target == TARGET_ACTIVITY:
        rows = db.session.execute(db.select(Grade.user_id, Grade.value).where(
            Grade.activity_id == resource.activity_id, Grade.user_id.in_(user_ids))).all()
        return {user_id: value for user_id, value in rows}
    _activities, rows = gradebook(resource.course)
    totals = {row.user.id: row.total for row in rows if row.user.id in user_ids}
    for user_id in user_ids - totals.keys():  # not a student (gradebook rows are students only)
        user = db.session.get(User, user_id)
        totals[user_id] = course_total(resource.course, user) if user is not None else None
    return totals


def queue_grade_pushes(resource_id: int | None = None, *, everything: bool = False) -> int:
    """Queue a grade push wherever the current grade differs from the last one sent (the sweep), or, with
    `everything`, for every linked user with a grade service ("Sync grades now"). Returns new jobs queued."""
    specs: list[JobSpec] = []
    for resource in _grade_resources(resource_id):
        rows = db.session.execute(
            db.select(LtiUserResourceLink.lti_user_id, LtiUserResourceLink.resource_link_id,
                      LtiUserResourceLink.last_grade_sent, LtiUser.user_id, ResourceLink.ags_lineitems_url,
                      ResourceLink.ags_lineitem_url, ResourceLink.ags_scopes)
            .join(LtiUser, LtiUser.id == LtiUserResourceLink.lti_user_id)
            .join(ResourceLink, ResourceLink.id == LtiUserResourceLink.resource_link_id)
            .where(ResourceLink.published_resource_id == resource.id)).all()
        rows = [row for row in rows if AgsEndpoint(row.ags_lineitems_url, row.ags_lineitem_url,
                                                   tuple(row.ags_scopes or ())).can_score]
        if not rows:
            continue
        current = {} if everything else current_grades(resource, {row.user_id for row in rows})
        for row in rows:
            grade = current.get(row.user_id)
            if everything or (grade is not None and grade != row.last_grade_sent):
                specs.append(JobSpec(GRADE_PUSH, grade_push_key(row.lti_user_id, row.resource_link_id),
                                     {"lti_user_id": row.lti_user_id, "resource_link_id": row.resource_link_id},
                                     resource.id, row.user_id))
    return enqueue_many(specs, advance=everything, unless_running=not everything)


def queue_member_syncs(resource_id: int | None = None) -> int:
    """One member-sync job per enabled resource with user synchronisation on, LTI Advantage or legacy
    (the job handler picks the roster protocol by the resource's version). A sweep (no resource named) leaves a
    running sync alone; "Sync now" for one resource queues its successor."""
    query = db.select(PublishedResource.id).where(
        PublishedResource.enabled.is_(True), PublishedResource.member_sync.is_(True))
    if resource_id is not None:
        query = query.where(PublishedResource.id == resource_id)
    ids = list(db.session.execute(query).scalars())
    return enqueue_many([JobSpec(MEMBER_SYNC, member_sync_key(rid), {"resource_id": rid}, rid, None)
                         for rid in ids], advance=resource_id is not None, unless_running=resource_id is None)
