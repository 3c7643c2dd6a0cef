"""The durable outbox: jobs are rows written in the caller's transaction, so a job exists exactly when its cause
was committed. Imports models only; services call it, the worker drains it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import exists, text
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import SyncJob
from app.models.base import conflict_insert, utcnow
from app.models.jobs import JOB_DONE, JOB_FAILED, JOB_PENDING, JOB_RUNNING

GRADE_PUSH = "grade_push"
OUTCOME_PUSH = "outcome_push"
MEMBER_SYNC = "member_sync"

CHUNK = 500  # ids per IN (...) list, well under SQLite's bound-parameter limit

DONE = "done"
RETRY = "retry"
FAILED = "failed"


@dataclass(frozen=True)
class JobOutcome:
    """What a job body reports back to the worker.

    `retry`: the platform was unreachable or busy (408, 429, 5xx, timeouts) — try again after a back-off, or
    after `retry_after` seconds when the platform said so. `failed`: retrying will not help until someone acts.
    """

    status: str
    message: str = ""
    http_status: int | None = None
    retry_after: float | None = None
    result: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def done(cls, message: str = "", **result: Any) -> "JobOutcome":
        return cls(DONE, message, result=result)


@dataclass(frozen=True)
class JobSpec:
    kind: str
    dedupe_key: str
    payload: dict[str, Any]
    resource_id: int | None
    user_id: int | None


def grade_push_key(lti_user_id: int, resource_link_id: int) -> str:
    return f"{GRADE_PUSH}:{lti_user_id}:{resource_link_id}"


def member_sync_key(resource_id: int) -> str:
    return f"{MEMBER_SYNC}:{resource_id}"


def pending_job(dedupe_key: str) -> SyncJob | None:
    return db.session.execute(db.select(SyncJob).where(
        SyncJob.dedupe_key == dedupe_key, SyncJob.status == JOB_PENDING)).scalar_one_or_none()


def enqueue(kind: str, dedupe_key: str, payload: dict[str, Any], *, resource_id: int | None,
            user_id: int | None, run_after: datetime | None = None) -> SyncJob:
    """Queue work in the caller's transaction; a pending job with the same key is reused, not duplicated.

    A reused job keeps its place unless this request wants it sooner (a "Sync now" pulls a backed-off job
    forward). A job that is running may get one pending successor: the work it is doing may already be stale.
    """
    when = run_after or utcnow()
    job = pending_job(dedupe_key)
    while job is None:
        _insert_new([_row(JobSpec(kind, dedupe_key, payload, resource_id, user_id), when)])
        job = pending_job(dedupe_key)  # ours, or the one another process committed a moment earlier
    if when < job.run_after:
        job.run_after = when
        db.session.flush()
    return job


def _row(spec: JobSpec, when: datetime) -> dict[str, Any]:
    now = utcnow()
    return {"kind": spec.kind, "dedupe_key": spec.dedupe_key, "payload": spec.payload, "status": JOB_PENDING,
            "attempts": 0, "run_after": when, "published_resource_id": spec.resource_id, "user_id": spec.user_id,
            "created_at": now, "updated_at": now}


def _insert_new(rows: list[dict[str, Any]]) -> None:
    """Leaves an already pending key alone: the partial unique index settles races, not a prior SELECT."""
    # The index's own predicate, inlined: a bound parameter would rule out executemany.
    db.session.execute(conflict_insert(SyncJob).on_conflict_do_nothing(
        index_elements=[SyncJob.dedupe_key], index_where=text(f"status = '{JOB_PENDING}'")), rows)


def enqueue_many(specs: Iterable[JobSpec], *, run_after: datetime | None = None, advance: bool = False,
                 unless_running: bool = False) -> int:
    """Queue many jobs at once (sweeps, "Sync now"); keys already pending are reused. Returns the new jobs' count.

    `advance` also pulls already pending jobs forward to `run_after` (someone asked for a sync now).
    `unless_running` (a sweep) also leaves alone a key whose job is running: that job may be sending the very
    value the sweep found unsent, and a successor another worker claimed meanwhile would send it a second time.
    Whatever the running job leaves unsent, the next sweep finds (a lapsed one goes back to pending by itself).
    """
    when = run_after or utcnow()
    specs = list({spec.dedupe_key: spec for spec in specs}.values())
    keys = [spec.dedupe_key for spec in specs]
    taken = [JOB_PENDING, JOB_RUNNING] if unless_running else [JOB_PENDING]
    taken_keys: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        taken_keys.update(db.session.execute(db.select(SyncJob.dedupe_key).where(
            SyncJob.status.in_(taken), SyncJob.dedupe_key.in_(chunk))).scalars())
        if advance:
            db.session.execute(db.update(SyncJob).where(
                SyncJob.status == JOB_PENDING, SyncJob.dedupe_key.in_(chunk), SyncJob.run_after > when)
                .values(run_after=when).execution_options(synchronize_session=False))
    rows = [_row(spec, when) for spec in specs if spec.dedupe_key not in taken_keys]
    if rows:
        _insert_new(rows)
    return len(rows)


def pending_twin(job_id: int, dedupe_key: str):
    """A pending job for the same work (other than this one): the partial unique index allows only one."""
    twin = aliased(SyncJob)
    return exists().where(twin.dedupe_key == dedupe_key, twin.status == JOB_PENDING, twin.id != job_id)


def superseded_note(by: int | None = None) -> str:
    return f"Superseded by job {by}." if by else "Superseded by a newer job for the same work."


def retry(job: SyncJob) -> SyncJob:
    """The admin's "Retry": Pending and due now, attempts kept. If the same work is already queued again, that
    job is made due now instead and this one is settled."""
    now = utcnow()
    twin = db.session.execute(db.select(SyncJob).where(
        SyncJob.dedupe_key == job.dedupe_key, SyncJob.status == JOB_PENDING, SyncJob.id != job.id)).scalar()
    if job.status == JOB_PENDING:
        job.run_after = now
    elif twin is not None:
        twin.run_after = now
        job.status, job.finished_at, job.last_error = JOB_DONE, job.finished_at or now, superseded_note(twin.id)
        job = twin
    elif job.status in (JOB_FAILED, JOB_DONE):
        job.status, job.run_after, job.finished_at = JOB_PENDING, now, None
        job.locked_by = job.locked_until = None
    db.session.flush()
    return job


def retry_failed(resource_id: int | None = None) -> int:
    """"Retry all failed": every failed job (of one resource, when given) back to Pending, due now."""
    query = db.select(SyncJob).where(SyncJob.status == JOB_FAILED)
    if resource_id is not None:
        query = query.where(SyncJob.published_resource_id == resource_id)
    jobs = list(db.session.execute(query.order_by(SyncJob.id.desc())).scalars())
    for job in jobs:
        if job.status == JOB_FAILED:  # an earlier retry in this loop may have settled it
            retry(job)
    return len(jobs)
