"""The grade-change hook: called by `gradebook.record_grade` in the grade's own transaction,
so a grade push exists exactly when the grade change was committed.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy import or_

from app.extensions import db
from app.jobs.queue import GRADE_PUSH, JobSpec, enqueue_many, grade_push_key
from app.models import Activity, LtiUser, LtiUserResourceLink, PublishedResource, User
from app.models.tools import LTI_ADVANTAGE, LTI_LEGACY, TARGET_ACTIVITY, TARGET_COURSE
from app.services.legacy.outcome_jobs import outcome_jobs


def _ags_jobs(resources: list[PublishedResource], user: User) -> list[JobSpec]:
    """One grade push per resource link the user came in through, for each LTI Advantage resource."""
    rows = db.session.execute(
        db.select(LtiUserResourceLink.lti_user_id, LtiUserResourceLink.resource_link_id,
                  LtiUser.published_resource_id)
        .join(LtiUser, LtiUser.id == LtiUserResourceLink.lti_user_id)
        .where(LtiUser.user_id == user.id,
               LtiUser.published_resource_id.in_([resource.id for resource in resources]))).all()
    return [JobSpec(GRADE_PUSH, grade_push_key(row.lti_user_id, row.resource_link_id),
                    {"lti_user_id": row.lti_user_id, "resource_link_id": row.resource_link_id},
                    row.published_resource_id, user.id)
            for row in rows]


# Each LTI version queues its own kind of job: AGS grade pushes, or Basic Outcomes pushes for legacy.
JOB_BUILDERS: dict[str, Callable[[list[PublishedResource], User], list[JobSpec]]] = {
    LTI_ADVANTAGE: _ags_jobs, LTI_LEGACY: outcome_jobs}


def affected_resources(activity: Activity) -> list[PublishedResource]:
    """Enabled resources with grade sync whose grade this activity's grade feeds: the activity itself, or
    its course (through the course total)."""
    return list(db.session.execute(db.select(PublishedResource).where(
        PublishedResource.enabled.is_(True), PublishedResource.grade_sync.is_(True),
        or_((PublishedResource.target == TARGET_ACTIVITY) & (PublishedResource.activity_id == activity.id),
            (PublishedResource.target == TARGET_COURSE) & (PublishedResource.course_id == activity.course_id)))
    ).scalars())


def grade_changed(activity: Activity, user: User) -> int:
    """Queue grade pushes for every resource this grade change affects; returns how many were newly queued."""
    by_version: dict[str, list[PublishedResource]] = {}
    for resource in affected_resources(activity):
        by_version.setdefault(resource.lti_version, []).append(resource)
    specs = [spec for version, resources in by_version.items() if version in JOB_BUILDERS
             for spec in JOB_BUILDERS[version](resources, user)]
    return enqueue_many(specs)
