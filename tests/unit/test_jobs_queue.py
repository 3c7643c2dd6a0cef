"""The outbox itself: dedupe, claiming, back-off, lock expiry, sweeps, housekeeping."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from app.extensions import db
from app.jobs import handlers, queue, sweeps, worker
from app.jobs.queue import JobOutcome, JobSpec
from app.lti import keys
from app.lti.ags_nrps import PlatformError, retry_after_seconds
from app.models import LaunchLog, LtiStorageEntry, ScheduledRun, SyncJob, ToolKey
from app.models.base import utcnow
from app.services.sync.grades import score_timestamp
from tests.postgres import BOTH_DATABASES


def _job(key: str = "k", **values) -> SyncJob:
    return queue.enqueue("grade_push", key, {"n": 1}, resource_id=None, user_id=None, **values)


def _all() -> list[SyncJob]:
    db.session.expire_all()
    return list(db.session.execute(db.select(SyncJob).order_by(SyncJob.id)).scalars())


@pytest.fixture
def handler(monkeypatch):
    """A job kind whose body returns the outcomes queued in `outcomes` (the outbox, not any platform)."""
    outcomes: list[JobOutcome] = []
    seen: list[dict] = []

    def run(payload, _batch, _lease):
        seen.append(payload)
        return outcomes.pop(0) if outcomes else JobOutcome.done("ok")

    monkeypatch.setitem(handlers.HANDLERS, "grade_push", handlers.Handler(run))
    return outcomes, seen


@BOTH_DATABASES
def test_a_pending_job_is_reused_not_duplicated(app):
    first = _job()
    again = _job()
    assert first.id == again.id
    soon = utcnow() + timedelta(minutes=1)
    later = _job("later", run_after=soon + timedelta(hours=1))
    assert _job("later", run_after=soon).run_after == soon  # asked for sooner: pulled forward
    assert later.id == _job("later").id
    db.session.commit()
    assert len(_all()) == 2


@BOTH_DATABASES
def test_a_running_job_may_have_one_pending_successor(app):
    job = _job()
    db.session.commit()
    assert worker.claim(job.id, "w1")
    successor = _job()
    assert successor.id != job.id and _job().id == successor.id


@BOTH_DATABASES
def test_enqueue_many_skips_pending_keys_and_can_advance_them(app):
    _job("a", run_after=utcnow() + timedelta(hours=2))
    db.session.commit()
    specs = [JobSpec("grade_push", key, {}, None, None) for key in ("a", "b", "b", "c")]
    assert queue.enqueue_many(specs) == 2
    assert queue.enqueue_many(specs, advance=True) == 0
    db.session.commit()
    jobs = _all()
    assert [job.dedupe_key for job in jobs] == ["a", "b", "c"]
    assert jobs[0].run_after <= utcnow()


@BOTH_DATABASES
def test_work_done_or_running_is_queued_again_and_counted_once(app):
    done, running = _job("done"), _job("running")
    db.session.commit()
    assert worker.claim(done.id, "w1") and worker.claim(running.id, "w1")
    db.session.execute(update(SyncJob).where(SyncJob.id == done.id).values(status="done"))
    db.session.commit()
    specs = [JobSpec("grade_push", key, {}, None, None) for key in ("done", "running", "new")]
    assert queue.enqueue_many(specs) == 3
    assert queue.enqueue_many(specs) == 0
    db.session.commit()
    assert sorted((job.dedupe_key, job.status) for job in _all()) == [
        ("done", "done"), ("done", "pending"), ("new", "pending"), ("running", "pending"), ("running", "running")]


@BOTH_DATABASES
def test_claiming_is_atomic(app):
    job = _job()
    db.session.commit()
    assert worker.claim(job.id, "w1") is True
    assert worker.claim(job.id, "w2") is False
    db.session.commit()
    assert (_all()[0].status, _all()[0].locked_by) == ("running", "w1")


def test_back_off_doubles_up_to_six_hours_with_ten_percent_jitter():
    rng = random.Random(4)
    for failed_before, minutes in ((0, 1), (1, 2), (3, 8), (8, 256), (9, 360), (30, 360)):
        delay = worker.backoff(failed_before, rng)
        assert timedelta(minutes=minutes * 0.9) <= delay <= timedelta(minutes=minutes * 1.1)
    spread = {worker.backoff(2, rng) for _ in range(20)}
    assert len(spread) > 1


def test_retry_after_in_seconds_or_as_a_date():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Thu, 01 Jan 2026 12:05:00 GMT", now) == 300.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert PlatformError("x", 0).retryable and PlatformError("x", 503).retryable and PlatformError("x", 429).retryable
    assert not PlatformError("x", 404).retryable


def test_score_timestamps_are_milliseconds_and_always_newer():
    changed = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    assert score_timestamp(changed, None) == changed.replace(microsecond=123000)
    previous = datetime(2026, 1, 1, 12, 0, 0, 123000, tzinfo=timezone.utc)
    assert score_timestamp(changed, previous) == previous + timedelta(milliseconds=1)
    assert score_timestamp(changed, previous - timedelta(seconds=1)) == changed.replace(microsecond=123000)


@BOTH_DATABASES
def test_retries_then_failed_after_twelve_attempts_with_the_last_error_kept(app, handler):
    outcomes, _seen = handler
    outcomes.extend(JobOutcome("retry", f"HTTP 50{n % 4}", http_status=500 + n % 4) for n in range(12))
    _job()
    db.session.commit()
    for attempt in range(1, 13):
        stats = worker.run_due()
        job = _all()[0]
        assert job.attempts == attempt
        if attempt < 12:
            assert stats.retried == 1 and job.status == "pending"
            db.session.execute(update(SyncJob).values(run_after=utcnow()))
            db.session.commit()
    assert (job.status, job.last_error, job.last_http_status) == ("failed", "HTTP 503", 503)
    assert job.finished_at is not None


@BOTH_DATABASES
def test_an_unexpected_error_in_a_job_is_retried_not_lost(app, monkeypatch):
    def broken(_payload, _batch, _lease):
        raise KeyError("lti_user_id")

    monkeypatch.setitem(handlers.HANDLERS, "grade_push", handlers.Handler(broken))
    _job()
    db.session.commit()
    assert worker.run_due().retried == 1
    job = _all()[0]
    assert (job.status, job.attempts) == ("pending", 1)
    assert job.last_error == "Unexpected error: KeyError: 'lti_user_id'"


@BOTH_DATABASES
def test_an_expired_lock_goes_back_to_pending_or_gives_way_to_a_newer_job(app, handler):
    first, second = _job("a"), _job("b")
    db.session.commit()
    assert worker.claim(first.id, "dead") and worker.claim(second.id, "dead")
    db.session.commit()
    successor = _job("b")  # a newer job for the same work was queued meanwhile
    db.session.execute(update(SyncJob).where(SyncJob.status == "running")
                       .values(locked_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()

    assert worker.release_expired() == 2
    db.session.commit()
    jobs = {job.id: job for job in _all()}
    assert (jobs[first.id].status, jobs[first.id].attempts) == ("pending", 1)
    assert jobs[second.id].status == "done" and "Superseded" in jobs[second.id].last_error
    assert jobs[successor.id].status == "pending"


@BOTH_DATABASES
def test_a_job_that_keeps_killing_its_worker_ends_up_failed(app):
    job = _job()
    job.attempts = worker.MAX_ATTEMPTS - 1
    db.session.commit()
    worker.claim(job.id, "dead")
    db.session.execute(update(SyncJob).values(locked_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    worker.release_expired()
    db.session.commit()
    assert (_all()[0].status, _all()[0].last_error) == ("failed", worker.MSG_WORKER_STOPPED)


@BOTH_DATABASES
def test_a_newer_run_settles_older_failures_of_the_same_work(app, handler):
    outcomes, _seen = handler
    outcomes.append(JobOutcome("failed", "HTTP 400", http_status=400))
    _job()
    db.session.commit()
    worker.run_due()
    assert _all()[0].status == "failed"
    _job()  # the next sweep queues the same work again
    db.session.commit()
    worker.run_due()
    old, new = _all()
    assert new.status == "done" and old.status == "done" and old.last_error == f"Superseded by job {new.id}."


@BOTH_DATABASES
def test_retry_by_hand_keeps_attempts_or_hands_over_to_a_queued_twin(app, handler):
    outcomes, _seen = handler
    outcomes.append(JobOutcome("failed", "HTTP 400"))
    job = _job()
    db.session.commit()
    worker.run_due()
    job = _all()[0]
    retried = queue.retry(job)
    assert (retried.id, retried.status, retried.attempts) == (job.id, "pending", 1)
    db.session.commit()

    outcomes.append(JobOutcome("failed", "HTTP 400"))
    worker.run_due()
    failed = _all()[0]
    twin = _job(run_after=utcnow() + timedelta(hours=1))
    assert queue.retry(failed).id == twin.id
    db.session.commit()
    failed, twin = _all()
    assert failed.status == "done" and twin.run_after <= utcnow()


@BOTH_DATABASES
def test_each_sweep_is_claimed_once_per_interval(app):
    now = utcnow()
    assert sorted(sweeps.run_due_sweeps(now)) == sorted(sweeps.SWEEPS)
    assert sweeps.run_due_sweeps(now + timedelta(minutes=1)) == {}
    assert sorted(sweeps.run_due_sweeps(now + timedelta(minutes=31))) == ["grade_sweep", "member_sweep"]
    assert sorted(sweeps.run_due_sweeps(now + timedelta(minutes=61))) == ["cleanup", "grade_sweep", "member_sweep"]
    rows = {row.name: row for row in db.session.execute(db.select(ScheduledRun)).scalars()}
    assert rows["key_maintenance"].next_due_at - rows["key_maintenance"].last_started_at == timedelta(days=1)


@BOTH_DATABASES
def test_housekeeping_removes_what_expired_and_keeps_keys_ready(app):
    now = utcnow()
    db.session.add_all([
        LtiStorageEntry(key="state:old", value={}, expires_at=now - timedelta(minutes=1)),
        LtiStorageEntry(key="state:new", value={}, expires_at=now + timedelta(minutes=5)),
        LaunchLog(at=now - timedelta(days=91), kind="LTI 1.3 launch", outcome="Success"),
        LaunchLog(at=now - timedelta(days=1), kind="LTI 1.3 launch", outcome="Success"),
        SyncJob(kind="grade_push", dedupe_key="old", status="done", finished_at=now - timedelta(days=31)),
        SyncJob(kind="grade_push", dedupe_key="recent", status="done", finished_at=now - timedelta(days=1)),
        SyncJob(kind="grade_push", dedupe_key="failed", status="failed", finished_at=now - timedelta(days=60)),
    ])
    keys.ensure_keys()
    previous = keys.rotate(14)
    db.session.execute(update(ToolKey).where(ToolKey.state == "previous").values(retire_after=now))
    db.session.commit()
    assert previous.state == "current"

    summary = sweeps.run_sweep(sweeps.CLEANUP)
    assert (summary["storage_entries"], summary["launch_log"], summary["done_jobs"]) == (1, 1, 1)
    assert sorted(job.dedupe_key for job in _all()) == ["failed", "recent"]
    assert sweeps.run_sweep(sweeps.KEY_MAINTENANCE) == {"retired_keys": 1}
    states = sorted(key.state for key in db.session.execute(db.select(ToolKey)).scalars())
    assert states == ["current", "next", "retired"]


def test_on_postgresql_a_worker_passes_over_jobs_another_is_claiming_instead_of_waiting(postgres_app):
    jobs = [_job(f"k{n}") for n in range(4)]
    db.session.commit()
    ids = [job.id for job in jobs]
    with db.engine.connect() as other_worker:  # has read its due jobs, not yet committed its claim
        other_worker.execute(db.select(SyncJob.id).where(SyncJob.id.in_(ids[:2])).with_for_update())
        db.session.execute(db.text("SET LOCAL lock_timeout = '3s'"))  # waiting would fail the test, not hang it
        assert [job.id for job in worker._due(None, None, 10, utcnow())] == ids[2:]
        assert worker.claim_many(ids, "w2") == set(ids[2:])
        db.session.commit()
    assert worker.claim_many(ids, "w2") == set(ids[:2])  # once released, they are there to take
