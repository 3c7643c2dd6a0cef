"""Which Basic Outcomes pushes a grade change queues: one per legacy LTI user with an outcome
service. Kept apart from the job body so the gradebook's grade-change hook can import it without a cycle."""
from __future__ import annotations

from app.extensions import db
from app.jobs.queue import OUTCOME_PUSH, JobSpec
from app.models import LtiUser, PublishedResource, User


def outcome_push_key(lti_user_id: int) -> str:
    return f"{OUTCOME_PUSH}:{lti_user_id}"


def outcome_spec(lti_user_id: int, resource_id: int, user_id: int) -> JobSpec:
    return JobSpec(OUTCOME_PUSH, outcome_push_key(lti_user_id), {"lti_user_id": lti_user_id}, resource_id, user_id)


def outcome_jobs(resources: list[PublishedResource], user: User) -> list[JobSpec]:
    """The grade-change hook's builder for legacy resources: users the LMS gave an outcome URL and sourcedid."""
    rows = db.session.execute(db.select(LtiUser.id, LtiUser.published_resource_id).where(
        LtiUser.user_id == user.id, LtiUser.published_resource_id.in_([resource.id for resource in resources]),
        LtiUser.outcome_url.is_not(None), LtiUser.outcome_url != "", LtiUser.result_sourcedid.is_not(None),
        LtiUser.result_sourcedid != "")).all()
    return [outcome_spec(row.id, row.published_resource_id, user.id) for row in rows]
