"""Grade sync under platform faults: errors, timeouts, 401s, rate limits, killed and
concurrent workers. Time is moved forward by making backed-off jobs due, never by sleeping."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from app.extensions import db
from app.jobs import queue, worker
from app.models import GradeSyncLog, SyncJob
from app.models.base import utcnow
from app.services.sync import queueing
from tests.postgres import BOTH_DATABASES
from tests.sync_factories import grade_scene, platform  # noqa: F401 (fixture)


def _jobs() -> list[SyncJob]:
    db.session.expire_all()
    return list(db.session.execute(db.select(SyncJob).order_by(SyncJob.id)).scalars())


def _make_due() -> None:
    """The back-off has elapsed."""
    db.session.execute(update(SyncJob).where(SyncJob.status == "pending").values(run_after=utcnow()))
    db.session.commit()


def _given(platform) -> list[float]:
    return [score.data["scoreGiven"] for score in platform.scores()]


def test_a_server_error_is_retried_later_with_back_off_and_the_grade_arrives(app, platform):
    scene = grade_scene(platform)
    platform.fail(r"/scores$", 500, times=2, body="Database unavailable")
    scene.grade(scene.students[0], "6")

    before = utcnow()
    stats = worker.run_due()
    assert (stats.done, stats.retried) == (0, 1)
    [job] = _jobs()
    assert (job.status, job.attempts, job.last_http_status, job.last_error) == ("pending", 1, 500, "HTTP 500")
    assert timedelta(seconds=53) <= job.run_after - before <= timedelta(seconds=67)  # 1 min ±10 %
    assert worker.run_due().processed == 0  # not due yet

    _make_due()
    worker.run_due()
    [job] = _jobs()
    assert job.attempts == 2
    assert timedelta(seconds=107) <= job.run_after - utcnow() <= timedelta(seconds=133)  # 2 min ±10 %

    _make_due()
    worker.run_due()
    assert _given(platform) == [6.0]
    assert _jobs()[0].status == "done"
    logs = db.session.execute(db.select(GradeSyncLog).order_by(GradeSyncLog.id)).scalars().all()
    assert [(log.outcome, log.http_status, log.response_excerpt) for log in logs] == [
        ("retry", 500, "Database unavailable"), ("retry", 500, "Database unavailable"), ("sent", 200, None)]


def test_a_timeout_is_retried_later(app, platform):
    app.config.update(SYNC_CONNECT_TIMEOUT=2, SYNC_READ_TIMEOUT=0.5)
    scene = grade_scene(platform)
    scene.grade(scene.students[0], "4")
    worker.run_due()  # find the line item, send once so the stall below hits only the score
    platform.stall(r"/scores$", 2.0)
    scene.grade(scene.students[0], "5")

    assert worker.run_due().retried == 1
    [_first, job] = _jobs()
    assert job.status == "pending" and "timed out" in job.last_error
    _make_due()
    worker.run_due()
    assert _given(platform) == [4.0, 5.0]


@BOTH_DATABASES
def test_a_401_drops_the_token_fetches_a_new_one_and_retries_once(app, platform):
    scene = grade_scene(platform)
    scene.grade(scene.students[0], "4")
    worker.run_due()
    platform.revoke_tokens()
    scene.grade(scene.students[1], "8")

    stats = worker.run_due()
    assert (stats.done, stats.retried, stats.failed) == (1, 0, 0)
    assert _given(platform) == [4.0, 8.0]
    assert len(platform.issued) == 2
    assert [r.status for r in platform.requests_to(r"/scores$")] == [200, 401, 200]


def test_scores_sent_ahead_with_a_revoked_token_are_resent_after_one_refresh(app, platform):
    scene = grade_scene(platform, students=4)
    scene.grade(scene.students[0], "1")
    worker.run_due()
    platform.revoke_tokens()
    for student, value in zip(scene.students, ("2", "3", "4", "5")):
        scene.grade(student, value)
    assert worker.run_due().done == 4
    assert sorted(_given(platform)) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert len(platform.issued) == 2  # one refresh for the whole batch
    # Each score goes out once the previous answer is in, so only the first meets the revoked token: it is resent
    # with the refreshed one, which every later score carries from the start.
    assert [r.status for r in platform.requests_to(r"/scores$")].count(401) == 1


def test_a_second_401_is_not_retried_forever(app, platform):
    scene = grade_scene(platform)
    platform.fail(r"/lineitems$", 401, times=2)
    scene.grade(scene.students[0], "4")
    worker.run_due()
    [job] = _jobs()
    assert (job.status, job.last_http_status) == ("failed", 401)
    assert len(platform.issued) == 2  # the first token, then one refresh


def test_rate_limiting_honours_retry_after(app, platform):
    scene = grade_scene(platform)
    platform.fail(r"/lineitems$", 429, retry_after="300")
    scene.grade(scene.students[0], "4")
    worker.run_due()
    [job] = _jobs()
    assert (job.status, job.last_http_status) == ("pending", 429)
    assert timedelta(seconds=295) <= job.run_after - utcnow() <= timedelta(seconds=300)


def test_a_refusal_fails_at_once_and_a_retry_by_hand_keeps_the_attempts(app, platform):
    scene = grade_scene(platform)
    platform.fail(r"/scores$", 400, body='{"error": "user not in course"}')
    scene.grade(scene.students[0], "4")
    worker.run_due()
    [job] = _jobs()
    assert (job.status, job.attempts, job.last_http_status) == ("failed", 1, 400)
    log = db.session.execute(db.select(GradeSyncLog)).scalar_one()
    assert (log.outcome, log.message, log.response_excerpt) == (
        "failed", "Failed - HTTP 400", '{"error": "user not in course"}')

    queue.retry(job)
    db.session.commit()
    worker.run_due()
    [job] = _jobs()
    assert (job.status, job.attempts) == ("done", 2)
    assert _given(platform) == [4.0]


def test_a_platform_down_for_a_long_time_loses_no_grade(app, platform):
    scene = grade_scene(platform, students=3)
    platform.fail(r"/contexts/", 503, times=10 ** 6)
    for student, value in zip(scene.students, ("1", "2", "3")):
        scene.grade(student, value)
    for _ in range(worker.MAX_ATTEMPTS):
        worker.run_due()
        _make_due()
    jobs = _jobs()
    assert [(job.status, job.attempts) for job in jobs] == [("failed", 12)] * 3  # visible, not dropped

    platform.faults.clear()
    assert queueing.queue_grade_pushes() == 3  # the next sweep queues fresh jobs for every unsent grade
    db.session.commit()
    worker.run_due()
    assert sorted(_given(platform)) == [1.0, 2.0, 3.0]
    statuses = [job.status for job in _jobs()]
    assert statuses.count("failed") == 0 and statuses.count("done") == 6  # old failures settled by the new runs


def test_the_token_endpoint_being_down_is_retried(app, platform):
    scene = grade_scene(platform)
    platform.fail(r"^/token$", 502)
    scene.grade(scene.students[0], "4")
    worker.run_due()
    [job] = _jobs()
    assert (job.status, job.last_http_status) == ("pending", 502)
    assert "did not issue an access token" in job.last_error
    _make_due()
    worker.run_due()
    assert _given(platform) == [4.0]


def test_a_job_whose_worker_died_goes_back_to_pending_and_is_sent(app, platform):
    scene = grade_scene(platform)
    scene.grade(scene.students[0], "7")
    [job] = _jobs()
    assert worker.claim(job.id, "dead-worker")
    db.session.commit()
    assert worker.run_due().processed == 0  # locked by a worker that may still be running

    db.session.execute(update(SyncJob).values(locked_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    worker.run_due()
    assert _given(platform) == [7.0]
    [job] = _jobs()
    assert (job.status, job.attempts) == ("done", 2)  # the interrupted run counts as an attempt


def test_a_killed_worker_process_loses_nothing(app, platform, tmp_path):
    """A real `flask --app wsgi lti worker` is killed (SIGKILL) while the platform holds its score request."""
    scene = grade_scene(platform)
    scene.grade(scene.students[0], "4")
    worker.run_due()  # line item found and cached
    scene.grade(scene.students[0], "9")
    platform.stall(r"/scores$", 30)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "COURSEPORT_INSTANCE_PATH": str(tmp_path / "worker-instance"), "COURSEPORT_SECRET_KEY": "worker-test",
           "COURSEPORT_ALLOW_PRIVATE_ADDRESSES": "1"}  # the platform runs on 127.0.0.1
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "lti", "worker"], cwd=root, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while len(platform.requests_to(r"/scores$")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(platform.requests_to(r"/scores$")) == 2, "the worker never sent the score"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    platform.faults.clear()
    assert "running" in [job.status for job in _jobs()]  # its sweep may also have queued a successor

    db.session.execute(update(SyncJob).values(locked_until=utcnow() - timedelta(seconds=1)))  # 5 minutes later
    db.session.commit()
    worker.run_due()
    assert _given(platform)[-1] == 9.0
    assert {job.status for job in _jobs()} == {"done"}


@BOTH_DATABASES
def test_two_workers_at_once_send_each_score_once(app, platform):
    scene = grade_scene(platform, students=40)
    scene.grade(scene.students[0], "10")
    worker.run_due()  # the line item exists before the race
    for number, student in enumerate(scene.students):
        scene.grade(student, str(number % 10))
    errors: list[BaseException] = []
    stats = []

    def work(name: str) -> None:
        with app.app_context():
            try:
                stats.append(worker.run_due(limit=20, worker=name))  # both see the same due jobs
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    users = [score.data["userId"] for score in platform.scores()[1:]]
    assert sorted(users) == sorted(lti.subject for lti in scene.lti_users)  # each once, none twice
    assert [s.processed for s in stats] == [20, 20]
    assert len(platform.requests_to(r"/lineitems$", "POST")) == 1
