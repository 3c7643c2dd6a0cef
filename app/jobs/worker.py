"""Draining the outbox. Runs in `flask --app wsgi lti worker` or `lti sync …`, never in a web worker.

Safe with several workers on one database: a job is claimed by a conditional UPDATE and only the process whose
UPDATE touched the row runs it; a running job whose lock expired (its worker was killed) goes back to pending;
each job's result is committed on its own.
"""
from __future__ import annotations

import logging
import os
import random
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from app.extensions import db
from app.jobs import sweeps
from app.jobs.handlers import HANDLERS, Handler
from app.jobs.queue import DONE, FAILED, RETRY, JobOutcome, pending_twin, superseded_note
from app.models import SyncJob
from app.models.base import utcnow
from app.models.jobs import JOB_DONE, JOB_FAILED, JOB_PENDING, JOB_RUNNING
from app.models.queries.jobs import (
    CLAIM as _CLAIM, CLAIM_MANY as _CLAIM_MANY, CLAIM_MANY_SKIP_LOCKED as _CLAIM_MANY_SKIP_LOCKED, FINISH as _FINISH,
)

LOCK = timedelta(minutes=5)
LOCK_RENEW_AFTER = timedelta(minutes=1)
MAX_ATTEMPTS = 12
BASE_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=6)
JITTER = 0.10
POLL_SECONDS = 5.0
SWITCH_INTERVAL = 0.0005
MSG_WORKER_STOPPED = "The worker running this job stopped before it finished."

log = logging.getLogger("courseport.jobs")


@contextmanager
def pipelined() -> Iterator[None]:
    """For a worker process: a member sync reads the next roster pages on a helper thread while this one plans
    the current page. A short GIL switch interval lets the helper pick up each response at once rather than up
    to 5 ms later. Restored afterwards, since it is process-wide. (Grade pushes use no second thread.)"""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def worker_name() -> str:
    """Unique per thread, so two workers in one process (the tests, JOBS_INLINE) never share a lock."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:100]


def backoff(failed_before: int, rng: random.Random | None = None) -> timedelta:
    """min(2^n × 1 min, 6 h) after the (n+1)th failure, ±10 % so many jobs failing together spread out."""
    delay = min(BASE_DELAY * (2 ** min(failed_before, 20)), MAX_DELAY)
    return delay * (rng or random).uniform(1 - JITTER, 1 + JITTER)


@dataclass(frozen=True)
class _Job:
    """A due job as plain values: commits between jobs expire ORM rows."""

    id: int
    kind: str
    dedupe_key: str
    payload: dict[str, Any]
    attempts: int


@dataclass
class RunStats:
    done: int = 0
    retried: int = 0
    failed: int = 0
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def processed(self) -> int:
        return self.done + self.retried + self.failed

    def add(self, kind: str, status: str) -> None:
        name = {JOB_DONE: "done", JOB_PENDING: "retried", JOB_FAILED: "failed"}[status]
        setattr(self, name, getattr(self, name) + 1)
        counts = self.by_kind.setdefault(kind, {"done": 0, "retried": 0, "failed": 0})
        counts[name] += 1

    def merge(self, other: "RunStats") -> None:
        self.done, self.retried, self.failed = (self.done + other.done, self.retried + other.retried,
                                                self.failed + other.failed)
        for kind, counts in other.by_kind.items():
            mine = self.by_kind.setdefault(kind, {"done": 0, "retried": 0, "failed": 0})
            for name, count in counts.items():
                mine[name] += count

    def as_dict(self) -> dict[str, Any]:
        return {"processed": self.processed, "done": self.done, "retried": self.retried, "failed": self.failed,
                "by_kind": self.by_kind}


def release_expired(now: datetime | None = None) -> int:
    """Running jobs whose lock expired go back to pending (a killed worker loses nothing). The interrupted
    run counts as an attempt, so a job that kills its worker every time ends up Failed, not looping."""
    now = now or utcnow()
    rows = db.session.execute(db.select(SyncJob.id, SyncJob.dedupe_key, SyncJob.attempts).where(
        SyncJob.status == JOB_RUNNING, SyncJob.locked_until < now)).all()
    for job_id, dedupe_key, attempts in rows:
        still_expired = (SyncJob.id == job_id, SyncJob.status == JOB_RUNNING, SyncJob.locked_until < now)
        common = {"locked_by": None, "locked_until": None, "attempts": attempts + 1, "last_error": MSG_WORKER_STOPPED,
                  "updated_at": now}
        if attempts + 1 >= MAX_ATTEMPTS:
            db.session.execute(update(SyncJob).where(*still_expired).values(
                status=JOB_FAILED, finished_at=now, **common))
            continue
        requeued = db.session.execute(update(SyncJob).where(*still_expired, ~pending_twin(job_id, dedupe_key))
                                      .values(status=JOB_PENDING, run_after=now, **common)).rowcount
        if not requeued:  # a newer job for the same work is already queued and will do it
            db.session.execute(update(SyncJob).where(*still_expired).values(
                status=JOB_DONE, finished_at=now, **{**common, "last_error": superseded_note()}))
    return len(rows)


def _due(kinds: Iterable[str] | None, resource_id: int | None, limit: int, now: datetime) -> list[_Job]:
    query = db.select(SyncJob.id, SyncJob.kind, SyncJob.dedupe_key, SyncJob.payload, SyncJob.attempts).where(
        SyncJob.status == JOB_PENDING, SyncJob.run_after <= now)
    if kinds is not None:
        query = query.where(SyncJob.kind.in_(list(kinds)))
    if resource_id is not None:
        query = query.where(SyncJob.published_resource_id == resource_id)
    # PostgreSQL: jobs another worker is about to claim are skipped, so two workers take different jobs instead
    # of one waiting for the other's claim and then finding nothing left (SQLite ignores the clause).
    query = query.order_by(SyncJob.run_after, SyncJob.id).limit(limit).with_for_update(skip_locked=True)
    rows = db.session.execute(query).all()
    return [_Job(row.id, row.kind, row.dedupe_key, dict(row.payload or {}), row.attempts) for row in rows]


def _batches(jobs: list[_Job], room: int) -> list[tuple[str, list[_Job]]]:
    """Consecutive runs of one kind, each at most its handler's batch size and all within `room` jobs."""
    by_kind: dict[str, list[_Job]] = {}
    for job in jobs[:room]:
        by_kind.setdefault(job.kind, []).append(job)
    batches = []
    for kind, group in by_kind.items():
        size = HANDLERS[kind].batch_size if kind in HANDLERS else 1
        batches.extend((kind, group[start:start + size]) for start in range(0, len(group), size))
    return batches


