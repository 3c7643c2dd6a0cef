"""Sync jobs as admins see them (`lti jobs …`): the list with its filter, and Retry."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select

from app.extensions import db
from app.jobs import queue
from app.models import PublishedResource, SyncJob, User
from app.models.jobs import JOB_DONE, JOB_FAILED, JOB_PENDING, JOB_RUNNING
from app.services.errors import NotFound, ServiceError, ValidationErrors
from app.services.publishing.resources import resource_display_name

STATUS_LABELS = {JOB_PENDING: "Pending", JOB_RUNNING: "Running", JOB_DONE: "Done", JOB_FAILED: "Failed"}
KIND_LABELS = {queue.GRADE_PUSH: "Grade push", queue.OUTCOME_PUSH: "Outcome push", queue.MEMBER_SYNC: "Member sync"}
ALL = "all"
DEFAULT_STATUS = JOB_FAILED
PER_PAGE = 50
MSG_STATUS = "Choose Pending, Running, Done, Failed or all."
MSG_RUNNING = "This job is running; it can be retried once it has finished."


def job_not_found(job_id: int) -> NotFound:
    return NotFound(f"Sync job not found: {job_id}")


def parse_status(value: str | None) -> str | None:
    """A status filter from a form or the CLI; None means every status."""
    value = (value or DEFAULT_STATUS).strip().lower()
    if value == ALL:
        return None
    if value not in STATUS_LABELS:
        raise ValidationErrors({"status": MSG_STATUS})
    return value


def jobs_query(status: str | None) -> Select:
    query = db.select(SyncJob)
    if status is not None:
        query = query.where(SyncJob.status == status)
    return query.order_by(SyncJob.id.desc())


@dataclass(frozen=True)
class JobRow:
    job: SyncJob
    resource_name: str | None
    course_id: int | None
    username: str | None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.job.status, self.job.status)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.job.kind, self.job.kind)

    @property
    def next_attempt(self) -> datetime | None:
        return self.job.run_after if self.job.status == JOB_PENDING else None

    def as_dict(self) -> dict[str, Any]:
        job = self.job
        return {"id": job.id, "kind": job.kind, "resource_id": job.published_resource_id,
                "resource": self.resource_name, "user": self.username, "status": self.status_label,
                "attempts": job.attempts, "next_attempt": self.next_attempt, "last_error": job.last_error,
                "last_http_status": job.last_http_status}


def job_rows(jobs: list[SyncJob]) -> list[JobRow]:
    resources = {r.id: r for r in db.session.execute(db.select(PublishedResource).where(
        PublishedResource.id.in_({job.published_resource_id for job in jobs}))).scalars()}
    users = dict(db.session.execute(db.select(User.id, User.username).where(
        User.id.in_({job.user_id for job in jobs}))).all())
    rows = []
    for job in jobs:
        resource = resources.get(job.published_resource_id or 0)
        rows.append(JobRow(job, resource_display_name(resource) if resource else None,
                           resource.course_id if resource else None, users.get(job.user_id or 0)))
    return rows


def get_job(job_id: int) -> SyncJob:
    job = db.session.get(SyncJob, job_id)
    if job is None:
        raise job_not_found(job_id)
    return job


def retry_job(job: SyncJob) -> SyncJob:
    """Pending again, due now, attempts kept."""
    if job.status == JOB_RUNNING:
        raise ServiceError(MSG_RUNNING)
    return queue.retry(job)


def retry_all_failed(resource_id: int | None = None) -> int:
    return queue.retry_failed(resource_id)
