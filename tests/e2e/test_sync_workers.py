"""Several worker processes draining one queue, on SQLite and on PostgreSQL: every score reaches the platform
exactly once, and workers that miss the access-token cache at the same moment both carry on. A sweep that runs
while a worker is sending queues nothing that worker is already sending."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from app.extensions import db
from app.jobs import sweeps, worker
from app.jobs.queue import GRADE_PUSH
from app.models import SyncJob
from app.models.jobs import JOB_PENDING
from tests.postgres import BOTH_DATABASES
from tests.sync_factories import graded_students, make_platform_registration, platform  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
GRADES = 2000
WORKERS = 2


def _start_worker(app, tmp_path: Path, number: int) -> subprocess.Popen:
    """`lti worker --once`: one round of due jobs, every one of them, then exit."""
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "COURSEPORT_INSTANCE_PATH": str(tmp_path / f"worker-{number}"), "COURSEPORT_SECRET_KEY": "worker-test",
           "COURSEPORT_ALLOW_PRIVATE_ADDRESSES": "1"}  # the platform runs on 127.0.0.1
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "lti", "worker", "--once", "--json"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@BOTH_DATABASES
def test_worker_processes_send_each_of_2000_grades_exactly_once(app, platform, tmp_path):
    registration = make_platform_registration(platform)
    graded_students(registration, platform.add_lineitem(label="Essay"), GRADES)
    # The scheduled sweeps run here first, so the workers only drain the queue they left.
    assert sweeps.run_due_sweeps()[sweeps.GRADE_SWEEP] == {"queued": GRADES}
    # Neither worker finds a cached token: both ask the platform, which answers only once both have asked.
    token_race = platform.gate(r"^/token$", WORKERS)

    workers = [_start_worker(app, tmp_path, number) for number in range(WORKERS)]
    outputs = [worker.communicate(timeout=180) for worker in workers]

    assert [worker.returncode for worker in workers] == [0] * WORKERS, [err for _out, err in outputs]
    pushed = [json.loads(out)["jobs"]["by_kind"].get(GRADE_PUSH, {}) for out, _err in outputs]
    assert sum(counts.get("done", 0) for counts in pushed) == GRADES, pushed
    assert all(counts.get("done") for counts in pushed), pushed  # both took part
    assert not token_race.broken and len(platform.issued) == WORKERS
    received = Counter(score.data["userId"] for score in platform.scores())
    assert len(received) == GRADES and set(received.values()) == {1}
    assert db.session.execute(db.select(SyncJob.status, db.func.count()).where(SyncJob.kind == GRADE_PUSH)
                              .group_by(SyncJob.status)).all() == [("done", GRADES)]


@BOTH_DATABASES
def test_a_sweep_while_scores_are_on_their_way_queues_no_second_send(app, platform):
    registration = make_platform_registration(platform)
    graded_students(registration, platform.add_lineitem(label="Essay"), 3)
    assert sweeps.run_sweep(sweeps.GRADE_SWEEP) == {"queued": 3}
    # The worker's first score is held by the platform until this test, the gate's other party, arrives.
    held = platform.gate(r"/scores$", 2)
    held.left = 1
    ran: list[worker.RunStats] = []

    def drain() -> None:
        with app.app_context():
            try:
                ran.append(worker.run_due())
            finally:
                db.session.remove()

    draining = threading.Thread(target=drain)
    draining.start()
    deadline = time.monotonic() + 20
    while held.barrier.n_waiting < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert held.barrier.n_waiting == 1, "the worker's score never reached the platform"

    swept = sweeps.run_sweep(sweeps.GRADE_SWEEP)  # all three jobs are claimed, one score is in flight
    pending = db.session.execute(db.select(db.func.count()).where(SyncJob.status == JOB_PENDING)).scalar()
    held.barrier.wait()
    draining.join(timeout=30)

    assert swept == {"queued": 0} and pending == 0
    assert ran and ran[0].done == 3 and not held.broken
    worker.run_due()  # whatever the sweep might have queued
    received = Counter(score.data["userId"] for score in platform.scores())
    assert len(received) == 3 and set(received.values()) == {1}, received