def claim(job_id: int, me: str, now: datetime | None = None) -> bool:
    """Atomic: only the process whose UPDATE changed the row runs the job."""
    now = now or utcnow()
    return _CLAIM.execute(job_id=job_id, me=me, until=now + LOCK, now=now) == 1


def claim_many(job_ids: list[int], me: str, now: datetime | None = None) -> set[int]:
    """Claim several pending jobs at once; returns the ids this worker won (atomic per row, as `claim`)."""
    now = now or utcnow()
    dialect = db.session.get_bind().dialect
    if not dialect.update_returning:
        return {job_id for job_id in job_ids if claim(job_id, me, now)}
    statement = _CLAIM_MANY_SKIP_LOCKED if dialect.name == "postgresql" else _CLAIM_MANY
    return {row[0] for row in statement.rows(job_ids=job_ids, me=me, until=now + LOCK, now=now)}


class _Lease:
    """A claimed batch's locks: renewed as the batch progresses, so a slow platform never lets them lapse."""

    def __init__(self, job_ids: list[int], me: str) -> None:
        self.waiting = list(job_ids)
        self.me = me
        self.renewed_at = utcnow()

    def next(self) -> int:
        return self.waiting.pop(0)

    def renew(self, *, force: bool = False) -> None:
        now = utcnow()
        if self.waiting and (force or now - self.renewed_at >= LOCK_RENEW_AFTER):
            db.session.execute(update(SyncJob).where(
                SyncJob.id.in_(self.waiting), SyncJob.locked_by == self.me, SyncJob.status == JOB_RUNNING)
                .values(locked_until=now + LOCK))
            self.renewed_at = now


@dataclass
class _JobLease:
    """Handed to a job body: `checkpoint()` commits what it wrote so far and keeps its own lock alive."""

    job_id: int
    batch: _Lease

    renewed_at: datetime = field(default_factory=utcnow)

    def checkpoint(self) -> None:
        now = utcnow()
        db.session.execute(update(SyncJob).where(SyncJob.id == self.job_id, SyncJob.locked_by == self.batch.me)
                           .values(locked_until=now + LOCK))
        self.batch.renew()
        db.session.commit()
        self.renewed_at = now

    def keep_alive(self) -> None:
        if utcnow() - self.renewed_at >= LOCK_RENEW_AFTER:
            self.checkpoint()


def _finish(job: _Job, outcome: JobOutcome, me: str, *, failed_twins: bool = True) -> str:
    """Record the outcome; returns the job's new status. `failed_twins` False: the caller knows no failed job
    for the same work exists, so there is nothing older to settle."""
    now = utcnow()
    attempts = job.attempts + 1
    result = {**outcome.result, "message": outcome.message} if outcome.message or outcome.result else None
    status = outcome.status
    if status == RETRY and attempts >= MAX_ATTEMPTS:
        status = FAILED
    error = outcome.message if status != DONE else None
    if status == RETRY:
        delay = (timedelta(seconds=outcome.retry_after) if outcome.retry_after is not None
                 else backoff(job.attempts))
        requeued = db.session.execute(update(SyncJob).where(
            SyncJob.id == job.id, SyncJob.locked_by == me, ~pending_twin(job.id, job.dedupe_key)).values(
            status=JOB_PENDING, run_after=now + min(delay, MAX_DELAY), last_error=error, attempts=attempts,
            locked_by=None, locked_until=None, last_http_status=outcome.http_status, result=result,
            updated_at=now)).rowcount
        if requeued:
            return JOB_PENDING
        status = DONE  # a newer job for the same work is queued: it will retry in this one's place
        error = f"{outcome.message} ({superseded_note()})"
    final = JOB_FAILED if status == FAILED else JOB_DONE
    changed = _FINISH.execute(job_id=job.id, me=me, new_status=final, now=now, new_attempts=attempts,
                              http_status=outcome.http_status, error=error, new_result=result)
    if not changed:
        log.warning("job %s finished after its lock was taken over; its result was not recorded", job.id)
    elif failed_twins:
        # Older failures of the same work are settled by this newer run (sent, or failed again more recently).
        db.session.execute(update(SyncJob).where(
            SyncJob.dedupe_key == job.dedupe_key, SyncJob.status == JOB_FAILED, SyncJob.id != job.id)
            .values(status=JOB_DONE, last_error=superseded_note(job.id), updated_at=now))
    return final


def _failed_keys(jobs: list[_Job]) -> set[str]:
    return set(db.session.execute(db.select(SyncJob.dedupe_key).where(
        SyncJob.status == JOB_FAILED, SyncJob.dedupe_key.in_([job.dedupe_key for job in jobs]))).scalars())


def _run_batch(kind: str, jobs: list[_Job], me: str, stats: RunStats) -> None:
    handler: Handler | None = HANDLERS.get(kind)
    lease = _Lease([job.id for job in jobs], me)
    failed = _failed_keys(jobs)
    batch = None
    if handler is not None and handler.prepare is not None:
        try:
            batch = handler.prepare([job.payload for job in jobs])
        except Exception:  # noqa: BLE001 - each job then reports it and is retried
            log.exception("preparing %d %s jobs failed", len(jobs), kind)
            db.session.rollback()
            batch = None
    for job in jobs:
        lease.next()
        if handler is None:
            outcome = JobOutcome(FAILED, f"No handler for jobs of kind {kind}.")
        else:
            try:
                outcome = handler.run(job.payload, batch, _JobLease(job.id, lease))
            except Exception as error:  # noqa: BLE001 - a bug or an unreadable payload must not stop the worker
                log.exception("job %s (%s) failed", job.id, kind)
                db.session.rollback()
                outcome = JobOutcome(RETRY, f"Unexpected error: {type(error).__name__}: {error}"[:1000])
        status = _finish(job, outcome, me, failed_twins=job.dedupe_key in failed)
        lease.renew()
        db.session.commit()
        stats.add(kind, status)


def run_due(limit: int = 500, kinds: Iterable[str] | None = None, *, resource_id: int | None = None,
            worker: str | None = None) -> RunStats:
    """Run up to `limit` due jobs (optionally of some kinds, or of one resource) and return what happened."""
    me = worker or worker_name()
    kinds = list(kinds) if kinds is not None else None
    stats = RunStats()
    release_expired()
    sweeps.heartbeat()
    db.session.commit()
    while stats.processed < limit:
        now = utcnow()
        due = _due(kinds, resource_id, min(limit - stats.processed, 200), now)
        if not due:
            break
        # Jobs another worker claimed first are no longer pending, so the next query moves past them: a worker
        # that lost a race for what it saw looks again rather than leaving due work behind.
        for kind, jobs in _batches(due, limit - stats.processed):
            won = claim_many([job.id for job in jobs], me, now)
            db.session.commit()
            claimed = [job for job in jobs if job.id in won]
            if claimed:
                _run_batch(kind, claimed, me, stats)
    return stats


def tick(limit: int = 500, stop: threading.Event | None = None) -> dict[str, Any]:
    """One round of the worker: heartbeat, the sweeps that are due, then every due job."""
    sweeps.heartbeat()
    db.session.commit()
    done = sweeps.run_due_sweeps()
    total = RunStats()
    while stop is None or not stop.is_set():
        stats = run_due(limit)
        total.merge(stats)
        if stats.processed < limit:
            break  # otherwise a full batch ran: more may be due right away
    return {"sweeps": done, "jobs": total.as_dict()}


def loop(*, once: bool = False, poll: float = POLL_SECONDS, stop: threading.Event | None = None,
         limit: int = 500) -> dict[str, Any] | None:
    """The long-running worker: a `tick()` every `poll` seconds until `stop` is set (or once)."""
    stop = stop or threading.Event()
    while not stop.is_set():
        started = time.monotonic()
        try:
            result = tick(limit, stop)
        except Exception:  # noqa: BLE001 - a database hiccup must not end the worker; try again next poll
            log.exception("worker loop failed")
            db.session.rollback()
            result = None
        finally:
            db.session.remove()
        if once:
            return result
        stop.wait(max(poll - (time.monotonic() - started), 0.0))
    return None
